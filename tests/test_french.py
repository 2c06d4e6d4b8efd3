"""How French writes numbers and counts in every message people read."""

from __future__ import annotations

from matcher.data.french import count_fr, number_fr


def test_numbers_as_french_writes_them() -> None:
    assert number_fr(20000) == "20\u202f000"
    assert number_fr(0.5) == "0,5"
    assert number_fr(3.19449, 3) == "3,194" and number_fr(1234.5, 2) == "1\u202f234,50"
    assert number_fr(60000, 0) == "60\u202f000"
    assert number_fr("beaucoup") == "beaucoup"  # not a number: as it is


def test_counts_are_singular_for_zero_and_one() -> None:
    assert [count_fr(n, "besoin", "besoins") for n in (0, 1, 2, 1500)] == ["0 besoin", "1 besoin", "2 besoins", "1\u202f500 besoins"]
