from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_series_equal

from features.config import IngestConfig
from features.ingest.parse import (
    did_not_parse,
    null_if_missing,
    parse_bool,
    parse_date,
    parse_datetime_utc,
    parse_float,
    parse_int,
    parse_list,
    without_invisible_characters,
)


def _parsed(parse: Callable[[pl.Expr], pl.Expr], values: Sequence[str | None]) -> list[Any]:
    frame = pl.LazyFrame({"v": values}, schema={"v": pl.String})
    return frame.select(parse(pl.col("v"))).collect().to_series().to_list()


def _one(parse: Callable[[pl.Expr], pl.Expr], value: str | None) -> Any:
    return _parsed(parse, [value])[0]


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# ---- null_if_missing ----------------------------------------------------------------------------


def test_placeholders_become_null_whatever_their_case_and_padding() -> None:
    values = ["Select", " select ", "N/A", "n/a", "-", "NULL", "", "   ", None]
    missing = IngestConfig().missing_values
    assert _parsed(lambda e: null_if_missing(e, missing), values) == [None] * len(values)


def test_real_values_are_kept_trimmed() -> None:
    missing = IngestConfig().missing_values
    assert _parsed(lambda e: null_if_missing(e, missing), [" Acme Oy ", "Selected"]) == [
        "Acme Oy",
        "Selected",
    ]


def test_placeholders_match_in_every_case_as_lower_casing_would() -> None:
    # The comparison goes through every spelling of the placeholders rather than a lower-cased
    # copy of each value; a placeholder too long to spell out is compared lower-cased.
    long_placeholder = "not applicable at this time"
    missing = ["select", "(none)", long_placeholder]
    values = ["sElEcT", "SELECT", "(NoNe)", "Not Applicable At This Time", "selects", "none"]
    expected = [None, None, None, None, "selects", "none"]
    assert _parsed(lambda e: null_if_missing(e, missing), values) == expected
    assert _parsed(lambda e: null_if_missing(e, ["select", "(none)"]), values[:3]) == [None] * 3


def test_invisible_characters_go_from_ascii_and_non_ascii_text_alike() -> None:
    # Only values that are not plain ASCII go through the regular expression: text with other
    # non-ASCII letters keeps them, and loses its invisible characters all the same.
    values = ["acme", "M\u00fcller\u200b Oy", "\ufeffL1", "\u00c5\u00c4\u00d6", "a\u00adb\u2066c",
              "", None]
    expected = ["acme", "M\u00fcller Oy", "L1", "\u00c5\u00c4\u00d6", "abc", "", None]
    assert _parsed(without_invisible_characters, values) == expected


def test_did_not_parse_tells_bad_values_from_missing_ones() -> None:
    frame = pl.DataFrame({"v": ["12", "lots", "N/A", None]})
    text = null_if_missing(pl.col("v"), ["n/a"])
    result = frame.select(did_not_parse(text, parse_float(text, decimal_comma=None)))
    assert result.to_series().to_list() == [False, True, False, False]


# ---- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-05", _utc(2024, 1, 5)),
        ("2024-01-05T10:20:30", _utc(2024, 1, 5, 10, 20, 30)),
        ("2024-01-05 10:20:30", _utc(2024, 1, 5, 10, 20, 30)),
        ("2024-01-05 10:20", _utc(2024, 1, 5, 10, 20)),
        ("2024-01-05T10:20:30Z", _utc(2024, 1, 5, 10, 20, 30)),
        ("2024-01-05t10:20:30z", _utc(2024, 1, 5, 10, 20, 30)),
        ("2024-01-05T10:20:30+02:00", _utc(2024, 1, 5, 8, 20, 30)),
        ("2024-01-05 10:20:30-0500", _utc(2024, 1, 5, 15, 20, 30)),
        ("2024-01-05T00:30+02", _utc(2024, 1, 4, 22, 30)),
        ("2024-01-05T10:20:30.123456", _utc(2024, 1, 5, 10, 20, 30, 123456)),
        ("2024-01-05T10:20:30.5+01:00", _utc(2024, 1, 5, 9, 20, 30, 500000)),
        ("05.01.2024", _utc(2024, 1, 5)),
        ("5.1.2024 14:05", _utc(2024, 1, 5, 14, 5)),
        ("05.01.2024 14:05:09", _utc(2024, 1, 5, 14, 5, 9)),
        ("2024/01/05", _utc(2024, 1, 5)),
        ("20240105", _utc(2024, 1, 5)),
        ("25/12/2024", _utc(2024, 12, 25)),
        ("12/25/2024", _utc(2024, 12, 25)),
        ("3/25/2024 2:30 PM", _utc(2024, 3, 25, 14, 30)),
        ("45292", _utc(2024, 1, 1)),
        ("45292.75", _utc(2024, 1, 1, 18)),
        ("  2024-01-05  ", _utc(2024, 1, 5)),
    ],
)
def test_datetime_formats_parse_to_utc(text: str, expected: datetime) -> None:
    assert _one(lambda e: parse_datetime_utc(e, day_first=True), text) == expected


@pytest.mark.parametrize(
    ("day_first", "expected"), [(True, _utc(2024, 4, 3)), (False, _utc(2024, 3, 4))]
)
def test_ambiguous_slashed_date_follows_day_first(day_first: bool, expected: datetime) -> None:
    assert _one(lambda e: parse_datetime_utc(e, day_first=day_first), "03/04/2024") == expected
    assert _one(lambda e: parse_datetime_utc(e, day_first=day_first), "03-04-2024") == expected


