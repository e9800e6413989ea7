from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from features.errors import ConfigError
from scoring.crm_exports import (
    GENERIC,
    HUBSPOT,
    PIPEDRIVE,
    PROFILES,
    SALESFORCE,
    ExportOptions,
    export_frame,
    parse_crm_list,
)


def scored(**extra: list[object]) -> pl.DataFrame:
    base: dict[str, list[object]] = {
        "lead_id": ["L1", "L2", "L3"],
        "as_of": [date(2026, 11, 1)] * 3,
        "recommended_stage": ["opportunity", "prospect", "disqualified"],
        "next_action": ["Book a demo", "Call", "Do not contact"],
        "priority": [1, 1, None],
        "priority_score": [81.5, 60.0, None],
        "icp_fit": [80.0, 65.0, 10.0],
        "icp_tier": ["A", "B", "D"],
        "conversion_probability": [0.61, 0.2, 0.01],
        "model_version": ["m1"] * 3,
        "reasons": [["r1", "r2", "r3", "r4"], ["only"], []],
        "crm_stage": ["lead", "prospect", None],
        "stage_change": ["up", "same", "new"],
        "change": ["upgraded", "unchanged", "new"],
        "email": ["a@x.fi", None, "c@x.fi"],
    }
    base.update(extra)
    return pl.DataFrame(base)


def test_hubspot_header_is_pinned() -> None:
    result = export_frame(scored(), HUBSPOT, ExportOptions())
    assert result.frame.columns == [
        "Record ID", "Email", "leadscore_score", "leadscore_icp_fit", "leadscore_icp_tier",
        "leadscore_conversion_probability", "leadscore_recommended_stage",
        "leadscore_next_action", "leadscore_priority", "leadscore_top_reasons",
        "leadscore_scored_on",
    ]


def test_hubspot_lifecycle_stage_is_opt_in_and_only_moves_forward() -> None:
    frame = scored()
    assert "lifecyclestage" not in export_frame(frame, HUBSPOT, ExportOptions()).frame.columns
    result = export_frame(frame, HUBSPOT, ExportOptions(hubspot_lifecycle_stage=True,
                                                         record_id_column="lead_id"))
    assert result.frame.columns[-1] == "lifecyclestage"
    # lead -> opportunity moves forward; prospect stays; disqualified never sets a stage.
    assert result.frame["lifecyclestage"].to_list() == ["opportunity", None, None]


def test_salesforce_header_is_pinned() -> None:
    result = export_frame(scored(), SALESFORCE, ExportOptions())
    assert result.frame.columns == [
        "Id", "Email", "Leadscore_Score__c", "Leadscore_ICP_Fit__c", "Leadscore_ICP_Tier__c",
        "Leadscore_Conversion_Probability__c", "Leadscore_Recommended_Stage__c",
        "Leadscore_Next_Action__c", "Leadscore_Priority__c", "Leadscore_Top_Reasons__c",
        "Leadscore_Scored_On__c",
    ]


def test_pipedrive_header_is_pinned() -> None:
    result = export_frame(scored(), PIPEDRIVE, ExportOptions())
    assert result.frame.columns == [
        "Person - ID", "Person - Email", "Person - Lead score", "Person - ICP fit",
        "Person - ICP tier", "Person - Conversion probability", "Person - Recommended stage",
        "Person - Next action", "Person - Priority", "Person - Top reasons", "Person - Scored on",
    ]


def test_generic_header_is_pinned_and_all_columns_is_opt_in() -> None:
    result = export_frame(scored(), GENERIC, ExportOptions())
    assert result.frame.columns == [
        "lead_id", "crm_record_id", "email", "recommended_stage", "next_action", "priority",
        "priority_score", "icp_fit", "icp_tier", "conversion_probability", "stage_change",
        "change_since_previous_run", "top_reasons", "as_of", "model_version",
    ]
    full = export_frame(scored(owner_note=["x", "y", "z"]), GENERIC,
                        ExportOptions(all_columns=True)).frame
    assert full.columns[:15] == result.frame.columns
    assert {"crm_stage", "owner_note"} <= set(full.columns)


def test_a_pass_through_column_may_be_named_like_a_helper_column() -> None:
    full = export_frame(scored(_importable=["x", "y", "z"]), GENERIC,
                        ExportOptions(all_columns=True)).frame
    assert full["_importable"].to_list() == ["x", "y", "z"]  # generic keeps every row


def test_record_id_comes_from_the_pass_through_column() -> None:
    frame = scored(**{"Record ID": ["101", " ", None]})
    result = export_frame(frame, HUBSPOT, ExportOptions())
    assert result.record_id_from == "Record ID"
    # L2 has no record id and no email: HubSpot could only create a new contact; left out.
    assert result.frame["Record ID"].to_list() == ["101", None]
    assert result.frame["Email"].to_list() == ["a@x.fi", "c@x.fi"]
    assert result.left_out == 1


def test_configured_record_id_column_wins_and_must_exist() -> None:
    frame = scored(crm_record_id=["00Q1", "00Q2", "00Q3"], Id=["x", "y", "z"])
    result = export_frame(frame, SALESFORCE, ExportOptions(record_id_column="crm_record_id"))
    assert result.frame["Id"].to_list() == ["00Q1", "00Q2", "00Q3"]
    with pytest.raises(ConfigError, match="record_id_column: 'nope'"):
        export_frame(frame, SALESFORCE, ExportOptions(record_id_column="nope"))


def test_lead_id_is_the_record_id_when_the_leads_came_from_that_crm() -> None:
    result = export_frame(scored(), SALESFORCE, ExportOptions(input_profile="salesforce"))
    assert result.frame["Id"].to_list() == ["L1", "L2", "L3"]
    other = export_frame(scored(), SALESFORCE, ExportOptions(input_profile="hubspot"))
    assert other.frame["Id"].null_count() == other.frame.height


def test_top_reasons_are_the_first_three() -> None:
    result = export_frame(scored(), GENERIC, ExportOptions())
    assert result.frame["top_reasons"].to_list() == ["r1; r2; r3", "only", ""]


def test_every_profile_is_declared_once() -> None:
    assert set(PROFILES) == {"generic", "hubspot", "salesforce", "pipedrive"}
    assert len({p.file_name for p in PROFILES.values()}) == 4


def test_crm_list_is_checked() -> None:
    assert parse_crm_list("HubSpot, salesforce") == ("hubspot", "salesforce")
    with pytest.raises(ConfigError, match="unknown CRM profile 'zoho'"):
        parse_crm_list("hubspot,zoho")
