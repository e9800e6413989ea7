from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import DEFAULT_NEXT_ACTIONS, StagesConfig
from features.point_in_time.snapshots import days_before_as_of
from scoring.rules.stage import (
    COMPANY_IS_CUSTOMER_ACTION,
    STAGE_COLUMNS,
    recommend_stage,
    with_reasons,
)

CFG = StagesConfig()  # opportunity_min_fit 40, opportunity_min_probability 0.5
PROSPECT_MIN_FIT = 60.0

SCHEMA: dict[str, pl.DataType] = {
    "lead_id": pl.String(),
    "contact_blocked": pl.Boolean(),
    "address_bounced": pl.Boolean(),
    "disqualified_reason": pl.String(),
    "won_deal": pl.Boolean(),
    "last_won_at": pl.Datetime("us", "UTC"),
    "company_won_deal": pl.Boolean(),
    "open_opportunity": pl.Boolean(),
    "company_open_opportunity": pl.Boolean(),
    "icp_fit": pl.Float64(),
    "icp_matched": pl.List(pl.String()),
    "icp_against": pl.List(pl.String()),
    "icp_unknown": pl.List(pl.String()),
    "intent_signals_recent": pl.Int32(),
    "last_intent_signal": pl.String(),
    "days_since_intent_signal": pl.Int32(),
    "engagement_decayed": pl.Float64(),
    "conversion_probability": pl.Float64(),
    "probability_status": pl.String(),
    "probability_note": pl.String(),
    "factors_up": pl.List(pl.String()),
    "factors_down": pl.List(pl.String()),
    "firmographics_age_days": pl.Int32(),
    "firmographics_stale": pl.Boolean(),
    "crm_stage": pl.String(),
}
# A plain lead: no disqualifier, no deal, no fit, no signal, no model.
DEFAULTS: dict[str, Any] = {
    "contact_blocked": False,
    "address_bounced": False,
    "disqualified_reason": None,
    "won_deal": False,
    "last_won_at": None,
    "company_won_deal": False,
    "open_opportunity": False,
    "company_open_opportunity": False,
    "icp_fit": 0.0,
    "icp_matched": [],
    "icp_against": [],
    "icp_unknown": [],
    "intent_signals_recent": 0,
    "last_intent_signal": None,
    "days_since_intent_signal": None,
    "engagement_decayed": 0.0,
    "conversion_probability": None,
    "probability_status": "model",
    "probability_note": None,
    "factors_up": [],
    "factors_down": [],
    "firmographics_age_days": 10,
    "firmographics_stale": False,
    "crm_stage": None,
}


def leads(*rows: dict[str, Any]) -> pl.LazyFrame:
    """One row per dict on top of DEFAULTS; lead_id defaults to "l<index>"."""
    full = [{"lead_id": f"l{i}", **DEFAULTS, **row} for i, row in enumerate(rows)]
    return pl.LazyFrame(full, schema=SCHEMA)


def staged(*rows: dict[str, Any], cfg: StagesConfig = CFG) -> pl.DataFrame:
    return recommend_stage(leads(*rows), cfg, PROSPECT_MIN_FIT).collect()


def stage_of(**row: Any) -> str:
    result: str = staged(row)["recommended_stage"].item()
    return result


# ---- decision order -----------------------------------------------------------------------------


def test_plain_lead_stays_lead() -> None:
    out = staged({"icp_fit": 59.9})
    assert out.select("recommended_stage", "stage_basis").row(0) == ("lead", "default")


def test_disqualifier_makes_disqualified() -> None:
    out = staged({"disqualified_reason": "opted out of contact"})
    assert out.select("recommended_stage", "stage_basis").row(0) == ("disqualified",
                                                                     "disqualifier")


def test_won_deal_makes_customer() -> None:
    out = staged({"won_deal": True})
    assert out.select("recommended_stage", "stage_basis").row(0) == ("customer", "won deal")


def test_open_opportunity_makes_opportunity() -> None:
    out = staged({"open_opportunity": True})
    assert out.select("recommended_stage", "stage_basis").row(0) == (
        "opportunity", "open opportunity in the CRM",
    )


