from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.point_in_time.lead import LEAD_COLUMNS, lead_features
from features.schema import LEADS

AS_OF = date(2024, 6, 1)

MATCH_SCHEMA = {
    "lead_id": pl.String(),
    "email_quality": pl.String(),
    "match_method": pl.String(),
    "match_confidence": pl.Float64(),
    "lead_business_id": pl.String(),
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def leads(*rows: dict[str, Any]) -> pl.LazyFrame:
    full = [{"created_at": utc(2024, 1, 1), **r} for r in rows]
    return pl.LazyFrame([{c: r.get(c) for c in LEADS.dtypes} for r in full], schema=LEADS.dtypes)


def matches(*rows: dict[str, Any]) -> pl.LazyFrame:
    return pl.LazyFrame([{c: r.get(c) for c in MATCH_SCHEMA} for r in rows], schema=MATCH_SCHEMA)


def snapshots(*rows: tuple[str, date]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"lead_id": pl.String, "as_of": pl.Date}, orient="row")


def features_of(lead: dict[str, Any], match: dict[str, Any] | None = None,
                as_of: date = AS_OF) -> dict[str, Any]:
    match = {"lead_id": lead["lead_id"]} if match is None else match
    result = lead_features(snapshots((lead["lead_id"], as_of)), leads(lead), matches(match))
    return result.collect().row(0, named=True)


def test_output_columns_are_the_snapshot_key_and_lead_columns() -> None:
    result = lead_features(snapshots(("A", AS_OF)), leads({"lead_id": "A"}), matches()).collect()
    assert result.columns == ["lead_id", "as_of", *LEAD_COLUMNS]


def test_role_comes_from_the_title() -> None:
    row = features_of({"lead_id": "A", "title": "Myyntijohtaja"})
    assert (row["seniority"], row["seniority_level"], row["department"]) == ("director", 3, "sales")


@pytest.mark.parametrize(
    ("title", "seniority", "department"),
    [
        ("Talousjohtaja", "c_level", "finance"),  # Finnish CFO
        ("Teknologiajohtaja", "c_level", "engineering"),  # Finnish CTO
        ("Tietohallintojohtaja", "c_level", "it"),  # Finnish CIO
        ("DevOps Engineer", "individual", "engineering"),
        ("Driftssjef", "manager", "operations"),  # Norwegian head of operations
        ("Driftschef", "manager", "operations"),  # Swedish
        ("Markedssjef", "manager", "marketing"),  # Norwegian marketing manager
        ("Accountant", "individual", "finance"),
        ("Bogholder", "individual", "finance"),  # Danish bookkeeper
        ("Regnskapsmedarbeider", "individual", "finance"),  # Norwegian accounting staff
        ("Chief Executive Officer", "c_level", "executive"),
        ("Adm. direktør", "c_level", "executive"),  # Norwegian/Danish managing director
        ("Medarbeider", "individual", "other"),
        ("Medarbetare", "individual", "other"),
        ("Studerende", "individual", "other"),  # Danish student
    ],
)
def test_nordic_and_spelled_out_titles_get_their_role(
    title: str, seniority: str, department: str
) -> None:
    row = features_of({"lead_id": "A", "title": title})
    assert (row["seniority"], row["department"]) == (seniority, department)


def test_missing_title_is_unknown_with_level_zero() -> None:
    row = features_of({"lead_id": "A", "title": None})
    role = (row["seniority"], row["seniority_level"], row["department"])
    assert role == ("unknown", 0, "unknown")


def test_lead_age_is_calendar_days_before_the_as_of_day() -> None:
    # 1 = created yesterday, whatever the time of day.
    for created_at, age in [(utc(2024, 5, 31, 23), 1), (utc(2024, 5, 31), 1),
                            (utc(2024, 5, 30, 23, 59), 2), (utc(2024, 5, 1, 12), 31)]:
        assert features_of({"lead_id": "A", "created_at": created_at})["lead_age_days"] == age


def test_lead_age_differs_per_snapshot_date() -> None:
    snaps = snapshots(("A", date(2024, 2, 1)), ("A", date(2024, 3, 1)))
    result = lead_features(snaps, leads({"lead_id": "A"}), matches()).collect().sort("as_of")
    assert result["lead_age_days"].to_list() == [31, 60]


