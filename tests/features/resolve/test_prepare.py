from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import Config
from features.resolve.accounting import reconcile
from features.resolve.prepare import QUARANTINE_COLUMNS, Checkpoint, Prepared, prepare, stay_lazy
from features.schema import SOURCES, UTC_DATETIME

AS_OF = date(2024, 6, 1)
CFG = Config()
FILES = {name: f"{name}.csv" for name in SOURCES}
ACME = "FI:01120389"  # the company key of business ID 0112038-9 (a valid Y-tunnus)
BETA = "name:beta|SE"  # a company known by name and country only


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def source(name: str, *rows: dict[str, Any]) -> pl.LazyFrame:
    """Validated rows of a source: every canonical column, numbered from file line 2."""
    schema = SOURCES[name].dtypes
    frame = pl.LazyFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)
    return frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("source_row"))


LEADS = (
    {"lead_id": "L1", "created_at": utc(2024, 1, 1), "email": "anna@acme.fi",
     "company_name": "Acme Oy", "business_id": "0112038-9", "country": "FI"},
    {"lead_id": "L2", "created_at": utc(2024, 2, 1), "email": " ANNA@acme.fi", "title": "CTO"},
    {"lead_id": "L3", "created_at": utc(2024, 3, 1), "email": "bob@beta.se",
     "company_name": "Beta AB", "country": "SE"},
    {"lead_id": "L4", "created_at": utc(2024, 6, 1)},  # the as_of day itself: not yet known
    {"lead_id": "L5", "created_at": utc(2024, 7, 1)},
    {"lead_id": "L6", "created_at": utc(2024, 4, 1), "email": "carl@gmail.com"},
)
ACME_ROW = {"business_id": "0112038-9", "company_name": "Acme Oy", "domain": "acme.fi",
            "country": "FI"}
COMPANIES = (
    {**ACME_ROW, "employees": 10, "updated_at": utc(2024, 1, 1)},
    {**ACME_ROW, "employees": 20, "updated_at": utc(2024, 5, 31, 23)},
    {**ACME_ROW, "employees": 30, "updated_at": utc(2024, 6, 1)},  # after_as_of
    {"company_name": "Beta AB", "domain": "beta.se", "country": "SE"},  # no date: always known
    {"company_name": "***", "country": "FI", "updated_at": utc(2024, 1, 1)},  # unidentified
    {"company_name": "***", "updated_at": utc(2024, 7, 1)},  # after_as_of, though unidentified
)
QUARANTINED_BY_VALIDATION = pl.LazyFrame({"lead_id": ["LQ"]})


def sources_of(
    activities: tuple[dict[str, Any], ...] = (),
    opportunities: tuple[dict[str, Any], ...] = (),
    events: tuple[dict[str, Any], ...] = (),
    leads: tuple[dict[str, Any], ...] = LEADS,
    companies: tuple[dict[str, Any], ...] = COMPANIES,
) -> dict[str, pl.LazyFrame]:
    return {
        "leads": source("leads", *leads),
        "activities": source("activities", *activities),
        "opportunities": source("opportunities", *opportunities),
        "companies": source("companies", *companies),
        "company_events": source("company_events", *events),
    }


def run(
    activities: tuple[dict[str, Any], ...] = (),
    opportunities: tuple[dict[str, Any], ...] = (),
    events: tuple[dict[str, Any], ...] = (),
    leads: tuple[dict[str, Any], ...] = LEADS,
    companies: tuple[dict[str, Any], ...] = COMPANIES,
    checkpoint: Checkpoint | None = None,
) -> Prepared:
    checkpoint = collect_checkpoint if checkpoint is None else checkpoint
    sources = sources_of(activities, opportunities, events, leads, companies)
    return prepare(sources, FILES, CFG, AS_OF, quarantined_lead_ids=QUARANTINED_BY_VALIDATION,
                   checkpoint=checkpoint)


def collect_checkpoint(frames: Sequence[pl.LazyFrame]) -> list[pl.LazyFrame]:
    """What the flow does: collect the frames later steps reuse (and keep the tests fast)."""
    return [frame.lazy() for frame in pl.collect_all(frames)]


def buckets(prepared: Prepared, name: str) -> dict[str, int]:
    frame = prepared.buckets.collect().filter(pl.col("source") == name)
    return dict(frame.select("bucket", "rows").iter_rows())


def quarantined(prepared: Prepared, name: str) -> dict[int, str]:
    frame = prepared.quarantine.collect().filter(pl.col("source") == name)
    return dict(frame.select("source_row", "reason").iter_rows())


