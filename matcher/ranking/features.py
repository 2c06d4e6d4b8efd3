"""Features of (need, supplier) pairs, computed for all the candidates of a query at once.

``SupplierTable`` holds, once per corpus, each supplier's facts as arrays and lookups (its CPV
codes, buyers served, départements, kinds of buyer, activity, last contract, typical amount,
segment and region); ``candidate_features`` turns a query and its candidate rows into the
``FEATURES`` columns a scorer reads (one float32 array per feature), and each candidate's best
evidence rows for the explanation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from matcher.data.cpv import agreement
from matcher.data.fields import fractional_year
from matcher.data.schema import SEGMENTS
from matcher.data.text import region_key
from matcher.ranking.corpus import Corpus, buyer_department, buyer_kind

#: Features of a (need, supplier) pair, in the column order of the matrix a reranker sees.
FEATURES = (
    "dense",  # best evidence similarity, min-max scaled over the query's candidates
    "lexical",  # BM25 relative to the query's best candidate
    "cpv",  # CPV agreement depth (0, 2..5) / 5
    "same_buyer",  # already holder of a contract of this buyer
    "department",  # already served a local public body of the buyer's département
    "segment",  # serves the need's purchase segment
    "region",  # head office in the need's region
    "activity",  # log number of past contracts (capped)
    "dense_raw",  # best evidence similarity (cosine)
    "dense_top3",  # mean of the three best evidence similarities
    "lexical_raw",  # log(1 + BM25)
    "cpv_exact",  # one of its codes is the need's code
    "buyer_kind",  # already served a buyer of the same kind (SIREN category: communes, hospitals …)
    "recency",  # exp(-years since its last contract before the need)
    "amount_fit",  # -|log10 need amount - median log10 of its contract amounts| (0 when unknown)
    "amount_known",  # both amounts known
    "dense_hub",  # best evidence similarity less half its hubness (CSLS: cos - r/2, see ranking/hubness.py)
    "dense_hub_scaled",  # dense_hub, min-max scaled over the query's candidates
    "competitors",  # log(1 + suppliers able to answer: those with a code in the need's CPV divisions, else all); one value per need
    "cpv_predicted",  # probability that need and supplier fall in the same CPV division, by their words (ranking/predicted_cpv.py)
)

#: the columns of the award regime's scorer (the need has CPV codes; the first version of the features)
AWARD_FEATURES = FEATURES[:16]
#: the columns of the text regime's scorer (a need of words only: no CPV, buyer, amount or segment to agree with)
TEXT_FEATURES = ("dense", "lexical", "dense_raw", "dense_top3", "lexical_raw", "activity", "dense_hub", "dense_hub_scaled", "cpv_predicted")

#: each candidate's best evidence rows (up to three, best first) and their cosines
BestRows = list[tuple[list[int], list[float]]]


def _rows_by(values: list[set[str]]) -> dict[str, np.ndarray]:
    """value → the sorted rows whose set holds it."""
    index: dict[str, list[int]] = {}
    for row, items in enumerate(values):
        for item in items:
            index.setdefault(item, []).append(row)
    return {k: np.asarray(v, dtype=np.int64) for k, v in index.items()}


class SupplierTable:
    """The facts of every supplier of a corpus, as arrays and lookups (built once per corpus)."""

    def __init__(self, corpus: Corpus) -> None:
        facts, suppliers = corpus.facts, corpus.suppliers
        n = len(suppliers)
        #: each supplier's CPV codes, sorted
        self.codes = [sorted(f.codes) for f in facts]
        self.code_sets = [f.codes for f in facts]
        #: buyer id → rows of the suppliers that served it
        self.by_buyer = _rows_by([f.buyers for f in facts])
        #: CPV division (2 digits) → rows of the suppliers with a code in it
        self.by_division = _rows_by([{c[:2] for c in codes} for codes in self.codes])
        self._competitors: dict[frozenset[str], int] = {}
        self.by_department = _rows_by([f.departments for f in facts])
        self.by_buyer_kind = _rows_by([f.buyer_kinds for f in facts])
        self.by_segment = {s: np.asarray([s in sup.segments for sup in suppliers], dtype=bool) for s in SEGMENTS}
        self.region = np.asarray([region_key(s.region) for s in suppliers], dtype=object)
        self.activity = np.asarray([min(math.log1p(f.n_references) / math.log1p(50), 1.0) for f in facts], dtype=np.float64).reshape(n)
        self.last_year = np.asarray([np.nan if f.last_year is None else f.last_year for f in facts], dtype=np.float64).reshape(n)
        self.log_amount = np.asarray([np.nan if f.log_amount is None else f.log_amount for f in facts], dtype=np.float64).reshape(n)

    def cpv_depth(self, need_codes: list[str], row: int) -> int:
        """How deep the need's CPV codes and the supplier's agree (0, 2..8)."""
        return max((agreement(a, b) for a in need_codes for b in self.codes[row]), default=0)

    def competitors(self, need_codes: list[str]) -> int:
        """How many suppliers could answer a need: those with a code in one of its CPV divisions (all without codes)."""
        divisions = frozenset(c[:2] for c in need_codes)
        if not divisions:
            return len(self.activity)
        if len(divisions) == 1:  # most needs: the length of a lookup the table holds
            return len(self.by_division.get(next(iter(divisions)), ()))
        if divisions not in self._competitors:  # rows of several divisions, counted once per set of divisions
            if len(self._competitors) >= 1024:  # bounded whatever combinations callers send
                self._competitors.clear()
            self._competitors[divisions] = int(
                np.unique(np.concatenate([self.by_division.get(d, np.zeros(0, np.int64)) for d in divisions])).size
            )
        return self._competitors[divisions]

    def served(self, lookup: dict[str, np.ndarray], key: str | None, cand: np.ndarray) -> np.ndarray:
        """1.0 for the candidates in ``lookup[key]``, else 0.0."""
        rows = lookup.get(key) if key else None
        return np.zeros(len(cand), np.float32) if rows is None else np.isin(cand, rows).astype(np.float32)


def candidate_features(
    table: SupplierTable,
    cand: np.ndarray,
    supplier_rows: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    evidence_sims: Callable[[np.ndarray], np.ndarray],
    lexical_scores: np.ndarray,
    evidence_hub: np.ndarray,
    *,
    cpv_predicted: np.ndarray | None = None,
    buyer_id: str,
    cpv: list[str],
    segment: str,
    region: str,
    date: str | None,
    amount: float | None,
) -> tuple[dict[str, np.ndarray], BestRows]:
    """The ``FEATURES`` columns of the candidates ``cand`` (supplier rows) for one query.

    ``supplier_rows(cand)``: the candidates' evidence rows and how many each has;
    ``evidence_sims(rows)``: the query's cosine with each evidence row; ``lexical_scores``: BM25 of
    every supplier; ``evidence_hub``: the hubness ``r`` of every evidence row; ``cpv_predicted``: the
    candidates' predicted CPV agreement (``PredictedCpv.agreement``; 0 without a classifier). Returns
    the columns (float32) and each candidate's best evidence rows.
    """
    n = len(cand)
    f = {name: np.zeros(n, np.float32) for name in FEATURES}
    best_rows: BestRows = []
    all_rows, counts = supplier_rows(cand)
    all_sims = evidence_sims(all_rows) if len(all_rows) else np.zeros(0, np.float32)
    start = 0
    for j, count in enumerate(counts.tolist()):  # candidates have 1–a few hundred texts each: a loop over candidates
        rows, sims = all_rows[start : start + count], all_sims[start : start + count]
        start += count
        if count == 0:
            best_rows.append(([], []))
            continue
        order = np.argsort(-sims, kind="stable")
        f["dense_raw"][j] = sims[order[0]]
        top = order[:3]
        f["dense_top3"][j] = sims[top].sum() / len(top)
        best_rows.append(([int(rows[o]) for o in top], [float(sims[o]) for o in top]))
    if len(all_rows):  # best cosine less half the hubness, per candidate, in one pass
        has = counts > 0
        starts = (np.cumsum(counts) - counts)[has]
        f["dense_hub"][has] = np.maximum.reduceat(all_sims - 0.5 * evidence_hub[all_rows], starts)
    raw_lexical = lexical_scores[cand]
    f["dense"] = _minmax(f["dense_raw"])
    f["dense_hub_scaled"] = _minmax(f["dense_hub"])
    f["lexical"] = _scaled(raw_lexical)
    f["lexical_raw"] = np.log1p(raw_lexical)
    if cpv:
        need_codes = set(cpv)
        f["cpv"] = np.asarray([min(table.cpv_depth(cpv, int(i)), 5) / 5.0 for i in cand], dtype=np.float32)
        f["cpv_exact"] = np.asarray([bool(need_codes & table.code_sets[int(i)]) for i in cand], dtype=np.float32)
    f["competitors"][:] = math.log1p(table.competitors(cpv))
    if cpv_predicted is not None:
        f["cpv_predicted"] = np.asarray(cpv_predicted, dtype=np.float32)
    f["same_buyer"] = table.served(table.by_buyer, buyer_id, cand)
    f["department"] = table.served(table.by_department, buyer_department(buyer_id), cand)
    f["buyer_kind"] = table.served(table.by_buyer_kind, buyer_kind(buyer_id), cand)
    if segment in table.by_segment:
        f["segment"] = table.by_segment[segment][cand].astype(np.float32)
    key = region_key(region)
    if key:
        f["region"] = (table.region[cand] == key).astype(np.float32)
    f["activity"] = table.activity[cand].astype(np.float32)
    need_year = fractional_year(date)
    if need_year is not None:
        last = table.last_year[cand]
        known = ~np.isnan(last)
        f["recency"][known] = [math.exp(-max(need_year - y, 0.0)) for y in last[known].tolist()]
    if amount and amount > 0:
        log_amount = table.log_amount[cand]
        known = ~np.isnan(log_amount)
        f["amount_fit"][known] = -np.minimum(np.abs(math.log10(amount) - log_amount[known]), 3.0)
        f["amount_known"][known] = 1.0
    return f, best_rows


def _minmax(x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def _scaled(x: np.ndarray) -> np.ndarray:
    """BM25 scaled by the query's best score (0 stays 0: no shared term)."""
    hi = float(x.max()) if len(x) else 0.0
    return x / hi if hi > 0 else np.zeros_like(x)