@pytest.mark.parametrize(
    ("phone", "has_phone"),
    [
        ("0401234567", True),
        ("+358401234567", True),
        ("123456", True),  # six digits: enough
        ("123 456", True),
        ("12345", False),  # five digits: too few
        ("12-34 5", False),
        ("+358", False),
        ("", False),
        (None, False),
        ("n/a", False),
        ("1234", False),
    ],
)
def test_has_phone_needs_a_number_with_enough_digits(phone: str | None, has_phone: bool) -> None:
    assert features_of({"lead_id": "A", "phone": phone})["has_phone"] is has_phone


@pytest.mark.parametrize(
    "phone",
    [
        "+358 40 123 4567",  # Finnish, international, grouped
        "040-123 45 67",
        "+46 70 123 45 67",  # Swedish
        "+47 912 34 567",  # Norwegian
        "+45 12 34 56 78",  # Danish
    ],
)
def test_has_phone_is_true_for_a_number_written_with_spaces_or_dashes(phone: str) -> None:
    # Phone numbers arrive as people type them (see samplegen.lead_rows._phones).
    assert features_of({"lead_id": "A", "phone": phone})["has_phone"] is True


def test_budget_flags_only_a_positive_amount() -> None:
    assert features_of({"lead_id": "A", "budget": 5000.0})["has_budget"] is True
    row = features_of({"lead_id": "A", "budget": 0.0})
    assert (row["budget"], row["has_budget"]) == (0.0, False)
    row = features_of({"lead_id": "A", "budget": None})
    assert (row["budget"], row["has_budget"]) == (None, False)


def test_timeline_days_count_from_as_of_and_may_be_negative() -> None:
    assert features_of({"lead_id": "A", "timeline": date(2024, 7, 1)})["timeline_days"] == 30
    assert features_of({"lead_id": "A", "timeline": date(2024, 5, 30)})["timeline_days"] == -2
    assert features_of({"lead_id": "A", "timeline": None})["timeline_days"] is None


def test_need_is_flagged_when_given() -> None:
    assert features_of({"lead_id": "A", "need": "CRM migration"})["has_need"] is True
    assert features_of({"lead_id": "A", "need": None})["has_need"] is False


def test_text_fields_are_lower_cased_and_consent_defaults_to_false() -> None:
    row = features_of({"lead_id": "A", "lead_source": "Webinar", "crm_stage": "MQL",
                       "country": "FI", "opted_out": None, "bounced": True})
    assert row["lead_source"] == "webinar"
    assert row["crm_stage"] == "mql"
    assert row["country"] == "FI"
    assert (row["opted_out"], row["bounced"]) == (False, True)


def test_match_columns_are_carried_from_lead_companies() -> None:
    match = {"lead_id": "A", "email_quality": "business", "match_method": "domain",
             "match_confidence": 0.95, "lead_business_id": "FI:01120389"}
    row = features_of({"lead_id": "A"}, match)
    assert {k: row[k] for k in match if k != "lead_id"} == {k: v for k, v in match.items()
                                                            if k != "lead_id"}


def test_lead_without_a_match_row_keeps_its_snapshot_with_null_match_columns() -> None:
    snaps = snapshots(("A", AS_OF), ("B", AS_OF))
    result = lead_features(
        snaps, leads({"lead_id": "A"}, {"lead_id": "B"}),
        matches({"lead_id": "A", "match_method": "none"}),
    ).collect().sort("lead_id")
    expected = pl.DataFrame(
        {"lead_id": ["A", "B"], "match_method": ["none", None], "email_quality": [None, None]},
        schema={"lead_id": pl.String, "match_method": pl.String, "email_quality": pl.String},
    )
    assert_frame_equal(result.select(expected.columns), expected)


def test_only_snapshot_leads_appear() -> None:
    result = lead_features(
        snapshots(("A", AS_OF)), leads({"lead_id": "A"}, {"lead_id": "B"}), matches()
    ).collect()
    assert result["lead_id"].to_list() == ["A"]
