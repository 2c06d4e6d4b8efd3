"""Text-only benchmarks: the i-Lab pitch and long tasks split in time, and the text-only view of a benchmark."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from matcher.app import sample_data_dir
from matcher.app.benchmarks import build_ilab_benchmarks, build_text_only_view
from matcher.cli import main
from matcher.evaluation.evaluate import Benchmark
from matcher.evaluation.textonly import Laureate, ilab_long, ilab_pitch, read_laureates

COLUMNS = ["identifiant", "annee", "domaine_technologique", "region", "projet", "moto", "resume", "siren", "entreprise"]
TOPICS = [
    (
        "Robots de désherbage",
        "Agrobotix conçoit des robots autonomes qui désherbent les parcelles maraîchères sans herbicide.",
        "Guidés par vision artificielle, ils reconnaissent chaque adventice et la retirent mécaniquement, ce qui réduit le travail pénible des exploitants.",
    ),  # noqa: E501
    (
        "Capteurs de qualité de l'eau",
        "Hydrosense fabrique des capteurs connectés qui mesurent en continu la qualité de l'eau potable.",
        "Les collectivités reçoivent une alerte dès qu'un polluant dépasse un seuil, avec une cartographie de leur réseau de distribution.",
    ),  # noqa: E501
    (
        "Dépistage de la rétinopathie",
        "Retinia analyse les photographies du fond d'œil grâce à l'apprentissage profond.",
        "Le logiciel signale aux ophtalmologistes les patients diabétiques à examiner en priorité, et raccourcit les délais de rendez-vous.",
    ),  # noqa: E501
    (
        "Béton bas carbone",
        "Calcinea produit un ciment sans clinker à partir d'argiles calcinées locales.",
        "Les maîtres d'ouvrage publics réduisent de moitié l'empreinte carbone de leurs bâtiments sans changer leurs méthodes de construction.",
    ),  # noqa: E501
]


def _ilab_file(path: Path) -> Path:
    """A small laureates file in the MESR layout: four topics a year from 2016 to 2023, one duplicate pitch."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for year in range(2016, 2024):
            for i, (pitch, first, second) in enumerate(TOPICS):
                name = f"{first.split()[0]}{year}"
                writer.writerow(
                    {
                        "identifiant": f"L{year}{i}",
                        "annee": str(year),
                        "projet": f"Projet {name}",
                        "moto": f"{pitch} ({year})",
                        "resume": f"{first.replace(first.split()[0], name)} {second} Édition {year}, lauréat {name}.",
                        "entreprise": name,
                    }
                )
        writer.writerow(
            {"identifiant": "DUP", "annee": "2022", "moto": "Robots de désherbage (2022)", "resume": "Un autre texte.", "entreprise": "X"}
        )
    return path


def test_pitch_task_is_split_in_time_and_each_need_has_its_laureate(tmp_path: Path) -> None:
    laureates = read_laureates(_ilab_file(tmp_path / "ilab.csv"))
    assert len(laureates) == 32  # the duplicate pitch is dropped: it would be a second right answer
    train, held_out = ilab_pitch(laureates, pool_from=2018, held_out_from=2021)
    assert {n["date"][:4] for n in held_out.needs} == {"2021", "2022", "2023"}
    assert {n["date"][:4] for n in train.needs} == {str(y) for y in range(2016, 2021)}
    assert not {n["need_id"] for n in train.needs} & {n["need_id"] for n in held_out.needs}
    assert len(held_out.suppliers) == 4 * 6 and len(train.suppliers) == 4 * 5  # 2018– and –2020 pools
    pool = {s["supplier_id"] for s in held_out.suppliers}
    assert len(held_out.qrels) == len(held_out.needs) and all(s in pool for _, s, _ in held_out.qrels)
    assert len({n["buyer_id"] for n in held_out.needs}) == len(held_out.needs)  # no shared buyer history


def test_training_needs_can_leave_out_the_years_an_encoder_learnt_from(tmp_path: Path) -> None:
    laureates = read_laureates(_ilab_file(tmp_path / "ilab.csv"))
    for build in (ilab_pitch, ilab_long):
        train, held_out = build(laureates, pool_from=2018, held_out_from=2021, train_from=2018)
        assert {n["date"][:4] for n in train.needs} == {"2018", "2019", "2020"}
        assert {s["supplier_id"] for s in train.suppliers} == {s for _, s, _ in train.qrels}  # the same years as pool
        untouched, _ = build(laureates, pool_from=2018, held_out_from=2021)
        assert held_out.needs == build(laureates, pool_from=2018, held_out_from=2021)[1].needs
        assert len(untouched.needs) > len(train.needs)


