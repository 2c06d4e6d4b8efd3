"""Agents sign in with OpenID Connect against a real provider: npm ``oidc-provider`` (OpenID-certified),
run by Node.js with ProConnect's claims, in front of the service, driven in Chromium.

The good path (sign-in, a search and a verdict with the session cookie and its CSRF token, sign-out
at the provider), the people who get no account (an unknown organisation, a user who is not a public
agent), and what must be refused: a forged state, a replayed code, an ID token for another audience,
signed with another key, or expired.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest
from browser import ARTIFACTS, REPO, login, open_page, screen, serious_violations
from live_server import serving

from matcher.app import Engine
from matcher.data.feedback import list_feedback
from matcher.settings import Settings
from service.app import create_app

NODE = shutil.which("node")
PROVIDER = REPO / "tests" / "oidc" / "provider.mjs"
SECRET = "secret-du-service-chez-le-fournisseur-d-identite"
SIRET_SANTE, SIRET_INCONNU = "11000000000017", "99999999999999"
ACCOUNTS = {
    "camille": {
        "given_name": "Camille",
        "usual_name": "Martin",
        "email": "camille.martin@sante.gouv.fr",
        "siret": SIRET_SANTE,
        "organization_label": "Ministère de la Santé",
        "roles": ["agent_public_etat"],
        "uid": "1",
    },
    "dominique": {
        "given_name": "Dominique",
        "usual_name": "Durand",
        "email": "d.durand@exemple.fr",
        "siret": SIRET_INCONNU,
        "organization_label": "Établissement inconnu",
        "roles": ["agent_public"],
        "uid": "2",
    },
    "prestataire": {
        "given_name": "Sacha",
        "usual_name": "Petit",
        "email": "sacha@prestataire.fr",
        "siret": SIRET_SANTE,
        "organization_label": "Ministère de la Santé",
        "roles": [],
        "uid": "3",
    },
}
pytestmark = pytest.mark.skipif(
    NODE is None or not (REPO / "node_modules" / "oidc-provider").is_dir(),
    reason="Node.js and npm's oidc-provider are installed by `make install`",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def signin(tmp_path_factory: pytest.TempPathFactory):
    """The service configured for sign-in, and the provider, both on loopback ports."""
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("signin") / "data",
        encoder="hashing",
        reranker="none",
        oidc_issuer=issuer,
        oidc_client_id="matcher",
        oidc_client_secret=SECRET,
    )
    app = create_app(settings, engine=Engine.open(settings))
    with serving(app) as base:
        app.state.agents.set(SIRET_SANTE, "buyer", "min-sante", "Ministère de la Santé", "test")
        client = {
            "client_id": "matcher",
            "client_secret": SECRET,
            "redirect_uris": [base + "/connexion/retour"],
            "post_logout_redirect_uris": [base + "/"],
        }
        provider = subprocess.Popen(
            [NODE, str(PROVIDER), str(port), json.dumps(client), json.dumps(ACCOUNTS)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ready = provider.stdout.readline()
            assert ready.startswith("ready"), (ready, provider.stderr.read() if provider.poll() is not None else "")
            yield base, issuer, app
        finally:
            provider.terminate()
            provider.wait(timeout=10)


def _mode(issuer: str, mode: str) -> None:
    with urllib.request.urlopen(f"{issuer}/__test/mode?set={mode}") as answer:
        assert json.load(answer)["mode"] == mode


def _through_provider(page, login: str) -> None:
    """The provider's own login and consent pages, as a person fills them."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "mot-de-passe")
    page.click("button[type=submit]")
    consent = page.locator("button[type=submit]", has_text="Continue")
    consent.wait_for()
    consent.click()


def _no_violation_at_both_widths(page) -> None:
    """axe-core finds nothing serious on the screen as it is, at 390 px (a phone) and at 1280 px."""
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 1000})
        assert not serious_violations(page), width


def _sign_in(browser, base: str, issuer: str, login: str):
    context, page = open_page(browser, base, "/")
    _no_violation_at_both_widths(page)  # the sign-in screen, with the ProConnect button
    page.screenshot(path=str(ARTIFACTS / "dsfr-connexion-proconnect.png"))
    page.click("#connexion-proconnect")
    _through_provider(page, login)
    page.wait_for_url(lambda url: url.startswith(base))
    return context, page


