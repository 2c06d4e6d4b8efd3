"""Every notebook runs top to bottom on the bundled sample, so that none can rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # executes the notebooks in a Jupyter kernel

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHER_NOTEBOOK_DATA_DIR", str(tmp_path / "data"))
    service = tmp_path / "service"  # what a data scientist's shell may point at: the service's data and registry
    monkeypatch.setenv("MATCHER_DATA_DIR", str(service))
    monkeypatch.setenv("MATCHER_MLFLOW_URI", f"sqlite:///{service / 'mlflow.sqlite'}")
    monkeypatch.setenv("MATCHER_ENCODER", "hashing")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MATCHER_NOTEBOOK_TEACHER", "hashing")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert not service.exists()  # a notebook never writes to the service's store, nor moves its registry's aliases