def test_fit_and_recent_intent_make_opportunity() -> None:
    out = staged({"icp_fit": 40.0, "intent_signals_recent": 1})
    assert out.select("recommended_stage", "stage_basis").row(0) == (
        "opportunity", "fit and buying intent",
    )


def test_intent_without_enough_fit_does_not_make_opportunity() -> None:
    assert stage_of(icp_fit=39.9, intent_signals_recent=3) == "lead"


def test_fit_without_intent_is_not_an_opportunity() -> None:
    assert stage_of(icp_fit=59.0, intent_signals_recent=0) == "lead"


def test_high_probability_makes_opportunity() -> None:
    out = staged({"conversion_probability": 0.5})
    assert out.select("recommended_stage", "stage_basis").row(0) == (
        "opportunity", "conversion probability",
    )


def test_probability_below_threshold_does_not_make_opportunity() -> None:
    assert stage_of(conversion_probability=0.4999) == "lead"


def test_fit_at_prospect_threshold_makes_prospect() -> None:
    out = staged({"icp_fit": 60.0})
    assert out.select("recommended_stage", "stage_basis").row(0) == ("prospect", "ICP fit")


def test_missing_fit_and_signals_fall_back_to_lead() -> None:
    assert stage_of(icp_fit=None, intent_signals_recent=None, won_deal=None,
                    open_opportunity=None) == "lead"


def test_consent_disqualifies_even_a_customer() -> None:
    assert stage_of(contact_blocked=True, disqualified_reason="opted out of contact",
                    won_deal=True, open_opportunity=True, icp_fit=100.0,
                    intent_signals_recent=1, conversion_probability=0.9) == "disqualified"


def test_a_bounced_address_disqualifies_a_prospect_but_only_flags_a_customer() -> None:
    bounced = {"address_bounced": True, "disqualified_reason": "email address bounced",
               "icp_fit": 90.0}
    out = staged(bounced, {**bounced, "won_deal": True})
    assert out["recommended_stage"].to_list() == ["disqualified", "customer"]
    assert out["disqualified_reason"].to_list() == ["email address bounced", None]
    assert reasons_of({**bounced, "won_deal": True, "disqualified_reason": None})[0][:2] == [
        "Won a deal", "Email address bounced: update their contact details"]


def test_configured_disqualifier_never_turns_a_customer_away() -> None:
    out = staged({"disqualified_reason": "outside territory", "won_deal": True})
    assert out["recommended_stage"].item() == "customer"
    assert out["disqualified_reason"].item() is None


def test_configured_disqualifier_beats_open_opportunity_and_everything_after() -> None:
    assert stage_of(disqualified_reason="competitor", open_opportunity=True, icp_fit=100.0,
                    intent_signals_recent=1, conversion_probability=0.9) == "disqualified"


def test_customer_beats_open_opportunity_and_high_probability() -> None:
    assert stage_of(won_deal=True, open_opportunity=True, icp_fit=100.0,
                    intent_signals_recent=1, conversion_probability=0.9) == "customer"


def test_open_opportunity_basis_beats_intent_and_probability() -> None:
    out = staged({"open_opportunity": True, "icp_fit": 90.0, "intent_signals_recent": 1,
                  "conversion_probability": 0.9})
    assert out["stage_basis"].item() == "open opportunity in the CRM"


def test_intent_basis_beats_probability_basis() -> None:
    out = staged({"icp_fit": 50.0, "intent_signals_recent": 1, "conversion_probability": 0.9})
    assert out["stage_basis"].item() == "fit and buying intent"


def test_opportunity_beats_prospect() -> None:
    assert stage_of(icp_fit=100.0, conversion_probability=0.7) == "opportunity"


def test_thresholds_come_from_config() -> None:
    cfg = StagesConfig(opportunity_min_probability=0.9, opportunity_min_fit=80)
    out = staged(
        {"conversion_probability": 0.8},
        {"icp_fit": 70.0, "intent_signals_recent": 1},
        cfg=cfg,
    )
    assert out["recommended_stage"].to_list() == ["lead", "prospect"]


