"""Today's rankings, kept: the sample benchmark ranked by every configuration equals its golden run.

The golden runs were written before the redesign of issue 13 by ``benchmarks/golden_runs.py write``
(every shipped encoder × index kind × scorer; decp-dev too, checked by ``golden_runs.py check``).
Same supplier ids in the same order for every need, scores within 1e-6. A change of ranking
behaviour is then a decision: rewrite the golden runs in the same commit and say why.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("golden_runs", REPO / "benchmarks" / "golden_runs.py")
golden_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_runs)  # type: ignore[union-attr]

CONFIGS = [c for c in golden_runs.configurations("sample") if golden_runs.path_of("sample", *c).is_file()]


@pytest.mark.parametrize(
    ("encoder", "kind", "scorer"),
    [pytest.param(*c, marks=() if c[0] == "hashing" else pytest.mark.slow) for c in CONFIGS],
    ids=["-".join(c) for c in CONFIGS],
)
def test_the_sample_ranks_as_its_golden_run(encoder: str, kind: str, scorer: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.getbasetemp() / "golden-cache"
    cache.mkdir(exist_ok=True)
    run = golden_runs.rank(golden_runs.benchmarks("sample")["sample"], encoder, kind, scorer, cache)
    golden = golden_runs.read(golden_runs.path_of("sample", encoder, kind, scorer))
    assert len(golden) == 25 and run is not None
    assert golden_runs.differences(golden, run) == []


def test_every_flat_configuration_has_a_golden_run() -> None:
    assert len(CONFIGS) >= 14 and all(
        golden_runs.path_of("sample", e, "flat", s).is_file() for e, k, s in golden_runs.configurations("sample") if k == "flat"
    )


def test_a_difference_is_found_unless_it_only_reorders_a_tie() -> None:
    golden = {"n1": [("a", 0.9), ("b", 0.5), ("c", 0.5), ("d", 0.4), ("e", 0.3), ("f", 0.3)]}
    tie_swapped = {"n1": [("a", 0.9), ("c", 0.5000004), ("b", 0.5), ("d", 0.4), ("e", 0.3), ("g", 0.3)]}  # g: tied at the cut
    assert golden_runs.differences(golden, tie_swapped) == []
    swapped = {"n1": [("b", 0.9), ("a", 0.5), ("c", 0.5), ("d", 0.4), ("e", 0.3), ("f", 0.3)]}
    assert golden_runs.differences(golden, swapped) == ["n1: another order at rank 1"]
    other = {"n1": [("a", 0.9), ("b", 0.5), ("x", 0.5), ("d", 0.4), ("e", 0.3), ("f", 0.3)]}
    assert golden_runs.differences(golden, other) == ["n1: another order at rank 2"]
    moved = {"n1": [("a", 0.9), ("b", 0.5), ("c", 0.5), ("d", 0.4000021), ("e", 0.3), ("f", 0.3)]}
    assert golden_runs.differences(golden, moved) == ["n1: score differs by 2.00e-06"]
    assert golden_runs.differences(golden, {}) == ["n1: missing"]
