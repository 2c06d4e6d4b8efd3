"""Building a benchmark from award data, split in time (what decp-dev is, and what later data will be)."""

from __future__ import annotations

import json
from pathlib import Path

from matcher.data.decp import Award, benchmark_from_awards, read_awards
from matcher.evaluation.evaluate import Benchmark


def _award(award_id: str, buyer: str, objet: str, date: str, holders: list[str]) -> Award:
    return Award(award_id, buyer, f"Acheteur {buyer}", objet, "72000000", date, 1000.0, "Var", [(h, h.upper()) for h in holders], "test")


def test_split_in_time_labels_and_slices(tmp_path: Path) -> None:
    awards = [
        _award("A00", "21830001", "Maintenance informatique", "2018-05-01", ["111111111"]),
        _award("B00", "21830002", "Nettoyage", "2018-06-01", ["222222222"]),
        _award("C00", "21830001", "Hébergement cloud", "2019-01-10", ["111111111"]),  # repeat
        _award("D00", "21830003", "Infogérance", "2019-01-11", ["111111111", "333333333"]),  # new-pair, 1 profiled winner
        _award("D01", "21830003", "Infogérance lot 2", "2019-01-11", ["222222222"]),  # other lot of D: dropped
        _award("E00", "21830004", "Études", "2019-01-12", ["999999999"]),  # winner without profile: not a need
        _award("F00", "21830005", "Ménage", "2019-03-01", ["222222222"]),  # after --until
    ]
    bench = benchmark_from_awards(awards, "2019-01-01", "2019-02-01")
    assert [s.supplier_id for s in bench.suppliers] == ["111111111", "222222222"]
    assert [n["need_id"] for n in bench.needs] == ["21830001-C00", "21830003-D00"]
    assert bench.qrels == [("21830001-C00", "111111111", 1), ("21830003-D00", "111111111", 1)]
    assert bench.slices == [("21830001-C00", "repeat"), ("21830003-D00", "new-pair")]
    bench.write(tmp_path / "b")
    loaded = Benchmark.load(tmp_path / "b")
    assert loaded.report.rejected == 0 and len(loaded.needs) == 2 and loaded.qrels["21830003-D00"] == {"111111111": 1}


def test_rebuilds_decp_dev_from_the_award_files(shared_data: Path, tmp_path: Path) -> None:
    awards, _ = read_awards(sorted((shared_data / "decp").glob("*.json")))
    bench = benchmark_from_awards(awards, "2019-01-01", "2019-02-01")
    ours = {n["need_id"] for n in bench.needs}
    reference = {json.loads(line)["need_id"] for line in (shared_data / "bench" / "decp-dev" / "needs.jsonl").read_text().splitlines()}
    assert len(ours & reference) >= 0.95 * len(reference)
    assert abs(len(bench.suppliers) - 2464) < 25
    assert sum(1 for _, s in bench.slices if s == "new-pair") > 0.8 * len(bench.slices)