# ---- next action --------------------------------------------------------------------------------


def test_next_action_is_the_configured_text_for_the_stage() -> None:
    cfg = StagesConfig(next_actions={"prospect": "Call within a day"})
    out = staged({"icp_fit": 70.0}, {}, cfg=cfg)
    assert out["next_action"].to_list() == ["Call within a day", DEFAULT_NEXT_ACTIONS["lead"]]


def test_colleagues_won_deal_changes_next_action_but_not_stage() -> None:
    out = staged({"icp_fit": 70.0, "company_won_deal": True})
    assert out["recommended_stage"].item() == "prospect"
    assert out["next_action"].item() == (
        COMPANY_IS_CUSTOMER_ACTION + DEFAULT_NEXT_ACTIONS["prospect"]
    )


def test_colleagues_won_deal_does_not_change_action_of_disqualified_or_customer() -> None:
    out = staged(
        {"disqualified_reason": "opted out", "company_won_deal": True},
        {"won_deal": True, "company_won_deal": True},
    )
    assert out["next_action"].to_list() == [DEFAULT_NEXT_ACTIONS["disqualified"],
                                            DEFAULT_NEXT_ACTIONS["customer"]]


# ---- priority -----------------------------------------------------------------------------------


def test_priority_ranks_within_each_stage_by_score() -> None:
    out = staged(
        {"lead_id": "p-low", "icp_fit": 60.0, "conversion_probability": 0.1},
        {"lead_id": "p-high", "icp_fit": 60.0, "conversion_probability": 0.4},
        {"lead_id": "o-low", "icp_fit": 60.0, "conversion_probability": 0.6},
        {"lead_id": "o-high", "icp_fit": 60.0, "conversion_probability": 0.95},
    ).sort("lead_id")
    expected = pl.DataFrame({
        "lead_id": ["o-high", "o-low", "p-high", "p-low"],
        "recommended_stage": ["opportunity", "opportunity", "prospect", "prospect"],
        "priority": [1, 2, 1, 2],
    })
    assert_frame_equal(out.select(expected.columns), expected)


def test_priority_ties_are_broken_by_lead_id() -> None:
    out = staged(
        {"lead_id": "c", "icp_fit": 70.0},
        {"lead_id": "a", "icp_fit": 70.0},
        {"lead_id": "b", "icp_fit": 70.0},
    )
    assert dict(zip(out["lead_id"], out["priority"], strict=True)) == {"a": 1, "b": 2, "c": 3}


def test_customers_and_disqualified_get_no_priority() -> None:
    out = staged({"won_deal": True, "icp_fit": 90.0},
                 {"disqualified_reason": "bounced", "icp_fit": 90.0})
    assert out["priority"].to_list() == [None, None]
    assert out["priority_score"].to_list() == [None, None]


def test_priority_score_with_a_model_weighs_probability_and_fit() -> None:
    out = staged({"icp_fit": 50.0, "conversion_probability": 0.4})
    assert out["priority_score"].item() == pytest.approx(0.7 * 40 + 0.3 * 50)


def test_priority_score_without_a_model_weighs_fit_and_engagement() -> None:
    out = staged(
        {"icp_fit": 50.0, "engagement_decayed": 2.5},
        {"icp_fit": 50.0, "engagement_decayed": 50.0},
        {"icp_fit": 50.0, "intent_signals_recent": 1},
    )
    engaged = 0.7 * 50
    assert out["priority_score"].to_list() == pytest.approx(
        [engaged + 0.3 * 50, engaged + 0.3 * 100, engaged + 0.3 * 100]
    )


def test_output_is_sorted_by_lead_id_and_adds_the_stage_columns() -> None:
    out = staged({"lead_id": "b"}, {"lead_id": "a"})
    assert out["lead_id"].to_list() == ["a", "b"]
    assert set(STAGE_COLUMNS) <= set(out.columns)
    assert out.schema["priority"] == pl.Int64


