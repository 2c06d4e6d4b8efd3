"""The calibrated confidence: fitted on out-of-fold scores, measured by its calibration error, read as levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.evaluation.metrics import expected_calibration_error, reliability_table
from matcher.learning.calibration import fit_confidence
from matcher.learning.rerank import LinearRanker
from matcher.ranking.confidence import CONFIDENCE_FEATURES, Confidence, clear_match, compile_calibrator, confidence_matrix
from matcher.ranking.features import FEATURES
from matcher.ranking.rank import Match


def test_calibration_error_tells_honest_from_overconfident() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    y = rng.random(20_000) < p  # outcomes drawn at the stated probability
    assert expected_calibration_error(p, y) < 0.02
    assert expected_calibration_error(np.full(20_000, 0.9), y) == pytest.approx(0.4, abs=0.02)
    table = reliability_table(p, y)
    assert sum(row["n"] for row in table) == 20_000 and len(table) == 10
    assert expected_calibration_error(np.zeros(0), np.zeros(0)) == 0.0


def _needs(seed: int, n_groups: int = 300, per_group: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates whose pertinent one has a higher cosine; a quarter of the needs have no pertinent candidate
    close enough to tell (their best cosine is as low as the others')."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_groups * per_group, len(FEATURES)))
    groups = np.repeat(np.arange(n_groups), per_group)
    y = np.zeros(len(X), dtype=int)
    cos = rng.normal(0.75, 0.03, len(X))
    for g in range(n_groups):
        first = g * per_group
        y[first] = 1
        if g % 4:
            cos[first] += 0.1
    X[:, FEATURES.index("dense_raw")] = cos
    X[:, FEATURES.index("dense_hub")] = cos - 0.3
    X[:, FEATURES.index("lexical_raw")] = rng.random(len(X))
    return X, y, groups


def test_fitted_confidence_is_calibrated_on_new_needs_and_separates_levels(tmp_path: Path) -> None:
    X, y, groups = _needs(0)
    scorer = LinearRanker(features=("dense_raw", "lexical_raw"))
    regime = fit_confidence(X, y, groups, scorer)
    assert 0.0 < regime.possible <= regime.strong <= 1.0
    assert regime.report["needs"] == 300 and regime.report["ece"] < 0.1
    # on needs it never saw, scored by a scorer fitted on all the training needs
    Xt, yt, gt = _needs(1)
    scorer.fit(X[:, [FEATURES.index("dense_raw"), FEATURES.index("lexical_raw")]], y, groups)
    scores = scorer.decision_function(Xt[:, [FEATURES.index("dense_raw"), FEATURES.index("lexical_raw")]])
    ranks = np.concatenate([np.argsort(np.argsort(-scores[gt == g])) + 1 for g in np.unique(gt)])
    feats = [{name: float(Xt[i, FEATURES.index(name)]) for name in FEATURES} for i in range(len(Xt))]
    p = regime.probabilities(confidence_matrix(scores.tolist(), ranks.tolist(), feats))
    assert expected_calibration_error(p, yt) < 0.05
    assert p[yt == 1].mean() > 3 * p[yt == 0].mean()
    confidence = Confidence({"text": regime})
    matches = [Match(0, float(scores[i]), {name: float(Xt[i, FEATURES.index(name)]) for name in FEATURES}, [], rank=1) for i in (20, 21, 0)]
    loaded = Confidence.load(confidence.save(tmp_path).parent)
    assert loaded is not None
    loaded.assess(matches, cpv=[])
    assert all(m.level in ("forte", "possible", "faible") and m.probability is not None for m in matches)
    assert matches[0].probability > 5 * matches[1].probability  # need 1's pertinent, close candidate far above another
    assert clear_match([m.level for m in matches]) == any(m.level == "forte" for m in matches)
    award_only = [Match(0, 1.0, matches[0].features, [], rank=1)]
    loaded.assess(award_only, cpv=["72000000"])  # no calibrator for the award regime here: left unset
    assert award_only[0].level == "" and clear_match([""]) is None and clear_match([]) is False
    assert Confidence.load(tmp_path / "nothing") is None


def test_history_alone_never_makes_a_strong_match() -> None:
    X, y, groups = _needs(0)
    regime = fit_confidence(X, y, groups, LinearRanker(features=("dense_raw", "lexical_raw")))
    assert regime.text_floor is not None and set(regime.text_floor) == {"dense_raw", "lexical_raw"}
    weak_text = {"dense_raw": regime.text_floor["dense_raw"] - 0.01, "lexical_raw": regime.text_floor["lexical_raw"] - 0.01}
    assert regime.level(0.99, weak_text) == "possible"  # however sure the calibrator, no text evidence: at most possible
    assert regime.level(0.99, {**weak_text, "dense_raw": 1.0}) == "forte"
    assert regime.level(regime.possible - 0.001, weak_text) == "faible"


def test_the_compiled_calibrator_gives_scikit_learns_probabilities() -> None:
    X, y, groups = _needs(2)
    regime = fit_confidence(X, y, groups, LinearRanker(features=("dense_raw", "lexical_raw")))
    Z = np.random.default_rng(3).normal(size=(50, len(CONFIDENCE_FEATURES)))
    np.testing.assert_allclose(regime.probabilities(Z), regime.calibrator.predict_proba(Z)[:, 1], rtol=1e-9, atol=1e-12)
    assert compile_calibrator(object()) is None  # anything else is called as it is


def test_an_award_need_with_more_competitors_gets_a_lower_probability() -> None:
    """The award regime's calibrator reads how many suppliers compete for the need; the text regime's does not."""
    rng = np.random.default_rng(5)
    n_groups, per_group = 400, 10
    X = np.zeros((n_groups * per_group, len(FEATURES)))
    groups = np.repeat(np.arange(n_groups), per_group)
    y = np.zeros(len(X), dtype=int)
    cos = rng.normal(0.75, 0.03, len(X))
    crowded = rng.random(n_groups) < 0.5  # 2,000 suppliers able to answer, else 20
    for g in range(n_groups):
        first = g * per_group
        cos[first] += 0.1
        y[first] = int(rng.random() < (0.2 if crowded[g] else 0.8))  # among more competitors, the best is less often the winner
    X[:, FEATURES.index("dense_raw")] = cos
    X[:, FEATURES.index("dense_hub")] = cos - 0.3
    X[:, FEATURES.index("competitors")] = np.repeat(np.log1p(np.where(crowded, 2000, 20)), per_group)
    scorer = LinearRanker(features=("dense_raw",))
    award = fit_confidence(X, y, groups, scorer, regime="award")
    text = fit_confidence(X, y, groups, scorer, regime="text")
    assert award.report["features"][-1] == "competitors" and "competitors" not in text.report["features"]
    best = {name: 0.0 for name in FEATURES} | {"dense_raw": 0.85, "dense_hub": 0.55}
    few, many = ({**best, "competitors": float(np.log1p(n))} for n in (20, 2000))
    p_few, p_many = award.probabilities(confidence_matrix([1.0, 1.0], [1, 1], [few, many], award.features))
    assert p_few > 0.6 > 0.35 > p_many
    p_text = text.probabilities(confidence_matrix([1.0, 1.0], [1, 1], [few, many], text.features))
    assert p_text[0] == pytest.approx(p_text[1])  # the text regime cannot tell them apart


def test_a_need_counts_the_suppliers_able_to_answer_it() -> None:
    from matcher.data.schema import Supplier
    from matcher.ranking.corpus import Corpus
    from matcher.ranking.features import SupplierTable

    def supplier(i: int, cpv: str) -> Supplier:
        references = [{"objet": f"Marché {i}", "cpv": cpv, "buyer_id": "21750001600019"}] if cpv else []
        return Supplier.from_raw({"supplier_id": f"s{i}", "name": f"Société {i}", "description": "Logiciels.", "references": references})

    table = SupplierTable(Corpus([supplier(0, "72200000"), supplier(1, "72500000"), supplier(2, "45000000"), supplier(3, "")]))
    assert table.competitors(["72000000"]) == 2 and table.competitors(["72000000", "45210000"]) == 3
    assert table.competitors(["33000000"]) == 0 and table.competitors([]) == 4  # no codes: the whole catalogue
