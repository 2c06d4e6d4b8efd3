"""The house keeps its shape: layers (import-linter), lint and format (ruff), types (mypy).

Each runs the tool the developer runs, on the same configuration (``pyproject.toml``); a failure
prints what the tool said.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = ["matcher", "embeddings", "service", "tests", "benchmarks"]


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "command",
    [
        ("lint-imports",),  # edges → application → stages → data/embeddings; no module imports upward
        ("ruff", "check", *CODE),
        ("ruff", "format", "--check", *CODE),
        ("mypy",),  # the packages, as configured in pyproject.toml
    ],
    ids=["layers", "ruff", "format", "mypy"],
)
def test_the_tool_passes(command: tuple[str, ...]) -> None:
    result = _run(*command)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"


def test_the_layer_contract_would_catch_an_upward_import(tmp_path: Path) -> None:
    """The contract is not vacuous: a data module importing the application layer breaks it."""
    probe = REPO / "matcher" / "data" / "_upward_probe.py"
    probe.write_text("from matcher.app.engine import Engine  # noqa: F401\n")
    try:
        result = _run("lint-imports", "--no-cache")
    finally:
        probe.unlink()
    assert result.returncode != 0 and "matcher.data._upward_probe -> matcher.app.engine" in result.stdout