# ---- change against the CRM's stage -------------------------------------------------------------


@pytest.mark.parametrize(
    ("crm_stage", "row", "change"),
    [
        (None, {}, "new"),
        ("lead", {}, "same"),
        ("lead", {"icp_fit": 70.0}, "up"),
        ("opportunity", {"icp_fit": 70.0}, "down"),
        ("customer", {"contact_blocked": True, "disqualified_reason": "opted out"},
         "disqualify"),
        ("prospect", {"disqualified_reason": "bounced"}, "disqualify"),
        ("disqualified", {"disqualified_reason": "bounced"}, "same"),
        ("disqualified", {"icp_fit": 70.0, "intent_signals_recent": 1}, "requalify"),
        ("Marketing Qualified", {}, "unmapped crm stage"),
        ("prospect", {"won_deal": True}, "up"),
    ],
)
def test_stage_change_against_crm_stage(
    crm_stage: str | None, row: dict[str, Any], change: str
) -> None:
    out = staged({**row, "crm_stage": crm_stage})
    assert out["stage_change"].item() == change


# ---- reasons ------------------------------------------------------------------------------------


AS_OF = date(2025, 6, 10)


def reasons_of(*rows: dict[str, Any], cfg: StagesConfig = CFG) -> list[list[str]]:
    result: list[list[str]] = with_reasons(leads(*rows), cfg).collect()["reasons"].to_list()
    return result


def signal_at(moment: datetime, signal: str = "demo_request") -> dict[str, Any]:
    """A row whose last intent signal happened at `moment`, as the feature step dates it."""
    days = (
        pl.DataFrame({"as_of": [AS_OF], "at": [moment]})
        .select(days_before_as_of(pl.col("at")))
        .item()
    )
    return {"intent_signals_recent": 1, "last_intent_signal": signal,
            "days_since_intent_signal": days}


def test_plain_lead_has_no_reasons() -> None:
    assert reasons_of({}) == [[]]


def test_intent_signal_during_the_day_before_as_of_reads_yesterday() -> None:
    row = signal_at(datetime(2025, 6, 9, 14, 30, tzinfo=UTC))
    assert reasons_of(row) == [["Buying signal: requested a demo yesterday"]]


def test_intent_signal_at_midnight_of_the_day_before_as_of_reads_yesterday() -> None:
    # Date-only activity exports land at 00:00 UTC: 2025-06-09 is still "yesterday" on 06-10.
    row = signal_at(datetime(2025, 6, 9, tzinfo=UTC))
    assert reasons_of(row) == [["Buying signal: requested a demo yesterday"]]


def test_intent_signal_three_days_before_as_of_reads_3_days_ago() -> None:
    row = signal_at(datetime(2025, 6, 7, 9, 0, tzinfo=UTC), "pricing_request")
    assert reasons_of(row) == [["Buying signal: asked for pricing 3 days ago"]]


def test_intent_signal_at_midnight_three_days_before_as_of_reads_3_days_ago() -> None:
    row = signal_at(datetime(2025, 6, 7, tzinfo=UTC), "pricing_request")
    assert reasons_of(row) == [["Buying signal: asked for pricing 3 days ago"]]


def test_unnamed_signal_type_reads_as_words() -> None:
    row = {"intent_signals_recent": 1, "last_intent_signal": "webinar_attended",
           "days_since_intent_signal": 4}
    assert reasons_of(row) == [["Buying signal: webinar attended 4 days ago"]]


@pytest.mark.parametrize(("days", "phrase"), [(1, "yesterday"), (2, "2 days ago"),
                                               (30, "30 days ago")])
def test_days_since_intent_signal_is_read_as_calendar_days(days: int, phrase: str) -> None:
    row = {"intent_signals_recent": 1, "last_intent_signal": "demo_request",
           "days_since_intent_signal": days}
    assert reasons_of(row) == [[f"Buying signal: requested a demo {phrase}"]]


def test_signal_outside_the_window_is_not_a_reason() -> None:
    row = {"intent_signals_recent": 0, "last_intent_signal": "demo_request",
           "days_since_intent_signal": 45}
    assert reasons_of(row) == [[]]


