"""The text → CPV classifier: fitted on award objects split in time, measured on later, unseen objects."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from embeddings import load_encoder
from matcher.cli import main
from matcher.data.decp import read_awards
from matcher.data.schema import Supplier
from matcher.learning.cpv_classifier import CpvClassifier, award_examples, cross_fitted, train_time_split
from matcher.ranking.corpus import Corpus
from matcher.ranking.rank import Query, Ranker

#: three CPV divisions, each with its own words (72 IT services, 45 construction work, 33 medical equipment)
TOPICS = {
    "72000000": ["logiciel", "maintenance applicative", "hébergement", "développement web", "infogérance", "base de données"],
    "45000000": ["travaux de voirie", "réfection de toiture", "gros œuvre", "maçonnerie", "étanchéité", "démolition"],
    "33000000": ["dispositifs médicaux", "matériel de radiologie", "seringues", "appareils d'échographie", "pansements", "moniteurs"],
}
OTHERS = ["pour la commune", "lot 2", "accord-cadre", "du centre hospitalier", "à bons de commande", "de la région"]


def _decp_file(path: Path, seed: int = 0) -> Path:
    """Awards notified from October 2018 to January 2019 in the DECP JSON layout, objects built from each division's words."""
    rng = random.Random(seed)
    awards = []
    for month in ("2018-10", "2018-11", "2018-12", "2019-01"):
        for i in range(40):
            code = rng.choice(sorted(TOPICS))
            words = rng.sample(TOPICS[code], 2)
            objet = f"{words[0].capitalize()} et {words[1]} {rng.choice(OTHERS)} n°{month}-{i}"
            awards.append(
                {
                    "id": f"{month}-{i}",
                    "objet": objet,
                    "codeCPV": code,
                    "dateNotification": f"{month}-{1 + i % 28:02d}",
                    "montant": 10000 + i,
                    "acheteur": {"id": "21750001600019", "nom": "Ville de Paris"},
                    "titulaires": [{"id": f"1234567890{i % 9}000", "typeIdentifiant": "SIRET", "denominationSociale": f"Titulaire {i}"}],
                }
            )
    path.write_text(json.dumps({"marches": awards}, ensure_ascii=False), encoding="utf-8")
    return path


def test_fitted_on_earlier_awards_it_finds_the_division_of_later_ones(tmp_path: Path) -> None:
    awards, _ = read_awards([_decp_file(tmp_path / "decp.json")])
    classifier, figures = train_time_split(awards, "2019-01-01", "division")
    assert sorted(classifier.classes) == ["33", "45", "72"]
    assert figures["held_out_awards"] == 40 and figures["held_out"]["top1"] >= 0.9 > figures["majority_top1"]
    assert figures["held_out"]["top3"] == 1.0  # three classes: always among the top three
    assert set(figures["validation_top1_by_C"]) == {"1.0", "3.0", "10.0", "30.0"} and "2018-12-01" in figures["split"]
    [(best, p), *rest] = classifier.top(["Réfection de toiture et étanchéité de l'école"], k=3)[0]
    assert best == "45" and p > 0.5 and [c for c, _ in rest] and all(q <= p for _, q in rest)


def test_it_suggests_a_class_only_when_the_text_speaks_of_a_purchase(tmp_path: Path) -> None:
    awards, _ = read_awards([_decp_file(tmp_path / "decp.json")])
    classifier, figures = train_time_split(awards, "2019-01-01", "division")
    threshold = classifier.manifest["suggest_min_gain"]
    chosen = figures["validation_suggestions_by_gain"][str(threshold)]
    assert chosen["precision"] >= 0.85 and chosen["suggested"] >= 20 and threshold >= 0.3  # keeps the promise, and a floor
    assert 0 < figures["held_out_suggestions"]["coverage"] <= 1 and figures["held_out_suggestions"]["precision"] >= 0.85
    assert sum(classifier.manifest["shares"].values()) == pytest.approx(1.0, abs=1e-4)
    [roof, nothing] = classifier.suggest(["Réfection de toiture et étanchéité de l'école", "girafe parapluie violon"])
    assert roof[0][0] == "45"
    assert nothing == []  # probabilities near the classes' shares: nothing worth suggesting
    gains = classifier.gains(["girafe parapluie violon"])[0]
    assert abs(gains).max() < threshold


def test_saved_and_loaded_it_predicts_the_same(tmp_path: Path) -> None:
    awards, _ = read_awards([_decp_file(tmp_path / "decp.json")])
    texts, codes = award_examples(awards, end="2019-01-01")
    classifier = CpvClassifier.fit(texts, codes, "group")
    again = CpvClassifier.load(classifier.save(tmp_path / "model"))
    probe = ["Maintenance applicative du logiciel de paie", "Seringues et pansements"]
    assert again.level == "group" and again.classes == classifier.classes
    assert again.predict_proba(probe) == pytest.approx(classifier.predict_proba(probe))
    assert again.gains(probe) == pytest.approx(classifier.gains(probe))


