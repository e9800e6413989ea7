from __future__ import annotations

import csv
import io
from datetime import date

import polars as pl
import pytest

from scoring.spreadsheet_safety import (
    NORDIC_EXCEL,
    CsvFormat,
    formula_safe,
    neutralize_text,
)

HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1:A9)",
           "\tcmd", "\r=1", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_starting_with_a_formula_trigger_gets_a_leading_quote(text: str) -> None:
    safe = formula_safe(pl.DataFrame({"name": [text]}))
    assert safe["name"][0] == "'" + text


def test_ordinary_text_and_inner_triggers_stay_as_they_are() -> None:
    safe = formula_safe(pl.DataFrame({"name": ["Anna Berg", "a=b", "x-1", None]}))
    assert safe["name"].to_list() == ["Anna Berg", "a=b", "x-1", None]


def test_numbers_dates_and_booleans_are_not_touched() -> None:
    frame = pl.DataFrame({"n": [-5, 3], "x": [-0.5, 1.25], "ok": [True, False],
                          "d": [date(2026, 1, 1), date(2026, 1, 2)]})
    safe = formula_safe(frame)
    assert safe.schema == frame.schema
    assert safe.equals(frame)


def test_list_cells_are_joined_then_neutralized() -> None:
    frame = pl.DataFrame({"reasons": [["=1+1", "b"], []]})
    assert formula_safe(frame)["reasons"].to_list() == ["'=1+1 | b", ""]


def test_hostile_header_is_neutralized() -> None:
    safe = formula_safe(pl.DataFrame({"=cmd": ["x"], "ok": ["y"]}))
    assert safe.columns == ["'=cmd", "ok"]
    assert neutralize_text("@x") == "'@x"


def _written(frame: pl.DataFrame, layout: CsvFormat) -> bytes:
    import tempfile
    from pathlib import Path

    from flows.catalog import write_csv

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        write_csv(frame, path, layout)
        return path.read_bytes()


def test_writer_quotes_text_and_leaves_numbers_bare() -> None:
    data = _written(pl.DataFrame({"name": ["=1+1"], "p": [0.25], "n": [-3]}), CsvFormat())
    assert data.decode("utf-8").splitlines() == ['"name","p","n"', '"\'=1+1",0.25,-3']


def test_nordic_excel_layout_has_bom_semicolons_and_decimal_commas() -> None:
    data = _written(pl.DataFrame({"name": ["Åsa"], "p": [0.25]}), NORDIC_EXCEL)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["name", "p"], ["Åsa", "0,25"]]