# ---- leads ---------------------------------------------------------------------------------------


def test_leads_are_split_into_future_merged_and_survivors() -> None:
    assert buckets(run(), "leads") == {"created_after_as_of": 2, "merged": 1, "survivor": 3}


def test_leads_created_on_or_after_as_of_are_quarantined_with_the_reason() -> None:
    reason = "created_at is on or after as_of: the lead did not exist yet"
    assert quarantined(run(), "leads") == {5: reason, 6: reason}


def test_duplicates_are_merged_into_the_earliest_lead() -> None:
    prepared = run()
    duplicates = prepared.duplicates.collect()
    assert duplicates.rows() == [("L2", "L1", "same email", False, None)]
    survivors = prepared.inputs.leads.collect().sort("lead_id")
    assert survivors.select("lead_id", "title", "merged_ids").rows() == [
        ("L1", "CTO", ["L2"]),  # the title is filled from the duplicate
        ("L3", None, []),
        ("L6", None, []),
    ]


def namesake(lead_id: str, day: int, first_name: str, phone: str) -> dict[str, Any]:
    """A lead without email: only name + company + phone can tie it to another."""
    return {"lead_id": lead_id, "created_at": utc(2024, 1, day), "first_name": first_name,
            "last_name": "Nieminen", "company_name": "Gamma Oy", "phone": phone}


def test_a_phone_needs_five_digits_besides_leading_zeros_to_tie_namesakes() -> None:
    prepared = run(leads=(
        *LEADS,
        namesake("P1", 1, "Pia", "1234"), namesake("P2", 2, "Pia", "1234"),
        namesake("Q1", 1, "Quinn", "0001234"), namesake("Q2", 2, "Quinn", "1234"),
        namesake("R1", 1, "Rasmus", "12345"), namesake("R2", 2, "Rasmus", "0 12345"),
        namesake("S1", 1, "Sari", "040 123 4567"), namesake("S2", 2, "Sari", "040-1234567"),
    ))
    assert sorted(prepared.duplicates.select("lead_id", "survivor_id", "duplicate_rule")
                  .collect().rows()) == [
        ("L2", "L1", "same email"),
        ("R2", "R1", "same name, company and phone"),
        ("S2", "S1", "same name, company and phone"),
    ]


def test_every_survivor_and_only_survivors_are_matched_to_companies() -> None:
    matches = run().inputs.lead_companies.collect().sort("lead_id")
    assert matches.select("lead_id", "company_key", "match_method").rows() == [
        ("L1", ACME, "business_id"),
        ("L3", BETA, "domain"),
        ("L6", None, "none"),
    ]


# ---- activities, opportunities and company events: one case per row ----------------------------
#
# Each case is one input row, tagged with the case name (in activity_type, opportunity_id or
# event_type), with the bucket it must land in and what must come of it: the survivor (and
# company) it is attributed to when used, the quarantine reason when set aside as unlinked, or
# nothing when it is only set aside for time. One prepare run holds all cases of a source.

Case = tuple[str, dict[str, Any], str, Any]
QUARANTINED_BUCKETS = ("unlinked", "lead_quarantined")

ACTIVITY_CASES: list[Case] = [
    ("by lead_id", {"lead_id": "L1"}, "used", "L1"),
    ("merged lead_id goes to the survivor", {"lead_id": "L2"}, "used", "L1"),
    ("no lead_id: by email", {"email": " Bob@Beta.SE "}, "used", "L3"),
    ("email shared by merged leads", {"email": "anna@acme.fi"}, "used", "L1"),
    ("unknown lead_id, known email", {"lead_id": "L99", "email": "bob@beta.se"}, "used", "L3"),
    ("on the as_of day", {"lead_id": "L1", "occurred_at": utc(2024, 6, 1)}, "after_as_of", None),
    ("later, unknown lead", {"lead_id": "L99", "occurred_at": utc(2025, 1, 1)}, "after_as_of",
     None),
    ("lead created after as_of", {"lead_id": "L4"}, "lead_created_after_as_of", None),
    ("lead quarantined by validation", {"lead_id": "LQ"}, "lead_quarantined",
     "its lead 'LQ' is quarantined (see the leads rows)"),
    ("unknown lead_id", {"lead_id": "L99"}, "unlinked", "activity for unknown lead_id 'L99'"),
    ("unknown email", {"email": "nobody@example.com"}, "unlinked",
     "activity email matches no lead"),
    ("neither lead_id nor email", {}, "unlinked", "activity email matches no lead"),
]

