"""One small file per dialect trait or malformation, each with its documented result."""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import IngestConfig
from features.errors import InputError
from features.ingest.validate import validate_source
from features.schema import LEADS
from flows.readers import SAMPLE_BYTES, RawTable, find_source_file, read_raw

REPO_ROOT = Path(__file__).resolve().parents[2]
X_EDUCATION = REPO_ROOT.parent / "shared" / "datasets" / "x_education" / "Leads.csv"


def _read(tmp_path: Path, data: bytes, name: str = "leads.csv", **kwargs: str) -> RawTable:
    path = tmp_path / name
    path.write_bytes(data)
    return read_raw(path, tmp_path / "work", **kwargs)


def _rows(table: RawTable) -> list[dict[str, object]]:
    return table.frame.collect().to_dicts()


def _data(table: RawTable) -> pl.DataFrame:
    """The file's own columns (without source_row and _raw_error)."""
    return table.frame.drop("source_row", "_raw_error").collect()


def _padding_rows(width: int) -> bytes:
    """Enough plain ASCII records to push what follows past the sniffed sample."""
    row = ",".join(["x" * 10] * width) + "\n"
    return row.encode() * (SAMPLE_BYTES // len(row) + 10)


# ---- delimiters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["lead_id", "email", "budget"]) + "\n"
    text += delimiter.join(["L1", "a@b.fi", "12"]) + "\n"
    table = _read(tmp_path, text.encode())
    assert table.dialect["delimiter"] == delimiter
    assert _data(table).to_dicts() == [{"lead_id": "L1", "email": "a@b.fi", "budget": "12"}]


def test_quoted_delimiters_do_not_fool_the_sniffer(tmp_path: Path) -> None:
    table = _read(tmp_path, b'name,note\n"Acme; Inc, Oy","a;b;c"\n"B; Oy",x\n')
    assert table.dialect["delimiter"] == ","
    assert _data(table)["name"].to_list() == ["Acme; Inc, Oy", "B; Oy"]


def test_declared_delimiter_overrides_detection(tmp_path: Path) -> None:
    table = _read(tmp_path, b"a;b,c\n1;2,3\n", delimiter=",")
    assert _data(table).columns == ["a;b", "c"]


def test_excel_sep_line_declares_the_delimiter_and_is_not_the_header(tmp_path: Path) -> None:
    table = _read(tmp_path, b"sep=;\r\nlead_id;note\r\nL1;a,b\r\n")
    assert table.dialect["delimiter"] == ";"
    assert _rows(table) == [{"lead_id": "L1", "note": "a,b", "source_row": 3, "_raw_error": None}]


# ---- encodings ----------------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    table = _read(tmp_path, codecs.BOM_UTF8 + "lead_id,city\nL1,Jyväskylä\n".encode())
    assert table.dialect["had_bom"] is True
    assert table.dialect["encoding"] == "utf-8"
    assert table.dialect["transcoded_to"] is None
    assert table.columns == ("lead_id", "city")
    assert _data(table).to_dicts() == [{"lead_id": "L1", "city": "Jyväskylä"}]


def test_cp1252_is_detected_and_transcoded_into_work_dir(tmp_path: Path) -> None:
    table = _read(tmp_path, "name;city;amount\nÄijö;Örebro;€ 5\n".encode("cp1252"))
    assert table.dialect["encoding"] == "cp1252"
    assert Path(table.dialect["transcoded_to"]).parent == tmp_path / "work"
    assert _data(table).to_dicts() == [{"name": "Äijö", "city": "Örebro", "amount": "€ 5"}]


def test_bytes_cp1252_leaves_undefined_mean_latin1(tmp_path: Path) -> None:
    table = _read(tmp_path, "name\nÄ \x81\n".encode("latin-1"))
    assert table.dialect["encoding"] == "latin-1"
    assert _data(table)["name"].to_list() == ["Ä \x81"]


def test_declared_latin1_is_used_even_where_cp1252_would_decode(tmp_path: Path) -> None:
    table = _read(tmp_path, b"name\ncaf\xe9 \x80\n", encoding="latin-1")
    assert table.dialect["encoding"] == "iso8859-1"
    assert _data(table)["name"].to_list() == ["café \x80"]


def test_utf16_with_bom_from_excel_unicode_text_reads(tmp_path: Path) -> None:
    table = _read(tmp_path, "lead_id\tcity\r\nL1\tÅbo\r\n".encode("utf-16"))
    assert table.dialect["encoding"] == "utf-16"
    assert _data(table).to_dicts() == [{"lead_id": "L1", "city": "Åbo"}]


def test_non_utf8_byte_after_the_sample_is_read_as_cp1252_and_reported(tmp_path: Path) -> None:
    data = b"a,b\n" + _padding_rows(2) + b"M\xe4kinen,\x80\n"
    table = _read(tmp_path, data)
    assert table.dialect["encoding"] == "utf-8"
    assert table.dialect["undecodable_bytes"] == 2
    assert table.dialect["first_invalid_byte"] == data.index(b"\xe4")
    assert _data(table).row(-1) == ("Mäkinen", "€")


def test_unknown_declared_encoding_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"leads\.csv: unknown encoding 'klingon'"):
        _read(tmp_path, b"a\n1\n", encoding="klingon")


