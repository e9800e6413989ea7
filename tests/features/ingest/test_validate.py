from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.config import IngestConfig
from features.errors import InputError
from features.ingest.validate import (
    QUARANTINE_SCHEMA,
    VALUE_ISSUE_SCHEMA,
    PendingQuarantine,
    Validated,
    check_columns,
    validate_source,
    with_first_rows,
)
from features.schema import (
    ACTIVITIES,
    COMPANIES,
    COMPANY_EVENTS,
    LEADS,
    OPPORTUNITIES,
    SOURCES,
    UTC_DATETIME,
    Source,
)

CFG = IngestConfig()


def _validate(
    data: Mapping[str, Sequence[object]],
    source: Source = LEADS,
    *,
    decimal_comma: bool | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Validate a literal frame (text columns unless typed) with rows numbered from line 2."""
    height = len(next(iter(data.values())))
    frame = pl.DataFrame(data).with_columns(
        pl.int_range(2, height + 2, dtype=pl.Int64).alias("source_row")
    )
    result = validate_source(
        frame.lazy(), source, CFG, file_label=f"{source.name}.csv", decimal_comma=decimal_comma
    )
    valid, quarantine, issues = pl.collect_all(
        [result.valid, result.quarantine, result.value_issues]
    )
    return valid, quarantine, issues


def _reasons(quarantine: pl.DataFrame) -> dict[int, str]:
    return dict(quarantine.select("source_row", "reason").iter_rows())


# ---- check_columns ------------------------------------------------------------------------------


def test_missing_required_column_names_the_file_the_column_and_what_was_found() -> None:
    message = r"^leads\.csv: required column 'created_at' is missing \(found: lead_id, email\)$"
    with pytest.raises(InputError, match=message):
        check_columns(["lead_id", "email", "source_row"], LEADS, "leads.csv")


def test_activities_without_lead_id_or_email_column_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"^acts\.csv: needs a column 'lead_id' or 'email'"):
        check_columns(["activity_type", "occurred_at"], ACTIVITIES, "acts.csv")


def test_opportunities_without_any_reference_column_is_an_input_error() -> None:
    with pytest.raises(InputError, match="'lead_id' or 'business_id' or 'company_name'"):
        check_columns(["opportunity_id", "created_at"], OPPORTUNITIES, "opps.csv")


def test_column_names_match_after_trimming() -> None:
    check_columns([" lead_id", "created_at "], LEADS, "leads.csv")


def test_padded_column_names_are_validated_under_their_trimmed_name() -> None:
    valid, quarantine, _ = _validate({" lead_id ": ["L1", "N/A"], "created_at": ["2024-01-01"] * 2})
    assert valid["lead_id"].to_list() == ["L1"]
    assert _reasons(quarantine) == {3: "required lead_id is missing"}


def test_validate_source_checks_columns_first() -> None:
    with pytest.raises(InputError, match="required column 'lead_id' is missing"):
        _validate({"created_at": ["2024-01-01"]})


# ---- valid rows ---------------------------------------------------------------------------------


def test_valid_rows_have_every_canonical_column_typed_then_extras_then_source_row() -> None:
    valid, quarantine, issues = _validate(
        {
            "crm_id": [" 0042 "],
            "lead_id": [" L1 "],
            "created_at": ["05.01.2024 10:00"],
            "email": [" Anna@Example.FI "],
            "budget": ["1 200,50 €"],
            "timeline": ["2024-06-30"],
            "opted_out": ["Kyllä"],
            "bounced": ["nej"],
            "country": ["Suomi"],
        }
    )
    assert quarantine.is_empty() and issues.is_empty()
    assert valid.columns == [*LEADS.dtypes, "crm_id", "source_row"]
    assert valid.schema == pl.Schema(
        {**LEADS.dtypes, "crm_id": pl.String(), "source_row": pl.Int64()}
    )
    row = valid.row(0, named=True)
    assert row == {
        **dict.fromkeys(LEADS.dtypes),
        "lead_id": "L1",
        "created_at": datetime(2024, 1, 5, 10, tzinfo=UTC),
        "email": "anna@example.fi",
        "budget": 1200.5,
        "timeline": date(2024, 6, 30),
        "opted_out": True,
        "bounced": False,
        "country": "FI",
        "crm_id": " 0042 ",  # extra columns pass through unchanged
        "source_row": 2,
    }


@pytest.mark.parametrize("placeholder", ["Select", "N/A", "-", "  ", "null", "SELECT"])
def test_placeholders_become_null_in_optional_columns(placeholder: str) -> None:
    valid, _, issues = _validate(
        {"lead_id": ["L1"], "created_at": ["2024-01-01"], "title": [placeholder],
         "budget": [placeholder]}
    )
    assert valid.select("title", "budget").row(0) == (None, None)
    assert issues.is_empty()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("fi", "FI"), (" se ", "SE"), ("Finland", "FI"), ("SUOMI", "FI"), ("FIN", "FI"),
        ("Sverige", "SE"), ("Ruotsi", "SE"), ("Norge", "NO"), ("Norja", "NO"),
        ("Danmark", "DK"), ("Tanska", "DK"), ("Iceland", "IS"), ("Ísland", "IS"),
        ("Eesti", "EE"), ("Viro", "EE"), ("Estonia", "EE"), ("Deutschland", "DE"),
        ("Saksa", "DE"), ("United Kingdom", "GB"), ("UK", "GB"), ("GB", "GB"),
        ("U.K.", "GB"), ("United States", "US"), ("USA", "US"), ("US", "US"), ("u.s.a.", "US"),
    ],
)
def test_country_names_and_codes_become_iso_alpha2(text: str, code: str) -> None:
    valid, _, issues = _validate(
        {"lead_id": ["L1"], "created_at": ["2024-01-01"], "country": [text]}
    )
    assert valid["country"].to_list() == [code]
    assert issues.is_empty()


def test_unknown_country_is_kept_upper_cased_and_reported() -> None:
    valid, quarantine, issues = _validate(
        {"lead_id": ["L1"], "created_at": ["2024-01-01"], "country": ["Atlantis"]}
    )
    assert quarantine.is_empty()
    assert valid["country"].to_list() == ["ATLANTIS"]
    assert issues.rows() == [(2, "country", "Atlantis", "unknown country")]


def test_optional_value_that_does_not_parse_is_null_and_an_issue_not_a_quarantine() -> None:
    valid, quarantine, issues = _validate(
        {
            "lead_id": ["L1", "L2"],
            "created_at": ["2024-01-01", "2024-01-02"],
            "budget": ["lots", "5"],
            "timeline": ["soon", "Q3"],
            "opted_out": ["maybe", "no"],
        }
    )
    assert quarantine.is_empty()
    assert valid.select("budget", "timeline", "opted_out").rows() == [
        (None, None, None),
        (5.0, None, False),
    ]
    expected = pl.DataFrame(
        [
            (2, "budget", "lots", "not a valid number"),
            (2, "timeline", "soon", "not a valid date (or before 1990)"),
            (2, "opted_out", "maybe", "not a valid yes/no value"),
            (3, "timeline", "Q3", "not a valid date (or before 1990)"),
        ],
        schema=VALUE_ISSUE_SCHEMA,
        orient="row",
    )
    assert_frame_equal(issues, expected)


def test_declared_decimal_comma_is_used_for_numbers() -> None:
    data = {"lead_id": ["L1"], "created_at": ["2024-01-01"], "budget": ["1,234"]}
    assert _validate(data, decimal_comma=True)[0]["budget"].to_list() == [1.234]
    assert _validate(data, decimal_comma=None)[0]["budget"].to_list() == [1234.0]


def test_companies_numbers_lists_and_dates_are_typed() -> None:
    valid, _, issues = _validate(
        {
            "company_name": ["Acme Oy"],
            "employees": ["1 200"],
            "revenue": ["12,5"],
            "founded_year": ["1998"],
            "technologies": ["Salesforce | AWS;Python"],
            "open_jobs": ["3.5"],
            "updated_at": ["45292"],
        },
        COMPANIES,
    )
    row = valid.row(0, named=True)
    assert (row["employees"], row["revenue"], row["founded_year"]) == (1200, 12.5, 1998)
    assert row["technologies"] == ["Salesforce", "AWS", "Python"]
    assert row["updated_at"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert row["open_jobs"] is None
    assert issues.rows() == [(2, "open_jobs", "3.5", "not a valid whole number")]


def test_activity_and_event_types_are_lower_cased() -> None:
    valid, _, _ = _validate(
        {"email": ["A@B.FI"], "activity_type": [" Demo_Request "], "occurred_at": ["2024-01-01"]},
        ACTIVITIES,
    )
    assert valid.select("email", "activity_type").row(0) == ("a@b.fi", "demo_request")
    valid, _, _ = _validate(
        {"business_id": ["1"], "event_type": ["FUNDING"], "occurred_at": ["2024-01-01"]},
        COMPANY_EVENTS,
    )
    assert valid["event_type"].to_list() == ["funding"]


def test_typed_parquet_columns_are_converted_not_reparsed() -> None:
    valid, quarantine, _ = _validate(
        {
            "lead_id": [42],
            "created_at": [datetime(2024, 1, 5, 12)],
            "budget": [10],
            "timeline": [datetime(2024, 6, 30, 8)],
            "opted_out": [1],
        }
    )
    assert quarantine.is_empty()
    assert valid.select("lead_id", "created_at", "budget", "timeline", "opted_out").row(0) == (
        "42",
        datetime(2024, 1, 5, 12, tzinfo=UTC),
        10.0,
        date(2024, 6, 30),
        True,
    )


@pytest.mark.parametrize(
    ("column", "native", "expected", "issue"),
    [
        ("created_at", date(2024, 1, 5), datetime(2024, 1, 5, tzinfo=UTC), None),
        ("budget", True, 1.0, None),
        ("opted_out", 0, False, None),
        ("bounced", None, None, None),  # an all-null column has dtype Null
        ("country", 246, "246", "unknown country"),
    ],
)
def test_native_values_convert_to_the_canonical_type(
    column: str, native: object, expected: object, issue: str | None
) -> None:
    valid, quarantine, issues = _validate(
        {"lead_id": ["L1"], "created_at": ["2024-01-05"], column: [native]}
    )
    assert quarantine.is_empty()
    assert valid.schema[column] == LEADS.dtypes[column]
    assert valid[column].to_list() == [expected]
    assert issues["issue"].to_list() == ([issue] if issue else [])


def test_fractional_native_number_for_a_whole_number_column_is_an_issue() -> None:
    valid, _, issues = _validate({"company_name": ["Acme"], "employees": [3.5]}, COMPANIES)
    assert valid["employees"].to_list() == [None]
    assert issues.rows() == [(2, "employees", "3.5", "not a valid whole number")]


def test_native_list_column_is_kept_as_a_list_and_quarantined_rows_keep_it() -> None:
    valid, quarantine, issues = _validate(
        {"company_name": ["Acme", None], "technologies": [["aws", "sap"], ["gcp"]]}, COMPANIES
    )
    assert valid["technologies"].to_list() == [["aws", "sap"]]
    assert json.loads(quarantine["record"].item())["technologies"] == ["gcp"]
    assert issues.is_empty()


def test_timezone_aware_parquet_datetimes_are_converted_to_utc() -> None:
    helsinki = pl.Series([datetime(2024, 1, 5, 12)]).dt.replace_time_zone("Europe/Helsinki")
    valid, _, _ = _validate({"lead_id": ["L1"], "created_at": helsinki.to_list()})
    assert valid.schema["created_at"] == UTC_DATETIME
    assert valid["created_at"].to_list() == [datetime(2024, 1, 5, 10, tzinfo=UTC)]


def test_source_row_is_added_from_one_when_absent() -> None:
    raw = pl.LazyFrame({"lead_id": ["L1", "L2"], "created_at": ["2024-01-01", "bad"]})
    result = validate_source(raw, LEADS, CFG, file_label="leads.csv")
    assert result.valid.collect()["source_row"].to_list() == [1]
    assert result.quarantine.collect()["source_row"].to_list() == [2]


# ---- quarantine ---------------------------------------------------------------------------------


def test_missing_or_placeholder_required_value_quarantines_the_row() -> None:
    valid, quarantine, _ = _validate(
        {"lead_id": ["L1", "Select", None], "created_at": ["2024-01-01", "2024-01-01", "-"]}
    )
    assert valid["lead_id"].to_list() == ["L1"]
    assert _reasons(quarantine) == {
        3: "required lead_id is missing",
        4: "required lead_id is missing; required created_at is missing",
    }


def test_unparseable_required_date_quarantines_with_the_value_in_the_reason() -> None:
    _, quarantine, _ = _validate({"lead_id": ["L1"], "created_at": ["yesterday"]})
    assert _reasons(quarantine) == {2: "created_at 'yesterday' is not a valid date/time"}


def test_repeated_key_keeps_the_first_row_and_quarantines_the_others() -> None:
    valid, quarantine, _ = _validate(
        {"lead_id": ["L1", "L2", "L1", "L1"], "created_at": ["2024-01-01"] * 4}
    )
    assert valid["source_row"].to_list() == [2, 3]
    assert _reasons(quarantine) == {
        4: "duplicate lead_id 'L1' (first at row 2)",
        5: "duplicate lead_id 'L1' (first at row 2)",
    }


def test_duplicate_of_a_quarantined_row_is_kept_as_the_first_valid_one() -> None:
    valid, quarantine, _ = _validate(
        {"lead_id": ["L1", "L1", "L1"], "created_at": ["bad", "2024-01-01", "2024-01-02"]}
    )
    assert valid["source_row"].to_list() == [3]
    assert _reasons(quarantine) == {
        2: "created_at 'bad' is not a valid date/time",
        4: "duplicate lead_id 'L1' (first at row 3)",
    }


def test_repeated_keys_stream_in_row_order_across_many_batches(tmp_path: Path) -> None:
    # The streaming engine (as `flows.catalog.staged_sources` writes) keeps the first valid
    # row of each key exactly as the in-memory engine does, over a file of many batches with
    # repeats far apart, some of them after a quarantined first row.
    rows = 300_000
    raw = pl.LazyFrame({
        "lead_id": pl.Series([f"L{(i * 7919) % 40_000}" for i in range(rows)]),
        "created_at": pl.Series(["bad" if i % 13 == 0 else "2024-01-01" for i in range(rows)]),
    })
    result = validate_source(raw, LEADS, CFG, file_label="leads.csv")
    assert result.quarantine_pending is not None
    valid_file, pending_file = tmp_path / "valid.parquet", tmp_path / "pending.parquet"
    pl.collect_all([result.valid.sink_parquet(valid_file, lazy=True),
                    result.quarantine_pending.rows.sink_parquet(pending_file, lazy=True)])
    streamed = pl.read_parquet(valid_file)
    assert_frame_equal(streamed, result.valid.collect(engine="in-memory"))
    assert streamed["lead_id"].n_unique() == streamed.height == 40_000
    quarantine = with_first_rows(PendingQuarantine(pl.scan_parquet(pending_file), "lead_id"),
                                 pl.scan_parquet(valid_file)).collect()
    assert_frame_equal(quarantine, result.quarantine.collect(engine="in-memory"))
    assert quarantine.height + streamed.height == rows


def test_keys_are_compared_after_trimming() -> None:
    _, quarantine, _ = _validate({"lead_id": ["L1", " L1 "], "created_at": ["2024-01-01"] * 2})
    assert _reasons(quarantine) == {3: "duplicate lead_id 'L1' (first at row 2)"}


def test_unknown_activity_type_is_quarantined() -> None:
    valid, quarantine, _ = _validate(
        {
            "lead_id": ["L1", "L1"],
            "activity_type": ["page_view", "fax_sent"],
            "occurred_at": ["2024-01-01"] * 2,
        },
        ACTIVITIES,
    )
    assert valid.height == 1
    assert _reasons(quarantine)[3].startswith("activity_type 'fax_sent' is not one of: email_open")


def test_activity_needs_a_lead_id_or_an_email() -> None:
    valid, quarantine, _ = _validate(
        {
            "lead_id": ["L1", None, "N/A"],
            "email": [None, "a@b.fi", " "],
            "activity_type": ["call"] * 3,
            "occurred_at": ["2024-01-01"] * 3,
        },
        ACTIVITIES,
    )
    assert valid["source_row"].to_list() == [2, 3]
    assert _reasons(quarantine) == {4: "no lead_id or email to say whom the row is about"}


def test_opportunity_needs_a_lead_or_company_reference() -> None:
    valid, quarantine, _ = _validate(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "company_name": ["Acme", None, None],
            "business_id": [None, "1234567-8", None],
            "created_at": ["2024-01-01"] * 3,
            "won": ["yes", "no", "no"],
            "amount": ["1 000", "x", None],
        },
        OPPORTUNITIES,
    )
    assert valid["won"].to_list() == [True, False]
    assert valid["lead_id"].to_list() == [None, None]  # absent column, typed null
    assert _reasons(quarantine) == {
        4: "no lead_id or business_id or company_name to say whom the row is about"
    }


def test_unknown_company_event_type_is_quarantined() -> None:
    _, quarantine, _ = _validate(
        {"business_id": ["1"], "event_type": ["merger"], "occurred_at": ["2024-01-01"]},
        COMPANY_EVENTS,
    )
    assert _reasons(quarantine)[2].startswith("event_type 'merger' is not one of: funding")


def test_line_the_reader_flagged_is_quarantined_with_its_reason() -> None:
    valid, quarantine, _ = _validate(
        {
            "lead_id": ["L1", "L2"],
            "created_at": ["2024-01-01"] * 2,
            "_raw_error": [None, "line has more fields than the 2 in the header (extra: x)"],
        }
    )
    assert valid.columns[-1] == "source_row" and "_raw_error" not in valid.columns
    assert _reasons(quarantine) == {
        3: "line has more fields than the 2 in the header (extra: x)"
    }


def test_quarantine_row_names_source_file_and_keeps_the_raw_record_as_json() -> None:
    _, quarantine, _ = _validate(
        {"lead_id": [" L1 "], "created_at": ["31.02.2024"], "Own ID": ["x"]}
    )
    assert quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    row = quarantine.row(0, named=True)
    assert (row["source"], row["source_file"], row["source_row"]) == ("leads", "leads.csv", 2)
    assert json.loads(row["record"]) == {
        "lead_id": " L1 ",
        "created_at": "31.02.2024",
        "Own ID": "x",
    }


def test_empty_input_gives_empty_typed_outputs() -> None:
    raw = pl.LazyFrame(
        schema={"lead_id": pl.String, "created_at": pl.String, "source_row": pl.Int64}
    )
    result = validate_source(raw, LEADS, CFG, file_label="leads.csv")
    valid, quarantine, issues = pl.collect_all(
        [result.valid, result.quarantine, result.value_issues]
    )
    assert valid.height == quarantine.height == issues.height == 0
    assert quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert issues.schema == pl.Schema(VALUE_ISSUE_SCHEMA)


def test_collecting_the_three_outputs_together_reads_the_input_once() -> None:
    rows_read: list[int] = []

    def spy(values: pl.Series) -> pl.Series:
        rows_read.append(len(values))
        return values

    raw = pl.LazyFrame(
        {
            "lead_id": ["L1", "L2", "L1", "L3"],
            "created_at": ["2024-01-01", "bad", "2024-01-02", "2024-01-03"],
            "budget": ["1", "2", "lots", "3"],
            "country": ["FI", "SE", "XX", "Atlantis"],
        }
    ).with_columns(pl.col("created_at").map_batches(spy, return_dtype=pl.String))
    result = validate_source(raw, LEADS, CFG, file_label="leads.csv")
    # What a streaming writer collects together (`flows.catalog.staged_sources`): the
    # quarantine before a repeat's reason names the row it repeats.
    assert result.quarantine_pending is not None
    valid, pending, issues = pl.collect_all(
        [result.valid, result.quarantine_pending.rows, result.value_issues]
    )
    assert (valid.height, pending.height, issues.height) == (2, 2, 1)
    assert sum(rows_read) == 4
    # ... and the repeat's reason from those two, read again from memory.
    quarantine = with_first_rows(PendingQuarantine(pending.lazy(), "lead_id"),
                                 valid.lazy()).collect()
    assert quarantine.equals(result.quarantine.collect())
    assert quarantine["reason"].to_list()[1] == "duplicate lead_id 'L1' (first at row 1)"


# ---- invariant: every row ends in exactly one place ---------------------------------------------

_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "", " ", "Select", "N/A", "-", "L1", "L2", " L1 ", "2024-01-05", "05.01.2024",
            "13/13/2024", "45292", "2024-01-05T10:00:00+02:00", "yes", "ei", "1 234,5", "lots",
            "page_view", "funding", "Suomi", "a@b.fi", "x|y", "\n", "'", '"', "{}", "null",
        ]
    ),
    st.text(max_size=6),
)


def _raw_frames(source: Source) -> st.SearchStrategy[pl.DataFrame]:
    names = [*source.dtypes, "extra", "_raw_error"]
    row = st.fixed_dictionaries({n: _TEXTS for n in names})
    return st.lists(row, max_size=12).map(
        lambda rows: pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String)).with_row_index(
            "source_row", offset=2
        )
    )


def _check_partition(raw: pl.DataFrame, result: Validated) -> None:
    valid, quarantine, _ = pl.collect_all(
        [result.valid, result.quarantine, result.value_issues]
    )
    assert valid.height + quarantine.height == raw.height
    rows = sorted([*valid["source_row"], *quarantine["source_row"]])
    assert rows == raw["source_row"].cast(pl.Int64).to_list()


@pytest.mark.parametrize("source_name", list(SOURCES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_input_never_crashes_nor_loses_or_duplicates_a_row(
    source_name: str, data: st.DataObject
) -> None:
    source = SOURCES[source_name]
    raw = data.draw(_raw_frames(source))
    result = validate_source(raw.lazy(), source, CFG, file_label="x.csv")
    _check_partition(raw, result)


# ---- implausible values -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1e400", "-1e400", "inf", "-inf"])
def test_numbers_that_overflow_or_are_not_finite_are_an_issue(text: str) -> None:
    valid, quarantine, issues = _validate(
        {"lead_id": ["L1"], "created_at": ["2024-01-01"], "budget": [text]}
    )
    assert quarantine.is_empty()
    assert valid["budget"].to_list() == [None]
    assert issues.rows() == [(2, "budget", text, "not a valid number")]


def test_native_infinite_number_is_an_issue() -> None:
    valid, _, issues = _validate({"company_name": ["Acme"], "revenue": [float("inf")]},
                                 COMPANIES)
    assert valid["revenue"].to_list() == [None]
    assert [r[1] for r in issues.rows()] == ["revenue"]


@pytest.mark.parametrize("text", ["0001-01-01", "1677-09-21", "1989-12-31"])
def test_required_date_before_1990_quarantines_with_a_reason(text: str) -> None:
    _, quarantine, _ = _validate({"lead_id": ["L1"], "created_at": [text]})
    assert _reasons(quarantine) == {
        2: f"created_at '{text}' is before 1990-01-01: not a plausible date"}


def test_native_date_before_1990_quarantines_too() -> None:
    _, quarantine, _ = _validate({"lead_id": ["L1"], "created_at": [datetime(1677, 9, 22)]})
    assert "before 1990-01-01" in _reasons(quarantine)[2]


def test_optional_date_before_1990_is_null_and_an_issue() -> None:
    valid, quarantine, issues = _validate(
        {"lead_id": ["L1"], "created_at": ["2024-01-01"], "timeline": ["0001-01-01"]}
    )
    assert quarantine.is_empty()
    assert valid["timeline"].to_list() == [None]
    assert issues.rows() == [(2, "timeline", "0001-01-01", "not a valid date (or before 1990)")]


def test_dates_from_1990_on_are_kept() -> None:
    valid, quarantine, _ = _validate({"lead_id": ["L1"], "created_at": ["1990-01-01"]})
    assert quarantine.is_empty()
    assert valid["created_at"].to_list() == [datetime(1990, 1, 1, tzinfo=UTC)]


ZERO_WIDTH_AND_BIDI = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f",
                       "\u202a", "\u202e", "\u2066", "\u2069", "\u00ad"]


@pytest.mark.parametrize("invisible", ZERO_WIDTH_AND_BIDI)
def test_invisible_characters_are_stripped_from_ids_emails_and_countries(invisible: str) -> None:
    valid, quarantine, issues = _validate({
        "lead_id": [f"L1{invisible}", "L2"],
        "created_at": ["2024-01-01", f"{invisible}2024-01-02"],
        "email": [f"{invisible}ann@acme.fi", f"bo{invisible}b@acme.fi"],
        "country": [f"F{invisible}I", f"FI{invisible}"],
    })
    assert quarantine.is_empty() and issues.is_empty()
    assert valid.select("lead_id", "email", "country").rows() == [
        ("L1", "ann@acme.fi", "FI"), ("L2", "bob@acme.fi", "FI")]


def test_an_id_differing_only_by_an_invisible_character_is_the_same_id() -> None:
    _, quarantine, _ = _validate({"lead_id": ["L1", "L1\u200b"],
                                  "created_at": ["2024-01-01", "2024-01-02"]})
    assert _reasons(quarantine) == {3: "duplicate lead_id 'L1' (first at row 2)"}