NO_LINK = "opportunity refers to no lead or company known before as_of"
# Opportunities have the activities' buckets: a lead created after as_of only sets the row aside,
# a quarantined or unknown lead quarantines it.
OPPORTUNITY_CASES: list[Case] = [
    ("by lead_id", {"lead_id": "L1"}, "used", ("L1", ACME)),
    ("merged lead_id goes to the survivor", {"lead_id": "L2"}, "used", ("L1", ACME)),
    ("known lead without a company", {"lead_id": "L6"}, "used", ("L6", None)),
    ("business_id text as in companies", {"business_id": "0112038-9"}, "used", (None, ACME)),
    ("business_id in VAT form", {"business_id": "FI01120389"}, "used", (None, ACME)),
    ("by normalised name", {"company_name": "BETA ab"}, "used", (None, BETA)),
    ("the lead's company wins", {"lead_id": "L3", "business_id": "0112038-9"}, "used",
     ("L3", BETA)),
    ("created on the as_of day", {"lead_id": "L1", "created_at": utc(2024, 6, 1)},
     "after_as_of", None),
    ("later, unknown lead", {"lead_id": "L99", "created_at": utc(2024, 8, 1)}, "after_as_of",
     None),
    ("lead created after as_of", {"lead_id": "L4"}, "lead_created_after_as_of", None),
    ("lead quarantined by validation", {"lead_id": "LQ"}, "lead_quarantined",
     "its lead 'LQ' is quarantined (see the leads rows)"),
    ("unknown lead_id", {"lead_id": "L99"}, "unlinked", "opportunity for unknown lead_id 'L99'"),
    ("unknown company", {"business_id": "9999999-9", "company_name": "Nobody Oy"}, "unlinked",
     NO_LINK),
    ("no reference at all", {}, "unlinked", NO_LINK),
]

NO_COMPANY = "business_id matches no company known before as_of"
EVENT_CASES: list[Case] = [
    ("business_id text as in companies", {"business_id": "0112038-9"}, "used", ACME),
    ("business_id with country prefix", {"business_id": "FI 0112038-9"}, "used", ACME),
    ("on the as_of day", {"business_id": "0112038-9", "occurred_at": utc(2024, 6, 1)},
     "after_as_of", None),
    ("unknown company", {"business_id": "9999999-9"}, "unlinked", NO_COMPANY),
    ("later, unknown company", {"business_id": "9999999-9", "occurred_at": utc(2024, 6, 1)},
     "after_as_of", None),
]

# source -> (run() argument, tag column, defaults, cases, what a used row reaches features as)
CASES: dict[str, tuple[str, str, dict[str, Any], list[Case], tuple[str, ...]]] = {
    "activities": ("activities", "activity_type", {"occurred_at": utc(2024, 5, 1)},
                   ACTIVITY_CASES, ("lead_id",)),
    "opportunities": ("opportunities", "opportunity_id", {"created_at": utc(2024, 4, 1)},
                      OPPORTUNITY_CASES, ("lead_id", "company_key")),
    "company_events": ("events", "event_type", {"occurred_at": utc(2024, 5, 1)},
                       EVENT_CASES, ("company_key",)),
}
USED_FRAME = {"activities": "activities", "opportunities": "opportunities",
              "company_events": "events"}


@cache
def case_run(name: str) -> Prepared:
    argument, tag, defaults, cases, _ = CASES[name]
    rows = tuple({**defaults, **row, tag: case} for case, row, _, _ in cases)
    return run(**{argument: rows})


def expected_fate(bucket: str, outcome: Any) -> tuple[str, Any]:
    if bucket == "used":
        return "used", outcome
    if bucket in QUARANTINED_BUCKETS:
        return "quarantined", outcome
    return "set aside", None


@pytest.mark.parametrize("name", list(CASES))
def test_each_row_is_used_quarantined_or_set_aside_by_the_rules(name: str) -> None:
    _, tag, _, cases, used_columns = CASES[name]
    prepared = case_run(name)
    used = getattr(prepared.inputs, USED_FRAME[name]).collect()
    fates: dict[str, tuple[str, Any]] = {case: ("set aside", None) for case, *_ in cases}
    for row in used.select(tag, *used_columns).iter_rows():
        fates[row[0]] = ("used", row[1] if len(row) == 2 else tuple(row[1:]))
    for source_row, reason in quarantined(prepared, name).items():
        fates[cases[source_row - 2][0]] = ("quarantined", reason)
    assert fates == {case: expected_fate(bucket, outcome) for case, _, bucket, outcome in cases}


