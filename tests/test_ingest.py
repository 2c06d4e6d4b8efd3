"""Reading suppliers, needs and labels (JSONL, CSV, TSV, Parquet) and storing them in the catalogue.

Everything runs on small files written into ``tmp_path``: exact counts, line numbers and fields.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from matcher.data.catalogue import Catalogue
from matcher.data.fields import normalize_cpv
from matcher.data.ingest import ImportReport, InputFileError, RowError, read_labels, read_needs, read_rows, read_suppliers
from matcher.data.schema import Label, Need, Reference, Supplier

REPO = Path(__file__).resolve().parents[1]


# -- writers ---------------------------------------------------------------------------------
def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return json.dumps(value, ensure_ascii=False)  # references: a JSON string
        return ";".join(value)
    return value


def write_csv(path: Path, records: list[dict], delimiter: str = ",") -> Path:
    columns = list(dict.fromkeys(k for r in records for k in r))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _csv_cell(record.get(k)) for k in columns})
    return path


def write_parquet(path: Path, records: list[dict]) -> Path:
    pd.DataFrame(records).to_parquet(path, index=False)
    return path


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}


# -- sample records --------------------------------------------------------------------------
SUPPLIERS = [
    {
        "supplier_id": "S1",
        "name": "Alpha Santé",
        "description": "Télésurveillance des patients à domicile",
        "references": [
            {
                "objet": "Plateforme de télésuivi",
                "cpv": "72000000-5",
                "buyer_id": "B1",
                "buyer_name": "CHU de Lille",
                "date": "2018-05-04",
                "amount": 120000.0,
            },
            {
                "objet": "Maintenance applicative",
                "cpv": "9310000",
                "buyer_id": "B2",
                "buyer_name": "Ville de Lens",
                "date": "2019-01-10",
                "amount": 5000.5,
            },
        ],
        "segments": ["sante", "numerique"],
        "cpv": ["72000000-5", "9310000", "00000000"],
        "region": "Hauts-de-France",
        "tags": ["deeptech", "i-lab"],
        "siren": "123456782",
        "website": "https://alpha.example",
        "effectif": "12",
    },
    {
        "supplier_id": "S2",
        "name": "Beta Conseil",
        "description": "",
        "references": [{"objet": "Audit organisationnel &amp; conseil", "cpv": "79411000", "buyer_id": "B3", "date": "2018-02-01"}],
        "segments": ["prestations-intellectuelles"],
        "cpv": [],
        "region": "",
        "tags": [],
        "siren": "",
        "website": "",
        "effectif": "3",
    },
    {
        "supplier_id": "S3",
        "name": "Gamma Bâtiment",
        "description": "Rénovation énergétique des bâtiments publics",
        "references": [],
        "segments": ["immobilier"],
        "cpv": ["45000000"],
        "region": "Bretagne",
        "tags": ["french-tech-120"],
        "siren": "",
        "website": "",
        "effectif": "50",
    },
]

NEEDS = [
    {
        "need_id": "N1",
        "buyer_id": "B1",
        "buyer_name": "CHU de Lille",
        "title": "Téléconsultation",
        "description": "Plateforme de téléconsultation pour les patients chroniques",
        "cpv": ["72000000-5", "00000000"],
        "segment": "sante",
        "region": "Hauts-de-France",
        "date": "2019-03-01",
        "amount": 50000.0,
        "procedure": "MAPA",
    },
    {
        "need_id": "N2",
        "buyer_id": "B3",
        "buyer_name": "",
        "title": "",
        "description": "Audit des achats",
        "cpv": [],
        "segment": "",
        "region": "",
        "date": None,
        "amount": None,
        "procedure": "AO",
    },
]

LABELS = [
    {"need_id": "N1", "supplier_id": "S1", "relevance": 2},
    {"need_id": "N1", "supplier_id": "S2", "relevance": 0},
    {"need_id": "N2", "supplier_id": "S2", "relevance": 3},
]


def good_supplier(sid: str, **fields) -> dict:
    return {"supplier_id": sid, "name": f"Entreprise {sid}", "description": f"Description de {sid}", **fields}


def good_need(nid: str, **fields) -> dict:
    return {"need_id": nid, "buyer_id": "B1", "title": f"Besoin {nid}", **fields}


def _jsonl_records(records: list[dict]) -> list[dict]:
    """JSONL as a person writes it: keys without a value are left out."""
    return [{k: v for k, v in r.items() if v is not None} for r in records]


# -- the three formats give the same records -------------------------------------------------
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_read_suppliers_every_format(tmp_path, fmt):
    records = _jsonl_records(SUPPLIERS) if fmt == "jsonl" else SUPPLIERS
    path = WRITERS[fmt](tmp_path / f"suppliers.{fmt}", records)
    suppliers, report = read_suppliers(path)

    assert (report.read, report.accepted, report.merged, report.rejected) == (3, 3, 0, 0)
    assert report.warnings == []
    assert [s.supplier_id for s in suppliers] == ["S1", "S2", "S3"]
    s1, s2, s3 = suppliers
    assert s1 == Supplier(
        supplier_id="S1",
        name="Alpha Santé",
        description="Télésurveillance des patients à domicile",
        references=[
            Reference("Plateforme de télésuivi", "72000000", "B1", "CHU de Lille", "2018-05-04", 120000.0),
            Reference("Maintenance applicative", "09310000", "B2", "Ville de Lens", "2019-01-10", 5000.5),
        ],
        segments=["sante", "numerique"],
        cpv=["72000000", "09310000"],
        region="Hauts-de-France",
        tags=["deeptech", "i-lab"],
        siren="123456782",
        website="https://alpha.example",
        extra={"effectif": "12"},
    )
    # stored as sent (entities too): the page and the exports escape on output
    assert s2.description == "" and s2.references == [
        Reference("Audit organisationnel &amp; conseil", "79411000", "B3", "", "2018-02-01", None)
    ]
    assert s2.segments == ["prestations-intellectuelles"] and s2.cpv == [] and s2.tags == []
    assert s3.references == [] and s3.cpv == ["45000000"] and s3.tags == ["french-tech-120"]


def test_suppliers_identical_across_formats(tmp_path):
    results = {}
    for fmt, writer in WRITERS.items():
        records = _jsonl_records(SUPPLIERS) if fmt == "jsonl" else SUPPLIERS
        suppliers, _ = read_suppliers(writer(tmp_path / f"suppliers.{fmt}", records))
        results[fmt] = [s.to_dict() for s in suppliers]
    assert results["jsonl"] == results["csv"] == results["parquet"]
    assert len(results["jsonl"]) == 3


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_read_needs_every_format(tmp_path, fmt):
    records = _jsonl_records(NEEDS) if fmt == "jsonl" else NEEDS
    path = WRITERS[fmt](tmp_path / f"needs.{fmt}", records)
    needs, report = read_needs(path)

    assert (report.read, report.accepted, report.merged, report.rejected) == (2, 2, 0, 0)
    assert needs == [
        Need(
            need_id="N1",
            buyer_id="B1",
            buyer_name="CHU de Lille",
            title="Téléconsultation",
            description="Plateforme de téléconsultation pour les patients chroniques",
            cpv=["72000000"],
            segment="sante",
            region="Hauts-de-France",
            date="2019-03-01",
            amount=50000.0,
            extra={"procedure": "MAPA"},
        ),
        Need(need_id="N2", buyer_id="B3", description="Audit des achats", extra={"procedure": "AO"}),
    ]
    assert needs[1].date is None and needs[1].amount is None
    assert needs[1].text == "Audit des achats"


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv", "parquet"])
def test_read_labels_every_format(tmp_path, fmt):
    if fmt == "tsv":
        path = write_csv(tmp_path / "qrels.tsv", LABELS, delimiter="\t")
    else:
        path = WRITERS[fmt](tmp_path / f"labels.{fmt}", LABELS)
    labels, report = read_labels(path)
    assert (report.read, report.accepted, report.merged, report.rejected) == (3, 3, 0, 0)
    assert labels == [Label("N1", "S1", 2), Label("N1", "S2", 0), Label("N2", "S2", 3)]


def test_csv_header_is_line_one_and_bom_is_ignored(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_bytes("\ufeffsupplier_id,name,description\nA,Alpha,Logiciel\nB,,Sans nom\n".encode("utf-8"))
    rows = list(read_rows(path))
    assert [line for line, _ in rows] == [2, 3]
    assert rows[0][1] == {"supplier_id": "A", "name": "Alpha", "description": "Logiciel"}
    suppliers, report = read_suppliers(path)
    assert [s.supplier_id for s in suppliers] == ["A"]
    assert report.errors == [RowError(str(path), 3, "name", "est requis et vide")]


# -- broken files ----------------------------------------------------------------------------
def test_broken_suppliers_jsonl(tmp_path):
    path = tmp_path / "suppliers.jsonl"
    lines = [
        json.dumps(good_supplier("G1")),  # 1
        '{"supplier_id": "X1", "name": ',  # 2 invalid JSON
        '["G9", "not an object"]',  # 3 a JSON array
        "",  # 4 blank: skipped, still counted as a line
        json.dumps({"supplier_id": "X2", "name": "  ", "description": "Sans nom"}),  # 5
        json.dumps({"supplier_id": "X3", "name": "Sans preuve", "description": "", "references": []}),  # 6
        json.dumps(good_supplier("X4", cpv=["72000000", "12ab"])),  # 7 bad CPV
        json.dumps(good_supplier("X5", segments=["agriculture"])),  # 8 bad segment
        json.dumps({"supplier_id": "", "name": "Sans id", "description": "x"}),  # 9
        json.dumps(good_supplier("G2")),  # 10
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    suppliers, report = read_suppliers(path)

    assert [s.supplier_id for s in suppliers] == ["G1", "G2"]
    assert (report.read, report.accepted, report.merged, report.rejected) == (9, 2, 0, 7)
    assert [(e.file, e.line, e.field) for e in report.errors] == [
        (str(path), 2, "-"),
        (str(path), 3, "-"),
        (str(path), 5, "name"),
        (str(path), 6, "description"),
        (str(path), 7, "cpv"),
        (str(path), 8, "segments"),
        (str(path), 9, "supplier_id"),
    ]
    assert "JSON invalide" in report.errors[0].message
    assert report.errors[1].message == "un objet JSON est attendu"
    assert "'12ab'" in report.errors[4].message
    assert "'agriculture'" in report.errors[5].message
    assert str(report.errors[2]) == f"{path}:5: name: est requis et vide"

    summary = report.summary()
    assert summary.splitlines()[0] == "9 lignes lues, 2 acceptées, 0 fusionnées (doublons), 7 rejetées."
    assert f"rejet — {path}:7: cpv: " in summary
    assert summary.count("rejet — ") == 7


def test_broken_suppliers_csv(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text(
        "supplier_id,name,description,cpv,references\n"  # 1
        "G1,Alpha,Logiciel RH,72000000-5;48000000,\n"  # 2
        "X1,,Sans nom,,\n"  # 3
        "X2,Beta,Conseil,72000000;abc,\n"  # 4
        "X3,Gamma,,,[]\n"  # 5: no description, no reference
        'X4,Delta,,,"[{""objet"": ""Audit"", ""cpv"": ""79411000""}"\n'  # 6: references not valid JSON
        "X5,Epsilon,Trop,,,extra cell\n"  # 7
        'G2,Zeta,,,"[{""objet"": ""Maintenance du parc"", ""amount"": ""1 500,50""}]"\n',  # 8
        encoding="utf-8",
    )
    suppliers, report = read_suppliers(path)

    assert [s.supplier_id for s in suppliers] == ["G1", "G2"]
    assert suppliers[0].cpv == ["72000000", "48000000"]
    assert suppliers[1].references == [Reference("Maintenance du parc", amount=1500.5)]
    assert (report.read, report.accepted, report.merged, report.rejected) == (7, 2, 0, 5)
    assert [(e.line, e.field) for e in report.errors] == [(3, "name"), (4, "cpv"), (5, "description"), (6, "references"), (7, "-")]
    assert all(e.file == str(path) for e in report.errors)


def test_broken_needs_jsonl(tmp_path):
    path = write_jsonl(
        tmp_path / "needs.jsonl",
        [
            good_need("N1", date="2019-03-01", amount=1000),  # 1
            good_need("X1", date="01/03/2019"),  # 2 bad date
            good_need("X2", amount=-5),  # 3 negative amount
            good_need("X3", segment="agriculture"),  # 4 segment not allowed
            {"need_id": "X4", "buyer_id": "B1", "title": " ", "description": ""},  # 5 no text
            good_need("X5", amount="beaucoup"),  # 6 not a number
            {"need_id": "X6", "title": "Sans acheteur"},  # 7 no buyer_id
            good_need("N2", description="Détails", amount="12 000,5"),  # 8
        ],
    )
    needs, report = read_needs(path)

    assert [n.need_id for n in needs] == ["N1", "N2"]
    assert needs[1].amount == 12000.5
    assert (report.read, report.accepted, report.merged, report.rejected) == (8, 2, 0, 6)
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "date"),
        (3, "amount"),
        (4, "segment"),
        (5, "title"),
        (6, "amount"),
        (7, "buyer_id"),
    ]
    assert "'01/03/2019'" in report.errors[0].message
    assert "montant positif ou nul" in report.errors[1].message
    assert "sante" in report.errors[2].message  # the allowed values are named
    assert report.summary().startswith("8 lignes lues, 2 acceptées, 0 fusionnées (doublons), 6 rejetées.")


def test_broken_needs_parquet_rows_are_numbered_from_one(tmp_path):
    path = write_parquet(
        tmp_path / "needs.parquet",
        [good_need("N1", segment="sante"), good_need("X1", segment="agriculture"), good_need("N2", segment="numerique")],
    )
    needs, report = read_needs(path)
    assert [n.need_id for n in needs] == ["N1", "N2"]
    assert [(e.file, e.line, e.field) for e in report.errors] == [(str(path), 2, "segment")]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_broken_labels(tmp_path, fmt):
    rows = [
        {"need_id": "N1", "supplier_id": "S1", "relevance": "2"},
        {"need_id": "N1", "supplier_id": "S2", "relevance": "7"},
        {"need_id": "N2", "supplier_id": "S1", "relevance": "abc"},
        {"need_id": "N2", "supplier_id": "S2", "relevance": "0"},
        {"need_id": "N3", "supplier_id": "S2", "relevance": "-1"},
        {"need_id": "", "supplier_id": "S2", "relevance": "1"},
    ]
    if fmt == "jsonl":
        path = write_jsonl(tmp_path / "labels.jsonl", rows)
        first = 1
    else:
        path = write_csv(tmp_path / f"labels.{fmt}", rows, delimiter="\t" if fmt == "tsv" else ",")
        first = 2  # the header is line 1
    labels, report = read_labels(path)

    assert labels == [Label("N1", "S1", 2), Label("N2", "S2", 0)]
    assert (report.read, report.accepted, report.merged, report.rejected) == (6, 2, 0, 4)
    assert [(e.line, e.field) for e in report.errors] == [
        (first + 1, "relevance"),
        (first + 2, "relevance"),
        (first + 4, "relevance"),
        (first + 5, "need_id"),
    ]
    assert "7" in report.errors[0].message and "'abc'" in report.errors[1].message


def test_labels_repeated_pair_keeps_last_grade(tmp_path):
    path = write_jsonl(
        tmp_path / "labels.jsonl",
        [{"need_id": "N1", "supplier_id": "S1", "relevance": 1}, {"need_id": "N1", "supplier_id": "S1", "relevance": 3}],
    )
    labels, report = read_labels(path)
    assert labels == [Label("N1", "S1", 3)]
    assert (report.read, report.accepted, report.merged) == (2, 2, 1)


def test_jsonl_invalid_utf8_line_is_one_row_error(tmp_path):
    path = tmp_path / "suppliers.jsonl"
    path.write_bytes(
        (json.dumps(good_supplier("G1")) + "\n").encode()
        + b'{"supplier_id": "X", "name": "Soci\xe9t\xe9", "description": "x"}\n'
        + (json.dumps(good_supplier("G2")) + "\n").encode()
    )
    suppliers, report = read_suppliers(path)
    assert [s.supplier_id for s in suppliers] == ["G1", "G2"]
    assert [(e.line, e.field) for e in report.errors] == [(2, "-")]
    assert "UTF-8" in report.errors[0].message


def test_bad_reference_is_a_warning_and_supplier_kept(tmp_path):
    refs = [
        {"objet": "Hébergement des données de santé", "cpv": "72000000", "date": "2018-01-02"},  # 0 good
        {"objet": "Contrat bizarre", "cpv": "abc"},  # 1 bad CPV
        {"objet": "", "cpv": "72000000"},  # 2 no objet
        {"objet": "Tierce maintenance", "amount": -10},  # 3 negative amount
        "pas un objet",  # 4 not an object
        {"objet": "Infogérance", "date": "2018-02-03", "amount": 4000},  # 5 good
    ]
    path = write_jsonl(tmp_path / "suppliers.jsonl", [good_supplier("G0"), {"supplier_id": "S1", "name": "Alpha", "references": refs}])
    suppliers, report = read_suppliers(path)

    assert (report.read, report.accepted, report.rejected) == (2, 2, 0)
    s1 = suppliers[1]
    assert s1.supplier_id == "S1"
    assert s1.references == [
        Reference("Hébergement des données de santé", "72000000", date="2018-01-02"),
        Reference("Infogérance", date="2018-02-03", amount=4000.0),
    ]
    assert len(report.warnings) == 4
    prefixes = [
        f"{path}:2: references[1].cpv:",
        f"{path}:2: references[2].objet:",
        f"{path}:2: references[3].amount:",
        f"{path}:2: references[4]:",
    ]
    for warning, prefix in zip(report.warnings, prefixes):
        assert warning.startswith(prefix), (warning, prefix)
    assert "avertissement — " + report.warnings[0] in report.summary()


def test_supplier_whose_only_reference_is_bad_is_rejected(tmp_path):
    path = write_jsonl(tmp_path / "suppliers.jsonl", [{"supplier_id": "S1", "name": "Alpha", "references": [{"objet": "x", "cpv": "abc"}]}])
    suppliers, report = read_suppliers(path)
    assert suppliers == []
    assert [(e.line, e.field) for e in report.errors] == [(1, "description")]


def test_supplier_with_references_only_is_accepted(tmp_path):
    path = write_jsonl(
        tmp_path / "suppliers.jsonl", [{"supplier_id": "123456782", "name": "Alpha", "references": [{"objet": "Nettoyage des locaux"}]}]
    )
    suppliers, report = read_suppliers(path)
    assert report.rejected == 0
    assert suppliers[0].description == "" and suppliers[0].references == [Reference("Nettoyage des locaux")]


# -- CPV codes --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("72000000-5", "72000000"),
        ("9310000", "09310000"),
        (72000000, "72000000"),
        ("72000000.0", "72000000"),
        (" 45000000 ", "45000000"),
        ("00000000", None),
        ("", None),
        (None, None),
        ("abc", None),
        ("123", None),
        ("123456789", None),
    ],
)
def test_normalize_cpv(raw, expected):
    assert normalize_cpv(raw) == expected


def test_cpv_codes_in_records(tmp_path):
    supplier = good_supplier(
        "S1",
        cpv=["72000000-5", "9310000", "00000000", "72000000"],
        references=[
            {"objet": "Contrat A", "cpv": "9310000"},
            {"objet": "Contrat B", "cpv": "00000000"},
            {"objet": "Contrat C", "cpv": "72000000-5"},
        ],
    )
    path = write_jsonl(tmp_path / "suppliers.jsonl", [supplier])
    suppliers, report = read_suppliers(path)
    assert report.errors == [] and report.warnings == []  # 00000000 is "unknown", not an error
    assert suppliers[0].cpv == ["72000000", "09310000"]  # normalised, placeholder dropped, no duplicate
    assert [r.cpv for r in suppliers[0].references] == ["09310000", None, "72000000"]

    needs, report = read_needs(write_jsonl(tmp_path / "needs.jsonl", [good_need("N1", cpv="72000000-5;00000000;9310000")]))
    assert report.errors == []
    assert needs[0].cpv == ["72000000", "09310000"]


# -- duplicates and extra fields ---------------------------------------------------------------
DUP_FIRST = {
    "supplier_id": "S1",
    "name": "Alpha",
    "description": "",
    "region": "Nord",
    "tags": ["deeptech"],
    "segments": ["numerique"],
    "references": [
        {"objet": "Réseau informatique du lycée", "cpv": "32400000", "buyer_id": "B1", "date": "2018-03-01", "amount": 1000},
        {"objet": "Audit de sécurité", "cpv": "72000000", "buyer_id": "B2", "date": "2018-01-15", "amount": 500},
    ],
    "effectif": "10",
}
DUP_SECOND = {
    "supplier_id": "S1",
    "name": "Alpha SAS",
    "description": "Intégrateur réseau",
    "region": "",
    "tags": ["i-lab", "deeptech"],
    "segments": ["numerique", "sante"],
    "references": [
        # the same contract as above, accent lost upstream and entity-escaped: not a new reference
        {"objet": "R\ufffdseau informatique du lyc\ufffde", "cpv": "32400000", "buyer_id": "B1", "date": "2018-03-01", "amount": 1000},
        {"objet": "Infogérance &amp; support", "cpv": "72500000", "buyer_id": "B3", "date": "2019-01-05", "amount": 2000},
    ],
    "site": "alpha.example",
}


def test_duplicate_supplier_is_merged(tmp_path):
    path = write_jsonl(tmp_path / "suppliers.jsonl", [DUP_FIRST, good_supplier("S2"), DUP_SECOND])
    suppliers, report = read_suppliers(path)

    assert (report.read, report.accepted, report.merged, report.rejected) == (3, 3, 1, 0)
    assert [s.supplier_id for s in suppliers] == ["S1", "S2"]
    s1 = suppliers[0]
    assert s1.name == "Alpha SAS"  # the newer non-empty value wins
    assert s1.description == "Intégrateur réseau"
    assert s1.region == "Nord"  # an empty newer value does not erase
    assert s1.tags == ["deeptech", "i-lab"]
    assert s1.segments == ["numerique", "sante"]
    assert [(r.objet, r.date) for r in s1.references] == [
        ("Audit de sécurité", "2018-01-15"),
        ("Réseau informatique du lycée", "2018-03-01"),
        ("Infogérance &amp; support", "2019-01-05"),
    ]
    assert s1.extra == {"effectif": "10", "site": "alpha.example"}


def test_duplicate_merge_is_deterministic(tmp_path):
    a, _ = read_suppliers(write_jsonl(tmp_path / "a.jsonl", [DUP_FIRST, DUP_SECOND]))
    b, _ = read_suppliers(write_jsonl(tmp_path / "b.jsonl", [DUP_FIRST, DUP_SECOND]))
    c, _ = read_suppliers(write_jsonl(tmp_path / "c.jsonl", [DUP_SECOND, DUP_FIRST]))
    assert a[0].to_dict() == b[0].to_dict()
    # the order of the rows decides the scalars, never the references
    assert [r.key() for r in a[0].references] == [r.key() for r in c[0].references]
    assert len(c[0].references) == 3


def test_duplicate_need_keeps_last_version(tmp_path):
    path = write_jsonl(tmp_path / "needs.jsonl", [good_need("N1", title="Première"), good_need("N2"), good_need("N1", title="Seconde")])
    needs, report = read_needs(path)
    assert (report.read, report.accepted, report.merged) == (3, 3, 1)
    assert [(n.need_id, n.title) for n in needs] == [("N1", "Seconde"), ("N2", "Besoin N2")]


def test_unknown_extra_fields_round_trip(tmp_path):
    record = good_supplier("S1", effectif="12", contact={"ville": "Lille", "codes": [1, 2]}, labels_qualite=["ISO 27001"], note=None)
    suppliers, report = read_suppliers(write_jsonl(tmp_path / "suppliers.jsonl", [record]))
    s = suppliers[0]
    assert s.extra == {"effectif": "12", "contact": {"ville": "Lille", "codes": [1, 2]}, "labels_qualite": ["ISO 27001"]}
    data = s.to_dict()
    assert data["effectif"] == "12" and data["contact"] == {"ville": "Lille", "codes": [1, 2]}
    assert "extra" not in data and "issues" not in data
    assert Supplier.from_dict(data) == s
    assert Supplier.from_dict(json.loads(json.dumps(data))).to_dict() == data

    needs, _ = read_needs(write_jsonl(tmp_path / "needs.jsonl", [good_need("N1", procedure="MAPA", lots=3)]))
    assert needs[0].extra == {"procedure": "MAPA", "lots": 3}
    assert Need.from_dict(needs[0].to_dict()) == needs[0]


# -- files that cannot be read at all --------------------------------------------------------
def test_unsupported_extension(tmp_path):
    path = tmp_path / "suppliers.ods"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputFileError) as info:
        read_suppliers(path)
    assert str(path) in str(info.value) and "'.ods'" in str(info.value)


@pytest.mark.parametrize("reader", [read_suppliers, read_needs, read_labels])
def test_missing_file(tmp_path, reader):
    path = tmp_path / "nowhere" / "suppliers.jsonl"
    with pytest.raises(InputFileError) as info:
        reader(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", ";"), ("cp1252", ","), ("utf-8-sig", "\t")]
)
def test_csv_as_a_spreadsheet_saves_it(tmp_path, encoding, delimiter):
    """Excel writes UTF-8 with a byte-order mark, or Windows-1252 with semicolons on a French Windows."""
    rows = [
        ["supplier_id", "name", "description"],
        ["A", "Alpha", "Logiciel"],
        ["B", "Société Générale", "Crédit, épargne ; assurance « vie »"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "suppliers.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    suppliers, report = read_suppliers(path)
    assert report.rejected == 0
    assert [(s.name, s.description) for s in suppliers] == [
        ("Alpha", "Logiciel"),
        ("Société Générale", "Crédit, épargne ; assurance « vie »"),
    ]


def test_csv_mostly_utf8_with_a_broken_byte_names_the_line(tmp_path):
    """A UTF-8 file with one broken byte is not re-read as Windows-1252 (its accents would all be wrong)."""
    path = tmp_path / "suppliers.csv"
    path.write_bytes("supplier_id,name,description\nA,Générale,Logiciel\n".encode() + b"B,Soci\xe9t\xe9,Cr\xe9dit\n")
    with pytest.raises(InputFileError) as info:
        read_suppliers(path)
    assert f"{path}:3:" in str(info.value)
    assert "UTF-8" in str(info.value)


def test_csv_in_no_spreadsheet_encoding_names_the_line(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_bytes(b"supplier_id,name,description\nA,Alpha,Logiciel\nB,Bad\x81byte,x\n")  # 0x81: undefined in Windows-1252
    with pytest.raises(InputFileError) as info:
        read_suppliers(path)
    assert f"{path}:3:" in str(info.value)


def test_unreadable_parquet(tmp_path):
    path = tmp_path / "suppliers.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(InputFileError) as info:
        read_suppliers(path)
    assert str(path) in str(info.value)


def test_report_add_and_summary_caps_errors():
    report = ImportReport(read=1, accepted=1)
    other = ImportReport(read=60, accepted=0, errors=[RowError("f.jsonl", i, "name", "est requis et vide") for i in range(1, 61)])
    report.add(other)
    assert (report.read, report.accepted, report.rejected) == (61, 1, 60)
    summary = report.summary()
    assert summary.splitlines()[0] == "61 lignes lues, 1 acceptées, 0 fusionnées (doublons), 60 rejetées."
    assert summary.count("rejet — ") == 50
    assert "… et 10 autres rejets" in summary


# -- catalogue --------------------------------------------------------------------------------
@pytest.fixture
def catalogue(tmp_path) -> Catalogue:
    return Catalogue(f"sqlite:///{tmp_path / 'db' / 'catalogue.sqlite'}")


def test_catalogue_reimport_updates_not_duplicates(tmp_path, catalogue):
    path = write_jsonl(tmp_path / "suppliers.jsonl", _jsonl_records(SUPPLIERS))
    suppliers, _ = read_suppliers(path)
    assert catalogue.upsert_suppliers(suppliers) == (3, 0)
    first = {s.supplier_id: s for s in catalogue.suppliers()}
    assert catalogue.counts() == {"suppliers": 3, "needs": 0, "labels": 0, "buyers": 0}

    again, _ = read_suppliers(path)
    assert catalogue.upsert_suppliers(again) == (0, 3)
    assert catalogue.counts() == {"suppliers": 3, "needs": 0, "labels": 0, "buyers": 0}
    second = {s.supplier_id: s for s in catalogue.suppliers()}
    assert sorted(second) == ["S1", "S2", "S3"]
    for sid in second:
        assert sorted(r.key() for r in second[sid].references) == sorted(r.key() for r in first[sid].references)
        assert second[sid].extra == first[sid].extra
    assert second["S1"] == suppliers[0]  # stored and read back unchanged


def test_catalogue_reimported_supplier_gets_new_reference(tmp_path, catalogue):
    catalogue.upsert_suppliers(read_suppliers(write_jsonl(tmp_path / "a.jsonl", [DUP_FIRST]))[0])
    assert len(catalogue.supplier("S1").references) == 2
    inserted, updated = catalogue.upsert_suppliers(read_suppliers(write_jsonl(tmp_path / "b.jsonl", [DUP_SECOND]))[0])
    assert (inserted, updated) == (0, 1)
    stored = catalogue.supplier("S1")
    assert catalogue.counts()["suppliers"] == 1
    assert [r.objet for r in stored.references] == ["Audit de sécurité", "Réseau informatique du lycée", "Infogérance &amp; support"]
    assert stored.name == "Alpha SAS" and stored.region == "Nord" and stored.tags == ["deeptech", "i-lab"]
    assert stored.extra == {"effectif": "10", "site": "alpha.example"}


def test_catalogue_duplicates_within_one_batch(catalogue):
    a = Supplier.from_raw(DUP_FIRST)
    b = Supplier.from_raw(DUP_SECOND)
    assert catalogue.upsert_suppliers([a, b]) == (1, 0)
    assert len(catalogue.supplier("S1").references) == 3


def test_catalogue_needs_reimport_replaces(tmp_path, catalogue):
    needs, _ = read_needs(write_jsonl(tmp_path / "needs.jsonl", _jsonl_records(NEEDS)))
    assert catalogue.upsert_needs(needs) == (2, 0)
    changed = [good_need("N1", buyer_id="B9", title="Téléconsultation v2"), good_need("N3")]
    needs2, _ = read_needs(write_jsonl(tmp_path / "needs2.jsonl", changed))
    assert catalogue.upsert_needs(needs2) == (1, 1)
    assert catalogue.counts()["needs"] == 3
    n1 = catalogue.need("N1")
    assert n1.title == "Téléconsultation v2" and n1.buyer_id == "B9"
    assert n1.description == "" and n1.extra == {}  # replaced, not merged
    assert [n.need_id for n in catalogue.needs("B9")] == ["N1"]
    assert [n.need_id for n in catalogue.needs("B1")] == ["N3"]


def test_catalogue_labels_reimport(tmp_path, catalogue):
    labels, _ = read_labels(write_jsonl(tmp_path / "labels.jsonl", LABELS))
    assert catalogue.upsert_labels(labels) == 3
    assert catalogue.upsert_labels([Label("N1", "S1", 3)]) == 1
    assert catalogue.counts()["labels"] == 3
    assert {(lab.need_id, lab.supplier_id): lab.relevance for lab in catalogue.labels()} == {
        ("N1", "S1"): 3,
        ("N1", "S2"): 0,
        ("N2", "S2"): 3,
    }


# -- regressions: defects found and fixed ------------------------------------------------------
def test_csv_nel_in_quoted_cell_keeps_line_numbers(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text('supplier_id,name,description\nA,Alpha,"Capteurs, drones\u0085 et plus"\nB,,Sans nom\n', encoding="utf-8")
    suppliers, report = read_suppliers(path)
    assert suppliers[0].description == "Capteurs, drones et plus"  # clean_text turns NEL into a space
    assert [(e.line, e.field) for e in report.errors] == [(3, "name")]


def test_csv_nel_in_unquoted_cell_does_not_split_the_row(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text("supplier_id,name,description\nA,Alpha,drones\u0085 capteurs\nB,Beta,Logiciel\n", encoding="utf-8")
    suppliers, report = read_suppliers(path)
    assert report.errors == []
    assert [(s.supplier_id, s.description) for s in suppliers] == [("A", "drones capteurs"), ("B", "Logiciel")]


def test_multiline_csv_row_is_reported_where_it_starts(tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text('supplier_id,name,description,cpv\nA,Alpha,"Ligne un\nligne deux\nligne trois",abc\n', encoding="utf-8")
    _, report = read_suppliers(path)
    assert [(e.line, e.field) for e in report.errors] == [(2, "cpv")]


def test_labels_with_float_grades_are_accepted(tmp_path):
    path = write_parquet(
        tmp_path / "labels.parquet",
        [{"need_id": "N1", "supplier_id": "S1", "relevance": 2}, {"need_id": "N1", "supplier_id": "S2", "relevance": None}],
    )
    labels, report = read_labels(path)
    assert labels == [Label("N1", "S1", 2)]
    assert [(e.line, e.field) for e in report.errors] == [(2, "relevance")]


def test_empty_extra_csv_cell_is_not_kept(tmp_path):
    records = [good_supplier("S1", effectif="12"), good_supplier("S2")]
    from_csv, _ = read_suppliers(write_csv(tmp_path / "suppliers.csv", records))
    from_jsonl, _ = read_suppliers(write_jsonl(tmp_path / "suppliers.jsonl", records))
    from_parquet, _ = read_suppliers(write_parquet(tmp_path / "suppliers.parquet", records))
    assert from_jsonl[1].extra == {} and from_parquet[1].extra == {}
    assert [s.to_dict() for s in from_csv] == [s.to_dict() for s in from_jsonl]


def test_impossible_calendar_date_is_rejected(tmp_path):
    path = write_jsonl(tmp_path / "needs.jsonl", [good_need("N1", date="2019-02-30"), good_need("N2", date="2019-13-45")])
    needs, report = read_needs(path)
    assert needs == []
    assert [(e.line, e.field) for e in report.errors] == [(1, "date"), (2, "date")]


def test_reimporting_unchanged_suppliers_keeps_the_fingerprint(tmp_path):
    """An unchanged re-import must not look like a catalogue change (it would rebuild the index)."""
    supplier = Supplier.from_raw(
        {"supplier_id": "s1", "name": "S", "references": [{"objet": "B", "date": "2020-01-02"}, {"objet": "A", "date": "2019-01-01"}]}
    )
    catalogue = Catalogue(f"sqlite:///{tmp_path / 'c.sqlite'}")
    catalogue.upsert_suppliers([supplier])
    first = catalogue.fingerprint()
    catalogue.upsert_suppliers([Supplier.from_raw(supplier.to_dict())])
    assert catalogue.fingerprint() == first


def test_clean_text_collapses_every_unicode_space_and_drops_controls():
    from matcher.data.fields import clean_text

    assert clean_text(" a\u00a0b\tc\n\nd  e\u2003f\u3000g\u2028h ") == "a b c d e f g h"
    assert clean_text("x\x00y\x7f\x9fz &amp; w") == "xyz &amp; w"  # entities are kept: what was sent is stored
    assert clean_text(None) == "" and clean_text(float("nan")) == ""


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("besoins.csv", read_needs),
        ("besoins.xlsx", read_needs),
        ("fournisseurs.csv", read_suppliers),
        ("fournisseurs.xlsx", read_suppliers),
    ],
)
def test_the_spreadsheet_templates_round_trip(name, reader, tmp_path):
    """The templates the page offers (French titles, one example row) import back without a rejection,
    every field of the example in its place."""
    from matcher.app.imports import template
    from matcher.data.templates import COLUMNS, EXAMPLES

    content, _ = template(name)
    path = tmp_path / name
    path.write_bytes(content)
    if name.endswith(".csv"):
        assert content.startswith(b"\xef\xbb\xbf") and b";" in content.split(b"\r\n")[0]  # as French Excel saves it
        assert "Intitulé" in content.decode("utf-8-sig") or "Étiquettes" in content.decode("utf-8-sig")
    records, report = reader(path)
    assert len(records) == 1 and report.rejected == 0 and not report.warnings, report.summary()
    record, kind = records[0], name.split(".")[0]
    example = EXAMPLES[kind]
    assert record.description == example["description"] and "é" in record.description
    assert record.cpv and all(len(code) == 8 for code in record.cpv)
    assert len(COLUMNS[kind]) == len(example)
    if kind == "besoins":
        assert (record.need_id, record.buyer_name, record.title, record.amount) == (
            example["need_id"],
            example["buyer_name"],
            example["title"],
            80000.0,
        )
    else:
        assert (record.supplier_id, record.siren, record.website) == (example["supplier_id"], example["siren"], example["website"])
        assert record.tags and record.segments == ["numerique", "prestations-intellectuelles"]


def test_french_column_titles_are_read_whatever_their_case_or_accents(tmp_path):
    path = tmp_path / "besoins.csv"
    path.write_text(
        "IDENTIFIANT DU BESOIN;Identifiant de l’acheteur;intitule;Description;montant (€ ht)\nb-1;min-x;Titre;Un besoin décrit;1200\n",
        encoding="cp1252",
    )
    (need,), report = read_needs(path)
    assert report.rejected == 0 and (need.need_id, need.buyer_id, need.title, need.amount) == ("b-1", "min-x", "Titre", 1200.0)
