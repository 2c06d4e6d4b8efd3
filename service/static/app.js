"use strict";
const $ = id => document.getElementById(id);
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const euros = n => Number(n).toLocaleString("fr-FR") + " € HT";
const AVIS = [["not_relevant","Non pertinent"],["relevant","Pertinent"],["shortlisted","Présélectionné"],["pitched","Rencontré"],["contracted","Contractualisé"]];
const TAILLES = {micro:"Micro-entreprise", pme:"PME", eti:"ETI", grande:"Grande entreprise"};
const segment = code => (moi && moi.segment_labels && moi.segment_labels[code]) || code;
let moi = null, derniere = null;

// an agent signed in with ProConnect holds a session cookie, and the page its CSRF token; anyone else a key
const CSRF = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
function cle(){ return sessionStorage.getItem("matcher-cle") || ""; }
async function api(path, options = {}){
  const headers = Object.assign(cle() ? {"Authorization": "Bearer " + cle()} : {"X-CSRF-Token": CSRF}, options.headers || {});
  if (options.json !== undefined){ headers["Content-Type"] = "application/json"; options.body = JSON.stringify(options.json); }
  const resp = await fetch(path, Object.assign({}, options, {headers}));
  if (resp.status === 204) return null;
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.blob();
  if (!resp.ok){ const d = data && data.detail; throw new Error(typeof d === "string" ? d : JSON.stringify(d)); }
  return data;
}
function highlight(text, terms){
  // accent- and case-insensitive: the explanation's terms are folded (« teleconsultation »)
  text = String(text ?? ""); let folded = "", origin = [];
  for (let i = 0; i < text.length; i++){ const f = text[i].normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    for (const c of f){ folded += c; origin.push(i); } }
  const marked = new Array(text.length).fill(false);
  for (const t of terms || []){ const term = String(t).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); if (term.length < 3) continue;
    for (let at = folded.indexOf(term); at >= 0; at = folded.indexOf(term, at + term.length))
      for (let j = at; j < at + term.length; j++) marked[origin[j]] = true; }
  let out = "", open = false;
  for (let i = 0; i < text.length; i++){ if (marked[i] !== open){ out += marked[i] ? "<mark>" : "</mark>"; open = marked[i]; } out += esc(text[i]); }
  return out + (open ? "</mark>" : "");
}
// the design system's pieces, written once: an error alert, a table with its caption (its scrolling
// container reachable with the keyboard), a busy button
const alerte = (message, type = "error") => `<div class="fr-alert fr-alert--${type} fr-alert--sm fr-my-2w"><p>${esc(message)}</p></div>`;
function tableau(legende, tetes, lignes, id = ""){
  return `<div class="fr-table fr-table--no-caption fr-mt-2w"${id ? ` id="${id}-cadre"` : ""}><div class="fr-table__wrapper"><div class="fr-table__container" tabindex="0" aria-label="${esc(legende)} (tableau défilant)"><div class="fr-table__content">
   <table${id ? ` id="${id}"` : ""}><caption>${esc(legende)}</caption><thead><tr>${tetes.map(t => `<th scope="col">${esc(t)}</th>`).join("")}</tr></thead>
   <tbody>${lignes.join("")}</tbody></table></div></div></div></div>`;
}
// an action longer than a moment says so: the button is disabled and marked busy until it ends
async function occupe(bouton, action){
  bouton.disabled = true; bouton.setAttribute("aria-busy", "true");
  try { return await action(); } finally { bouton.disabled = false; bouton.removeAttribute("aria-busy"); }
}
function montrer(onglet){
  document.querySelectorAll(".onglet").forEach(s => s.classList.toggle("cache", s.id !== onglet));
  document.querySelectorAll("#onglets [data-onglet]").forEach(a => a.dataset.onglet === onglet ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current"));
  const menu = $("menu-ecrans");  // on a phone the menu is a dialog: closed once a screen is chosen
  if (window.dsfr && menu.classList.contains("fr-modal--opened")) window.dsfr(menu).modal.conceal();
  if (onglet === "besoins") chargerBesoins();
  if (onglet === "stats") chargerStats();
  if (onglet === "barometre") chargerBarometre();
  if (onglet === "agents") chargerAgents();
}
document.querySelectorAll("#onglets [data-onglet]").forEach(a => a.addEventListener("click", ev => { ev.preventDefault(); montrer(a.dataset.onglet); }));

async function connecter(){
  try { moi = await api("/me"); }
  catch (e){ sessionStorage.removeItem("matcher-cle"); $("connexion").classList.remove("cache");
    $("groupe-cle").classList.add("fr-input-group--error"); $("cle").classList.add("fr-input--error"); $("cle").setAttribute("aria-invalid", "true");
    $("cle-message").textContent = "Clé refusée : " + e.message; $("cle-message").classList.remove("cache"); $("cle").focus(); return; }
  const roles = {buyer:"acheteur", staff:"équipe French Tech", admin:"administration"};
  $("qui").textContent = `${moi.name} (${roles[moi.role]}${moi.buyer_id ? " — " + moi.buyer_id : ""})`;
  $("groupe-cle").classList.remove("fr-input-group--error"); $("cle").classList.remove("fr-input--error"); $("cle").removeAttribute("aria-invalid"); $("cle-message").classList.add("cache");
  $("connexion").classList.add("cache"); for (const id of ["session", "session-fin", "bouton-menu"]) $(id).classList.remove("cache");
  const staff = moi.role !== "buyer";
  document.querySelectorAll("[data-role=staff]").forEach(el => el.classList.toggle("cache", !staff));
  await chargerChoix();
  $("onglets").classList.remove("cache");
  montrer("recherche");
}
// the buyers' and needs' drop-downs, read again after every change of the needs (kept selections stay selected)
async function chargerChoix(){
  const acheteurs = (await api("/buyers")).data;
  for (const sel of ["besoins-acheteur", "liste-acheteur", "ag-acheteur"]){ const avant = $(sel).value;
    $(sel).innerHTML = acheteurs.map(b => `<option value="${esc(b.buyer_id)}">${esc(b.buyer_name || b.buyer_id)} (${b.n_needs} besoin${b.n_needs > 1 ? "s" : ""})</option>`).join("");
    if (avant && acheteurs.some(b => b.buyer_id === avant)) $(sel).value = avant; }
  const choix = [], avant = $("besoin-choisi").value;
  for (const b of acheteurs){ const needs = (await api(`/buyers/${encodeURIComponent(b.buyer_id)}/needs`)).data;
    for (const n of needs) choix.push(`<option value="${esc(n.need_id)}">${esc((b.buyer_name || b.buyer_id) + " — " + (n.title || n.description).slice(0, 90))}</option>`); }
  $("besoin-choisi").innerHTML = `<option value="">— saisir un texte libre —</option>` + choix.join("");
  if (avant && [...$("besoin-choisi").options].some(o => o.value === avant)) $("besoin-choisi").value = avant;
}
async function besoinsChanges(){ await chargerBesoins(); await chargerChoix(); }
// an unexpected error is said on the page, in French, instead of staying in the console
function erreurInattendue(message){ const el = $("erreur-globale"); $("erreur-globale-texte").textContent = "Une erreur inattendue est survenue sur la page (" + message + "). Rechargez la page ; si elle se reproduit, signalez-la à l'équipe."; el.classList.remove("cache"); }
window.addEventListener("error", ev => erreurInattendue(ev.message || "erreur"));
window.addEventListener("unhandledrejection", ev => erreurInattendue((ev.reason && ev.reason.message) || String(ev.reason)));
$("form-cle").addEventListener("submit", ev => { ev.preventDefault(); sessionStorage.setItem("matcher-cle", $("cle").value.trim()); $("cle").value = ""; connecter(); });
$("deconnexion").addEventListener("click", async () => {
  if (cle()){ sessionStorage.removeItem("matcher-cle"); location.reload(); return; }
  const suite = await api("/deconnexion", {method: "POST"});  // the session ends here, then at the provider
  location.assign(suite.next);
});

function filtres(){
  const f = {}, seg = $("segment").value, reg = $("region").value.trim(), taille = $("taille").value;
  const tags = [...document.querySelectorAll("input[name=tag]:checked")].map(x => x.value);
  if (seg) f.segments = [seg]; if (reg) f.regions = [reg]; if (taille) f.sizes = [taille]; if (tags.length) f.tags = tags;
  return f;
}
// the confidence in words and colour (never colour alone): the calibrated level of the ranking
const NIVEAUX = {forte: "fr-badge--success", possible: "fr-badge--warning", faible: ""};
function carte(r, versions){
  const badges = (r.is_sme ? `<li><p class="fr-badge fr-badge--sm fr-badge--info fr-badge--no-icon">PME</p></li>` : "")
    + (r.confidence ? `<li><p class="fr-badge fr-badge--sm confiance ${NIVEAUX[r.confidence] ?? ""}" data-niveau="${esc(r.confidence)}" title="Probabilité estimée que la correspondance soit pertinente : ${Math.round(100 * r.probability)} %">Correspondance ${esc(r.confidence)}</p></li>` : "");
  const tags = (r.tags || []).filter(t => t !== "pme").map(t => `<li><p class="fr-tag fr-tag--sm">${esc(t)}</p></li>`).join("");
  const titre = `<span class="rang">${r.rank}.</span> ${r.website ? `<a href="${esc(r.website)}" rel="noopener external" target="_blank" title="${esc(r.name)} — site de la start-up, nouvelle fenêtre">${esc(r.name)}</a>` : esc(r.name)}`;
  return `<article class="result fr-card fr-card--no-arrow fr-mb-3w" data-supplier="${esc(r.supplier_id)}" data-rank="${r.rank}"><div class="fr-card__body"><div class="fr-card__content">
   <h2 class="fr-card__title fr-h5">${titre}</h2>
   <div class="fr-card__start">${badges ? `<ul class="fr-badges-group">${badges}</ul>` : ""}
    <p class="fr-card__detail meta">${esc(r.region || "Région inconnue")} · ${esc((r.segments || []).map(segment).join(", ") || "segment non renseigné")}${r.size ? " · " + esc(TAILLES[r.size] || r.size) : ""}</p></div>
   <div class="fr-card__desc">
    <ul class="preuves">${r.explanation.evidence.map(e => `<li>${e.kind === "reference" ? "Marché" + (e.buyer_name ? " pour " + esc(e.buyer_name) : "") + (e.date ? " (" + esc(e.date.slice(0, 4)) + ")" : "") + " : " : ""}${highlight(e.text, e.terms)}</li>`).join("")}</ul>
    <ul class="raisons">${r.explanation.reasons.filter(x => !x.startsWith("Preuve")).map(x => `<li>${esc(x)}</li>`).join("")}</ul>
    ${tags ? `<ul class="fr-tags-group fr-mt-1w">${tags}</ul>` : ""}
    ${moi && moi.role !== "buyer" ? `<details class="meta"><summary>Détails techniques</summary>score ${r.score.toLocaleString("fr-FR", {maximumFractionDigits: 3})} · encodeur ${esc(versions.encoder)} · second étage ${esc(versions.reranker)} · index ${esc(versions.index)}</details>` : ""}
   </div>
   <div class="fr-card__end avis"><p class="fr-mb-1w" id="avis-${r.rank}">Votre avis sur ${esc(r.name)} :</p>
    <div role="group" aria-labelledby="avis-${r.rank}"><ul class="fr-btns-group fr-btns-group--inline-sm fr-btns-group--sm">${AVIS.map(([v, l]) => `<li><button type="button" class="fr-btn fr-btn--sm fr-btn--tertiary" aria-pressed="false" data-verdict="${v}">${l}</button></li>`).join("")}</ul></div>
    <p class="avis-status" role="status"></p></div>
  </div></div></article>`;
}
$("besoin-choisi").addEventListener("change", async () => {
  const id = $("besoin-choisi").value; if (!id) return;
  const n = await api(`/needs/${encodeURIComponent(id)}`);
  $("text").value = [n.title, n.description].filter(Boolean).join(". "); $("montant").value = n.amount || "";
});
let cpvChoisi = "";  // a likely CPV division the buyer chose to search with (cleared when the text changes)
$("text").addEventListener("input", () => { cpvChoisi = ""; });
$("procedure").addEventListener("click", ev => {
  const b = ev.target.closest("button.cpv-suggere"); if (!b) return;
  cpvChoisi = b.dataset.cpv; $("rechercher").click();
});
$("f").addEventListener("submit", async ev => {
  ev.preventDefault();
  const status = $("status"), box = $("results"); box.innerHTML = ""; $("procedure").innerHTML = "";
  const k = Number($("k").value || 10), besoin = $("besoin-choisi").value, f = filtres();
  status.textContent = "Recherche en cours…"; $("rechercher").disabled = true; $("rechercher").setAttribute("aria-busy", "true"); box.setAttribute("aria-busy", "true");
  try {
    let data;
    if (besoin){
      const p = new URLSearchParams({k});
      for (const [name, values] of Object.entries(f)) for (const v of values) p.append(name, v);
      data = await api(`/needs/${encodeURIComponent(besoin)}/matches?` + p);
    } else {
      const text = $("text").value.trim(); if (!text){ status.textContent = "Décrivez le besoin ou choisissez un besoin enregistré."; return; }
      const body = {text, k, filters: f}; const m = Number($("montant").value); if (m > 0) body.amount = m;
      if (cpvChoisi) body.cpv = [cpvChoisi];
      data = await api("/match", {method: "POST", json: body});
    }
    derniere = {need_id: data.need_id, text: $("text").value.trim(), versions: data.versions};
    const clair = !(data.count && data.clear_match === false);
    status.textContent = !data.count ? "Aucune start-up trouvée" : clair ? `${data.count} start-up trouvée${data.count > 1 ? "s" : ""}`
      : `Aucune correspondance claire : ${data.count} résultat${data.count > 1 ? "s" : ""} proche${data.count > 1 ? "s" : ""}, masqué${data.count > 1 ? "s" : ""}`;
    if (data.procurement) $("procedure").innerHTML = `<div class="fr-alert fr-alert--sm fr-mb-2w ${data.procurement.direct_award_possible ? "fr-alert--success" : "fr-alert--warning non"} notice"><p>${esc(data.procurement.message)}</p></div>`;
    const cpvs = (clair ? data.likely_cpv || [] : []).map(c => `<li><button type="button" class="fr-tag cpv-suggere" data-cpv="${esc(c.code)}" title="Relancer la recherche avec ce code CPV">${esc(c.division)}${c.label ? " – " + esc(c.label) : ""} (${Math.round(100 * c.probability)} %)</button></li>`).join("");
    $("procedure").innerHTML += cpvs ? `<div id="cpv-probables" class="fr-mb-2w"><p class="fr-mb-1w">CPV probables du besoin (choisissez-en un pour relancer la recherche) :</p><ul class="fr-tags-group">${cpvs}</ul></div>` : "";
    const cartes = data.results.map(r => carte(r, data.versions)).join("");
    if (!clair){
      // nothing fits clearly: say so plainly; the nearest results only on request
      box.innerHTML = `<div class="fr-notice fr-notice--info fr-mb-2w" id="pas-clair"><div class="fr-container"><div class="fr-notice__body"><p>
        <span class="fr-notice__title">Aucune start-up ne correspond clairement à ce besoin.</span>
        <span class="fr-notice__desc">Précisez le besoin (ce qu'il faut faire, pour qui, avec quelles contraintes) pour de meilleures correspondances.</span></p></div></div></div>
        <button type="button" class="fr-btn fr-btn--secondary fr-mb-2w" id="voir-proches" aria-expanded="false" aria-controls="resultats-proches">Afficher quand même les ${data.count} résultats les plus proches</button>
        <div id="resultats-proches" class="cache">${cartes}</div>`;
      $("voir-proches").addEventListener("click", () => { $("resultats-proches").classList.remove("cache"); $("voir-proches").setAttribute("aria-expanded", "true"); $("voir-proches").remove();
        status.textContent = `Aucune correspondance claire : ${data.count} résultat${data.count > 1 ? "s" : ""} proche${data.count > 1 ? "s" : ""}, à vérifier`; });
    } else box.innerHTML = cartes || "<p>Aucune start-up ne correspond à ces filtres.</p>";
  } catch (e){ status.innerHTML = alerte("Erreur : " + e.message); }
  finally { $("rechercher").disabled = false; $("rechercher").removeAttribute("aria-busy"); box.removeAttribute("aria-busy"); }
});
$("results").addEventListener("click", async ev => {
  const b = ev.target.closest("button[data-verdict]"); if (!b) return;
  const card = b.closest(".result"), out = card.querySelector(".avis-status");
  const body = {supplier_id: card.dataset.supplier, verdict: b.dataset.verdict, rank: Number(card.dataset.rank), versions: derniere.versions};
  if (derniere.need_id) body.need_id = derniere.need_id; else body.query_text = derniere.text;
  try { await api("/feedback", {method: "POST", json: body});
    card.querySelectorAll("button[data-verdict]").forEach(x => { x.classList.toggle("fr-btn--tertiary", x !== b); x.classList.toggle("choisi", x === b); x.setAttribute("aria-pressed", String(x === b)); });
    out.textContent = "Avis enregistré : " + b.textContent; }
  catch (e){ out.innerHTML = alerte(e.message); }
});

async function chargerBesoins(){
  const buyer = moi.role === "buyer" ? moi.buyer_id : $("besoins-acheteur").value;
  if (!buyer) return;
  let needs = [];
  try { needs = (await api(`/buyers/${encodeURIComponent(buyer)}/needs`)).data; } catch (e){ needs = []; }
  const lignes = needs.map(n => `<tr><td>${esc(n.need_id)}</td><td>${esc(n.title || n.description.slice(0, 100))}</td><td>${esc(segment(n.segment))}</td><td>${n.amount ? euros(n.amount) : ""}</td>
    <td><ul class="fr-btns-group fr-btns-group--inline fr-btns-group--sm"><li><button type="button" class="fr-btn fr-btn--sm fr-btn--secondary" data-modifier="${esc(n.need_id)}" title="Modifier le besoin ${esc(n.need_id)}">Modifier</button></li>
     <li><button type="button" class="fr-btn fr-btn--sm fr-btn--tertiary" data-supprimer="${esc(n.need_id)}" title="Supprimer le besoin ${esc(n.need_id)}">Supprimer</button></li></ul></td></tr>`);
  $("table-besoins-cadre").innerHTML = tableau("Besoins enregistrés", ["Identifiant", "Intitulé", "Segment", "Montant", "Actions"], lignes.length ? lignes : [`<tr><td colspan="5">Aucun besoin enregistré.</td></tr>`], "table-besoins");
}
$("besoins-acheteur").addEventListener("change", chargerBesoins);
function viderForm(){ for (const id of ["nb-edition","nb-id","nb-acheteur","nb-acheteur-nom","nb-titre","nb-description","nb-region","nb-montant","nb-cpv"]) $(id).value = ""; $("nb-segment").value = ""; $("nb-id").disabled = false; $("titre-form-besoin").textContent = "Nouveau besoin"; }
$("nb-annuler").addEventListener("click", viderForm);
$("table-besoins-cadre").addEventListener("click", async ev => {
  const m = ev.target.closest("button[data-modifier]"), s = ev.target.closest("button[data-supprimer]");
  if (m){ const n = await api(`/needs/${encodeURIComponent(m.dataset.modifier)}`);
    $("nb-edition").value = n.need_id; $("nb-id").value = n.need_id; $("nb-id").disabled = true; $("nb-acheteur").value = n.buyer_id; $("nb-acheteur-nom").value = n.buyer_name;
    $("nb-titre").value = n.title; $("nb-description").value = n.description; $("nb-segment").value = n.segment; $("nb-region").value = n.region;
    $("nb-montant").value = n.amount || ""; $("nb-cpv").value = (n.cpv || []).join("; "); $("titre-form-besoin").textContent = "Modifier le besoin " + n.need_id; $("nb-titre").focus(); }
  if (s && confirm("Supprimer le besoin " + s.dataset.supprimer + " ?")){ await api(`/needs/${encodeURIComponent(s.dataset.supprimer)}`, {method: "DELETE"}); besoinsChanges(); }
});
$("form-besoin").addEventListener("submit", async ev => {
  ev.preventDefault();
  const body = {title: $("nb-titre").value.trim(), description: $("nb-description").value.trim(), segment: $("nb-segment").value, region: $("nb-region").value.trim(),
    cpv: $("nb-cpv").value.split(/[;,\s]+/).filter(Boolean)};
  if (moi.role !== "buyer"){ body.buyer_id = $("nb-acheteur").value.trim() || $("besoins-acheteur").value; body.buyer_name = $("nb-acheteur-nom").value.trim(); }
  const m = Number($("nb-montant").value); if (m > 0) body.amount = m;
  const edition = $("nb-edition").value;
  if (!edition && $("nb-id").value.trim()) body.need_id = $("nb-id").value.trim();
  try { const n = edition ? await api(`/needs/${encodeURIComponent(edition)}`, {method: "PUT", json: body}) : await api("/needs", {method: "POST", json: body});
    $("nb-status").innerHTML = alerte("Besoin enregistré : " + n.need_id, "success"); viderForm(); besoinsChanges(); }
  catch (e){ $("nb-status").innerHTML = alerte(e.message); }
});
$("importer").addEventListener("click", async () => {
  const file = $("fichier-besoins").files[0]; if (!file) return;
  const format = file.name.split(".").pop().toLowerCase();
  try { const r = await occupe($("importer"), () => api(`/needs/import?format=${encodeURIComponent(format)}`, {method: "POST", body: file}));
    $("import-status").innerHTML = `<div class="fr-alert fr-alert--sm fr-my-2w ${r.rejected ? "fr-alert--warning" : "fr-alert--success"}"><p>${r.read} lignes lues, ${r.inserted} ajoutées, ${r.updated} mises à jour, ${r.rejected} rejetées.</p>` + (r.errors.length ? `<ul>${r.errors.map(e => `<li>${esc(e)}</li>`).join("")}</ul>` : "") + "</div>";
    besoinsChanges(); }
  catch (e){ $("import-status").innerHTML = alerte(e.message); }
});

function ligneListe(r){ return `<tr><td>${r.rank}</td><td>${esc(r.name)} ${r.is_sme ? '<p class="fr-badge fr-badge--sm fr-badge--info fr-badge--no-icon">PME</p>' : ""}</td><td>${esc(r.region)}</td><td>${r.score.toLocaleString("fr-FR", {minimumFractionDigits: 2, maximumFractionDigits: 2})}</td><td>${r.needs.map(n => esc(n.title) + " (rang " + n.rank + ")").join("<br>")}</td></tr>`; }
const TETES = ["Rang", "Start-up", "Région", "Score", "Besoins couverts"];
$("voir-liste").addEventListener("click", async () => {
  const b = $("liste-acheteur").value, k = $("liste-k").value;
  try { const data = await occupe($("voir-liste"), () => api(`/buyers/${encodeURIComponent(b)}/shortlist?k=${k}`));
    $("liste").innerHTML = tableau(`${data.buyer_name} — ${data.n_needs} besoin${data.n_needs > 1 ? "s" : ""}`, TETES, data.results.map(ligneListe)).replace("fr-table--no-caption", ""); }
  catch (e){ $("liste").innerHTML = alerte(e.message); }
});
async function telecharger(bouton, path, nom){
  try { const blob = await occupe(bouton, () => api(path)); const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = nom; document.body.appendChild(a); a.click(); a.remove(); }
  catch (e){ $("erreur-globale-texte").textContent = e.message; $("erreur-globale").classList.remove("cache"); }
}
$("export-csv").addEventListener("click", ev => { const b = $("liste-acheteur").value; telecharger(ev.currentTarget, `/buyers/${encodeURIComponent(b)}/shortlist/export?format=csv&k=${$("liste-k").value}`, `liste-${b}.csv`); });
$("export-xlsx").addEventListener("click", ev => { const b = $("liste-acheteur").value; telecharger(ev.currentTarget, `/buyers/${encodeURIComponent(b)}/shortlist/export?format=xlsx&k=${$("liste-k").value}`, `liste-${b}.xlsx`); });
function paramsTous(){ const p = new URLSearchParams({k: $("tous-k").value, trade_off: $("tous-diversite").value || 0}); if ($("tous-cap").value) p.set("cap", $("tous-cap").value); return p; }
const virgule = x => x.toLocaleString("fr-FR", {minimumFractionDigits: 3, maximumFractionDigits: 3});
$("voir-tous").addEventListener("click", async () => {
  let data;
  try { data = await occupe($("voir-tous"), () => api("/shortlists?" + paramsTous())); }
  catch (e){ $("exposition").innerHTML = alerte(e.message); return; }
  const ligne = (nom, e) => `<tr><th scope="row">${nom}</th><td>${e.distinct_items}</td><td>${e.max_exposure}</td><td>${virgule(e.gini_shown)}</td><td>${virgule(e.gini_catalogue)}</td></tr>`;
  $("exposition").innerHTML = tableau("Exposition des start-up dans les listes", ["", "Start-up distinctes", "Apparitions max. d'une start-up", "Concentration (start-up affichées)", "Concentration (tout le catalogue)"],
    [ligne("Sans équilibrage", data.exposure_before), ligne("Avec équilibrage", data.exposure_after)], "table-exposition").replace("fr-table--no-caption", "");
  $("tous").innerHTML = data.lists.map(l => `<h3 class="fr-h5 fr-mt-3w">${esc(l.buyer_name || l.buyer_id)}</h3>` + tableau("Liste de " + (l.buyer_name || l.buyer_id), TETES, l.results.map(ligneListe))).join("");
});
$("export-tous").addEventListener("click", ev => telecharger(ev.currentTarget, "/shortlists/export?format=xlsx&" + paramsTous(), "listes-ministeres.xlsx"));

function barres(titre, valeurs, format = v => v.toLocaleString("fr-FR")){
  const entrees = Object.entries(valeurs), max = Math.max(format === pourcent ? 1e-9 : 1, ...entrees.map(([, v]) => v)), h = 20 * entrees.length + 10;
  return `<figure><figcaption><strong>${esc(titre)}</strong></figcaption><svg class="graphique" viewBox="0 0 640 ${h}" width="640" height="${h}" role="img" aria-label="${esc(titre)}">` +
    entrees.map(([k, v], i) => { const nom = k || "non renseigné", court = nom.length > 34 ? nom.slice(0, 33) + "…" : nom;
      return `<text x="0" y="${20 * i + 14}"><title>${esc(nom)} : ${esc(format(v))}</title>${esc(court)}</text><rect x="220" y="${20 * i + 3}" width="${Math.round(360 * v / max)}" height="14" class="barre"></rect><text x="${226 + Math.round(360 * v / max)}" y="${20 * i + 14}">${esc(format(v))}</text>`; }).join("") + `</svg></figure>`;
}
// the barometer: shares as percentages, a line chart of the years beside the State's trajectory
const pourcent = v => v === null || v === undefined ? "—" : (100 * v).toLocaleString("fr-FR", {maximumFractionDigits: 2}) + " %";
function courbes(titre, annees, series){
  const w = 640, h = 220, g = 50, valeurs = series.flatMap(s => s.valeurs).filter(v => v !== null), max = Math.max(0.01, ...valeurs) * 1.15;
  const x = i => g + (annees.length > 1 ? i * (w - 2 * g) / (annees.length - 1) : (w - 2 * g) / 2), y = v => h - 30 - (h - 50) * v / max;
  const axes = `<line x1="${g}" y1="${h - 30}" x2="${w - g}" y2="${h - 30}" class="axe"></line>` +
    annees.map((a, i) => `<text x="${x(i)}" y="${h - 12}" text-anchor="middle">${a}</text>`).join("") +
    [0, max / 2, max].map(v => `<text x="${g - 6}" y="${y(v) + 4}" text-anchor="end">${esc(pourcent(v))}</text>`).join("");
  const traces = series.map(s => `<polyline class="${s.classe}" points="${s.valeurs.map((v, i) => v === null ? "" : `${x(i)},${y(v)}`).join(" ")}"></polyline>` +
    s.valeurs.map((v, i) => v === null ? "" : `<circle class="${s.classe}" cx="${x(i)}" cy="${y(v)}" r="3"><title>${esc(s.nom)} ${annees[i]} : ${esc(pourcent(v))}</title></circle>`).join("")).join("");
  const legende = series.map(s => `<li><span class="pastille ${s.classe}"></span>${esc(s.nom)}</li>`).join("");
  return `<figure><figcaption><strong>${esc(titre)}</strong></figcaption><svg class="graphique courbes" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(titre)} (les valeurs sont dans le tableau qui suit)">${axes}${traces}</svg><ul class="legende">${legende}</ul></figure>`;
}
function paramsBarometre(par){
  const annee = $("baro-annee").value;
  return `by=${par}&state=${$("baro-perimetre").value}` + (annee && !par.includes("year") ? `&year=${annee}` : "");
}
async function chargerBarometre(){
  if (moi.role === "buyer") return;
  const sortie = $("barometre-resultats");
  try {
    const [annees, ministeres, regions] = await Promise.all(["year", "ministry", "region"].map(par => api("/barometer?" + paramsBarometre(par))));
    const entonnoir = await api("/outcomes/funnel");
    const noms = Object.fromEntries((await api("/buyers")).data.map(b => [b.buyer_id, b.buyer_name || b.buyer_id]));
    const suivi = entonnoir.count ? tableau("Ce que les listes envoyées ont donné (start-up par étape)", ["Ministère", "Listes envoyées", "Listées", "Jugées pertinentes", "Contactées", "Rencontrées", "Contractualisées", "Marché attribué"],
      entonnoir.data.map(r => `<tr><td>${esc(noms[r.buyer_id] || r.buyer_id)}</td>${[r.lists, r.listed, r.pertinent, r.contacted, r.pitched, r.contracted, r.awarded].map(v => `<td>${v}</td>`).join("")}</tr>`), "baro-entonnoir") : "";
    const t = annees.totals;
    if (!t.contracts){ sortie.innerHTML = alerte("Aucun marché importé pour l'instant : l'équipe importe les données essentielles avec « matcher barometer import ».", "info") + suivi; return; }
    const choisie = $("baro-annee").value, connues = annees.rows.filter(r => r.year !== null);
    $("baro-annee").innerHTML = `<option value="">Toutes</option>` + connues.map(r => `<option value="${r.year}">${r.year}</option>`).join("");
    $("baro-annee").value = choisie;
    const lignes = (rows, cible = false) => rows.map(r => `<tr><td>${esc(r.ministry ?? r.region ?? r.year ?? "Année inconnue")}</td><td>${r.contracts.toLocaleString("fr-FR")}</td><td>${esc(euros(Math.round(r.amount)))}</td>` +
      `<td>${esc(pourcent(r.innovative_share))}</td><td>${esc(pourcent(r.sme_share))}</td><td>${esc(pourcent(r.sme_unknown_share))}</td><td>${esc(pourcent(r.flagged_share))}</td>${cible ? `<td>${esc(pourcent(r.target_share))}</td>` : ""}</tr>`);
    const tetes = ["Contrats", "Montant", "Entreprises innovantes", "PME", "Taille inconnue", "Signalés innovants par l'acheteur"];
    sortie.innerHTML = `<p class="meta">${t.contracts.toLocaleString("fr-FR")} contrats (${t.first_year}–${t.last_year}), ${t.buyers.toLocaleString("fr-FR")} acheteurs dont ${t.buyers_unmapped.toLocaleString("fr-FR")} non rattachés à un ministère,
      ${t.labelled_companies.toLocaleString("fr-FR")} entreprises étiquetées innovantes ; ${t.unusable.toLocaleString("fr-FR")} lignes sans montant ou titulaire exploitable, comptées à part.</p>` +
      courbes("Part remportée par les entreprises innovantes, par année", connues.map(r => r.year), [
        {nom: "Entreprises innovantes (étiquetées)", classe: "serie-innovantes", valeurs: connues.map(r => r.innovative_share)},
        {nom: "Signalés innovants par l'acheteur", classe: "serie-signales", valeurs: connues.map(r => r.flagged_share)},
        {nom: "Trajectoire de l'État (2,4 % → 4 % en 2027)", classe: "serie-cible", valeurs: connues.map(r => r.target_share)}]) +
      tableau("Par année", ["Année", ...tetes, "Cible"], lignes(annees.rows, true), "baro-annees") +
      barres("Part des entreprises innovantes par ministère ou famille d'acheteurs" + (choisie ? ` (${choisie})` : ""), Object.fromEntries(ministeres.rows.map(r => [r.ministry, r.innovative_share || 0])), pourcent) +
      tableau("Par ministère ou famille d'acheteurs", ["Ministère", ...tetes], lignes(ministeres.rows), "baro-ministeres") +
      barres("Part des entreprises innovantes par région" + (choisie ? ` (${choisie})` : ""), Object.fromEntries(regions.rows.map(r => [r.region, r.innovative_share || 0])), pourcent) +
      tableau("Par région", ["Région", ...tetes], lignes(regions.rows), "baro-regions") +
      suivi + (annees.unmapped_buyers.length ? tableau("Acheteurs non rattachés les plus importants", ["Identifiant", "Nom", "Contrats", "Montant"],
        annees.unmapped_buyers.slice(0, 10).map(b => `<tr><td>${esc(b.buyer_id)}</td><td>${esc(b.name)}</td><td>${b.contracts}</td><td>${esc(euros(Math.round(b.amount)))}</td></tr>`)) : "");
  } catch (e){ sortie.innerHTML = alerte(e.message); }
}
$("voir-barometre").addEventListener("click", ev => occupe(ev.currentTarget, chargerBarometre));
$("baro-csv").addEventListener("click", ev => telecharger(ev.currentTarget, "/barometer/export?format=csv&" + paramsBarometre("ministry,year"), "barometre.csv"));
$("baro-xlsx").addEventListener("click", ev => telecharger(ev.currentTarget, "/barometer/export?format=xlsx&" + paramsBarometre("ministry,year"), "barometre.xlsx"));
async function chargerStats(){
  if (moi.role === "buyer") return;
  const s = await api("/stats");
  const parMinistere = Object.fromEntries(s.by_ministry.map(m => [m.buyer_name || m.buyer_id, m.startups]));
  const tailles = Object.fromEntries(Object.entries(s.by_size).map(([k, v]) => [TAILLES[k] || k, v]));
  $("graphiques").innerHTML = `<p class="meta">Start-up des listes (${s.k} par ministère).</p>` + barres("Par région", s.by_region) + barres("Par segment", Object.fromEntries(Object.entries(s.by_segment).map(([k, v]) => [segment(k), v]))) +
    barres("Par ministère", parMinistere) + barres("Par taille d'entreprise", tailles) + (Object.keys(s.feedback).length ? barres("Avis reçus", Object.fromEntries(Object.entries(s.feedback).map(([k, v]) => [(AVIS.find(([code]) => code === k) || [k, k])[1], v]))) : "");
}
async function besoinsDe(id){
  try { const d = await api(`/suppliers/${encodeURIComponent(id)}/needs`);
    const titre = d.count ? `${d.count} besoin${d.count > 1 ? "s" : ""} enregistré${d.count > 1 ? "s" : ""} lui correspond${d.count > 1 ? "ent" : ""}` : "aucun besoin enregistré ne lui correspond";
    $("inverse-resultats").innerHTML = `<p>${esc(d.name)} : ${titre}.</p>` + (d.count ? tableau("Besoins qui correspondent à " + d.name, ["Acheteur", "Besoin", "Rang de la start-up", "Raisons"],
      d.data.map(n => `<tr><td>${esc(n.buyer_name || n.buyer_id)}</td><td>${esc(n.title)}</td><td>${n.rank}</td><td>${n.reasons.map(esc).join("<br>")}</td></tr>`)) : ""); }
  catch (e){ $("inverse-resultats").innerHTML = alerte(e.message); }
}
// suggestions as you type: the catalogue's start-ups whose name, SIREN or identifier fits (after a short pause)
let attenteSuggestions = null;
$("inverse-id").addEventListener("input", () => {
  clearTimeout(attenteSuggestions);
  const texte = $("inverse-id").value.trim(); if (texte.length < 2) return;
  attenteSuggestions = setTimeout(async () => {
    try { const d = await api(`/suppliers?q=${encodeURIComponent(texte)}&limit=8`);
      if ($("inverse-id").value.trim() !== texte) return;  // typed on meanwhile
      $("suggestions-startup").innerHTML = d.data.map(s => `<option value="${esc(s.name)}">${esc([s.region, s.siren ? "SIREN " + s.siren : ""].filter(Boolean).join(" · "))}</option>`).join(""); }
    catch (e){ $("suggestions-startup").innerHTML = ""; }
  }, 250);
});
$("inverse-id").addEventListener("keydown", ev => { if (ev.key === "Enter"){ ev.preventDefault(); $("voir-inverse").click(); } });
$("voir-inverse").addEventListener("click", async () => {
  const texte = $("inverse-id").value.trim(); if (!texte) return;
  if (texte.length < 2){ $("inverse-resultats").innerHTML = alerte("Tapez au moins deux caractères du nom."); return; }
  try { const d = await occupe($("voir-inverse"), () => api(`/suppliers?q=${encodeURIComponent(texte)}&limit=20`));
    if (!d.count){ $("inverse-resultats").innerHTML = `<p>Aucune start-up du catalogue ne porte un nom, un SIREN ou un identifiant proche de « ${esc(texte)} ».</p>`; return; }
    if (d.count === 1){ besoinsDe(d.data[0].supplier_id); return; }
    $("inverse-resultats").innerHTML = `<p>${d.count >= 20 ? "Au moins 20" : d.count} start-up correspondent : choisissez.</p><ul class="choix">` +
      d.data.map(s => `<li class="fr-mb-1w"><button type="button" class="fr-btn fr-btn--sm fr-btn--secondary" data-fournisseur="${esc(s.supplier_id)}">${esc(s.name)}</button> <span class="meta">${esc(s.region || "")}${s.siren ? " · SIREN " + esc(s.siren) : ""}</span></li>`).join("") + "</ul>";
    document.querySelectorAll("#inverse-resultats [data-fournisseur]").forEach(b => b.addEventListener("click", () => besoinsDe(b.dataset.fournisseur))); }
  catch (e){ $("inverse-resultats").innerHTML = alerte(e.message); }
});
// the SIRET table of agents' sign-in (staff)
const ROLES = {buyer: "Acheteur", staff: "Équipe French Tech", admin: "Administration"};
async function chargerAgents(){
  try { const d = await api("/agents/organisations");
    const lignes = d.data.map(o => `<tr><td>${esc(o.siret)}</td><td>${esc(o.label)}</td><td>${esc(ROLES[o.role] || o.role)}</td><td>${esc(o.buyer_id || "")}</td><td>${esc(o.updated_by)}</td>
      <td><button type="button" class="fr-btn fr-btn--sm fr-btn--tertiary" data-retirer="${esc(o.siret)}" title="Retirer l'établissement ${esc(o.siret)}">Retirer</button></td></tr>`);
    $("table-agents-cadre").innerHTML = tableau("Établissements dont les agents peuvent se connecter", ["SIRET", "Établissement", "Rôle", "Organisation acheteuse", "Modifié par", "Actions"],
      lignes.length ? lignes : [`<tr><td colspan="6">Aucun établissement inscrit.</td></tr>`], "table-agents"); }
  catch (e){ $("table-agents-cadre").innerHTML = alerte(e.message); }
}
$("ag-role").addEventListener("change", () => { $("ag-acheteur").disabled = $("ag-role").value !== "buyer"; });
$("form-agents").addEventListener("submit", async ev => {
  ev.preventDefault();
  const siret = $("ag-siret").value.replace(/\s/g, ""), role = $("ag-role").value;
  const body = {role, label: $("ag-libelle").value.trim()}; if (role === "buyer") body.buyer_id = $("ag-acheteur").value;
  try { await occupe($("ag-enregistrer"), () => api(`/agents/organisations/${encodeURIComponent(siret)}`, {method: "PUT", json: body}));
    $("ag-status").innerHTML = alerte(`Établissement ${siret} enregistré.`, "success"); $("ag-siret").value = ""; $("ag-libelle").value = ""; chargerAgents(); }
  catch (e){ $("ag-status").innerHTML = alerte(e.message); }
});
$("table-agents-cadre").addEventListener("click", async ev => {
  const b = ev.target.closest("button[data-retirer]"); if (!b || !confirm("Retirer l'établissement " + b.dataset.retirer + " ?")) return;
  try { await api(`/agents/organisations/${encodeURIComponent(b.dataset.retirer)}`, {method: "DELETE"}); chargerAgents(); }
  catch (e){ $("ag-status").innerHTML = alerte(e.message); }
});
if (cle() || CSRF) connecter();