@pytest.mark.parametrize("name", list(CASES))
def test_bucket_counts_follow_the_rules(name: str) -> None:
    cases = CASES[name][3]
    assert buckets(case_run(name), name) == Counter(bucket for _, _, bucket, _ in cases)


def test_used_activities_keep_type_and_time() -> None:
    prepared = run(activities=({"lead_id": "L2", "activity_type": "demo_request",
                                "occurred_at": utc(2024, 5, 31, 23, 59)},))
    expected = pl.DataFrame(
        {"lead_id": ["L1"], "activity_type": ["demo_request"],
         "occurred_at": [utc(2024, 5, 31, 23, 59)]},
        schema={"lead_id": pl.String, "activity_type": pl.String, "occurred_at": UTC_DATETIME},
    )
    assert_frame_equal(prepared.inputs.activities.collect(), expected)


# ---- companies -----------------------------------------------------------------------------------


def test_companies_are_split_into_after_as_of_unidentified_and_used() -> None:
    prepared = run()
    assert buckets(prepared, "companies") == {"after_as_of": 2, "unidentified": 1, "used": 3}
    assert quarantined(prepared, "companies") == {
        6: "company has no valid business_id, usable name or domain"
    }
    used = prepared.inputs.companies.collect().sort("company_key", "employees")
    assert used.select("company_key", "employees").rows() == [
        (ACME, 10), (ACME, 20), (BETA, None),
    ]


# ---- the accounting invariant --------------------------------------------------------------------

ACTIVITIES = (
    {"lead_id": "L1", "activity_type": "page_view", "occurred_at": utc(2024, 5, 1)},
    {"lead_id": "L2", "activity_type": "email_open", "occurred_at": utc(2024, 5, 2)},
    {"lead_id": "L1", "activity_type": "demo_request", "occurred_at": utc(2024, 6, 1)},
    {"lead_id": "L4", "activity_type": "page_view", "occurred_at": utc(2024, 5, 20)},
    {"lead_id": "LQ", "activity_type": "email_open", "occurred_at": utc(2024, 5, 1)},
    {"lead_id": "L99", "activity_type": "page_view", "occurred_at": utc(2024, 5, 1)},
    {"email": "Bob@Beta.se ", "activity_type": "page_view", "occurred_at": utc(2024, 5, 3)},
    {"email": "nobody@x.com", "activity_type": "page_view", "occurred_at": utc(2024, 5, 3)},
)
OPPORTUNITIES = (
    {"opportunity_id": "O1", "lead_id": "L2", "created_at": utc(2024, 4, 1)},
    {"opportunity_id": "O2", "business_id": "0112038-9", "created_at": utc(2024, 4, 2)},
    {"opportunity_id": "O3", "company_name": "Beta Ab", "created_at": utc(2024, 4, 4)},
    {"opportunity_id": "O4", "lead_id": "L99", "created_at": utc(2024, 4, 5)},
    {"opportunity_id": "O5", "lead_id": "L1", "created_at": utc(2024, 6, 1)},
    {"opportunity_id": "O6", "lead_id": "LQ", "created_at": utc(2024, 4, 6)},
    {"opportunity_id": "O7", "lead_id": "L4", "created_at": utc(2024, 4, 7)},
)
EVENTS = (
    {"business_id": "0112038-9", "event_type": "funding", "occurred_at": utc(2024, 5, 1)},
    {"business_id": "9999999-9", "event_type": "hiring", "occurred_at": utc(2024, 5, 10)},
    {"business_id": "0112038-9", "event_type": "funding", "occurred_at": utc(2024, 6, 1)},
)
INPUT_ROWS = {"leads": len(LEADS), "activities": len(ACTIVITIES),
              "opportunities": len(OPPORTUNITIES), "companies": len(COMPANIES),
              "company_events": len(EVENTS)}


@cache
def full_run() -> Prepared:
    return run(ACTIVITIES, OPPORTUNITIES, EVENTS)


def test_every_input_row_lands_in_exactly_one_bucket() -> None:
    counted = full_run().buckets.collect().group_by("source").agg(pl.col("rows").sum())
    assert dict(counted.iter_rows()) == INPUT_ROWS