def test_examples_are_split_in_time_and_deduplicated(tmp_path: Path) -> None:
    awards, _ = read_awards([_decp_file(tmp_path / "decp.json")])
    before, _ = award_examples(awards, end="2018-11-01")
    later, _ = award_examples(awards, start="2018-11-01")
    assert len(before) == 40 and len(later) == 120
    twice = awards + awards  # the same award published twice is one example
    assert len(award_examples(twice)[0]) == 160


def test_bad_training_data_is_refused() -> None:
    with pytest.raises(ValueError, match="level : 'section'"):
        CpvClassifier.fit(["a", "b"], ["72000000", "45000000"], "section")
    with pytest.raises(ValueError, match="deux classes CPV"):
        CpvClassifier.fit(["logiciel a", "logiciel b", "logiciel c"], ["72000000"] * 3)


def test_the_command_trains_saves_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    decp = _decp_file(tmp_path / "decp.json")
    assert main(["--data-dir", str(tmp_path / "data"), "train-cpv", str(decp), "--until", "2019-01-01"]) == 0
    out = capsys.readouterr().out
    assert "Classifieur CPV (division)" in out and "40 marchés tenus à l'écart" in out and "top-3" in out
    assert CpvClassifier.load(tmp_path / "data" / "models" / "cpv-division").manifest["held_out"]["top1"] >= 0.9
    assert main(["--data-dir", str(tmp_path / "data"), "train-cpv", str(decp), "--until", "2018-10-01"]) == 2  # nothing before it


def test_cross_fitted_it_has_never_seen_the_needs_it_is_asked_about(tmp_path: Path) -> None:
    awards, _ = read_awards([_decp_file(tmp_path / "decp.json")])
    classifier, _ = train_time_split(awards, "2019-01-01", "division")
    november = [a for a in awards if a.date and a.date.startswith("2018-11")]
    refit = cross_fitted(awards, classifier, [a.objet for a in november], [a.date or "" for a in november])
    assert refit is not classifier and refit.manifest["C"] == classifier.manifest["C"] and refit.manifest["until"] == "2019-01-01"
    assert refit.manifest["texts"] == classifier.manifest["texts"] - 40  # November's 40 objects left out, nothing else
    later = [a for a in awards if a.date and a.date >= "2019-01-01"]  # texts it never saw: the same classifier
    assert cross_fitted(awards, classifier, [a.objet for a in later], ["2019-01-05"]) is classifier
    del classifier.manifest["until"]
    with pytest.raises(ValueError, match="until"):
        cross_fitted(awards, classifier, ["x"], [])


def test_predicted_cpv_agreement_is_a_feature_of_suppliers_without_codes(tmp_path: Path) -> None:
    awards, _ = read_awards([_decp_file(tmp_path / "decp.json")])
    classifier, _ = train_time_split(awards, "2019-01-01", "division")
    suppliers = [  # no CPV code, no contract: words only
        Supplier.from_raw(
            {"supplier_id": "roofs", "name": "Toitures Martin", "description": "Réfection de toiture, étanchéité et maçonnerie."}
        ),
        Supplier.from_raw({"supplier_id": "soft", "name": "Logimed", "description": "Logiciel, hébergement et maintenance applicative."}),
    ]
    ranker = Ranker.build(Corpus(suppliers), load_encoder("hashing"), cpv_model=classifier)
    assert ranker.predicted_cpv is not None and not ranker.predicted_cpv.known.any()  # nothing classified before it is needed
    [roofs, soft] = [ranker.corpus.position[s] for s in ("roofs", "soft")]
    by_supplier = {m.supplier: m.features["cpv_predicted"] for m in ranker.rank(Query("Travaux de démolition et de gros œuvre"), k=2)}
    assert by_supplier[roofs] > 0.5 > by_supplier[soft]
    assert ranker.predicted_cpv.known.all()  # classified once as candidates, kept for the next query
    live = Ranker(ranker.corpus.updated([], ["soft"]), ranker.encoder, ranker.index, previous=ranker)  # a live update
    assert live.predicted_cpv is not None and live.predicted_cpv.model is classifier
    assert live.predicted_cpv.known.all() and live.predicted_cpv.proba[0] == pytest.approx(ranker.predicted_cpv.proba[roofs])
    plain = Ranker.build(Corpus(suppliers), load_encoder("hashing"))
    assert plain.predicted_cpv is None and all(m.features["cpv_predicted"] == 0.0 for m in plain.rank(Query("toiture"), k=2))
