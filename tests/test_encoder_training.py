"""Training the static French encoder: vocabulary, distillation, contrastive fit, loading by name."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings import load_encoder
from embeddings.training import distill_static, retrieval_mrr, save_encoder, train_contrastive, train_tokenizer
from matcher.app import sample_data_dir

pytestmark = pytest.mark.slow  # trains real encoders

PAIRS = [
    ("téléconsultation pour hôpitaux", "Plateforme de consultation médicale à distance pour les centres hospitaliers."),
    ("capteurs de qualité de l'air", "Réseau de capteurs mesurant le CO2 et les particules dans les écoles."),
    ("audit de cybersécurité", "Tests d'intrusion et audit de sécurité des systèmes d'information publics."),
    ("rénovation énergétique", "Isolation thermique et pompes à chaleur pour bâtiments publics anciens."),
    ("traduction juridique", "Traduction assermentée de documents juridiques et administratifs."),
    ("gestion des déchets", "Collecte et tri des déchets avec des bennes connectées."),
] * 3


def test_distilled_static_model_trains_saves_and_loads(tmp_path: Path) -> None:
    texts = [f"{a} {b}" for a, b in PAIRS]
    tokenizer = train_tokenizer(texts, vocab_size=300, min_frequency=1)
    assert 50 < tokenizer.get_vocab_size() <= 300
    teacher = load_encoder("hashing")
    model = distill_static(teacher, tokenizer)
    model = train_contrastive(model, PAIRS, epochs=2, batch_size=6, learning_rate=0.05)
    save_encoder(model, tmp_path / "static-test", {"name": "static-test", "version": "1", "teacher": teacher.key})
    assert "téléconsultation" not in (tmp_path / "static-test" / "README.md").read_text()  # no training data in the model card
    encoder = load_encoder("static-test", models_dir=tmp_path)
    vectors = encoder.encode_passages([b for _, b in PAIRS[:6]])
    assert encoder.key == "static-test@1" and vectors.shape == (6, teacher.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert retrieval_mrr(encoder, PAIRS[:6]) > 0.5  # learnt its training pairs


def test_cli_trains_on_early_laureates_and_reports_on_later_ones(tmp_path: Path) -> None:
    ilab = tmp_path / "ilab.csv"
    with ilab.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["identifiant", "annee", "moto", "resume"])
        for i, (pitch, summary) in enumerate(PAIRS):
            writer.writerow([f"X{i}", 2010 + i % 10, pitch, summary])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_MODELS_DIR": str(tmp_path / "models")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "matcher.cli",
            "--data-dir",
            str(tmp_path / "data"),
            "train-encoder",
            "--teacher",
            "hashing",
            "--ilab",
            str(ilab),
            "--ilab-before",
            "2015",
            "--bench",
            str(sample_data_dir()),
            "--vocab-size",
            "500",
            "--epochs",
            "1",
            "--no-mlflow",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "models" / "static-fr" / "manifest.json").read_text())
    assert manifest["teacher"] == "hashing@1" and manifest["training"]["ilab"]["years"] == "< 2015"
    assert manifest["training"]["benchmarks"]["pairs"] > 0 and 0 < manifest["held_out"]["mrr"] <= 1
    assert "tenu à l'écart" in proc.stdout


def test_cli_fine_tunes_the_packaged_transformer(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_MODELS_DIR": str(tmp_path / "models")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "matcher.cli",
            "--data-dir",
            str(tmp_path / "data"),
            "train-encoder",
            "--kind",
            "transformer",
            "--base",
            "minilm",
            "--teacher",
            "hashing",
            "--bench",
            str(sample_data_dir()),
            "--epochs",
            "1",
            "--name",
            "minilm-ft",
            "--no-mlflow",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "models" / "minilm-ft" / "manifest.json").read_text())
    assert manifest["kind"] == "fine-tuned-transformer" and manifest["base"] == "minilm"
    encoder = load_encoder("minilm-ft", models_dir=tmp_path / "models")
    assert encoder.encode_queries(["audit de cybersécurité"]).shape == (1, 384)
