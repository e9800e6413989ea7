"""Mapping profiles: parsing (unknown keys and non-canonical names are errors naming them) and
applying one to a raw frame (rename, constants, value maps, pass-through, clashes)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import IngestConfig
from features.errors import ConfigError, InputError
from features.ingest.profile import IDENTITY, Profile, apply_profile, parse_profile
from features.ingest.validate import RAW_ERROR, SOURCE_ROW, validate_source
from features.schema import LEADS, OPPORTUNITIES


def _raw(columns: dict[str, list[str | None]]) -> pl.LazyFrame:
    """A frame as read_raw gives it: text columns, then source_row and _raw_error."""
    height = len(next(iter(columns.values())))
    return pl.LazyFrame(
        {
            **columns,
            SOURCE_ROW: list(range(2, height + 2)),
            RAW_ERROR: [None] * height,
        },
        schema={**dict.fromkeys(columns, pl.String), SOURCE_ROW: pl.Int64, RAW_ERROR: pl.String},
    )


def _profile(**sections: Any) -> Profile:
    return parse_profile({"name": "test_crm", **sections})


# ---- parsing ------------------------------------------------------------------------------------


def test_a_profile_needs_only_a_name() -> None:
    profile = parse_profile({"name": "minimal"})
    assert profile.leads.is_identity and profile.evaluate is None


def test_missing_name_is_an_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"p.toml: name: Field required"):
        parse_profile({"leads": {}}, source="p.toml")


def test_unknown_key_in_a_section_is_named() -> None:
    with pytest.raises(ConfigError, match=r"p.toml: leads.colums: unknown key"):
        parse_profile({"name": "x", "leads": {"colums": {}}}, source="p.toml")


def test_unknown_section_is_named() -> None:
    with pytest.raises(ConfigError, match=r"p.toml: contacts: unknown key"):
        parse_profile({"name": "x", "contacts": {}}, source="p.toml")


def test_column_map_naming_a_non_canonical_column_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"leads.columns.lead_idd: not a canonical leads column"):
        _profile(leads={"columns": {"lead_idd": "Record ID"}})


def test_canonical_name_of_another_source_is_not_accepted() -> None:
    with pytest.raises(ConfigError, match=r"leads.columns.amount: not a canonical leads column"):
        _profile(leads={"columns": {"amount": "Deal value"}})


def test_constant_and_value_map_names_must_be_canonical() -> None:
    with pytest.raises(ConfigError, match=r"leads.constants.created: not a canonical"):
        _profile(leads={"constants": {"created": "2020-01-01"}})
    with pytest.raises(ConfigError, match=r"leads.values.status: not a canonical"):
        _profile(leads={"values": {"status": {"a": "b"}}})


def test_a_column_both_mapped_and_constant_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"leads.constants.created_at: also mapped"):
        _profile(leads={"columns": {"created_at": "Created"},
                        "constants": {"created_at": "2020-01-01"}})


def test_value_map_keys_equal_after_trimming_and_case_are_an_error() -> None:
    with pytest.raises(ConfigError, match=r"leads.values.crm_stage: 'lead' is listed twice"):
        _profile(leads={"values": {"crm_stage": {"Lead": "lead", " lead": "prospect"}}})


def test_empty_list_of_alternatives_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"leads.columns: lead_id: name one export column"):
        _profile(leads={"columns": {"lead_id": []}})


def test_one_column_name_or_a_list_both_become_alternatives() -> None:
    profile = _profile(leads={"columns": {"lead_id": ["Record ID", "Contact ID"],
                                          "email": "Email"}})
    assert profile.leads.columns == {"lead_id": ("Record ID", "Contact ID"), "email": ("Email",)}


def test_evaluate_section_needs_an_outcome_and_a_known_source() -> None:
    with pytest.raises(ConfigError, match=r"evaluate.outcome: Field required"):
        _profile(evaluate={"source": "leads"})
    with pytest.raises(ConfigError, match=r"evaluate.source: Input should be"):
        _profile(evaluate={"source": "contacts", "outcome": "Converted"})


# ---- applying -----------------------------------------------------------------------------------


def test_identity_profile_leaves_the_frame_as_it_is() -> None:
    raw = _raw({"lead_id": ["L1"], "created_at": ["2024-01-01"]})
    mapped = apply_profile(raw, IDENTITY, "leads", file_label="leads.csv")
    assert mapped.frame is raw and mapped.columns == {}


def test_mapped_columns_are_renamed_and_other_columns_pass_through_unchanged() -> None:
    raw = _raw({"Record ID": ["7"], "Create Date": ["2024-01-01"], "Favourite": ["blue"]})
    profile = _profile(leads={"columns": {"lead_id": "Record ID", "created_at": "Create Date"}})
    mapped = apply_profile(raw, profile, "leads", file_label="contacts.csv")
    expected = _raw({"lead_id": ["7"], "created_at": ["2024-01-01"], "Favourite": ["blue"]})
    assert_frame_equal(mapped.frame.collect(), expected.collect())
    assert isinstance(mapped.frame, pl.LazyFrame)


def test_the_first_alternative_present_in_the_file_wins() -> None:
    raw = _raw({"Contact ID": ["7"], "created_at": ["2024-01-01"]})
    profile = _profile(leads={"columns": {"lead_id": ["Record ID", "Contact ID"]}})
    mapped = apply_profile(raw, profile, "leads", file_label="contacts.csv")
    assert mapped.columns == {"lead_id": "Contact ID"}
    assert mapped.frame.collect()["lead_id"].to_list() == ["7"]


def test_export_column_names_match_ignoring_case_and_spacing() -> None:
    raw = _raw({"Create  date": ["2024-01-01"], "lead_id": ["L1"]})
    profile = _profile(leads={"columns": {"created_at": "Create Date"}})
    mapped = apply_profile(raw, profile, "leads", file_label="contacts.csv")
    assert mapped.columns == {"created_at": "Create  date"}


def test_absent_mapped_column_names_file_profile_and_column() -> None:
    raw = _raw({"Record ID": ["7"], "Created": ["2024-01-01"]})
    profile = _profile(leads={"columns": {"lead_id": "Record ID",
                                          "created_at": ["Create Date", "Created Date"]}})
    with pytest.raises(InputError) as error:
        apply_profile(raw, profile, "leads", file_label="contacts.csv")
    message = str(error.value)
    assert message.startswith("contacts.csv: profile 'test_crm' reads created_at from column "
                              "'Create Date' or 'Created Date'")
    assert "found: Record ID, Created" in message


def test_required_column_neither_mapped_nor_present_is_an_input_error() -> None:
    raw = _raw({"Record ID": ["7"]})
    profile = _profile(leads={"columns": {"lead_id": "Record ID"}})
    with pytest.raises(InputError, match=r"contacts.csv: required column 'created_at' is missing: "
                                         r"profile 'test_crm' maps no export column"):
        apply_profile(raw, profile, "leads", file_label="contacts.csv")


def test_constants_fill_canonical_columns_the_export_lacks() -> None:
    raw = _raw({"Prospect ID": ["a", "b"]})
    profile = _profile(leads={"columns": {"lead_id": "Prospect ID"},
                              "constants": {"created_at": "2015-01-01"}})
    mapped = apply_profile(raw, profile, "leads", file_label="Leads.csv")
    assert mapped.frame.collect()["created_at"].to_list() == ["2015-01-01", "2015-01-01"]
    assert mapped.record()["constants"] == {"created_at": "2015-01-01"}


def test_value_maps_compare_trimmed_and_case_insensitively_and_pass_unknowns_through() -> None:
    raw = _raw({"lead_id": ["1", "2", "3", "4", "5"], "created_at": ["2024-01-01"] * 5,
                "Lifecycle Stage": [" Subscriber", "MARKETINGQUALIFIEDLEAD", "odd", None, "x"]})
    profile = _profile(leads={
        "columns": {"crm_stage": "Lifecycle Stage"},
        "values": {"crm_stage": {"subscriber": "lead", "marketingqualifiedlead": "prospect",
                                 "X": ""}},
    })
    frame = apply_profile(raw, profile, "leads", file_label="contacts.csv").frame.collect()
    assert frame["crm_stage"].to_list() == ["lead", "prospect", "odd", None, None]


def test_one_export_column_may_feed_two_canonical_columns() -> None:
    raw = _raw({"opportunity_id": ["o1", "o2", "o3"], "account": ["A", "B", "C"],
                "engage_date": ["2017-01-01"] * 3, "deal_stage": ["Won", "Lost", "Engaging"]})
    profile = _profile(opportunities={
        "columns": {"opportunity_id": "opportunity_id", "company_name": "account",
                    "created_at": "engage_date", "stage": "deal_stage", "won": "deal_stage"},
        "values": {"won": {"Won": "yes", "Lost": "no", "Engaging": ""}},
    })
    mapped = apply_profile(raw, profile, "opportunities", file_label="sales_pipeline.csv")
    valid = validate_source(mapped.frame, OPPORTUNITIES, IngestConfig(),
                            file_label="sales_pipeline.csv").valid.collect()
    assert valid["stage"].to_list() == ["Won", "Lost", "Engaging"]
    assert valid["won"].to_list() == [True, False, None]
    assert "deal_stage" not in valid.columns


def test_export_column_named_like_a_canonical_column_mapped_elsewhere_is_kept_renamed() -> None:
    raw = _raw({"Lead ID": ["7"], "lead_id": ["internal-9"], "created_at": ["2024-01-01"],
                "lead_id_export": ["taken"]})
    profile = _profile(leads={"columns": {"lead_id": "Lead ID"}})
    mapped = apply_profile(raw, profile, "leads", file_label="leads.csv")
    frame = mapped.frame.collect()
    assert frame["lead_id"].to_list() == ["7"]
    assert frame["lead_id_export_2"].to_list() == ["internal-9"]
    assert frame["lead_id_export"].to_list() == ["taken"]
    assert mapped.renamed == {"lead_id": "lead_id_export_2"}


def test_canonical_named_columns_the_profile_does_not_map_are_read_as_they_are() -> None:
    raw = _raw({"Record ID": ["7"], "created_at": ["2024-01-01"], "country": ["Finland"]})
    profile = _profile(leads={"columns": {"lead_id": "Record ID"},
                              "values": {"country": {"Finland": "FI"}}})
    frame = apply_profile(raw, profile, "leads", file_label="c.csv").frame.collect()
    assert frame.select("lead_id", "created_at", "country").row(0) == ("7", "2024-01-01", "FI")


def test_source_row_and_raw_error_reach_validation_so_bad_lines_are_quarantined() -> None:
    raw = pl.LazyFrame(
        {"Record ID": ["1", "2"], "Create Date": ["2024-01-01", "2024-01-02"],
         SOURCE_ROW: [2, 3], RAW_ERROR: [None, "line has more fields than the 2 in the header"]},
        schema_overrides={SOURCE_ROW: pl.Int64},
    )
    profile = _profile(leads={"columns": {"lead_id": "Record ID", "created_at": "Create Date"}})
    mapped = apply_profile(raw, profile, "leads", file_label="contacts.csv")
    validated = validate_source(mapped.frame, LEADS, IngestConfig(), file_label="contacts.csv")
    valid, quarantine = pl.collect_all([validated.valid, validated.quarantine])
    assert valid["source_row"].to_list() == [2]
    assert quarantine.select("source_row", "reason").row(0) == (
        3, "line has more fields than the 2 in the header"
    )


def test_record_says_which_alternative_was_used_and_what_was_mapped() -> None:
    raw = _raw({"Contact ID": ["7"], "Create Date": ["2024-01-01"], "Stage": ["Lead"]})
    profile = _profile(leads={"columns": {"lead_id": ["Record ID", "Contact ID"],
                                          "created_at": "Create Date", "crm_stage": "Stage"},
                              "values": {"crm_stage": {"lead": "lead"}}})
    record = apply_profile(raw, profile, "leads", file_label="c.csv").record()
    assert record == {
        "name": "test_crm",
        "columns": {"lead_id": "Contact ID", "created_at": "Create Date", "crm_stage": "Stage"},
        "constants": {}, "renamed": {}, "value_maps": ["crm_stage"],
    }


def test_optional_columns_a_profile_maps_may_be_absent_from_the_export() -> None:
    raw = _raw({"Record ID": ["7"], "Create Date": ["2024-01-01"]})
    profile = _profile(leads={"columns": {"lead_id": "Record ID", "created_at": "Create Date",
                                          "owner": "Contact owner",
                                          "opted_out": "Unsubscribed from all email"}})
    mapped = apply_profile(raw, profile, "leads", file_label="contacts.csv")
    assert mapped.columns == {"lead_id": "Record ID", "created_at": "Create Date"}
    assert mapped.frame.collect().columns[:2] == ["lead_id", "created_at"]


def test_every_missing_required_column_is_named_at_once() -> None:
    raw = _raw({"Email": ["a@b.fi"]})
    profile = _profile(leads={"columns": {"lead_id": "Record ID", "created_at": "Create Date",
                                          "email": "Email"}})
    with pytest.raises(InputError) as error:
        apply_profile(raw, profile, "leads", file_label="contacts.csv")
    message = str(error.value)
    assert "reads lead_id from column 'Record ID'" in message
    assert "reads created_at from column 'Create Date'" in message
    assert len(message.splitlines()) == 1


def test_every_required_column_neither_mapped_nor_present_is_named_at_once() -> None:
    raw = _raw({"Email": ["a@b.fi"]})
    profile = _profile(leads={"columns": {"email": "Email"}})
    with pytest.raises(InputError, match=r"required columns 'lead_id', 'created_at' are missing"):
        apply_profile(raw, profile, "leads", file_label="contacts.csv")
