"""The house keeps its shape: layers (import-linter), lint and format (ruff), types (mypy).

Each runs the tool the developer runs, on the same configuration (``pyproject.toml``); a failure
prints what the tool said.
"""

from __future__ import annotations

import ast
import json
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


@pytest.mark.parametrize(
    ("where", "line", "reported"),
    [
        ("matcher/data", "from matcher.app.engine import Engine", "matcher.data._probe -> matcher.app.engine"),  # upward
        ("service", "from matcher.ranking.rank import Query", "service._probe -> matcher.ranking.rank"),  # an edge into a stage
    ],
    ids=["upward", "edge-into-stage"],
)
def test_the_contracts_would_catch_a_wrong_import(where: str, line: str, reported: str) -> None:
    """The contracts are not vacuous: a data module importing the application layer, or a router
    importing a stage, breaks them."""
    probe = REPO / where / "_probe.py"
    probe.write_text(f"{line}  # noqa: F401\n")
    try:
        result = _run("lint-imports", "--no-cache")
    finally:
        probe.unlink()
    assert result.returncode != 0 and reported in result.stdout


def test_the_notebooks_import_the_application_layer_only() -> None:
    """Notebooks are edges too: ``matcher.app`` (its use cases, vocabulary and workbench) and the settings."""
    allowed = ("matcher.app", "matcher.settings")
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        modules = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        ours = [m for m in modules if m and m.split(".")[0] in ("matcher", "embeddings", "service")]
        assert ours, path.name
        wrong = [m for m in ours if not any(m == a or m.startswith(a + ".") for a in allowed)]
        assert not wrong, f"{path.name} imports {wrong}: reach them through matcher.app (matcher.app.workbench for research pieces)"