def test_bucket_counts_of_the_full_scenario() -> None:
    prepared = full_run()
    assert {name: buckets(prepared, name) for name in INPUT_ROWS} == {
        "leads": {"created_after_as_of": 2, "merged": 1, "survivor": 3},
        "activities": {"used": 3, "after_as_of": 1, "lead_created_after_as_of": 1,
                       "lead_quarantined": 1, "unlinked": 2},
        "opportunities": {"used": 3, "after_as_of": 1, "lead_created_after_as_of": 1,
                          "lead_quarantined": 1, "unlinked": 1},
        "companies": {"after_as_of": 2, "unidentified": 1, "used": 3},
        "company_events": {"used": 1, "unlinked": 1, "after_as_of": 1},
    }


def test_buckets_agree_with_what_reaches_the_features_and_the_quarantine() -> None:
    prepared = full_run()
    inputs = prepared.inputs
    reached = {
        "leads": inputs.leads, "activities": inputs.activities,
        "opportunities": inputs.opportunities, "companies": inputs.companies,
        "company_events": inputs.events,
    }
    for name, frame in reached.items():
        counts = buckets(prepared, name)
        assert frame.collect().height == counts.get("used", counts.get("survivor")), name
    set_aside = {"created_after_as_of", "unlinked", "lead_quarantined", "unidentified"}
    quarantine = prepared.quarantine.collect().group_by("source").len()
    expected = {name: sum(n for b, n in buckets(prepared, name).items() if b in set_aside)
                for name in INPUT_ROWS}
    assert dict(quarantine.iter_rows()) == {k: v for k, v in expected.items() if v}


def test_the_buckets_reconcile_with_the_rows_read() -> None:
    prepared = full_run()
    report = reconcile(INPUT_ROWS, {}, prepared.buckets.collect(), scored_leads=3)
    assert report["leads"] == {"read": 6, "created_after_as_of": 2, "merged": 1,
                               "quarantined_by_validation": 0, "survivor": 3, "scored": 3}


def test_a_lazy_run_gives_the_same_buckets_and_inputs_as_a_collected_one() -> None:
    lazy, collected = run(ACTIVITIES, OPPORTUNITIES, EVENTS, checkpoint=stay_lazy), full_run()
    for left, right in [
        (lazy.buckets, collected.buckets),
        (lazy.quarantine, collected.quarantine),
        (lazy.inputs.activities, collected.inputs.activities),
        (lazy.inputs.opportunities, collected.inputs.opportunities),
        (lazy.inputs.events, collected.inputs.events),
    ]:
        assert_frame_equal(left.collect(), right.collect(), check_row_order=False)


def test_empty_optional_sources_have_no_buckets() -> None:
    counted = run().buckets.collect().group_by("source").agg(pl.col("rows").sum())
    assert dict(counted.iter_rows()) == {"leads": 6, "companies": 6}


# ---- quarantine records --------------------------------------------------------------------------


def test_quarantine_has_the_documented_columns() -> None:
    assert tuple(full_run().quarantine.collect_schema().names()) == QUARANTINE_COLUMNS


@pytest.mark.parametrize("name", list(INPUT_ROWS))
def test_quarantine_record_is_the_input_row_itself(name: str) -> None:
    prepared = full_run()
    records = prepared.quarantine.collect().filter(pl.col("source") == name)
    assert records.height > 0
    for record in records.get_column("record"):
        assert list(json.loads(record)) == list(SOURCES[name].dtypes), record


def test_quarantine_record_holds_the_input_row_values() -> None:
    records = full_run().quarantine.collect().filter(pl.col("source") == "opportunities")
    by_row = {row: json.loads(record) for row, record in records.select("source_row", "record")
              .iter_rows()}
    assert by_row[5] == {**dict.fromkeys(SOURCES["opportunities"].dtypes),
                         "opportunity_id": "O4", "lead_id": "L99",
                         "created_at": "2024-04-05T00:00:00+00:00"}


def test_quarantine_record_keeps_a_source_column_and_nothing_added_while_linking() -> None:
    # A source's own extra column stays in the record; company_key, _survivor, _set_aside and
    # the other columns this step adds while linking never appear.
    opportunities = source("opportunities", {"opportunity_id": "O9", "lead_id": "LQ",
                                             "created_at": utc(2024, 4, 1)})
    sources = {
        "leads": source("leads", *LEADS),
        "activities": source("activities"),
        "opportunities": opportunities.with_columns(pl.lit("north").alias("region")),
        "companies": source("companies", *COMPANIES),
        "company_events": source("company_events"),
    }
    prepared = prepare(sources, FILES, CFG, AS_OF, quarantined_lead_ids=QUARANTINED_BY_VALIDATION,
                       checkpoint=collect_checkpoint)
    records = prepared.quarantine.collect().filter(pl.col("source") == "opportunities")
    assert list(json.loads(records["record"].item())) == [*SOURCES["opportunities"].dtypes,
                                                          "region"]


