"""What the browser tests share: Debian's Chromium driven by Playwright, the console watch, signing in
with a key, opening a screen from the header's menu, and axe-core's audit of a screen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("MATCHER_TEST_ARTIFACTS", REPO / "test-artifacts"))
CHROMIUM = os.environ.get("MATCHER_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# as root in a sandbox, and without the background connections a closed network refuses
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: the screens of the page, by the id of their section (and of their link in the header's menu)
SCREENS = ("recherche", "besoins", "listes", "stats", "barometre", "inverse", "agents")


class Console:
    """What the page said in the browser console: every error and uncaught exception, CSP violations first."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" or "Content Security Policy" in msg.text
                else None
            ),
        )
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on(
            "response",
            lambda resp: self.errors.append(f"HTTP {resp.status}: {resp.request.method} {resp.url}") if resp.status >= 400 else None,
        )

    def assert_clean(self) -> None:
        assert not self.errors, "the page reported errors (CSP violations included):\n" + "\n".join(self.errors)


def open_page(browser, base: str, path: str = "/", width: int = 1280):
    """A fresh context and page at ``path``, watched by a ``Console`` (``page.console``)."""
    context = browser.new_context(accept_downloads=True, viewport={"width": width, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.console = Console(page)  # checked at the end of each test: the page runs under the service's strict CSP
    response = page.goto(base + path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    return context, page


def login(browser, base: str, token: str, width: int = 1280):
    """Signed in with an API key on the page; the search screen is shown."""
    context, page = open_page(browser, base, "/", width)
    page.fill("#cle", token)
    page.click("#form-cle button[type=submit]")
    page.wait_for_selector("#onglets:not(.cache)", state="attached")
    page.wait_for_selector("section#recherche:not(.cache)")
    return context, page


def screen(page, name: str) -> None:
    """Open a screen from the header's menu (behind the « Menu » button on a phone)."""
    burger = page.locator("#bouton-menu")
    if burger.is_visible():
        burger.click()
        page.wait_for_selector("#menu-ecrans.fr-modal--opened")
    page.click(f"#onglets [data-onglet={name}]")
    page.wait_for_selector(f"section#{name}:not(.cache)")
    page.wait_for_selector("#menu-ecrans:not(.fr-modal--opened)", state="attached")


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now (WCAG 2.x A and AA rules)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return found


def contrast(color: str, background: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb(…)`` colours."""

    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(color), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)
