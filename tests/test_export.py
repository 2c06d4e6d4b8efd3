"""Spreadsheet exports: read back with pandas and openpyxl; accents, numbers, neutralised formulas."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from matcher.app.export import csv_bytes, safe_sheet_name, write_csv, write_xlsx, xlsx_bytes

HEADER = ["Acheteur", "Rang", "Start-up", "Score", "Région"]
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)"]
ROWS = [
    ["Ministère des Armées", 1, "Énergie Évolutive", 2.5, "Île-de-France"],
    ["Ministère de la Santé", 2, "Château & Cœur", 0.125, "Provence-Alpes-Côte d'Azur"],
] + [["Hostile", i + 3, text, -1.5, text] for i, text in enumerate(HOSTILE)]


def read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")


def test_csv_bytes_has_bom_accents_and_numbers() -> None:
    data = csv_bytes(HEADER, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    frame = read_csv(data)
    assert list(frame.columns) == HEADER
    assert frame.loc[0, "Start-up"] == "Énergie Évolutive"
    assert frame.loc[1, "Région"] == "Provence-Alpes-Côte d'Azur"
    assert frame["Rang"].tolist() == [1, 2, 3, 4, 5, 6]
    assert frame.loc[1, "Score"] == pytest.approx(0.125)


def test_csv_neutralises_formulas() -> None:
    frame = read_csv(csv_bytes(HEADER, ROWS))
    assert frame["Start-up"].tolist()[2:] == ["'" + text for text in HOSTILE]
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in frame.astype(str).to_numpy().ravel() if not _is_number(v))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_write_csv_is_csv_bytes(tmp_path: Path) -> None:
    path = tmp_path / "sous-dossier" / "listes.csv"
    write_csv(path, HEADER, iter(ROWS))
    assert path.read_bytes() == csv_bytes(HEADER, ROWS)


def test_xlsx_cells_types_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "out" / "listes.xlsx"
    write_xlsx(path, HEADER, iter(ROWS), sheet="Ministères")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Ministères"]
    sheet = workbook["Ministères"]
    assert [c.value for c in sheet[1]] == HEADER
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == len(ROWS) + 1
    assert sheet["C2"].value == "Énergie Évolutive"
    assert sheet["E3"].value == "Provence-Alpes-Côte d'Azur"
    for row in sheet.iter_rows(min_row=2):
        assert row[1].data_type == "n" and isinstance(row[1].value, int)
        assert row[3].data_type == "n" and isinstance(row[3].value, float)
        for cell in (row[0], row[2], row[4]):
            assert cell.data_type == "s"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDE"}
    assert widths["C"] >= len("Énergie Évolutive") and widths["B"] < widths["E"] <= 60


def test_xlsx_neutralises_formulas_like_the_csv() -> None:
    data = xlsx_bytes(HEADER, ROWS)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    hostile_cells = [sheet.cell(row=r, column=c) for r in range(4, 4 + len(HOSTILE)) for c in (3, 5)]
    for cell in hostile_cells:
        assert cell.data_type == "s", cell.coordinate
        assert cell.value.startswith("'")
    assert [sheet.cell(row=r, column=3).value for r in range(4, 8)] == ["'" + text for text in HOSTILE]
    # Both exports show the same text and the same numbers.
    from_csv = read_csv(csv_bytes(HEADER, ROWS))
    from_xlsx = pd.read_excel(io.BytesIO(data), sheet_name=0)
    pd.testing.assert_frame_equal(from_xlsx, from_csv)
    assert from_xlsx["Rang"].dtype.kind == "i" and from_xlsx["Score"].dtype.kind == "f"


def test_xlsx_strips_control_characters_and_handles_odd_values() -> None:
    rows = [
        ["a\x00b\x07c\x1bd", "tab\tet\nligne", "\x01=CMD()", float("nan"), None, True, "retour\r\nchariot"],
    ]
    data = xlsx_bytes(["x", "y", "z", "n", "vide", "b", "r"], rows)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [c.value for c in sheet[2]]
    assert values[:3] == ["abcd", "tab\tet\nligne", "'=CMD()"]
    assert values[3] is None and values[4] is None and values[5] is True
    assert values[6] == "retour\nchariot"
    assert sheet["C2"].data_type == "s"


def test_sheet_names_are_sanitised() -> None:
    assert safe_sheet_name("Armées [2025]: a/b\\c*?") == "Armées -2025-- a-b-c--"
    assert len(safe_sheet_name("Ministère de l'Enseignement supérieur et de la Recherche")) == 31
    assert safe_sheet_name("'") == "Liste"
    assert safe_sheet_name("") == "Liste"
    data = xlsx_bytes(["x"], [[1]], sheet="Santé/Hôpitaux: [liste]*" * 3)
    names = openpyxl.load_workbook(io.BytesIO(data)).sheetnames
    assert len(names[0]) <= 31 and not set(names[0]) & set("[]:*?/\\")


def test_xlsx_default_sheet_and_empty_rows() -> None:
    data = xlsx_bytes(HEADER, [])
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Liste"]
    assert pd.read_excel(io.BytesIO(data)).columns.tolist() == HEADER