def test_reasons_are_ordered_most_important_first() -> None:
    row = {
        "disqualified_reason": "opted out of contact",
        "won_deal": True,
        "last_won_at": datetime(2025, 3, 1, 12, tzinfo=UTC),
        "open_opportunity": True,
        "intent_signals_recent": 1,
        "last_intent_signal": "contact_sales",
        "days_since_intent_signal": 2,
        "icp_matched": ["software (+30)", "tiny (-20)"],
        "factors_up": ["page views in the last 90 days (12)"],
        "factors_down": ["free-mail address (gmail, hotmail...)"],
        "icp_unknown": ["mid-size"],
        "firmographics_stale": True,
        "firmographics_age_days": 400,
        "probability_status": "no_model",
        "probability_note": "no trained model yet",
    }
    assert reasons_of(row) == [[
        "Disqualified: opted out of contact",
        "Won a deal on 2025-03-01",
        "Has an open opportunity in the CRM",
        "Buying signal: contacted sales 2 days ago",
        "Fits the ICP: software (+30); tiny (-20)",
        "Raises the odds: page views in the last 90 days (12)",
        "Lowers the odds: free-mail address (gmail, hotmail...)",
        "Unknown, so fit may be understated: mid-size",
        "Company data is 400 days old",
        "No conversion probability: no trained model yet",
    ]]


def test_company_deals_are_reasons_only_when_the_lead_has_none_of_its_own() -> None:
    colleague = {"company_won_deal": True, "company_open_opportunity": True}
    own = {**colleague, "won_deal": True, "open_opportunity": True}
    assert reasons_of(colleague, own) == [
        ["Their company is already a customer", "Their company has an open opportunity"],
        ["Won a deal", "Has an open opportunity in the CRM"],
    ]


# ---- the CRM's own stage as evidence ----------------------------------------------------------


def staged_reasons(row: dict[str, Any]) -> list[str]:
    """The reasons of one row as the flow makes them: after the stage is recommended."""
    result: list[str] = with_reasons(staged(row).lazy(), CFG).collect()["reasons"].item().to_list()
    return result


def test_crm_customer_without_deals_data_is_a_customer_and_says_so() -> None:
    row = {"crm_stage": "customer", "icp_fit": 90.0}
    out = staged(row)
    assert out.select("recommended_stage", "stage_basis").row(0) == ("customer", "CRM stage")
    assert "The CRM marks them as a customer (no won deal in the data)" in staged_reasons(row)


def test_crm_customer_is_not_turned_away_by_a_configured_disqualifier() -> None:
    assert stage_of(crm_stage="customer", disqualified_reason="outside territory") == "customer"


def test_opt_out_disqualifies_a_crm_customer_too() -> None:
    assert stage_of(crm_stage="customer", contact_blocked=True,
                    disqualified_reason="opted out of contact") == "disqualified"


@pytest.mark.parametrize("crm_stage", ["disqualified", "unqualified"])
def test_crm_disqualified_lead_stays_disqualified_without_stronger_evidence(
    crm_stage: str,
) -> None:
    row = {"crm_stage": crm_stage, "icp_fit": 90.0, "conversion_probability": 0.9}
    out = staged(row)
    assert out.select("recommended_stage", "stage_basis").row(0) == ("disqualified",
                                                                     "CRM stage")
    assert out["disqualified_reason"].item() == f"marked {crm_stage} in the CRM"
    assert f"Disqualified: marked {crm_stage} in the CRM" in staged_reasons(row)


def test_a_new_buying_signal_or_open_deal_requalifies_a_crm_disqualified_lead() -> None:
    out = staged({"crm_stage": "disqualified", "icp_fit": 50.0, "intent_signals_recent": 1},
                 {"crm_stage": "disqualified", "open_opportunity": True})
    assert out["recommended_stage"].to_list() == ["opportunity", "opportunity"]
    assert out["stage_change"].to_list() == ["requalify", "requalify"]