# ---- line ends and quoting ----------------------------------------------------------------------


def test_crlf_line_ends_leave_no_carriage_return_in_values(tmp_path: Path) -> None:
    table = _read(tmp_path, b"a,b\r\n1,2\r\n3,\r\n")
    assert table.dialect["line_terminator"] == "\r\n"
    assert _data(table).to_dicts() == [{"a": "1", "b": "2"}, {"a": "3", "b": None}]


def test_old_mac_cr_line_ends_are_transcoded(tmp_path: Path) -> None:
    table = _read(tmp_path, b"a,b\r1,2\r3,4\r")
    assert table.dialect["line_terminator"] == "\r"
    assert _rows(table) == [
        {"a": "1", "b": "2", "source_row": 2, "_raw_error": None},
        {"a": "3", "b": "4", "source_row": 3, "_raw_error": None},
    ]


def test_quoted_newline_stays_in_the_value_and_rows_report_their_first_line(
    tmp_path: Path,
) -> None:
    data = b'id,note\r\n1,"line one\r\nline two\r\nline three"\r\n2,"x, y"\r\n3,z\r\n'
    frame = _read(tmp_path, data).frame.collect()
    assert frame["note"].to_list() == ["line one\r\nline two\r\nline three", "x, y", "z"]
    # Record 1 spans lines 2-4, so record 2 starts on line 5.
    assert frame["source_row"].to_list() == [2, 5, 6]


def test_source_row_is_the_line_number_with_the_header_as_line_one(tmp_path: Path) -> None:
    frame = _read(tmp_path, b"a\n1\n2\n3\n").frame.collect()
    assert frame["source_row"].to_list() == [2, 3, 4]
    assert frame.schema["source_row"] == pl.Int64


def test_blank_lines_are_dropped_and_later_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    frame = _read(tmp_path, b"a,b\n1,2\n\n,\n3,4\n\n\n").frame.collect()
    assert frame.select("a", "source_row").rows() == [("1", 2), ("3", 5)]


# ---- columns and ragged lines -------------------------------------------------------------------


def test_trailing_delimiter_column_without_name_is_dropped(tmp_path: Path) -> None:
    table = _read(tmp_path, b"a,b,\r\n1,2,\r\n3,4,\r\n")
    assert table.columns == ("a", "b", "")
    assert table.dialect["dropped_empty_columns"] == [3]
    assert _data(table).columns == ["a", "b"]


def test_value_under_a_dropped_unnamed_column_is_flagged_not_lost(tmp_path: Path) -> None:
    data = b"a,b,\n" + _padding_rows(2) + b"5,6,surprise\n"
    frame = _read(tmp_path, data).frame.collect()
    assert frame["_raw_error"].to_list()[-1] == "value in field 3, which has no header name"
    assert frame["_raw_error"].null_count() == frame.height - 1


def test_unnamed_column_with_values_is_kept_as_column_n(tmp_path: Path) -> None:
    table = _read(tmp_path, b",lead_id\n0,L1\n1,L2\n")  # a pandas index column
    assert _data(table).to_dicts() == [
        {"column_1": "0", "lead_id": "L1"},
        {"column_1": "1", "lead_id": "L2"},
    ]


def test_short_lines_get_null_for_missing_trailing_fields(tmp_path: Path) -> None:
    table = _read(tmp_path, b"a,b,c\n1\n1,2\n1,2,3\n")
    assert _data(table).rows() == [("1", None, None), ("1", "2", None), ("1", "2", "3")]


def test_line_with_too_many_fields_is_kept_and_flagged(tmp_path: Path) -> None:
    frame = _read(tmp_path, b"a,b\n1,2\n3,4,5,6\n7,8\n").frame.collect()
    rows = frame.select("a", "b", "source_row").rows()
    assert rows == [("1", "2", 2), ("3", "4", 3), ("7", "8", 4)]
    assert frame["_raw_error"].to_list() == [
        None,
        "line has more fields than the 2 in the header (extra: 5,6)",
        None,
    ]