def test_long_task_hides_the_names_and_the_rare_shared_words(tmp_path: Path) -> None:
    laureates = read_laureates(_ilab_file(tmp_path / "ilab.csv"))
    _, held_out = ilab_long(laureates, pool_from=2016, held_out_from=2021)
    suppliers = {s["supplier_id"]: s for s in held_out.suppliers}
    for need, (_, sid, _) in zip(held_out.needs, held_out.qrels):
        supplier = suppliers[sid]
        assert supplier["name"].lower() not in need["description"].lower()  # the company's name is gone
        assert need["description"] and need["description"] not in supplier["description"]
        assert "Édition" not in supplier["description"]  # the supplier holds the first part only


def test_long_need_loses_the_words_only_its_own_supplier_shares() -> None:
    summaries = [
        "Les capteurs xylophages détectent les insectes dans les charpentes des bâtiments publics pour les services techniques. "
        "Nos capteurs xylophages préviennent les services techniques des bâtiments publics bien avant les dégâts visibles.",
        "La plateforme suit les consommations d'énergie des bâtiments publics pour les services techniques des collectivités. "
        "Les dérives sont signalées chaque matin aux services techniques qui interviennent sur les bâtiments publics.",
    ]
    laureates = [Laureate(f"L{i}", 2022, f"Societe{i}", "", "Un pitch.", text, "", "") for i, text in enumerate(summaries)]
    _, held_out = ilab_long(laureates, pool_from=2022, held_out_from=2022)
    first = held_out.needs[0]["description"]
    assert "xylophages" not in first  # shared with its own supplier text, and in no other: removed
    assert "services techniques" in first and "bâtiments publics" in first  # shared with the whole pool: kept
    assert "dégâts visibles" in first  # not in its supplier text: kept


def test_text_only_view_keeps_texts_and_labels_only(tmp_path: Path) -> None:
    source = Benchmark.load(sample_data_dir())
    folder, n_needs, n_suppliers = build_text_only_view(sample_data_dir(), tmp_path / "sample-text")
    view = Benchmark.load(folder)
    assert (n_needs, n_suppliers) == (len(view.needs), len(view.suppliers))
    assert [n.need_id for n in view.needs] == [n.need_id for n in source.needs] and view.qrels == source.qrels
    assert all(not n.cpv and not n.segment and not n.region and n.amount is None for n in view.needs)
    assert len({n.buyer_id for n in view.needs}) == len(view.needs)
    assert all(not s.cpv and not s.segments and not s.region for s in view.suppliers)
    objects = [r for s in view.suppliers for r in s.references]
    assert objects and all(r.objet and not r.cpv and not r.buyer_id and r.amount is None for r in objects)
    by_id = {s.supplier_id: s for s in source.suppliers}
    assert all(s.description == by_id[s.supplier_id].description for s in view.suppliers)


def test_the_command_writes_benchmarks_the_evaluation_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ilab = _ilab_file(tmp_path / "ilab.csv")
    out = tmp_path / "bench"
    assert (
        main(
            [
                "text-bench",
                "--ilab",
                str(ilab),
                "--pool-from",
                "2016",
                "--held-out-from",
                "2021",
                "--view",
                str(sample_data_dir()),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    for name in ("ilab-pitch-train", "ilab-pitch-eval", "ilab-long-train", "ilab-long-eval", "sample_data-text"):
        assert name in printed
        bench = Benchmark.load(out / name)
        assert bench.needs and bench.qrels and not bench.report.rejected
    assert written_files(out / "ilab-pitch-eval") == ["needs.jsonl", "qrels.tsv", "suppliers.jsonl"]
    with pytest.raises(SystemExit, match="--ilab"):
        main(["text-bench", "--out", str(out)])


def written_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_app_builds_every_ilab_folder(tmp_path: Path) -> None:
    written = build_ilab_benchmarks(_ilab_file(tmp_path / "ilab.csv"), tmp_path / "out", pool_from=2016, held_out_from=2021)
    assert sorted(written) == ["ilab-long-eval", "ilab-long-train", "ilab-pitch-eval", "ilab-pitch-train"]
