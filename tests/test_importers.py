"""Importers of the official data sets: DECP award JSON and the i-Lab laureates CSV, and their CLI commands.

Real-data tests read the shared data folder ($MATCHER_TEST_SHARED_DATA, else <repo>/../shared/data) and are
skipped with a reason when it is absent; the exact checks run on small broken files written into ``tmp_path``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.data.catalogue import Catalogue
from matcher.data.decp import buyers_from_awards, read_awards, supplier_id_of, suppliers_from_awards
from matcher.data.ilab import read_ilab
from matcher.data.ingest import InputFileError
from matcher.data.schema import SEGMENTS, Reference

REPO = Path(__file__).resolve().parents[1]
DECP_FILES = ["data.gouv.fr_aife.json", "data.gouv.fr_pes.json", "e-marchespublics.json", "marches-publics.info.json"]
ILAB_FILE = "ilab/ilab_laureates_1999_2025.csv"
ILAB_COLUMNS = (
    "identifiant,annee,type_candidature,jury,grand_prix,domaine_technologique,id_region,region,projet,moto,resume,"
    "siren,siret,entreprise,site_web,lien_scanr,id_unite_recherche,unite_recherche,sigle_unite_recherche,id_structure,structure"
).split(",")


# ============================================================================================
# DECP on the real files
# ============================================================================================
@pytest.fixture(scope="module")
def real_decp(shared_data):
    paths = [shared_data / "decp" / name for name in DECP_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"shared data folder not found: DECP files missing {missing}")
    awards, report = read_awards(paths)
    return paths, awards, report, suppliers_from_awards(awards)


def test_decp_real_files_import(real_decp):
    paths, awards, report, suppliers = real_decp
    assert report.read == 5533  # the four files hold 5,533 awards (data README)
    assert report.accepted + report.rejected == report.read
    assert report.rejected < 20
    assert all(e.field in ("objet", "-") and e.file in map(str, paths) and e.line >= 1 for e in report.errors)
    assert report.merged > 0  # the same contract published by several sources
    assert len(awards) == report.accepted - report.merged
    assert len(awards) > 4000
    assert len({a.key() for a in awards}) == len(awards)
    assert len(suppliers) > 2000
    assert len({s.supplier_id for s in suppliers}) == len(suppliers)
    assert report.summary().startswith(f"{report.read} lignes lues, {report.accepted} acceptées, {report.merged} fusionnées")


def test_decp_real_supplier_ids(real_decp):
    _, awards, report, suppliers = real_decp
    ids = [s.supplier_id for s in suppliers]
    for sid in ids:
        assert re.fullmatch(r"\d{9}", sid) or re.fullmatch(r"[a-z_-]+:\S{4,}", sid), sid
        digits = re.sub(r"\D", "", sid)
        assert not digits or set(digits) != {"0"}, f"placeholder id became a supplier: {sid}"
    assert sum(bool(re.fullmatch(r"\d{9}", sid)) for sid in ids) > 0.95 * len(ids)
    # placeholders exist in the data, and they were skipped, not stored
    assert any("'00000000000000' est un identifiant factice" in w for w in report.warnings)
    for s in suppliers:
        assert s.siren == (s.supplier_id if s.supplier_id.isdigit() else "")


def test_decp_real_references(real_decp):
    _, awards, _, suppliers = real_decp
    n_refs = 0
    for s in suppliers:
        assert s.name
        assert s.references, s.supplier_id
        assert any(r.objet.strip() for r in s.references), s.supplier_id
        for r in s.references:
            assert r.objet.strip()
            assert r.cpv is None or re.fullmatch(r"\d{8}", r.cpv), r.cpv
            assert r.date is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.date), r.date
            assert r.amount is None or r.amount >= 0
            assert "&amp;" not in r.objet
            n_refs += 1
        assert len({r.key() for r in s.references}) == len(s.references)  # no duplicate reference
    assert n_refs >= len(suppliers)
    # every holder of every award became a supplier with that reference
    by_id = {s.supplier_id: s for s in suppliers}
    for award in awards[:500]:
        for sid, _ in award.holders:
            assert any(text_match(r.objet, award.objet) for r in by_id[sid].references)


def text_match(a: str, b: str) -> bool:
    from matcher.data.fields import text_key

    return text_key(a) == text_key(b)


def test_decp_real_buyers(real_decp):
    _, awards, _, _ = real_decp
    buyers = buyers_from_awards(awards)
    assert len(buyers) > 300
    assert all(bid and len(set(bid)) > 1 for bid in buyers)
    assert set(buyers) == {a.buyer_id for a in awards if a.buyer_id}


def test_decp_real_duplicate_file_is_all_merged(shared_data):
    path = shared_data / "decp" / "e-marchespublics.json"
    if not path.is_file():
        pytest.skip(f"shared data folder not found: {path}")
    once, r1 = read_awards([path])
    twice, r2 = read_awards([path, path])
    assert len(twice) == len(once)
    assert r2.read == 2 * r1.read
    assert r2.merged == r1.merged + r1.accepted


# ============================================================================================
# DECP on small broken files
# ============================================================================================
def award(
    objet,
    *,
    buyer=("21940046200012", "Mairie de Maisons-Alfort"),
    cpv="50750000",
    date="2018-06-01",
    montant=12000,
    holders=(("SIRET", "34857485600053", "ASCENSEURS DU SUD"),),
    **extra,
):
    raw = {
        "id": extra.pop("id", "2018X"),
        "acheteur": {"id": buyer[0], "nom": buyer[1]},
        "objet": objet,
        "codeCPV": cpv,
        "lieuExecution": {"code": "94", "typeCode": "Code département", "nom": "Val-de-Marne"},
        "titulaires": [{"typeIdentifiant": t, "id": i, "denominationSociale": n} for t, i, n in holders],
        **extra,
    }
    if date is not None:
        raw["dateNotification"] = date
    if montant is not None:
        raw["montant"] = montant
    return raw


def write_decp(path: Path, marches: list) -> Path:
    path.write_text(json.dumps({"marches": marches}, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def broken_decp(tmp_path):
    """Two small DECP files; see the comments for what each award tests."""
    a = write_decp(
        tmp_path / "a.json",
        [
            # 1: good, HTML entities, a SIRET holder
            award("Maintenance des ascenseurs &amp; monte-charges", buyer=("21940046200012", "Mairie &amp; CCAS")),
            # 2: empty object: rejected
            award("   ", id="EMPTY"),
            # 3: placeholder holder skipped, the other holder kept
            award(
                "Nettoyage des locaux",
                buyer=("21750001600019", "Ville de Paris"),
                cpv="90910000-9",
                montant="25 000,50",
                holders=(("SIRET", "00000000000000", "INCONNU"), ("SIRET", "44306184100047", "PROPRE SA")),
            ),
            # 4: no dateNotification, a SIREN holder
            award("Fourniture de papier", date=None, holders=(("SIREN", "552100554", "PAPETERIE"),)),
            # 5: invalid dateNotification, a foreign VAT holder, no amount
            award("Traduction juridique", date="notifié en juin", montant=None, holders=(("TVA", "DE185100646", "ÜBERSETZUNG GMBH"),)),
            # 6: amount "abc", the SIRET holder of award 1 again (another establishment)
            award(
                "Contr\ufffdle des ascenseurs",
                montant="abc",
                date="2018-09-26T00:00:00+02:00",
                holders=(("SIRET", "34857485600061", "ASCENSEURS DU SUD"),),
            ),
        ],
    )
    b = write_decp(
        tmp_path / "b.json",
        [
            # 1: award 1 of a.json as published by another source (escaped differently, other award id)
            award(
                "Maintenance des ascenseurs & monte-charges",
                buyer=("21940046200012", "Mairie & CCAS"),
                id="OTHER",
                source="marches-publics.info",
            ),
            # 2: only a placeholder holder (and a placeholder buyer): kept, no supplier, no buyer
            award("Étude de sol", buyer=("00000000000000", "?"), holders=(("SIRET", "00000000000000", "?"),)),
        ],
    )
    return a, b


def test_decp_broken_counts(broken_decp):
    a, b = broken_decp
    awards, report = read_awards([a, b])
    assert (report.read, report.accepted, report.merged, report.rejected) == (8, 7, 1, 1)
    assert len(awards) == 6
    assert report.summary().splitlines()[0] == "8 lignes lues, 7 acceptées, 1 fusionnées (doublons), 1 rejetées."


def test_decp_empty_objet_is_rejected_with_position(broken_decp):
    a, b = broken_decp
    _, report = read_awards([a, b])
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.file, error.line, error.field) == (str(a), 2, "objet")
    assert str(error) == f"{a}:2: objet: est requis et vide"


def test_decp_warnings(broken_decp):
    a, b = broken_decp
    _, report = read_awards([a, b])
    expected = [
        f"{a}:3: titulaires[0].id:",
        f"{a}:4: dateNotification:",
        f"{a}:5: dateNotification:",
        f"{a}:6: montant:",
        f"{b}:2: titulaires[0].id:",
    ]
    assert len(report.warnings) == len(expected), report.warnings
    for warning, prefix in zip(report.warnings, expected):
        assert warning.startswith(prefix), (warning, prefix)
    assert "'00000000000000'" in report.warnings[0]
    assert "'notifié en juin'" in report.warnings[2]
    assert "'abc'" in report.warnings[3]


def test_decp_award_fields(broken_decp):
    a, b = broken_decp
    awards, _ = read_awards([a, b])
    by_objet = {aw.objet: aw for aw in awards}
    assert list(by_objet) == [
        "Maintenance des ascenseurs & monte-charges",  # entity unescaped
        "Nettoyage des locaux",
        "Fourniture de papier",
        "Traduction juridique",
        "Contr\ufffdle des ascenseurs",
        "Étude de sol",
    ]
    first = by_objet["Maintenance des ascenseurs & monte-charges"]
    assert (first.buyer_id, first.buyer_name, first.cpv, first.date, first.amount, first.region) == (
        "21940046200012",
        "Mairie & CCAS",
        "50750000",
        "2018-06-01",
        12000.0,
        "Val-de-Marne",
    )
    assert first.holders == [("348574856", "ASCENSEURS DU SUD")]  # SIRET → SIREN
    assert first.source == "a" and first.award_id == "2018X"  # first seen kept

    cleaning = by_objet["Nettoyage des locaux"]
    assert cleaning.holders == [("443061841", "PROPRE SA")]
    assert cleaning.cpv == "90910000" and cleaning.amount == 25000.5
    assert by_objet["Fourniture de papier"].date is None
    assert by_objet["Fourniture de papier"].holders == [("552100554", "PAPETERIE")]
    translation = by_objet["Traduction juridique"]
    assert translation.date is None and translation.amount is None
    assert translation.holders == [("tva:DE185100646", "ÜBERSETZUNG GMBH")]
    check = by_objet["Contr\ufffdle des ascenseurs"]
    assert check.amount is None and check.date == "2018-09-26"
    soil = by_objet["Étude de sol"]
    assert soil.holders == [] and soil.buyer_id == ""


def test_decp_suppliers_and_buyers(broken_decp):
    a, b = broken_decp
    awards, _ = read_awards([a, b])
    suppliers = suppliers_from_awards(awards)
    assert [s.supplier_id for s in suppliers] == ["348574856", "443061841", "552100554", "tva:DE185100646"]
    lift = suppliers[0]
    assert lift.name == "ASCENSEURS DU SUD" and lift.siren == "348574856"
    assert lift.references == [
        Reference("Maintenance des ascenseurs & monte-charges", "50750000", "21940046200012", "Mairie & CCAS", "2018-06-01", 12000.0),
        Reference("Contr\ufffdle des ascenseurs", "50750000", "21940046200012", "Mairie de Maisons-Alfort", "2018-09-26", None),
    ]
    assert suppliers[3].siren == ""
    assert [len(s.references) for s in suppliers] == [2, 1, 1, 1]
    assert buyers_from_awards(awards) == {"21940046200012": "Mairie & CCAS", "21750001600019": "Ville de Paris"}


def test_decp_same_award_in_two_files_counted_once(tmp_path):
    one = award("Audit énergétique", id="A1")
    a = write_decp(tmp_path / "a.json", [one])
    b = write_decp(tmp_path / "b.json", [{**one, "id": "B7", "objet": "Audit &eacute;nerg&eacute;tique"}])
    awards, report = read_awards([a, b])
    assert (report.read, report.accepted, report.merged) == (2, 2, 1)
    assert len(awards) == 1
    assert len(suppliers_from_awards(awards)[0].references) == 1


def test_decp_nested_marche_list(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text(json.dumps({"marches": {"marche": [award("Audit"), "not an object"]}}), encoding="utf-8")
    awards, report = read_awards([path])
    assert len(awards) == 1
    assert [(e.line, e.field) for e in report.errors] == [(2, "-")]


@pytest.mark.parametrize(
    "ident, kind, expected",
    [
        ("34857485600053", "SIRET", "348574856"),
        ("348 574 856 00053", "SIRET", "348574856"),
        ("348574856", "SIREN", "348574856"),
        ("348574856", "", "348574856"),
        ("00000000000000", "SIRET", None),
        ("99999999999999", "SIRET", None),
        ("1234567", "SIRET", None),
        ("", "SIRET", None),
        ("DE185100646", "TVA", "tva:DE185100646"),
        ("AB1", "TVA", None),
    ],
)
def test_supplier_id_of(ident, kind, expected):
    assert supplier_id_of(ident, kind) == expected


def test_decp_not_json_names_file_and_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n "marches": [\n  {"objet": "x",}\n ]\n}\n', encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_awards([path])
    assert f"{path}:3:" in str(info.value)


def test_decp_without_marches(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"data": [award("Audit")]}), encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_awards([path])
    assert str(path) in str(info.value) and "marches" in str(info.value)


def test_decp_missing_file(tmp_path):
    good = write_decp(tmp_path / "a.json", [award("Audit")])
    with pytest.raises(InputFileError) as info:
        read_awards([good, tmp_path / "absent.json"])
    assert str(tmp_path / "absent.json") in str(info.value)


# ============================================================================================
# i-Lab on the real CSV
# ============================================================================================
@pytest.fixture(scope="module")
def real_ilab(shared_data):
    path = shared_data / ILAB_FILE
    if not path.is_file():
        pytest.skip(f"shared data folder not found: {path}")
    suppliers, report = read_ilab(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return path, suppliers, report, rows


def test_ilab_real_import(real_ilab):
    path, suppliers, report, rows = real_ilab
    assert report.read == len(rows) == 3923  # data README: 3,923 projects
    assert report.accepted + report.rejected == report.read
    assert len(suppliers) == report.accepted - report.merged
    assert len(suppliers) > 2500
    assert report.merged > 0  # companies that won more than once
    assert len({s.supplier_id for s in suppliers}) == len(suppliers)
    for s in suppliers:
        assert "i-lab" in s.tags
        assert s.description.strip()
        assert s.name.strip()
        assert set(s.segments) <= set(SEGMENTS)
        assert s.references == []
        if s.siren:
            assert re.fullmatch(r"\d{9}", s.siren) and s.supplier_id == s.siren
        else:
            assert s.supplier_id.startswith("ilab:")
    assert {seg for s in suppliers for seg in s.segments} == {"sante", "numerique"}


def test_ilab_real_siren_keyed(real_ilab):
    _, suppliers, _, rows = real_ilab
    ids = {s.supplier_id for s in suppliers}
    usable = [r for r in rows if (r["moto"].strip() or r["resume"].strip())]
    sirens = {r["siren"].strip() for r in usable if re.fullmatch(r"\d{9}", r["siren"].strip())}
    # a truncated siren is recovered from the siret
    sirens |= {
        r["siret"].strip()[:9]
        for r in usable
        if not re.fullmatch(r"\d{9}", r["siren"].strip()) and re.fullmatch(r"\d{14}", r["siret"].strip())
    }
    assert len(sirens) > 1500
    assert sirens <= ids
    assert sum(1 for s in suppliers if s.siren) == len(sirens)


def test_ilab_real_rejections(real_ilab):
    path, _, report, rows = real_ilab

    def has_key(r):
        return bool(r["identifiant"].strip()) or len(re.sub(r"\D", "", r["siren"])) == 9

    no_text = [r for r in rows if has_key(r) and not r["moto"].strip() and not r["resume"].strip()]
    assert len(no_text) > 100
    assert sum(e.field == "moto/resume" for e in report.errors) == len(no_text)
    assert {e.field for e in report.errors} <= {"moto/resume", "identifiant"}
    assert all(e.file == str(path) for e in report.errors)


def test_ilab_real_rejected_lines_point_at_the_rejected_rows(real_ilab):
    path, _, report, _ = real_ilab
    physical = path.read_bytes().decode("utf-8-sig").split("\n")
    wrong = []
    for error in report.errors:
        if error.field != "moto/resume":
            continue
        cells = next(csv.reader([physical[error.line - 1]]))
        if len(cells) != len(ILAB_COLUMNS) or cells[9].strip() or cells[10].strip():
            wrong.append(error.line)
    assert wrong == []


# ============================================================================================
# i-Lab on a small broken CSV
# ============================================================================================
def ilab_row(**cells) -> list[str]:
    row = dict.fromkeys(ILAB_COLUMNS, "")
    row.update({"annee": "2019", "type_candidature": "création-développement", "jury": "National"}, **cells)
    return [row[c] for c in ILAB_COLUMNS]


def write_ilab(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)  # \r\n between records, like the real file
        writer.writerow(ILAB_COLUMNS)
        writer.writerows(rows)
    return path


@pytest.fixture
def broken_ilab(tmp_path):
    return write_ilab(
        tmp_path / "ilab.csv",
        [
            # line 2
            ilab_row(
                identifiant="A1",
                domaine_technologique="Biotechnologies et pharmacie",
                region="Île-de-France",
                projet="Projet A",
                moto="Diagnostic rapide",
                resume="Un test sanguin &amp; salivaire.",
                siren="123456782",
                entreprise="ALPHA BIO",
                site_web="https://alpha.example",
            ),
            # lines 3-5: a quoted multi-line resume
            ilab_row(
                identifiant="B2",
                domaine_technologique="Services informatiques et autres",
                region="Bretagne",
                moto="Logiciel de planification",
                resume="Première ligne,\nseconde ligne\nfin",
                entreprise="BETA SOFT",
            ),
            # line 6: neither moto nor resume
            ilab_row(identifiant="C3", domaine_technologique="Technologies médicales", projet="Projet C", siren="987654321"),
            # line 7: same siren as line 2, a later year, a prize
            ilab_row(
                identifiant="D4",
                annee="2021",
                grand_prix="Grand Prix",
                domaine_technologique="Mécanique & Travail des métaux",
                moto="Diagnostic rapide v2",
                siren="123 456 782",
                entreprise="ALPHA BIO",
            ),
            # line 8: no identifiant and no siren, but a company name: keyed by the name
            ilab_row(moto="Sans identifiant", entreprise="GHOST"),
            # line 9: no company name, no siren
            ilab_row(identifiant="E5", domaine_technologique="Informatique, logiciel & TIC", projet="Projet E", resume="Un résumé"),
            # line 10: nothing to key the row on
            ilab_row(moto="Orphelin"),
        ],
    )


def test_ilab_broken_counts_and_errors(broken_ilab):
    suppliers, report = read_ilab(broken_ilab)
    assert (report.read, report.accepted, report.merged, report.rejected) == (7, 5, 1, 2)
    assert [(e.file, e.line, e.field) for e in report.errors] == [
        (str(broken_ilab), 6, "moto/resume"),
        (str(broken_ilab), 10, "identifiant"),
    ]
    assert [s.supplier_id for s in suppliers] == ["123456782", "ilab:B2", "ilab:E5", "ilab:nom-ghost"]
    assert report.summary().splitlines()[0] == "7 lignes lues, 5 acceptées, 1 fusionnées (doublons), 2 rejetées."


def test_ilab_broken_records(broken_ilab):
    suppliers, _ = read_ilab(broken_ilab)
    alpha, beta, epsilon, ghost = suppliers
    assert ghost.name == "GHOST" and ghost.description == "Sans identifiant."
    # merged: newer non-empty scalars win, lists are unioned
    assert alpha.name == "ALPHA BIO" and alpha.siren == "123456782"
    assert alpha.description == "Diagnostic rapide v2."
    assert alpha.tags == ["i-lab", "i-lab-laureat-prix"]
    assert alpha.segments == ["sante"]
    assert alpha.region == "Île-de-France" and alpha.website == "https://alpha.example"
    assert alpha.extra["ilab_id"] == "D4" and alpha.extra["ilab_year"] == "2021"
    # multi-line quoted resume read as one cell
    assert beta.name == "BETA SOFT" and beta.siren == ""
    assert beta.description == "Logiciel de planification. Première ligne, seconde ligne fin."
    assert beta.segments == ["numerique"] and beta.region == "Bretagne" and beta.tags == ["i-lab"]
    assert epsilon.name == "Projet E" and epsilon.description == "Un résumé." and epsilon.segments == ["numerique"]


def test_ilab_single_laureate_description(tmp_path):
    path = write_ilab(
        tmp_path / "one.csv",
        [
            ilab_row(
                identifiant="A1", moto="Diagnostic rapide", resume="Un test sanguin &amp; salivaire.", siren="123456782", entreprise="ALPHA"
            )
        ],
    )
    suppliers, report = read_ilab(path)
    assert report.errors == []
    assert suppliers[0].description == "Diagnostic rapide. Un test sanguin & salivaire."


# ============================================================================================
# CLI
# ============================================================================================
def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir,
        timeout=120,
    )


def test_cli_import_decp(broken_decp, tmp_path):
    a, b = broken_decp
    db = f"sqlite:///{tmp_path}/catalogue.sqlite"
    first = run_cli(tmp_path, "import-decp", str(a), str(b))
    assert first.returncode == 0, first.stderr
    assert "8 lignes lues, 7 acceptées, 1 fusionnées (doublons), 1 rejetées." in first.stderr
    assert f"{a}:2: objet: est requis et vide" in first.stderr
    assert "6 marchés distincts, 4 titulaires (4 ajoutés, 0 mis à jour)" in first.stdout
    assert Catalogue(db).counts() == {"suppliers": 4, "needs": 0, "labels": 0, "buyers": 2}

    second = run_cli(tmp_path, "import-decp", str(a), str(b))
    assert second.returncode == 0, second.stderr
    assert "1 rejetées" in second.stderr
    assert "(0 ajoutés, 4 mis à jour)" in second.stdout
    catalogue = Catalogue(db)
    assert catalogue.counts() == {"suppliers": 4, "needs": 0, "labels": 0, "buyers": 2}  # buyers not duplicated either
    assert len(catalogue.supplier("348574856").references) == 2  # not duplicated by the second run


def test_cli_import_ilab(broken_ilab, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = f"sqlite:///{data}/catalogue.sqlite"
    first = run_cli(data, "import-ilab", str(broken_ilab))
    assert first.returncode == 0, first.stderr
    assert "7 lignes lues, 5 acceptées, 1 fusionnées (doublons), 2 rejetées." in first.stderr
    assert f"{broken_ilab}:6: moto/resume:" in first.stderr
    assert "4 start-ups (4 ajoutées, 0 mises à jour)" in first.stdout
    assert Catalogue(db).counts()["suppliers"] == 4

    second = run_cli(data, "import-ilab", str(broken_ilab))
    assert second.returncode == 0, second.stderr
    assert "2 rejetées" in second.stderr
    assert "(0 ajoutées, 4 mises à jour)" in second.stdout
    catalogue = Catalogue(db)
    assert catalogue.counts()["suppliers"] == 4
    assert catalogue.supplier("123456782").tags == ["i-lab", "i-lab-laureat-prix"]


def test_cli_import_decp_not_json_fails_cleanly(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{\n  oops\n}\n", encoding="utf-8")
    result = run_cli(tmp_path, "import-decp", str(path))
    assert result.returncode == 2
    assert f"{path}:2:" in result.stderr and "Traceback" not in result.stderr
