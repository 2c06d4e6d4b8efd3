"""Exposure balancing across shortlists, and exposure statistics, on hand-built lists."""

from __future__ import annotations

import json
import random

import pytest

from matcher.ranking.exposure import ExposureStats, balance, exposure_stats, gini

GENERALISTS = (0, 1)


def generalist_lists(n_lists: int = 6, length: int = 8) -> dict[str, list[tuple[int, float]]]:
    """Two generalists top every list; each list then has its own specialists."""
    lists = {}
    for i in range(n_lists):
        own = [(100 + 10 * i + j, 0.9 - 0.05 * j) for j in range(length - 2)]
        lists[f"min-{i}"] = [(0, 1.0), (1, 0.95), *own]
    return lists


def random_lists(seed: int, n_lists: int = 12, n_items: int = 40, length: int = 15) -> dict[str, list[tuple[int, float]]]:
    rng = random.Random(seed)
    lists = {}
    for i in range(n_lists):
        items = rng.sample(range(n_items), length)
        scores = sorted((rng.random() for _ in items), reverse=True)
        lists[f"l{i}"] = list(zip(items, scores))
    return lists


def items_of(result: dict[str, list[tuple[int, float]]]) -> dict[str, list[int]]:
    return {list_id: [item for item, _ in chosen] for list_id, chosen in result.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identity_without_cap_nor_trade_off(seed: int) -> None:
    lists = random_lists(seed)
    assert balance(lists, k=5) == {list_id: ranked[:5] for list_id, ranked in lists.items()}
    assert balance(lists, k=50) == lists


def test_ties_keep_input_order() -> None:
    lists = {"a": [(3, 1.0), (1, 1.0), (2, 1.0)], "b": [(2, 0.5), (3, 0.5)]}
    assert balance(lists, k=2) == {"a": [(3, 1.0), (1, 1.0)], "b": [(2, 0.5), (3, 0.5)]}


@pytest.mark.parametrize("cap", [1, 2, 3])
@pytest.mark.parametrize("trade_off", [0.0, 0.5])
def test_cap_is_never_exceeded(cap: int, trade_off: float) -> None:
    lists = random_lists(3, n_items=20)
    result = balance(lists, k=6, cap=cap, trade_off=trade_off)
    stats = exposure_stats(items_of(result))
    assert stats.max_exposure <= cap
    for list_id, chosen in result.items():
        ranked = lists[list_id]
        assert len(chosen) <= 6 and len({item for item, _ in chosen}) == len(chosen)
        assert all(pair in ranked for pair in chosen)  # original scores kept
        positions = [ranked.index(pair) for pair in chosen]
        assert positions == sorted(positions)  # display order is the list's own ranking order


def test_cap_shortens_lists_that_run_out() -> None:
    lists = {name: [(7, 1.0), (8, 0.5)] for name in ("a", "b", "c")}
    result = balance(lists, k=2, cap=1)
    assert result == {"a": [(7, 1.0)], "b": [(8, 0.5)], "c": []}


def test_contested_item_goes_to_the_lists_ranking_it_highest() -> None:
    lists = {
        "a": [(5, 0.9), (1, 0.8), (2, 0.7)],
        "b": [(9, 1.0), (6, 0.9), (4, 0.8)],  # ranks 9 first
        "c": [(5, 0.9), (9, 0.8), (3, 0.7)],
    }
    result = items_of(balance(lists, k=2, cap=1))
    assert 9 in result["b"] and 9 not in result["c"]


def test_trade_off_spreads_exposure_over_more_items() -> None:
    lists = generalist_lists()
    distinct, ginis = [], []
    for trade_off in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
        result = balance(lists, k=3, trade_off=trade_off)
        assert all(len(chosen) == 3 for chosen in result.values())
        stats = exposure_stats(items_of(result))
        distinct.append(stats.distinct_items)
        ginis.append(stats.gini_shown)
    assert distinct == sorted(distinct) and distinct[-1] > distinct[0]
    assert ginis == sorted(ginis, reverse=True) and ginis[-1] < ginis[0]
    # Without trade-off both generalists fill every list; with it they still appear, just less.
    plain = exposure_stats(items_of(balance(lists, k=3)))
    assert plain.top_items[:2] == [(0, 6), (1, 6)]
    spread = items_of(balance(lists, k=3, trade_off=1.0))
    assert 0 in spread["min-0"]  # the first list to pick still gets the best item


def test_capped_generalist_leaves_room_in_the_other_lists() -> None:
    lists = generalist_lists(n_lists=4)
    result = items_of(balance(lists, k=2, cap=2))
    holders = [list_id for list_id, items in result.items() if 0 in items]
    assert len(holders) == 2
    assert all(len(items) == 2 for items in result.values())


def test_deterministic() -> None:
    lists = random_lists(5)
    first = balance(lists, k=4, cap=2, trade_off=0.7)
    assert all(balance(lists, k=4, cap=2, trade_off=0.7) == first for _ in range(3))
    assert list(first) == list(lists)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"k": 0}, "k"),
        ({"k": 2.5}, "k"),
        ({"k": 3, "cap": 0}, "cap"),
        ({"k": 3, "trade_off": -0.1}, "trade_off"),
        ({"k": 3, "trade_off": 1.5}, "trade_off"),
        ({"k": 3, "trade_off": float("nan")}, "trade_off"),
    ],
)
def test_argument_validation(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        balance(generalist_lists(), **kwargs)


def test_unsorted_or_non_finite_candidates_are_refused() -> None:
    with pytest.raises(ValueError, match="sorted best first"):
        balance({"armees": [(1, 0.2), (2, 0.9)]}, k=1)
    with pytest.raises(ValueError, match="not finite"):
        balance({"armees": [(1, float("nan"))]}, k=1)


def test_empty_inputs() -> None:
    assert balance({}, k=3) == {}
    assert balance({"a": []}, k=3, cap=1, trade_off=1.0) == {"a": []}
    stats = exposure_stats({})
    assert (stats.n_lists, stats.slots, stats.distinct_items, stats.max_exposure, stats.gini_shown) == (0, 0, 0, 0, 0.0)


def test_gini_known_values() -> None:
    assert gini([3, 3, 3, 3]) == pytest.approx(0.0)
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0
    for n in (2, 5, 10):
        assert gini([0] * (n - 1) + [7]) == pytest.approx((n - 1) / n)
    assert gini([1, 2, 3]) == pytest.approx(2 / 9)
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_exposure_stats() -> None:
    lists = {"a": [1, 2, 3], "b": [1, 2, 4], "c": [1, 5, 5]}
    stats = exposure_stats(lists, n_items=10, top=2)
    assert isinstance(stats, ExposureStats)
    assert (stats.n_lists, stats.slots, stats.distinct_items, stats.max_exposure) == (3, 9, 5, 3)
    assert stats.top_items == [(1, 3), (2, 2)]
    assert stats.gini_shown == pytest.approx(gini([3, 2, 1, 1, 1]))
    assert stats.gini_catalogue == pytest.approx(gini([3, 2, 1, 1, 1, 0, 0, 0, 0, 0]))
    assert stats.coverage == pytest.approx(0.5)
    assert exposure_stats(lists).gini_catalogue is None
    payload = json.loads(json.dumps(stats.to_dict()))
    assert payload["top_items"] == [{"item": 1, "lists": 3}, {"item": 2, "lists": 2}]
    assert payload["gini_catalogue"] == pytest.approx(stats.gini_catalogue)


def test_one_item_everywhere_over_the_catalogue() -> None:
    n = 8
    stats = exposure_stats({f"l{i}": [42] for i in range(5)}, n_items=n)
    assert stats.gini_shown == 0.0
    assert stats.gini_catalogue == pytest.approx((n - 1) / n)
    equal = exposure_stats({"a": [0, 1], "b": [2, 3]}, n_items=4)
    assert equal.gini_catalogue == pytest.approx(0.0) and equal.coverage == 1.0


def test_exposure_stats_validation() -> None:
    with pytest.raises(ValueError, match="n_items"):
        exposure_stats({"a": [1, 2, 3]}, n_items=2)
    with pytest.raises(ValueError, match="top"):
        exposure_stats({"a": [1]}, top=-1)
