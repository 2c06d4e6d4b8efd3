"""The web page in a real headless Chromium (Debian's package, driven by Playwright).

A buyer types a need, filters, reads the explanations and gives feedback; staff record a
need, export a ministry's shortlist as XLSX, balance the cross-ministry lists and look at
the statistics. Screenshots go to ``test-artifacts/`` (or $MATCHER_TEST_ARTIFACTS).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from browser import ARTIFACTS, Console, contrast, login, screen
from live_server import serving

from matcher.app import Engine
from matcher.settings import Settings
from service.app import create_app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The service on the sample catalogue, served over HTTP on a free loopback port, with keys."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("web") / "data", encoder="hashing", reranker="none")
    engine = Engine.open(settings)
    app = create_app(settings, engine=engine)
    with serving(app) as base:
        keys = app.state.keys
        tokens = {"buyer": keys.create("Acheteuse Santé", "buyer", "min-sante")[1], "staff": keys.create("Équipe French Tech", "staff")[1]}
        yield base, tokens, engine


def test_buyer_searches_filters_reads_explanations_and_gives_feedback(server, browser) -> None:
    base, tokens, engine = server
    context, page = login(browser, base, tokens["buyer"])
    assert "Acheteuse Santé" in page.inner_text("#qui")
    page.fill("#text", "Plateforme de téléconsultation pour nos centres de santé et nos EHPAD")
    page.fill("#montant", "60000")
    page.select_option("#segment", "sante")
    page.click("#rechercher")
    page.wait_for_selector(".result")
    cards = page.locator(".result")
    assert cards.count() >= 3
    assert "sans publicité ni mise en concurrence" in page.inner_text("#procedure")
    for i in range(cards.count()):
        assert "Santé" in cards.nth(i).locator(".meta").first.inner_text()  # the segment's name, not its code
    assert page.inner_text("#status").endswith("start-up trouvées") and page.is_enabled("#rechercher")
    first = cards.first
    assert first.locator(".preuves mark").count() >= 1  # matching terms highlighted in the evidence
    text = page.inner_text("#results")
    for internal in ("hashing", "reranker", "score", "Modèle", "Détails techniques", "sante"):  # no internal term on a buyer's screen
        assert internal not in text, internal
    page.screenshot(path=str(ARTIFACTS / "buyer-search.png"), full_page=True)

    supplier = first.get_attribute("data-supplier")
    first.locator("button[data-verdict=shortlisted]").click()
    page.wait_for_selector(".avis-status:has-text('Avis enregistré')")
    chosen = first.locator("button[data-verdict=shortlisted]")
    assert chosen.get_attribute("aria-pressed") == "true"  # said to screen readers, not by colour alone
    fg, bg = (chosen.evaluate(f"b => getComputedStyle(b).{p}") for p in ("color", "backgroundColor"))
    assert contrast(fg, bg) >= 4.5, (fg, bg)  # WCAG AA for its text
    from matcher.data.feedback import list_feedback

    stored = list_feedback(engine.catalogue)[0]
    assert stored["supplier_id"] == supplier and stored["verdict"] == "shortlisted" and stored["buyer_id"] == "min-sante"
    assert (
        stored["actor"].startswith("Acheteuse Santé")
        and stored["encoder"].startswith("hashing")
        and stored["query_text"].startswith("Plateforme")
    )

    # a recorded need of the buyer's organisation, with its amount over the threshold
    page.select_option("#besoin-choisi", "demo-n05")
    page.wait_for_function("document.getElementById('text').value.length > 0")
    page.click("#rechercher")
    page.wait_for_selector("#procedure .notice.non")

    screen(page, "besoins")  # the buyer's other screen: its organisation's needs
    page.wait_for_selector("#table-besoins tr td")
    shown = page.inner_text("#besoins")
    for internal in ("reranker", "score", "encodeur", "sante", "numerique"):
        assert internal not in shown, internal
    page.console.assert_clean()
    context.close()


def test_staff_record_a_need_export_balance_and_see_statistics(server, browser, tmp_path: Path) -> None:
    base, tokens, engine = server
    context, page = login(browser, base, tokens["staff"])

    screen(page, "besoins")
    page.select_option("#besoins-acheteur", "min-education")
    page.wait_for_selector("#table-besoins tr")
    links = page.locator("#besoins a[download]")  # the import templates, XLSX and CSV
    assert links.count() == 4
    for href in links.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        answer = page.request.get(base + href)
        assert answer.status == 200 and len(answer.body()) > 100, href
    page.fill("#nb-id", "web-1")
    page.fill("#nb-titre", "Outil d'aide à l'orientation des lycéens")
    page.select_option("#nb-segment", "numerique")
    page.fill("#nb-montant", "90000")
    page.click("#form-besoin button[type=submit]")
    page.wait_for_selector("#nb-status:has-text('Besoin enregistré : web-1')")
    page.wait_for_selector("#table-besoins td:has-text('web-1')")
    assert engine.catalogue.need("web-1").buyer_id == "min-education"
    page.wait_for_selector("#besoin-choisi option[value='web-1']", state="attached")  # the search tab's list knows it at once
    assert page.input_value("#besoins-acheteur") == "min-education"  # and the selection stayed

    screen(page, "listes")
    page.select_option("#liste-acheteur", "min-sante")
    page.click("#voir-liste")
    page.wait_for_selector("#liste table tbody tr")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    path = tmp_path / "liste.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]][:3] == ["Acheteur (id)", "Acheteur", "Rang"] and sheet.max_row == 11

    page.fill("#tous-cap", "1")
    page.click("#voir-tous")
    page.wait_for_selector("#table-exposition")
    rows = page.locator("#table-exposition tbody tr")
    assert rows.nth(1).locator("td").nth(1).inner_text() == "1"  # no start-up in more than one list
    page.screenshot(path=str(ARTIFACTS / "staff-shortlists.png"), full_page=True)

    screen(page, "stats")
    page.wait_for_selector("#graphiques svg rect")
    assert page.locator("#graphiques figure").count() >= 4
    labels = page.locator("#graphiques svg text").all_text_contents()  # a label's text follows its <title> (the full name)
    assert any(t.endswith("Santé") for t in labels) and not any(t.endswith("sante") for t in labels)  # names, not codes
    assert not any("&amp;" in t or "&#" in t for t in labels)  # never a name cut inside an escaped character
    page.screenshot(path=str(ARTIFACTS / "staff-statistics.png"), full_page=True)

    screen(page, "inverse")  # the reverse question, from a name staff know
    page.locator("#inverse-id").press_sequentially("Neph", delay=30)  # suggestions as you type
    page.wait_for_selector("#suggestions-startup option[value='Nephelia Santé']", state="attached")
    page.fill("#inverse-id", "santé")
    page.click("#voir-inverse")
    page.wait_for_selector("#inverse-resultats [data-fournisseur]")
    page.click("#inverse-resultats [data-fournisseur='demo-s001']")
    page.wait_for_selector("#inverse-resultats table")
    assert page.locator("#inverse-resultats p").first.inner_text().startswith("Nephelia Santé : ")
    page.fill("#inverse-id", "Epidemos")  # one match: its needs straight away
    page.click("#voir-inverse")
    page.locator("#inverse-resultats p", has_text="Épidémos : ").wait_for()
    page.console.assert_clean()
    context.close()


def test_the_api_reference_works_offline_under_the_csp(server, browser) -> None:
    """/docs: Swagger UI from the service's own files (the test browser has no internet), no CSP violation."""
    base, _, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    console = Console(page)
    response = page.goto(base + "/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    response = page.goto(base + "/redoc")  # the same reference in ReDoc, also from the service's own files
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("h1:has-text('Matcher')", timeout=20_000)
    assert page.locator("[data-section-id^='tag/']").count() >= 3
    # ReDoc always asks its maker's CDN for a logo: the policy refuses it (nothing leaves for another origin), as it should
    console.errors = [e for e in console.errors if "cdn.redoc.ly" not in e]
    console.assert_clean()
    context.close()


def test_no_screen_overflows_sideways_on_a_phone(server, browser) -> None:
    """At 390 px (a phone), no screen is wider than the window: nothing to scroll sideways."""
    base, tokens, _ = server
    context, page = login(browser, base, tokens["staff"], width=390)
    page.fill("#text", "Plateforme de téléconsultation pour nos centres de santé et nos EHPAD")
    page.click("#rechercher")
    page.wait_for_selector(".result")
    for tab, ready in (
        ("recherche", ".result"),
        ("besoins", "#table-besoins tr"),
        ("listes", None),
        ("stats", "#graphiques svg"),
        ("inverse", None),
    ):
        screen(page, tab)
        if tab == "listes":
            page.click("#voir-liste")
            ready = "#liste table"
        if ready:
            page.wait_for_selector(ready)
        width = page.locator("html").evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert width[0] <= width[1], (tab, width)
    page.console.assert_clean()
    context.close()


def test_staff_read_the_barometer_chart_tables_and_export(server, browser, tmp_path: Path) -> None:
    from test_barometer import LABELLED, MINISTRY, TODAY, _sample_2022

    from matcher.barometer.store import BarometerStore

    base, tokens, engine = server
    store = BarometerStore(engine.settings.barometer_path)
    store.import_files([_sample_2022(tmp_path)], TODAY)
    store.set_buyer(MINISTRY, "Économie et Finances")
    store.add_labels([(LABELLED, "i-Lab", "test", 2020)])
    store.close()
    context, page = login(browser, base, tokens["staff"])
    assert page.request.get(
        base + "/buyers/min-sante/shortlist/export?format=csv", headers={"Authorization": f"Bearer {tokens['staff']}"}
    ).ok  # a list sent
    screen(page, "barometre")
    page.wait_for_selector("#barometre-resultats svg.courbes circle.serie-cible")  # one year here: one point per series
    years = page.locator("#baro-annees tbody tr").first.locator("td").all_inner_texts()
    assert years[0] == "2024" and years[3] == "20 %" and years[-1] == "2,4 %"  # the share beside the trajectory, in French
    ministries = page.locator("#baro-ministeres tbody tr").first.locator("td").all_inner_texts()
    assert ministries[0] == "Économie et Finances" and ministries[3] == "20 %"
    assert (
        page.locator("#baro-entonnoir tbody tr td").first.inner_text() == "Ministère de la Santé et de la Prévention"
    )  # the lists' funnel
    page.select_option("#baro-perimetre", "false")  # every buyer: the town's award joins
    page.click("#voir-barometre")
    page.locator("#baro-ministeres td", has_text="Collectivités territoriales").wait_for()
    with page.expect_download() as download:
        page.click("#baro-xlsx")
    path = tmp_path / "barometre.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]][:3] == ["Ministère ou famille d'acheteurs", "Année", "Contrats"]
    page.screenshot(path=str(ARTIFACTS / "staff-barometer.png"), full_page=True)
    page.console.assert_clean()
    context.close()