def _ours(page, issuer: str) -> list[str]:
    """The console's errors, less the provider's own pages (not ours to judge: its development login pages
    ask the internet for fonts). A failed load is judged by its HTTP answer, which names the address."""
    return [e for e in page.console.errors if issuer not in e and "Failed to load resource" not in e]


def test_an_agent_signs_in_works_with_the_cookie_and_signs_out(signin, browser) -> None:
    base, issuer, app = signin
    context, page = _sign_in(browser, base, issuer, "camille")
    page.wait_for_selector("section#recherche:not(.cache)")
    assert "Camille Martin" in page.inner_text("#qui") and "min-sante" in page.inner_text("#qui")
    cookie = next(c for c in context.cookies() if c["name"] == "matcher_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # Secure in production mode

    page.fill("#text", "Plateforme de téléconsultation pour nos centres de santé")
    page.click("#rechercher")
    page.wait_for_selector(".result")
    page.locator(".result").first.locator("button[data-verdict=relevant]").click()
    page.wait_for_selector(".avis-status:has-text('Avis enregistré')")  # a write, with the session's CSRF token
    stored = list_feedback(app.state.served.engine.catalogue)[-1]
    assert stored["buyer_id"] == "min-sante" and stored["actor"].startswith("Camille Martin (buyer:oidc:camille")

    # the same write without the CSRF token: refused, even with the cookie
    status = page.evaluate("""() => fetch("/feedback", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({supplier_id: "demo-s001", verdict: "relevant", query_text: "x"})}).then(r => r.status)""")
    assert status == 403
    assert (
        page.evaluate("""() => fetch("/feedback", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": "faux"},
        body: JSON.stringify({supplier_id: "demo-s001", verdict: "relevant", query_text: "x"})}).then(r => r.status)""")
        == 403
    )
    page.console.errors = [e for e in page.console.errors if "HTTP 403: POST" not in e]  # those two refusals, expected

    page.click("#deconnexion")  # here, then at the provider (its end-session page), then back to the page
    page.locator("button", has_text="Yes, sign me out").click()
    page.wait_for_url(lambda url: url.startswith(base + "/"))
    page.wait_for_selector("#connexion:not(.cache)")
    assert page.evaluate("() => fetch('/me').then(r => r.status)") == 401
    page.console.errors = [e for e in page.console.errors if "HTTP 401: GET" not in e]
    assert not _ours(page, issuer), page.console.errors
    context.close()


@pytest.mark.parametrize(
    ("login", "status", "says"),
    [("dominique", 403, "n'est pas encore inscrite"), ("prestataire", 403, "réservé aux agents publics")],
    ids=["unknown-organisation", "not-a-public-agent"],
)
def test_who_gets_no_account_is_told_why(signin, browser, login: str, status: int, says: str) -> None:
    base, issuer, _ = signin
    context, page = open_page(browser, base, "/")
    answers = []
    page.on("response", lambda r: answers.append(r.status) if "/connexion/retour" in r.url else None)
    page.click("#connexion-proconnect")
    _through_provider(page, login)
    page.wait_for_selector("#titre-refus")
    assert answers[-1] == status and says in page.inner_text("#raison")
    _no_violation_at_both_widths(page)  # the refusal page, in the design system too
    page.screenshot(path=str(ARTIFACTS / f"dsfr-refus-{login}.png"))
    assert page.evaluate("() => fetch('/me').then(r => r.status)") == 401  # no account, no session
    context.close()


def test_a_forged_state_and_a_replayed_code_are_refused(signin, browser) -> None:
    base, issuer, _ = signin
    callbacks: list[str] = []
    context, page = open_page(browser, base, "/")
    page.on("request", lambda r: callbacks.append(r.url) if "/connexion/retour" in r.url else None)
    page.click("#connexion-proconnect")
    _through_provider(page, "camille")
    page.wait_for_selector("section#recherche:not(.cache)")
    used_code = parse_qs(urlparse(callbacks[0]).query)["code"][0]
    context.close()

    # a new sign-in, its state genuine, answered with the code already used: the provider refuses it
    context, page = open_page(browser, base, "/")
    authorizations: list[str] = []
    page.on("request", lambda r: authorizations.append(r.url) if r.url.startswith(issuer + "/auth") else None)
    page.click("#connexion-proconnect")
    page.wait_for_selector("input[name=login]")
    state = parse_qs(urlparse(authorizations[0]).query)["state"][0]
    query = parse_qs(urlparse(authorizations[0]).query)
    assert len(state) >= 32 and len(query["nonce"][0]) >= 32 and query["code_challenge_method"] == ["S256"]
    answer = page.goto(f"{base}/connexion/retour?code={used_code}&state={state}&iss={issuer}")
    assert answer.status == 400 and "a refusé la connexion" in page.inner_text("#raison")

    # a state the service never made (a forged link): refused before anything is asked of the provider
    page.goto(base + "/connexion")
    page.wait_for_selector("input[name=login]")
    answer = page.goto(f"{base}/connexion/retour?code=falsifie&state={'x' * 43}")
    assert answer.status == 400 and "falsifié" in page.inner_text("#raison")
    assert page.evaluate("() => fetch('/me').then(r => r.status)") == 401
    context.close()


@pytest.mark.parametrize("mode", ["wrong-audience", "wrong-key", "expired"])
def test_an_id_token_not_for_us_not_signed_by_the_provider_or_expired_is_refused(signin, browser, mode: str) -> None:
    base, issuer, _ = signin
    _mode(issuer, mode)
    try:
        context, page = open_page(browser, base, "/")
        page.click("#connexion-proconnect")
        _through_provider(page, "camille")
        page.wait_for_selector("#titre-refus")
        assert "jeton d'identité reçu n'est pas valable" in page.inner_text("#raison")
        assert page.evaluate("() => fetch('/me').then(r => r.status)") == 401
        context.close()
    finally:
        _mode(issuer, "none")


def test_half_a_sign_in_configuration_refuses_to_start(tmp_path) -> None:
    from service.app import ConfigurationError

    with pytest.raises(ConfigurationError, match="oidc_client_id"):
        create_app(Settings(data_dir=tmp_path / "data", encoder="hashing", oidc_issuer="https://auth.agentconnect.gouv.fr/api/v2"))


def test_the_session_cookie_is_secure_in_production(tmp_path) -> None:
    from starlette.middleware.sessions import SessionMiddleware

    app = create_app(Settings(data_dir=tmp_path / "data", encoder="hashing", mode="production", secret_key="s" * 40))
    (session,) = [m for m in app.user_middleware if m.cls is SessionMiddleware]
    assert session.kwargs["https_only"] is True and session.kwargs["same_site"] == "lax"


def test_staff_register_an_establishment_and_its_agents_can_sign_in(signin, browser) -> None:
    """Staff inscribe the unknown establishment on their screen; its agent then signs in as its buyer."""
    base, issuer, app = signin
    staff_key = app.state.keys.create("Équipe French Tech", "staff")[1]
    context, page = login(browser, base, staff_key)
    screen(page, "agents")
    page.wait_for_selector(f"#table-agents td:has-text('{SIRET_SANTE}')")
    page.fill("#ag-siret", "9999 9999 9999 99")
    page.select_option("#ag-role", "buyer")
    page.select_option("#ag-acheteur", "min-education")
    page.fill("#ag-libelle", "Rectorat de l'exemple")
    page.click("#ag-enregistrer")
    page.wait_for_selector(f"#table-agents td:has-text('{SIRET_INCONNU}')")
    assert "Rectorat de l'exemple" in page.inner_text("#table-agents")
    page.console.assert_clean()
    context.close()

    context, page = _sign_in(browser, base, issuer, "dominique")
    page.wait_for_selector("section#recherche:not(.cache)")
    assert "Dominique Durand" in page.inner_text("#qui") and "min-education" in page.inner_text("#qui")
    # staff take the establishment away again: the session already open loses its access at once
    assert app.state.agents.remove(SIRET_INCONNU, "test")
    assert page.evaluate("() => fetch('/me').then(r => r.status)") == 401
    context.close()


def test_a_plain_userinfo_is_read_as_well_as_a_signed_one(signin, browser) -> None:
    """ProConnect answers the userinfo as a signed JWT when the client registered an algorithm, plain
    JSON otherwise: both sign the agent in (the signed one is what the other tests get)."""
    base, issuer, _ = signin
    _mode(issuer, "plain-userinfo")
    try:
        context, page = _sign_in(browser, base, issuer, "camille")
        page.wait_for_selector("section#recherche:not(.cache)")
        assert "Camille Martin" in page.inner_text("#qui")
        context.close()
    finally:
        _mode(issuer, "none")
