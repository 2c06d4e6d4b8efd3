"""CPV inferred from words: a text → CPV classifier trained on the objects of public awards.

Buyers type free text without codes and start-ups have no contracts; the classifier predicts the
likely CPV divisions (the code's first 2 digits) or groups (first 3) of any text, with
probabilities. A scikit-learn pipeline — word and character n-gram TF-IDF over the folded text,
then a multinomial logistic regression — fitted on award objects and their CPV codes, split in
time (trained on the awards before a date, measured on later ones).

A text that says nothing of a purchase (a recipe, random words) still gets probabilities: close
to the classes' shares of the training awards (works, 45, a third of them). So a class is
*suggested* only when the text moves it well above its share: its gain
``(p − share) / (1 − share)`` (0 at the share, 1 at certainty) must reach a threshold chosen on
the validation month, the smallest whose suggestions are right ``SUGGESTION_PRECISION`` of the time
(and at least ``MIN_GAIN``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from matcher.data.decp import Award
from matcher.data.text import fold

#: how many leading digits of a CPV code a level predicts
LEVELS = {"division": 2, "group": 3}
#: a class needs this many training texts (rarer codes are left out: too few to learn from)
MIN_EXAMPLES = 3
MODEL_FILE = "cpv-classifier.joblib"
#: how often a suggested class must be the right one on the validation month (the gain threshold's criterion)
SUGGESTION_PRECISION = 0.85
#: the gain thresholds tried on the validation month
GAIN_GRID = tuple(round(0.05 * i, 2) for i in range(20))
#: a threshold is chosen only where at least this many validation texts get a suggestion
MIN_SUGGESTED = 20
#: the least gain a suggestion needs whatever the validation month says (on data as easy as a test's,
#: any threshold keeps the precision promise: a text must still move its class a third of the way)
MIN_GAIN = 0.3


def _pipeline(C: float, seed: int) -> Pipeline:  # noqa: N803 - scikit-learn's name
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(preprocessor=fold, ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
            ("chars", TfidfVectorizer(preprocessor=fold, analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True)),
        ]
    )
    return Pipeline([("features", features), ("model", LogisticRegression(C=C, max_iter=2000, random_state=seed))])


@dataclass
class CpvClassifier:
    """A fitted text → CPV classifier at one level (``division`` or ``group``) and what it was trained on."""

    level: str
    pipeline: Pipeline
    manifest: dict[str, Any]

    @classmethod
    def fit(cls, texts: Sequence[str], codes: Sequence[str], level: str = "division", C: float = 10.0, seed: int = 0) -> CpvClassifier:  # noqa: N803
        """Fit on texts and their 8-digit CPV codes; classes with fewer than ``MIN_EXAMPLES`` texts are left out."""
        if level not in LEVELS:
            raise ValueError(f"level : {level!r} n'est pas l'un de {', '.join(LEVELS)}")
        labels = [code[: LEVELS[level]] for code in codes]
        counts = Counter(labels)
        kept = [i for i, label in enumerate(labels) if counts[label] >= MIN_EXAMPLES]
        if len({labels[i] for i in kept}) < 2:
            raise ValueError(f"codes : il faut au moins deux classes CPV ayant chacune {MIN_EXAMPLES} textes")
        pipeline = _pipeline(C, seed).fit([texts[i] for i in kept], [labels[i] for i in kept])
        shares = Counter(labels[i] for i in kept)
        manifest = {
            "level": level,
            "texts": len(kept),
            "left_out": len(labels) - len(kept),
            "classes": len(pipeline.classes_),
            "C": C,
            "shares": {str(c): round(shares[c] / len(kept), 6) for c in pipeline.classes_},
        }
        return cls(level, pipeline, manifest)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (texts × ``classes``)."""
        return np.asarray(self.pipeline.predict_proba(list(texts)))

    def top(self, texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest classes of each text, with their probabilities, likeliest first."""
        proba = self.predict_proba(texts)
        order = np.argsort(-proba, axis=1)[:, :k]
        classes = self.classes
        return [[(classes[j], float(p[j])) for j in row] for p, row in zip(proba, order)]

    def gains(self, texts: Sequence[str]) -> np.ndarray:
        """How far each text moves each class above its share of the training texts (texts × ``classes``):
        ``(p − share) / (1 − share)``, 0 for a text that says nothing, 1 at certainty, negative below the share."""
        return self._gains(self.predict_proba(texts))

    def _gains(self, proba: np.ndarray) -> np.ndarray:
        shares = np.asarray([self.manifest["shares"][c] for c in self.classes])
        return (proba - shares) / (1.0 - shares)

    def suggest(self, texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """The classes worth suggesting for each text (gain at least ``manifest["suggest_min_gain"]``),
        with their probabilities, likeliest first, at most ``k``; none for a text that says nothing
        of a purchase. A classifier saved without a threshold suggests its ``k`` likeliest classes."""
        return self.suggest_from(self.predict_proba(texts), k)

    def suggest_from(self, proba: np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
        """``suggest`` from probabilities already computed (texts × ``classes``)."""
        proba = np.atleast_2d(np.asarray(proba))
        threshold = self.manifest.get("suggest_min_gain")
        classes = self.classes
        if threshold is None or "shares" not in self.manifest:
            best = np.argsort(-proba, axis=1)[:, :k]
            return [[(classes[j], float(p[j])) for j in row] for p, row in zip(proba, best)]
        gains = self._gains(proba)
        out = []
        for p, g in zip(proba, gains):
            order = [j for j in np.argsort(-p)[:k] if g[j] >= threshold]
            out.append([(classes[j], float(p[j])) for j in order])
        return out

    def suggestion_figures(self, texts: Sequence[str], codes: Sequence[str], thresholds: Sequence[float]) -> dict[float, dict[str, float]]:
        """Of texts with known codes, per gain threshold: the share whose likeliest class reaches it
        (coverage), and how often that class is the right one (precision). The texts are read once."""
        truth = np.asarray([code[: LEVELS[self.level]] for code in codes])
        proba = self.predict_proba(texts)
        best = proba.argmax(axis=1)
        best_gain = self._gains(proba)[np.arange(len(best)), best]
        right = np.asarray(self.classes)[best] == truth
        figures = {}
        for threshold in thresholds:
            suggested = best_gain >= threshold
            figures[threshold] = {
                "coverage": float(suggested.mean()),
                "precision": float(right[suggested].mean()) if suggested.any() else 0.0,
                "suggested": int(suggested.sum()),
            }
        return figures

    def accuracy(self, texts: Sequence[str], codes: Sequence[str], ks: Sequence[int] = (1, 3)) -> dict[str, float]:
        """Top-k accuracy on texts with known codes (a code of a class never seen counts as a miss)."""
        truth = [code[: LEVELS[self.level]] for code in codes]
        tops = self.top(texts, max(ks))
        return {f"top{k}": float(np.mean([t in [c for c, _ in top[:k]] for t, top in zip(truth, tops)])) for k in ks}

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, folder / MODEL_FILE)
        (folder / "manifest.json").write_text(json.dumps(self.manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> CpvClassifier:
        """A classifier saved by ``save`` — a file the project wrote itself (joblib runs what it unpickles)."""
        folder = Path(folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return cls(manifest["level"], joblib.load(folder / MODEL_FILE), manifest)


def award_examples(
    awards: Sequence[Award], start: str | None = None, end: str | None = None, skip: Callable[[Award], bool] | None = None
) -> tuple[list[str], list[str]]:
    """(objects, CPV codes) of the awards notified in [``start``, ``end``) that carry both, each object
    once; ``skip``: awards left out besides."""
    texts: list[str] = []
    codes: list[str] = []
    seen: set[str] = set()
    for award in awards:
        if not award.objet or not award.cpv or not award.date:
            continue
        if (start and award.date < start) or (end and award.date >= end) or (skip is not None and skip(award)):
            continue
        key = fold(award.objet)
        if key in seen:
            continue
        seen.add(key)
        texts.append(award.objet)
        codes.append(award.cpv)
    return texts, codes


#: the regularisation strengths tried on the validation month
C_GRID = (1.0, 3.0, 10.0, 30.0)


def _month_before(date: str) -> str:
    year, month = int(date[:4]), int(date[5:7])
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}-01"


def train_time_split(awards: Sequence[Award], until: str, level: str = "division", seed: int = 0) -> tuple[CpvClassifier, dict[str, Any]]:
    """Fit on the awards notified before ``until``, ``C`` chosen on the last month before it (fitted on
    the earlier ones), then refitted on all of them; measured on the awards from ``until`` on whose
    object was not seen in training. Returns the classifier and its figures (also in its manifest)."""
    train_t, train_c = award_examples(awards, end=until)
    validation_start = _month_before(until)
    fit_t, fit_c = award_examples(awards, end=validation_start)
    seen_fit = {fold(t) for t in fit_t}
    val = [(t, c) for t, c in zip(*award_examples(awards, start=validation_start, end=until)) if fold(t) not in seen_fit]
    if not fit_t or not val:
        raise ValueError(f"until : aucun marché à valider le mois précédant le {until} (ou aucun avant)")
    fitted = {C: CpvClassifier.fit(fit_t, fit_c, level, C=C, seed=seed) for C in C_GRID}
    scores = {C: model.accuracy(*zip(*val))["top1"] for C, model in fitted.items()}
    best = max(C_GRID, key=lambda C: (scores[C], -C))
    val_texts, val_codes = [t for t, _ in val], [c for _, c in val]
    by_gain = fitted[best].suggestion_figures(val_texts, val_codes, GAIN_GRID)
    good = [g for g, f in by_gain.items() if f["precision"] >= SUGGESTION_PRECISION and f["suggested"] >= MIN_SUGGESTED]
    min_gain = max(MIN_GAIN, min(good) if good else GAIN_GRID[-1])
    classifier = CpvClassifier.fit(train_t, train_c, level, C=best, seed=seed)
    classifier.manifest["suggest_min_gain"] = min_gain
    classifier.manifest["until"] = until
    seen = {fold(t) for t in train_t}
    held_out = [(t, c) for t, c in zip(*award_examples(awards, start=until)) if fold(t) not in seen]
    figures: dict[str, Any] = {
        "split": f"trained on awards notified before {until}; C chosen on {validation_start}..{until} "
        f"(fitted on the earlier ones); measured on awards from {until} on, objects unseen in training",
        "validation_top1_by_C": {str(C): round(v, 4) for C, v in scores.items()},
        "suggestion": f"a class is suggested when its gain over its training share reaches {min_gain}: the smallest "
        f"whose validation suggestions are right at least {SUGGESTION_PRECISION:.0%} of the time (and at least {MIN_GAIN})",
        "validation_suggestions_by_gain": {str(g): {k: round(v, 4) for k, v in f.items()} for g, f in by_gain.items()},
        "held_out_awards": len(held_out),
    }
    if held_out:
        texts, codes = zip(*held_out)
        figures["held_out"] = {k: round(v, 4) for k, v in classifier.accuracy(texts, codes).items()}
        suggestions = classifier.suggestion_figures(texts, codes, [min_gain])[min_gain]
        figures["held_out_suggestions"] = {k: round(v, 4) for k, v in suggestions.items()}
        majority = Counter(c[: LEVELS[level]] for c in train_c).most_common(1)[0][0]
        figures["majority_top1"] = round(float(np.mean([c.startswith(majority) for c in codes])), 4)
    classifier.manifest.update(figures)
    return classifier, figures


def cross_fitted(
    awards: Sequence[Award], classifier: CpvClassifier, texts: Sequence[str], dates: Sequence[str], seed: int = 0
) -> CpvClassifier:
    """``classifier`` fitted again without the awards it could have learnt ``texts`` from (same level,
    ``C`` and awards before its ``until``, less the awards whose object is one of ``texts`` or that were
    notified between the first and last of ``dates``); ``classifier`` itself when it saw none of them.

    What a reranker trained on award needs reads of their predicted CPV must come from a classifier
    that never saw those needs, as at serving time (cross-fitting, as for stacking)."""
    until = classifier.manifest.get("until")
    if not until:
        raise ValueError("classifier: its manifest names no 'until' date (refit it with `matcher train-cpv`)")
    keys = {fold(t) for t in texts}
    known = [d for d in dates if d]
    first, last = (min(known), max(known)) if known else ("", "")

    def seen(award: Award) -> bool:
        return fold(award.objet) in keys or bool(first and first <= (award.date or "")[:10] <= last)

    kept = award_examples(awards, end=until, skip=seen)
    if len(kept[0]) == len(award_examples(awards, end=until)[0]):
        return classifier
    refit = CpvClassifier.fit(*kept, level=classifier.level, C=classifier.manifest["C"], seed=seed)
    refit.manifest.update(until=until, cross_fitted=f"without the {len(keys)} texts given and the awards of {first}..{last}")
    return refit
