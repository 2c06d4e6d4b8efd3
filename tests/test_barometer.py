"""The barometer: DECP files imported (both JSON formats and the tabular one), deduplicated by the
documented rule, and the shares of innovative companies and SMEs — checked against figures computed
independently here (pandas) on the real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from matcher.barometer.figures import figures, totals, trajectory, unmapped_buyers
from matcher.barometer.geography import department_of_place, region_of_place
from matcher.barometer.labels import file_labels, ilab_labels, luhn_ok
from matcher.barometer.ministries import HOSPITALS, LOCAL, default_ministry
from matcher.barometer.sources import ImportSummary, innovative_flag, read_awards
from matcher.barometer.store import BarometerStore
from matcher.cli import main

TODAY = "2026-12-04"
#: SIRENs with a valid Luhn key
LABELLED, OTHER, SME = "732829320", "552100554", "443061841"


def _contract(i: int, buyer: str, holders: list[str], amount: object, date: str, flag: object = None, **extra: object) -> dict:
    """A contract in the 2022 format (nested holders, the innovation flag)."""
    raw = {
        "id": f"2024-{i:04d}",
        "acheteur": {"id": buyer},
        "objet": f"Prestation n° {i}",
        "codeCPV": "72000000",
        "procedure": "Procédure adaptée",
        "montant": amount,
        "dateNotification": date,
        "datePublicationDonnees": "2025-01-10",
        "lieuExecution": {"code": "75013", "typeCode": "Code postal"},
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": h + "00019"}} for h in holders],
        **extra,
    }
    if flag is not None:
        raw["marcheInnovant"] = flag
    return raw


def _decp_2022(path: Path, contracts: list[dict], concessions: list[dict] | None = None) -> Path:
    path.write_text(
        json.dumps({"marches": {"marche": contracts, "contrat-concession": concessions or []}}, ensure_ascii=False), encoding="utf-8"
    )
    return path


MINISTRY = "11000201100044"  # a State buyer, mapped by staff below
TOWN = "21750001600019"


def _sample_2022(tmp_path: Path) -> Path:
    return _decp_2022(
        tmp_path / "decp-2024.json",
        [
            _contract(1, MINISTRY, [LABELLED], 100_000, "2024-03-01", "oui"),
            _contract(2, MINISTRY, [OTHER], 300_000, "2024-05-02", "false"),
            _contract(3, MINISTRY, [LABELLED, OTHER], 200_000, "2024-07-03", "1"),  # co-holders: 100,000 each
            _contract(4, MINISTRY, [SME], 400_000, "2024-09-04", "peut-être"),  # junk flag: unknown
            _contract(5, MINISTRY, ["00000000000000"[:9]], 50_000, "2024-10-05", "non"),  # placeholder holder: unusable
            _contract(6, MINISTRY, [OTHER], "-3", "2024-11-06", "non"),  # no usable amount
            _contract(7, MINISTRY, [OTHER], 9e12, "2024-11-07", "non"),  # absurd amount
            _contract(8, MINISTRY, [OTHER], 10_000, "2031-01-01", "non"),  # future date
            _contract(9, TOWN, [LABELLED], 500_000, "2024-12-08", "true"),  # a local body: outside the State's scope
            _contract(1, MINISTRY, [LABELLED], 100_000, "2024-03-01", "oui") | {"datePublicationDonnees": "2025-02-01"},  # republished
        ],
        concessions=[_contract(99, TOWN, [OTHER], 1_000_000, "2024-06-01")],
    )


@pytest.fixture
def store(tmp_path: Path) -> BarometerStore:
    s = BarometerStore(tmp_path / "barometer.duckdb")
    yield s
    s.close()


def test_the_2022_format_is_read_with_its_flag_holders_and_concessions(tmp_path: Path) -> None:
    summary = ImportSummary()
    rows = list(read_awards(_sample_2022(tmp_path), summary, TODAY))
    assert summary.contracts == 11 and len(rows) == 12  # contract 3 has two holders
    assert {r.layout for r in rows} == {"2022"} and sum(r.kind == "concession" for r in rows) == 1
    first = rows[0]
    assert first.holder_id == LABELLED and first.innovative_flag is True and first.department == "75" and first.region == "Île-de-France"
    assert [r.innovative_flag for r in rows if r.contract_id == "2024-0004"] == [None]
    assert summary.anomalies["marcheInnovant illisible"] == 1
    assert summary.anomalies["titulaire à identifiant factice"] == 1
    assert summary.anomalies["montant nul ou négatif"] == 1 and summary.anomalies["montant aberrant (plus de 5 milliards)"] == 1
    assert summary.anomalies["date hors plage (future ou avant 2010)"] == 1


def test_shares_of_labelled_companies_smes_and_the_buyers_own_flag(store: BarometerStore, tmp_path: Path) -> None:
    result = store.import_files([_sample_2022(tmp_path)], TODAY)
    assert result.duplicates == 1  # contract 1 published twice: the latest publication kept
    store.set_buyer(MINISTRY, "Économie et Finances")
    store.add_labels([(LABELLED, "i-Lab", "test", 2020)])
    store.set_sme([(SME, True, "test"), (OTHER, False, "test")])
    [year] = figures(store, ["year"], state_only=True, year=2024)
    # usable State awards: 1 (100k, labelled), 2 (300k), 3 (2 × 100k, one labelled), 4 (400k, SME)
    assert year["amount"] == pytest.approx(1_000_000) and year["contracts"] == 7 and year["unusable"] == 3
    assert year["innovative_amount"] == pytest.approx(200_000) and year["innovative_share"] == pytest.approx(0.2)
    assert year["sme_share"] == pytest.approx(0.4) and year["sme_unknown_share"] == pytest.approx(0.2)  # LABELLED's size is unknown
    # the buyers' flag: readable on 1, 2, 3 (600k of the usable amount), "innovative" on 1 and 3 (300k)
    assert year["flag_known_amount"] == pytest.approx(600_000) and year["flagged_share"] == pytest.approx(0.5)
    assert year["flagged_not_labelled"] == pytest.approx(100_000)  # contract 3's other holder
    assert year["target_share"] == pytest.approx(trajectory(2024)) == pytest.approx(0.024)
    [everyone] = figures(store, ["year"], year=2024)
    assert everyone["amount"] == pytest.approx(1_500_000)  # the town's award counts outside the State's scope
    assert totals(store)["concessions"] == 1  # concessions are not purchases: counted apart


def test_a_label_counts_from_its_year_on(store: BarometerStore, tmp_path: Path) -> None:
    store.import_files([_sample_2022(tmp_path)], TODAY)
    store.add_labels([(LABELLED, "JEI", "test", 2025)])
    assert figures(store, ["year"], year=2024)[0]["innovative_amount"] == 0


def test_reimports_are_idempotent_and_a_new_version_of_a_file_replaces_its_rows(store: BarometerStore, tmp_path: Path) -> None:
    path = _sample_2022(tmp_path)
    first = store.import_files([path], TODAY)
    again = store.import_files([path], TODAY)
    assert [f.skipped for f in again.files] == [True] and (again.awards, again.contracts) == (first.awards, first.contracts)
    _decp_2022(path, [_contract(1, MINISTRY, [LABELLED], 100_000, "2024-03-01")])
    replaced = store.import_files([path], TODAY)
    assert replaced.raw_rows == 1 and replaced.awards == 1


def test_a_bad_file_is_refused_by_name_and_what_was_stored_stays(store: BarometerStore, tmp_path: Path) -> None:
    store.import_files([_sample_2022(tmp_path)], TODAY)
    before = totals(store)["rows"]
    bad = tmp_path / "broken.json"
    bad.write_text('{"marches": {"marche": [{"id": "1", ', encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json"):
        store.import_files([bad], TODAY)
    assert totals(store)["rows"] == before
    with pytest.raises(ValueError, match="format inconnu"):
        list(read_awards(tmp_path / "x.xml", ImportSummary()))


def test_the_tabular_consolidation_gives_the_same_figures(store: BarometerStore, tmp_path: Path) -> None:
    rows = []
    for raw in json.loads(_sample_2022(tmp_path).read_text())["marches"]["marche"]:
        for t in raw["titulaires"]:
            rows.append(
                {
                    "id": raw["id"],
                    "acheteur_id": raw["acheteur"]["id"],
                    "titulaire_id": t["titulaire"]["id"],
                    "titulaire_typeIdentifiant": "SIRET",
                    "objet": raw["objet"],
                    "codeCPV": raw["codeCPV"],
                    "procedure": raw["procedure"],
                    "montant": raw["montant"],
                    "dateNotification": raw["dateNotification"],
                    "datePublicationDonnees": raw["datePublicationDonnees"],
                    "lieuExecution_code": "75013",
                    "lieuExecution_typeCode": "Code postal",
                    "marcheInnovant": raw.get("marcheInnovant", ""),
                }
            )
    csv_path = tmp_path / "decp.csv"
    pd.DataFrame(rows).to_csv(csv_path, index=False)
    parquet = tmp_path / "decp.parquet"
    pd.DataFrame(rows).astype(str).to_parquet(parquet)
    json_store = BarometerStore(tmp_path / "json.duckdb")
    json_store.import_files([_sample_2022(tmp_path)], TODAY)
    for path in (csv_path, parquet):
        tab = BarometerStore(tmp_path / f"{path.suffix[1:]}.duckdb")
        tab.import_files([path], TODAY)
        for a, b in zip(figures(tab, ["year"]), figures(json_store, ["year"])):
            for name in ("contracts", "amount", "unusable", "flagged_amount", "flag_known_amount"):
                assert a[name] == pytest.approx(b[name]), (path.suffix, name)
        tab.close()
    json_store.close()
    pd.DataFrame([{"id": "1", "objet": "x"}]).to_csv(tmp_path / "partial.csv", index=False)
    with pytest.raises(ValueError, match="colonnes manquantes : buyer_id"):
        store.import_files([tmp_path / "partial.csv"], TODAY)


def test_buyers_are_mapped_by_rules_staff_win_and_unmapped_are_listed(store: BarometerStore, tmp_path: Path) -> None:
    assert default_ministry("Direction régionale des finances publiques d'Occitanie", "13000000000000") == "Économie et Finances"
    assert default_ministry("CENTRE HOSPITALIER DE CAHORS", "26460019900010") == HOSPITALS
    assert default_ministry("Mairie de Maisons-Alfort", "21940046200012") == LOCAL
    assert default_ministry("SDIS de la Vendée", "28850001000013") == LOCAL
    assert default_ministry("Logial-OPH", "38895630200029") is None
    store.import_files([_sample_2022(tmp_path)], TODAY)
    assert [b["buyer_id"] for b in unmapped_buyers(store)] == [MINISTRY]  # no name, no rule: listed, not dropped
    assert figures(store, ["ministry"])[0]["ministry"] == LOCAL
    store.set_buyer(MINISTRY, "Armées", "Bretagne")
    store.import_files([_decp_2022(tmp_path / "later.json", [_contract(50, MINISTRY, [OTHER], 10, "2024-01-01")])], TODAY)
    by_ministry = {r["ministry"]: r for r in figures(store, ["ministry", "region"])}
    assert by_ministry["Armées"]["region"] == "Bretagne"  # staff's region wins over the place of execution
    assert unmapped_buyers(store) == []


def test_places_and_flags_are_read_as_publishers_write_them() -> None:
    assert department_of_place("20167", "Code postal") == "2A" and department_of_place("20200", "Code postal") == "2B"
    assert department_of_place("97411", "Code postal") == "974" and department_of_place("2B033", "Code commune") == "2B"
    assert department_of_place("9", "Code département") == "09" and department_of_place("FR", "Code pays") is None
    assert region_of_place("84", "Code région") == "Auvergne-Rhône-Alpes" and region_of_place("20", "Code département") == "Corse"
    assert [innovative_flag(v) for v in (True, "oui", "1", "TRUE", "Non", "0", "peut-être", None)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        None,
        None,
    ]


def test_staff_label_files_check_the_siren_key(tmp_path: Path) -> None:
    assert luhn_ok(LABELLED) and not luhn_ok("732829321")
    path = tmp_path / "jei.csv"
    path.write_text(f"siren,label,year\n{LABELLED},JEI,2023\n732829321,JEI,2023\n{OTHER},,2023\n{SME},JEI,vingt\n", encoding="utf-8")
    read = file_labels(path, "jei")
    assert read.labels == [(LABELLED, "JEI", "jei", 2023)]
    assert [(e.line, e.field) for e in read.errors] == [(3, "siren"), (4, "label"), (5, "year")]
    assert "clé de contrôle" in read.errors[0].message


def _independent_figures(decp: Path, ilab_csv: Path) -> dict[int, dict[str, float]]:
    """Contracts, usable amounts and the amounts won by i-Lab laureates (from the year they first won)
    per year of the real DECP files, computed here from the raw files with pandas and the tabular
    consolidation's dedup rule, without the barometer's code."""
    records = []
    for path in sorted(decp.glob("*.json")):
        for i, m in enumerate(json.loads(path.read_text(encoding="utf-8"))["marches"]):
            ids = []
            for t in m.get("titulaires") or []:
                ident, kind = re.sub(r"\s", "", str(t.get("id") or "")), str(t.get("typeIdentifiant") or "").upper()
                if ident.isdigit() and len(set(ident[:9])) == 1:
                    ids.append(None)  # a placeholder: 00000000000000 …
                elif ident.isdigit() and len(ident) in (9, 14) and kind in ("", "SIRET", "SIREN"):
                    ids.append(ident[:9])
                elif (ident.isdigit() and kind in ("SIRET", "SIREN")) or len(ident) < 4:
                    ids.append(None)  # a SIRET of the wrong length, or too short to be anyone's
                else:
                    ids.append(f"{kind}:{ident}")  # a foreign VAT or other id: a real holder, never a labelled one
            usable_ids = [x for x in ids if x] or [None]
            try:
                amount = float(m.get("montant"))
            except (TypeError, ValueError):
                amount = float("nan")
            date = str(m.get("dateNotification") or "")[:10]
            for h in usable_ids:
                records.append(
                    {
                        "buyer": re.sub(r"[\s,./]", "", str((m.get("acheteur") or {}).get("id") or "")),
                        "cid": re.sub(r"[\s,./]", "", str(m.get("id") or "")),
                        "holder": h,
                        "date": date if re.match(r"\d{4}-\d{2}-\d{2}$", date) else None,
                        "published": str(m.get("datePublicationDonnees") or "")[:10],
                        "amount": amount if 0 < amount <= 5e9 else float("nan"),
                        "order": (path.name, i),
                    }
                )
    df = pd.DataFrame(records)
    df["contract"] = df["buyer"] + "|" + df["cid"]
    assert (df["cid"] != "").all()  # every real contract has an id: the fallback key is not needed here
    df = df.sort_values(["published", "order"], ascending=[False, True])
    df = df.drop_duplicates(["contract", "holder", "date"], keep="first")
    df["share"] = df["amount"] / df.groupby(["contract", "date"], dropna=False)["amount"].transform("size")
    df["year"] = pd.to_datetime(df["date"]).dt.year
    usable = df[df["holder"].notna() & df["amount"].notna() & df["date"].notna()]
    ilab = pd.read_csv(ilab_csv, dtype=str)
    first_win = ilab.assign(siren=ilab["siren"].str.replace(r"\D", "", regex=True).str[:9], annee=ilab["annee"].astype(float)).dropna(
        subset=["siren"]
    )
    first_win = first_win[first_win["siren"].str.len() == 9].groupby("siren")["annee"].min()
    labelled = usable["holder"].map(first_win).le(usable["year"])
    out = {}
    for year, group in df.groupby("year"):
        in_year = usable["year"] == year
        out[int(year)] = {
            "contracts": group["contract"].nunique(),
            "amount": float(usable[in_year]["share"].sum()),
            "innovative_amount": float(usable[in_year & labelled]["share"].sum()),
        }
    return out


def test_on_the_real_decp_files_the_figures_match_an_independent_computation(shared_data: Path, tmp_path: Path) -> None:
    store = BarometerStore(tmp_path / "real.duckdb")
    result = store.import_files(sorted((shared_data / "decp").glob("*.json")), TODAY)
    assert result.contracts == 5266 and result.duplicates > 0  # 5,533 published, 267 the same (buyer, id) twice
    ilab = shared_data / "ilab" / "ilab_laureates_1999_2025.csv"
    store.add_labels(ilab_labels(ilab).labels)
    expected = _independent_figures(shared_data / "decp", ilab)
    got = {row["year"]: row for row in figures(store, ["year"])}
    assert set(got) == set(expected)
    for year, want in expected.items():
        assert got[year]["contracts"] == want["contracts"], year
        assert got[year]["amount"] == pytest.approx(want["amount"], rel=1e-9), year
        assert got[year]["innovative_amount"] == pytest.approx(want["innovative_amount"], rel=1e-9), year
    assert sum(w["innovative_amount"] for w in expected.values()) > 0  # laureates did win some of these awards
    store.close()


def test_the_command_imports_labels_and_prints_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    decp = _sample_2022(tmp_path)
    labels = tmp_path / "jei.csv"
    labels.write_text(f"siren,label,year\n{LABELLED},JEI,2020\n", encoding="utf-8")
    assert main(["--data-dir", str(data), "barometer", "import", str(decp)]) == 0
    assert "1 doublons retirés" in capsys.readouterr().err
    assert main(["--data-dir", str(data), "barometer", "labels", "--file", str(labels)]) == 0
    mapping = tmp_path / "buyers.csv"
    mapping.write_text(f"buyer_id,ministry\n{MINISTRY},Économie et Finances\n,Armées\n", encoding="utf-8")
    assert main(["--data-dir", str(data), "barometer", "buyers", "--import", str(mapping)]) == 0
    assert "buyer_id" in capsys.readouterr().err  # the empty row is reported by its field
    assert main(["--data-dir", str(data), "barometer", "show", "--by", "year", "--state", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"][0]["innovative_share"] == pytest.approx(0.2) and report["state_only"] is True
    assert main(["--data-dir", str(data), "barometer", "show", "--by", "ministry,year"]) == 0
    table = capsys.readouterr().out
    assert "Économie et Finances | 2024" in table and "20,00 %" in table and "Cible" in table
    with pytest.raises(SystemExit, match="by : planète inconnu"):
        main(["--data-dir", str(data), "barometer", "show", "--by", "planète"])


def test_the_service_serves_the_figures_and_their_export_to_staff(tmp_path: Path) -> None:
    import io

    from fastapi.testclient import TestClient
    from openpyxl import load_workbook

    from matcher.app import Engine
    from matcher.settings import Settings
    from service.app import create_app

    settings = Settings(data_dir=tmp_path / "data", encoder="hashing", reranker="none")
    with TestClient(create_app(settings, engine=Engine.open(settings))) as client:
        staff = {"Authorization": f"Bearer {client.app.state.keys.create('Équipe', 'staff')[1]}"}
        empty = client.get("/barometer", headers=staff)
        assert empty.status_code == 200 and empty.json()["rows"] == [] and empty.json()["totals"]["contracts"] == 0  # before any import
        store = BarometerStore(settings.barometer_path)
        store.import_files([_sample_2022(tmp_path)], TODAY)
        store.set_buyer(MINISTRY, "Économie et Finances")
        store.add_labels([(LABELLED, "i-Lab", "test", 2020)])
        store.close()
        answer = client.get("/barometer?by=ministry,year&state=true", headers=staff).json()
        assert [(r["ministry"], r["year"]) for r in answer["rows"]] == [("Économie et Finances", 2024), ("Économie et Finances", None)]
        row = answer["rows"][0]  # the award notified in the future has no year: a group of its own
        assert (row["ministry"], row["year"], row["innovative_share"], row["target_share"]) == ("Économie et Finances", 2024, 0.2, 0.024)
        assert answer["totals"]["concessions"] == 1 and answer["state_only"] is True
        bad = client.get("/barometer?by=ministry,ministry", headers=staff)
        assert bad.status_code == 422 and "by" in bad.text
        csv_export = client.get("/barometer/export?format=csv&by=year", headers=staff)
        assert csv_export.status_code == 200 and 'filename="barometre-year.csv"' in csv_export.headers["content-disposition"]
        assert csv_export.content.decode("utf-8-sig").splitlines()[0].startswith("Année,Contrats,Montant (€ HT)")
        xlsx = client.get("/barometer/export?format=xlsx&by=region&state=true", headers=staff)
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet.title == "Baromètre" and sheet["A1"].value == "Région" and sheet["A2"].value == "Île-de-France"