@pytest.mark.parametrize("day_first", [True, False])
def test_a_part_above_twelve_decides_the_order_whatever_day_first_says(day_first: bool) -> None:
    parse = lambda e: parse_datetime_utc(e, day_first=day_first)  # noqa: E731
    assert _parsed(parse, ["25/12/2024", "12/25/2024"]) == [_utc(2024, 12, 25)] * 2


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2024-02-30", "2024-13-01", "32.01.2024", "19999", "80001", "1700000000",
     "05/01/24", "2024-01-05 25:00", "2024-01-05junk", ""],
)
def test_unparseable_dates_become_null(text: str) -> None:
    assert _one(lambda e: parse_datetime_utc(e, day_first=True), text) is None


def test_datetime_dtype_is_utc_microseconds() -> None:
    frame = pl.LazyFrame({"v": ["2024-01-05"]})
    schema = frame.select(parse_datetime_utc(pl.col("v"), day_first=True)).collect_schema()
    assert schema["v"] == pl.Datetime("us", "UTC")


def test_datetimes_parse_the_same_across_many_batches_in_streaming() -> None:
    chunks = [pl.DataFrame({"v": ["05.01.2024", "2024-01-05T10:00:00Z", "x"] * 1000})] * 5
    frame = pl.concat(chunks, rechunk=False).lazy()
    parsed = frame.select(parse_datetime_utc(pl.col("v"), day_first=True)).collect(
        engine="streaming"
    )
    expected = [_utc(2024, 1, 5), _utc(2024, 1, 5, 10), None] * 5000
    assert parsed.to_series().to_list() == expected


def test_parse_date_gives_the_calendar_day() -> None:
    parse = lambda e: parse_date(e, day_first=True)  # noqa: E731
    assert _parsed(parse, ["31.12.2024", "2024-06-01T23:59:00", "never"]) == [
        date(2024, 12, 31),
        date(2024, 6, 1),
        None,
    ]


# ---- booleans -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True), ("No", False), ("Y", True), ("n", False),
        ("TRUE", True), ("false", False), ("t", True), ("F", False),
        ("1", True), ("0", False), ("on", True), ("OFF", False), ("x", True),
        ("ja", True), ("nej", False),  # Swedish, Danish
        ("Ja", True), ("nei", False),  # Norwegian
        ("kyllä", True), ("KYLLÄ", True), ("kylla", True), ("ei", False),  # Finnish
        (" yes ", True),
    ],
)
def test_yes_no_words_in_every_language(text: str, expected: bool) -> None:
    assert _one(parse_bool, text) is expected


@pytest.mark.parametrize("text", ["maybe", "2", "yes please", "", None])
def test_other_words_are_not_booleans(text: str | None) -> None:
    assert _one(parse_bool, text) is None


# ---- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", 1234.5),
        ("1 234,56", 1234.56),
        ("1\u00a0234,56", 1234.56),  # no-break space
        ("1\u202f234", 1234.0),  # narrow no-break space
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        ("12,5", 12.5),
        ("0,125", 0.125),
        ("1,2345", 1.2345),
        ("1,234", 1234.0),  # ambiguous: read as thousands
        ("1,234,567", 1234567.0),
        ("1.234", 1.234),  # ambiguous: read as a decimal point
        ("1.234.567", 1234567.0),
        ("€ 1 200", 1200.0),
        ("1200 EUR", 1200.0),
        ("$1,200.50", 1200.5),
        ("15%", 15.0),
        ("-5", -5.0),
        ("\u22123,5", -3.5),  # Unicode minus
        ("1.5E+06", 1_500_000.0),
        ("1'234.5", 1234.5),
    ],
)
def test_numbers_decided_per_value(text: str, expected: float) -> None:
    assert _one(lambda e: parse_float(e, decimal_comma=None), text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("1,234", True, 1.234),
        ("1.234", True, 1234.0),
        ("12.5", True, 12.5),
        ("1,234", False, 1234.0),
        ("1.234", False, 1.234),
        ("12,5", False, None),
        ("1,234,567", True, None),
    ],
)
def test_declared_decimal_comma_settles_a_lone_separator(
    text: str, decimal_comma: bool, expected: float | None
) -> None:
    assert _one(lambda e: parse_float(e, decimal_comma=decimal_comma), text) == expected


@pytest.mark.parametrize("text", ["lots", "12abc", "1 2", "1,2,3", "1.2.3,4.5", "--5", "€", ""])
def test_non_numbers_become_null(text: str) -> None:
    assert _one(lambda e: parse_float(e, decimal_comma=None), text) is None


def test_integers_accept_grouping_and_reject_fractions() -> None:
    values = ["1 200", "1,200", "12.0", "12.5", "many", "-3"]
    assert _parsed(parse_int, values) == [1200, 1200, 12, None, None, -3]


def test_integer_dtype_is_int64() -> None:
    frame = pl.LazyFrame({"v": ["1"]})
    assert frame.select(parse_int(pl.col("v"))).collect_schema()["v"] == pl.Int64


# ---- lists --------------------------------------------------------------------------------------


def test_lists_split_on_pipe_semicolon_and_comma_trimmed_without_empties() -> None:
    frame = pl.DataFrame({"v": ["Salesforce| HubSpot;;AWS , ", "Python", "|;", None]})
    result = frame.select(parse_list(pl.col("v"))).to_series()
    expected = pl.Series(
        "v", [["Salesforce", "HubSpot", "AWS"], ["Python"], None, None], dtype=pl.List(pl.String)
    )
    assert_series_equal(result, expected)