def test_a_quarantined_activity_keeps_its_own_columns_whatever_their_names() -> None:
    # Pass-through columns named like helper columns: the record holds the row's own values,
    # the reason is this job's.
    activities = source(
        "activities",
        {"lead_id": "L99", "activity_type": "email_open", "occurred_at": utc(2024, 5, 1)},
        {"lead_id": "L1", "activity_type": "page_view", "occurred_at": utc(2024, 5, 1)},
    ).with_columns(pl.lit("theirs").alias("_reason"), pl.lit("x").alias("_survivor"))
    sources = {
        "leads": source("leads", *LEADS), "activities": activities,
        "opportunities": source("opportunities"), "companies": source("companies", *COMPANIES),
        "company_events": source("company_events"),
    }
    prepared = prepare(sources, FILES, CFG, AS_OF, checkpoint=collect_checkpoint)
    rows = prepared.quarantine.collect().filter(pl.col("source") == "activities")
    assert rows["reason"].to_list() == ["activity for unknown lead_id 'L99'"]
    record = json.loads(rows["record"][0])
    assert record["_reason"] == "theirs" and record["_survivor"] == "x"
    assert record["lead_id"] == "L99" and "source_row" not in record


def test_an_activity_by_a_malformed_email_is_attributed_to_nobody() -> None:
    leads = (*LEADS, {"lead_id": "L7", "created_at": utc(2024, 1, 5), "email": "unknown"},
             {"lead_id": "L8", "created_at": utc(2024, 1, 6), "email": "unknown"})
    activities = (
        {"email": "unknown", "activity_type": "demo_request", "occurred_at": utc(2024, 5, 1)},
        {"email": "ANNA@acme.fi ", "activity_type": "page_view", "occurred_at": utc(2024, 5, 1)},
    )
    prepared = run(activities=activities, leads=leads)
    used = prepared.inputs.activities.collect()
    assert used["lead_id"].to_list() == ["L1"], "only the well-formed email links"
    assert quarantined(prepared, "activities") == {2: "activity email matches no lead"}


def _frames(prepared: Prepared) -> dict[str, pl.DataFrame]:
    """Every frame of `prepared`, collected, its rows sorted (prepare keeps no row order)."""
    lazy = {**{name: getattr(prepared.inputs, name) for name in (
        "leads", "lead_companies", "activities", "opportunities", "companies", "events")},
        **{name: getattr(prepared, name) for name in (
            "duplicates", "matches", "quarantine", "buckets", "company_identities")}}
    collected = {name: frame.lazy().collect() for name, frame in lazy.items()}
    return {name: frame.sort(frame.columns, nulls_last=True)
            for name, frame in collected.items()}


def test_prepared_with_the_memo_of_its_leads_and_companies_checks_those_once_and_is_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow's memo (every business ID and domain of the leads and companies) gives the
    rows prepare gives without it, and prepare then checks only the business IDs that
    opportunities and company events name without a country (not in the memo) and whose text
    is no company's business_id ("0112038-9" is one's: it names that company unchecked)."""
    from features.resolve import identity
    from features.resolve.enrich import match_memo

    sources = sources_of(ACTIVITIES, OPPORTUNITIES, EVENTS)
    without = _frames(prepare(sources, FILES, CFG, AS_OF,
                              quarantined_lead_ids=QUARANTINED_BY_VALIDATION,
                              checkpoint=collect_checkpoint))
    memo = match_memo(sources["leads"], sources["companies"])
    checked: list[tuple[str | None, str | None]] = []
    key = identity.business_id_key

    def recorded(value: str | None, country: str | None) -> object:
        checked.append((value, country))
        return key(value, country)

    def never(*args: object) -> object:
        raise AssertionError("a domain of the memo was looked up again")

    monkeypatch.setattr(identity, "business_id_key", recorded)
    monkeypatch.setattr(identity, "registrable_domain", never)
    with_memo = _frames(prepare(sources, FILES, CFG, AS_OF,
                                quarantined_lead_ids=QUARANTINED_BY_VALIDATION,
                                checkpoint=collect_checkpoint, memo=memo))
    assert with_memo.keys() == without.keys()
    for name, frame in with_memo.items():
        assert_frame_equal(frame, without[name])
    assert all(country is None for _, country in checked)
    assert {value for value, _ in checked} == {"99999999", None}