def test_trailing_empty_field_beyond_the_header_is_not_an_error(tmp_path: Path) -> None:
    frame = _read(tmp_path, b"a,b\n1,2,\n").frame.collect()
    assert frame["_raw_error"].to_list() == [None]


def test_header_names_are_trimmed_and_repeats_numbered(tmp_path: Path) -> None:
    table = _read(tmp_path, b" lead_id , email,email ,source_row\nL1,a,b,7\n")
    assert table.columns == (" lead_id ", " email", "email ", "source_row")
    assert _data(table).columns == ["lead_id", "email", "email_2", "source_row_2"]
    assert table.dialect["renamed_columns"] == {"email ": "email_2", "source_row": "source_row_2"}


def test_header_names_polars_reads_as_patterns_are_renamed(tmp_path: Path) -> None:
    """A column named "*" or "^...$" would select every column or a regex in polars: it gets
    a suffix, as a repeated name does, and its values stay its own."""
    table = _read(tmp_path, b"lead_id,*,^x$\nL1,a,b\n")
    data = _data(table)
    assert data.columns == ["lead_id", "*_2", "^x$_2"]
    assert data.row(0) == ("L1", "a", "b")
    assert table.dialect["renamed_columns"] == {"*": "*_2", "^x$": "^x$_2"}


def test_every_csv_column_is_text(tmp_path: Path) -> None:
    frame = _read(tmp_path, b"n,when,flag\n1,2024-01-01,true\n").frame
    schema = frame.collect_schema()
    assert [schema[c] for c in ("n", "when", "flag", "_raw_error")] == [pl.String] * 4


# ---- dialect guesses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name;amount\nA;12,5\nB;1.234,50\n", True),
        (b"name,amount\nA,12.5\nB,3.25\n", False),
        (b"name,amount\nA,12\nB,1,234\n", None),
        (b"nace;revenue\n62.01;2777334,00\n41.20;3118939,00\n", True),
        (b'nace,revenue\n62.01,"2777334,00"\n41.20,"3118939,00"\n', None),
    ],
)
def test_decimal_comma_is_guessed_from_the_sample(
    tmp_path: Path, data: bytes, expected: bool | None
) -> None:
    assert _read(tmp_path, data).dialect["decimal_comma"] is expected


def test_small_file_row_estimate_is_exact(tmp_path: Path) -> None:
    assert _read(tmp_path, b"a\n1\n2\n3\n").dialect["rows_estimate"] == 3


def test_header_only_file_reads_as_no_rows(tmp_path: Path) -> None:
    frame = _read(tmp_path, b"lead_id,created_at\n").frame.collect()
    assert frame.columns == ["lead_id", "created_at", "source_row", "_raw_error"]
    assert frame.height == 0


# ---- errors -------------------------------------------------------------------------------------


def test_missing_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^leads\.csv: file not found"):
        read_raw(tmp_path / "leads.csv", tmp_path)


@pytest.mark.parametrize("data", [b"", b"\n\r\n  \n", codecs.BOM_UTF8])
def test_empty_file_is_an_input_error_naming_it(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match=r"^leads\.csv: the file is empty$"):
        _read(tmp_path, data)


@pytest.mark.parametrize("data", [b"\n\nL1,2024-01-01\n", b",,\n1,2,3\n"])
def test_file_without_header_names_is_an_input_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match=r"^leads\.csv: no header line"):
        _read(tmp_path, data)


def test_spreadsheet_saved_as_csv_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^leads\.csv: is a spreadsheet"):
        _read(tmp_path, b"PK\x03\x04\x14\x00\x06\x00")


def test_binary_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a text file"):
        _read(tmp_path, b"a,b\n\x00\x00\x01,2\n")


def test_long_delimiter_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="one character"):
        _read(tmp_path, b"a\n1\n", delimiter="::")


# ---- Parquet ------------------------------------------------------------------------------------


def test_parquet_keeps_native_types_and_numbers_rows_from_one(tmp_path: Path) -> None:
    path = tmp_path / "leads.parquet"
    written = {" lead_id ": ["L1", "L2"], "budget": [1.5, None], "day": [date(2024, 1, 1)] * 2}
    pl.DataFrame(written).write_parquet(path)
    table = read_raw(path, tmp_path / "work")
    expected = pl.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "budget": [1.5, None],
            "day": [date(2024, 1, 1)] * 2,
            "source_row": [1, 2],
            "_raw_error": [None, None],
        },
        schema_overrides={"_raw_error": pl.String},
    )
    assert_frame_equal(table.frame.collect(), expected)
    assert table.columns == (" lead_id ", "budget", "day")
    assert table.dialect == {"format": "parquet", "rows_estimate": 2, "decimal_comma": None}


