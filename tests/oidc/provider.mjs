// A standards-conformant OpenID Connect provider (npm oidc-provider, OpenID-certified) standing in for
// ProConnect in the tests: ProConnect's claims (siret, given_name, usual_name, roles …), the
// authorization code flow with client_secret_post and PKCE (S256), ES256-signed ID tokens, a signed
// userinfo, RP-initiated logout.
//
//   node tests/oidc/provider.mjs PORT CLIENT_JSON ACCOUNTS_JSON
//
// It prints "ready ISSUER" once it listens. A test may make its token endpoint misbehave, to check that
// the service refuses what it must: GET /__test/mode?set=wrong-audience | wrong-key | expired | none;
// plain-userinfo answers the userinfo as plain JSON instead of a signed JWT (both are ProConnect's).
// The ID token is then re-signed after the provider made it (with another audience, with a key that is
// not in the provider's JWKS, or already expired); everything else is the real provider's.
import Provider from "oidc-provider";
import { exportJWK, generateKeyPair, decodeJwt, decodeProtectedHeader, SignJWT, importJWK } from "jose";

const [port, clientJson, accountsJson] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const client = JSON.parse(clientJson);
const accounts = JSON.parse(accountsJson);

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
}
const key = await signingKey("cle-du-fournisseur");
const foreignKey = await signingKey("cle-etrangere");  // never published: a token signed with it is forged
let mode = "none";

const provider = new Provider(issuer, {
  clients: [{
    token_endpoint_auth_method: "client_secret_post",
    id_token_signed_response_alg: "ES256",
    userinfo_signed_response_alg: "ES256",
    grant_types: ["authorization_code"],
    response_types: ["code"],
    ...client,
  }],
  jwks: { keys: [key] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true }, jwtUserinfo: { enabled: true } },
  scopes: ["openid", "email", "given_name", "usual_name", "siret", "uid", "organization_label", "roles"],
  claims: {
    openid: ["sub"], email: ["email"], given_name: ["given_name"], usual_name: ["usual_name"], siret: ["siret"],
    uid: ["uid"], organization_label: ["organization_label"], roles: ["roles"],
  },
  conformIdTokenClaims: false,  // ProConnect puts the agent's claims in the ID token too
  ttl: { AuthorizationCode: 60, AccessToken: 3600, IdToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  if (ctx.path === "/__test/mode") {
    mode = ctx.query.set || "none";
    ctx.body = { mode };
    return;
  }
  await next();
  if (ctx.path === "/me" && mode === "plain-userinfo" && ctx.status === 200 && typeof ctx.body === "string") {
    ctx.body = decodeJwt(ctx.body);  // the same claims as plain JSON, as ProConnect answers a client without a signing algorithm
    ctx.type = "application/json";
    return;
  }
  if (ctx.path === "/token" && ctx.status === 200 && mode !== "none" && ctx.body && ctx.body.id_token) {
    const claims = decodeJwt(ctx.body.id_token);
    const header = decodeProtectedHeader(ctx.body.id_token);
    let signer = key;
    if (mode === "wrong-audience") claims.aud = "un-autre-service";
    if (mode === "expired") { claims.iat -= 7200; claims.exp = Math.floor(Date.now() / 1000) - 3600; }
    if (mode === "wrong-key") signer = { ...foreignKey, kid: key.kid };  // claims the provider's key id
    ctx.body = { ...ctx.body, id_token: await new SignJWT(claims).setProtectedHeader({ ...header, kid: signer.kid }).sign(await importJWK(signer, "ES256")) };
  }
});

provider.listen(Number(port), "127.0.0.1", () => console.log(`ready ${issuer}`));