def test_corrupt_parquet_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^leads\.parquet: not a readable Parquet file"):
        _read(tmp_path, b"PAR1 this is not parquet", name="leads.parquet")


# ---- find_source_file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["leads.csv", "leads.tsv", "leads.txt", "leads.parquet", "leads.CSV"]
)
def test_source_file_is_found_by_any_supported_extension(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("a\n")
    (tmp_path / "activities.csv").write_text("a\n")
    assert find_source_file(tmp_path, "leads") == tmp_path / name


def test_absent_source_file_is_none(tmp_path: Path) -> None:
    (tmp_path / "leads.xlsx").write_text("a\n")
    assert find_source_file(tmp_path, "leads") is None


def test_two_files_for_one_source_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("a\n")
    (tmp_path / "leads.parquet").write_text("a\n")
    message = r"more than one file for 'leads' \(leads\.csv, leads\.parquet\)"
    with pytest.raises(InputError, match=message):
        find_source_file(tmp_path, "leads")


def test_missing_input_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        find_source_file(tmp_path / "nowhere", "leads")


# ---- the real X Education export ----------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.skipif(not X_EDUCATION.exists(), reason=f"real dataset not present at {X_EDUCATION}")
def test_x_education_export_reads_every_row_and_named_column(tmp_path: Path) -> None:
    table = read_raw(X_EDUCATION, tmp_path)
    frame = table.frame.collect()
    assert frame.height == 9240
    assert len(frame.columns) - 2 == 37  # source_row and _raw_error are ours
    assert table.dialect["line_terminator"] == "\r\n"
    assert table.dialect["dropped_empty_columns"] == [38]  # the trailing comma
    assert frame["_raw_error"].null_count() == 9240
    assert frame["source_row"].to_list() == list(range(2, 9242))
    assert "Select" in frame["Specialization"].to_list()  # placeholders are the validator's job


# ---- read, then validate ------------------------------------------------------------------------


def test_dirty_nordic_export_reads_and_validates_with_every_row_accounted_for(
    tmp_path: Path,
) -> None:
    text = (
        "lead_id;created_at;budget;country;opted_out;note\r\n"
        "L1;05.01.2024;1 234,50;Suomi;Kyllä;\"two\r\nlines\"\r\n"
        "L2;Select;12,5;Ruotsi;nej;\r\n"
        "L1;06.01.2024;N/A;FI;-;dup\r\n"
        "L3;2024-01-07;lots;Norge;ei;a;b\r\n"
        "L4;45292;€ 900;Tanska;x;ok\r\n"
    )
    table = _read(tmp_path, text.encode("cp1252"))
    assert table.dialect["decimal_comma"] is True
    result = validate_source(
        table.frame, LEADS, IngestConfig(), file_label="leads.csv",
        decimal_comma=table.dialect["decimal_comma"],
    )
    valid, quarantine, issues = pl.collect_all(
        [result.valid, result.quarantine, result.value_issues]
    )
    assert valid.height + quarantine.height == table.frame.collect().height == 5
    assert valid.select("lead_id", "budget", "country", "opted_out", "source_row").rows() == [
        ("L1", 1234.5, "FI", True, 2),
        ("L4", 900.0, "DK", True, 7),
    ]
    assert valid["note"].to_list() == ["two\r\nlines", "ok"]
    assert dict(quarantine.select("source_row", "reason").iter_rows()) == {
        4: "required created_at is missing",
        5: "duplicate lead_id 'L1' (first at row 2)",
        6: "line has more fields than the 6 in the header (extra: b)",
    }
    assert issues.is_empty()


def test_stray_non_utf8_byte_early_in_a_utf8_file_keeps_the_file_utf8(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("name,city\nÅsa,Jyväskylä\n".encode() + b"M\xe4kinen,Turku\n")
    table = read_raw(path, tmp_path / "work")
    names = table.frame.collect()["name"].to_list()
    assert names == ["Åsa", "Mäkinen"]
    assert table.frame.collect()["city"].to_list() == ["Jyväskylä", "Turku"]
    assert table.dialect["encoding"] == "utf-8"
    assert table.dialect["undecodable_bytes"] == 1
