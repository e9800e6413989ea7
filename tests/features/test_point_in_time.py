"""The leakage proof: features at D are a function of what was known before D, and nothing else.

The same PreparedInputs are built three ways: as they are (with rows dated on and after D), with
every row dated on or after D removed (and opportunities still open at D shown open), and with
each of those rows moved to a random later date. The features at D must be identical.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import Config, ModelConfig
from features.exprs import with_text_list
from features.point_in_time.assemble import PreparedInputs, _all_domains, build_features
from features.point_in_time.pipeline import conversion_labels
from features.point_in_time.snapshots import many_snapshots, scoring_snapshots
from features.point_in_time.training import training_leads, training_set
from features.schema import LEADS, UTC_DATETIME

D = date(2024, 6, 1)
D_START = datetime(2024, 6, 1, tzinfo=UTC)
CFG = Config()
JUST_BEFORE = D_START - timedelta(microseconds=1)

LEAD_SCHEMA = {**LEADS.dtypes, "merged_ids": pl.List(pl.String())}
MATCH_SCHEMA = {"lead_id": pl.String(), "company_key": pl.String(), "match_method": pl.String(),
                "match_confidence": pl.Float64(), "email_quality": pl.String(),
                "lead_business_id": pl.String()}
ACTIVITY_SCHEMA = {"lead_id": pl.String(), "activity_type": pl.String(),
                   "occurred_at": UTC_DATETIME}
OPPORTUNITY_SCHEMA = {"opportunity_id": pl.String(), "lead_id": pl.String(),
                      "company_key": pl.String(), "created_at": UTC_DATETIME,
                      "closed_at": UTC_DATETIME, "won": pl.Boolean(), "amount": pl.Float64(),
                      "stage": pl.String()}
COMPANY_SCHEMA = {"company_key": pl.String(), "updated_at": UTC_DATETIME,
                  "industry_code": pl.String(), "industry": pl.String(), "employees": pl.Int64(),
                  "revenue": pl.Float64(), "founded_year": pl.Int64(),
                  "technologies": pl.List(pl.String()), "open_jobs": pl.Int64(),
                  "status": pl.String(), "match_domain": pl.String()}
EVENT_SCHEMA = {"company_key": pl.String(), "event_type": pl.String(),
                "occurred_at": UTC_DATETIME}

Rows = list[dict[str, Any]]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def frame(rows: Rows, schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    return pl.LazyFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def lead(lead_id: str, created_at: datetime, **values: Any) -> dict[str, Any]:
    return {"lead_id": lead_id, "created_at": created_at, "merged_ids": [], **values}


LEAD_ROWS: Rows = [
    lead("A", utc(2024, 1, 1), title="CTO", phone="0401234567", budget=1e4,
         timeline=utc(2024, 9, 1).date(), need="CRM", country="FI", crm_stage="MQL"),
    lead("B", utc(2024, 3, 1), title="Myyntipäällikkö", country="FI", opted_out=False),
    lead("C", JUST_BEFORE, title="Developer"),
    lead("LATE", D_START),  # created on D: not a snapshot at D
]
MATCH_ROWS: Rows = [
    {"lead_id": "A", "company_key": "K1", "match_method": "business_id", "match_confidence": 1.0,
     "email_quality": "business", "lead_business_id": "K1"},
    {"lead_id": "B", "company_key": "K2", "match_method": "domain", "match_confidence": 0.95,
     "email_quality": "business"},
    {"lead_id": "C", "match_method": "none", "email_quality": "free_mail"},
    {"lead_id": "LATE", "company_key": "K1", "match_method": "exact_name",
     "match_confidence": 0.9},
]
ACTIVITY_ROWS: Rows = [
    {"lead_id": "A", "activity_type": "page_view", "occurred_at": utc(2024, 2, 1)},
    {"lead_id": "A", "activity_type": "pricing_request", "occurred_at": utc(2024, 5, 20, 8)},
    {"lead_id": "A", "activity_type": "email_open", "occurred_at": JUST_BEFORE},
    {"lead_id": "A", "activity_type": "demo_request", "occurred_at": D_START},
    {"lead_id": "A", "activity_type": "unsubscribe", "occurred_at": utc(2024, 6, 1, 13)},
    {"lead_id": "B", "activity_type": "webinar_attended", "occurred_at": utc(2024, 4, 1)},
    {"lead_id": "B", "activity_type": "contact_sales", "occurred_at": utc(2024, 6, 3)},
    {"lead_id": "B", "activity_type": "bounce", "occurred_at": utc(2024, 8, 1)},
    {"lead_id": "C", "activity_type": "meeting", "occurred_at": utc(2024, 6, 2)},
    {"lead_id": "LATE", "activity_type": "reply", "occurred_at": utc(2024, 5, 1)},
]
OPPORTUNITY_ROWS: Rows = [
    # A: lost before D; won before D; open at D (won after D).
    {"opportunity_id": "O1", "lead_id": "A", "company_key": "K1", "created_at": utc(2024, 2, 1),
     "closed_at": utc(2024, 3, 1), "won": False},
    {"opportunity_id": "O2", "lead_id": "A", "company_key": "K1", "created_at": utc(2024, 1, 15),
     "closed_at": utc(2024, 2, 15), "won": True, "amount": 5e3},
    {"opportunity_id": "O3", "lead_id": "A", "company_key": "K1", "created_at": utc(2024, 5, 1),
     "closed_at": utc(2024, 6, 10), "won": True, "amount": 9e3},
    # B: created on D; B's company: a company-only deal open at D, won after.
    {"opportunity_id": "O4", "lead_id": "B", "company_key": "K2", "created_at": D_START},
    {"opportunity_id": "O5", "company_key": "K2", "created_at": utc(2024, 4, 1),
     "closed_at": utc(2024, 6, 5), "won": True},
    # C: created and won after D, with no close date; lost exactly at D.
    {"opportunity_id": "O6", "lead_id": "C", "created_at": utc(2024, 6, 20), "won": True},
    {"opportunity_id": "O7", "lead_id": "C", "created_at": utc(2024, 5, 1),
     "closed_at": D_START, "won": False},
]


def company(key: str, updated_at: datetime | None, employees: int, **values: Any) -> dict[str, Any]:
    return {"company_key": key, "updated_at": updated_at, "employees": employees, **values}


COMPANY_ROWS: Rows = [
    company("K1", utc(2023, 1, 1), 50, industry_code="6201", status="active",
            technologies=["aws"], founded_year=2015, open_jobs=2, match_domain="k1.fi"),
    company("K1", utc(2024, 5, 31, 23, 59), 60, industry_code="6201", status="active",
            technologies=["aws", "salesforce"], founded_year=2015, open_jobs=5),
    company("K1", D_START, 70, industry_code="6202", status="Bankrupt"),
    company("K1", utc(2024, 9, 1), 80, industry_code="6202", status="dissolved"),
    company("K2", None, 500, industry_code="4711"),
    company("K2", utc(2024, 6, 15), 550, industry_code="6201"),
]
EVENT_ROWS: Rows = [
    {"company_key": "K1", "event_type": "funding", "occurred_at": utc(2024, 4, 1)},
    {"company_key": "K1", "event_type": "hiring", "occurred_at": D_START},
    {"company_key": "K1", "event_type": "bankruptcy", "occurred_at": utc(2024, 7, 1)},
    {"company_key": "K2", "event_type": "hiring", "occurred_at": JUST_BEFORE},
    {"company_key": "K2", "event_type": "funding", "occurred_at": utc(2024, 6, 2)},
]

# The moment that dates each kind of row (opportunities also carry closed_at).
DATED = {"activities": "occurred_at", "companies": "updated_at", "events": "occurred_at"}


def inputs(
    activities: Rows = ACTIVITY_ROWS,
    opportunities: Rows = OPPORTUNITY_ROWS,
    companies: Rows = COMPANY_ROWS,
    events: Rows = EVENT_ROWS,
) -> PreparedInputs:
    return PreparedInputs(
        leads=frame(LEAD_ROWS, LEAD_SCHEMA),
        lead_companies=frame(MATCH_ROWS, MATCH_SCHEMA),
        activities=frame(activities, ACTIVITY_SCHEMA),
        opportunities=frame(opportunities, OPPORTUNITY_SCHEMA),
        companies=frame(companies, COMPANY_SCHEMA),
        events=frame(events, EVENT_SCHEMA),
    )


def features_at(prepared: PreparedInputs, as_of: date = D) -> pl.DataFrame:
    snapshots = scoring_snapshots(prepared.leads, as_of)
    return build_features(snapshots, prepared, CFG).collect()


def known(moment: datetime | None) -> bool:
    return moment is not None and moment < D_START


def without_the_future(rows: Rows, column: str) -> Rows:
    return [r for r in rows if known(r[column]) or (column == "updated_at" and r[column] is None)]


def opportunities_as_known_at_d() -> Rows:
    """Created before D only; a close after D is not known yet, so the deal is still open."""
    kept = [dict(r) for r in OPPORTUNITY_ROWS if known(r["created_at"])]
    for row in kept:
        if row.get("closed_at") is not None and not known(row["closed_at"]):
            row["closed_at"] = row["won"] = None
    return kept


def later(rng: random.Random) -> datetime:
    """A random instant on or after D began (sometimes exactly then)."""
    if rng.random() < 0.25:
        return D_START
    return D_START + timedelta(microseconds=rng.randrange(400 * 86_400 * 10**6))


def moved(rows: Rows, columns: tuple[str, ...], rng: random.Random) -> Rows:
    result = []
    for row in rows:
        row = dict(row)
        for column in columns:
            if row.get(column) is not None and not known(row[column]):
                row[column] = later(rng)
        result.append(row)
    return result


def test_future_rows_in_the_fixture_are_real() -> None:
    # Each source holds rows on or after D, and they change the features at a later date: the
    # proof below would be empty otherwise.
    for rows, column in [(ACTIVITY_ROWS, "occurred_at"), (OPPORTUNITY_ROWS, "created_at"),
                         (OPPORTUNITY_ROWS, "closed_at"), (COMPANY_ROWS, "updated_at"),
                         (EVENT_ROWS, "occurred_at")]:
        assert any(r.get(column) is not None and not known(r[column]) for r in rows), column
    full, trimmed = inputs(), inputs(
        activities=without_the_future(ACTIVITY_ROWS, "occurred_at"),
        opportunities=opportunities_as_known_at_d(),
        companies=without_the_future(COMPANY_ROWS, "updated_at"),
        events=without_the_future(EVENT_ROWS, "occurred_at"),
    )
    later_date = date(2025, 9, 1)
    differs = features_at(full, later_date).drop("lead_age_days", "timeline_days") != (
        features_at(trimmed, later_date).drop("lead_age_days", "timeline_days")
    )
    changed = {c for c in differs.columns if differs[c].fill_null(True).any()}
    assert {"activity_count_total", "employees", "open_opportunity", "company_won_deal",
            "bankrupt", "days_since_funding"} <= changed


def test_features_at_d_read_what_was_known_before_d() -> None:
    result = features_at(inputs())
    assert result["lead_id"].to_list() == ["A", "B", "C"]
    a, b, c = result.iter_rows(named=True)
    assert (a["activity_count_total"], a["intent_signals_recent"]) == (3, 1)
    # The email open and the company update happened on the day before D: 1 day ago.
    assert (a["unsubscribed"], a["days_since_last_activity"]) == (False, 1)
    assert (a["employees"], a["firmographics_age_days"], a["company_status"]) == (60, 1, "active")
    assert (a["open_opportunity"], a["won_deal"], a["lost_opportunities"]) == (True, True, 1)
    assert (a["funded_recently"], a["hiring_events_recent"], a["bankrupt"]) == (True, 0, False)
    assert (b["activity_count_total"], b["bounced_activity"], b["employees"]) == (1, False, 500)
    assert (b["open_opportunity"], b["company_open_opportunity"], b["company_won_deal"]) == (
        False, True, False,
    )
    assert (b["hiring_events_recent"], b["funded_recently"]) == (1, False)
    assert (c["activity_count_total"], c["open_opportunity"], c["won_deal"]) == (0, True, False)
    assert (c["lost_opportunities"], c["has_firmographics"]) == (0, False)


def test_deleting_everything_dated_on_or_after_d_changes_no_feature() -> None:
    trimmed = inputs(
        activities=without_the_future(ACTIVITY_ROWS, "occurred_at"),
        opportunities=opportunities_as_known_at_d(),
        companies=without_the_future(COMPANY_ROWS, "updated_at"),
        events=without_the_future(EVENT_ROWS, "occurred_at"),
    )
    assert_frame_equal(features_at(trimmed), features_at(inputs()))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_moving_everything_dated_on_or_after_d_to_later_dates_changes_no_feature(
    seed: int,
) -> None:
    rng = random.Random(seed)
    shuffled = inputs(
        activities=moved(ACTIVITY_ROWS, ("occurred_at",), rng),
        opportunities=moved(OPPORTUNITY_ROWS, ("created_at", "closed_at"), rng),
        companies=moved(COMPANY_ROWS, ("updated_at",), rng),
        events=moved(EVENT_ROWS, ("occurred_at",), rng),
    )
    assert_frame_equal(features_at(shuffled), features_at(inputs()))


# ---- training_set --------------------------------------------------------------------------------

EARLY, LATER = date(2024, 3, 1), date(2024, 4, 1)

TRAIN_LEADS: Rows = [
    lead("OPEN", utc(2024, 1, 1)),  # opportunity created Mar 10, still open
    lead("WON", utc(2024, 1, 1)),  # deal won Feb 15
    lead("COLLEAGUE", utc(2024, 1, 1)),  # same company as WON: a customer already
    lead("NEITHER", utc(2024, 1, 1)),
    lead("LOST", utc(2024, 1, 1)),  # lost in February, new opportunity on May 1
    lead("BUSY", utc(2024, 1, 1)),  # someone else at its company has an open opportunity
    lead("NEW", utc(2024, 3, 15)),  # exists only at the later date
]
TRAIN_MATCHES: Rows = [
    {"lead_id": "WON", "company_key": "KW"}, {"lead_id": "COLLEAGUE", "company_key": "KW"},
    {"lead_id": "BUSY", "company_key": "KB"},
]
TRAIN_OPPORTUNITIES: Rows = [
    {"opportunity_id": "T1", "lead_id": "OPEN", "created_at": utc(2024, 3, 10)},
    {"opportunity_id": "T2", "lead_id": "WON", "company_key": "KW", "created_at": utc(2024, 2, 1),
     "closed_at": utc(2024, 2, 15), "won": True},
    {"opportunity_id": "T3", "lead_id": "LOST", "created_at": utc(2024, 2, 1),
     "closed_at": utc(2024, 2, 20), "won": False},
    {"opportunity_id": "T4", "lead_id": "LOST", "created_at": utc(2024, 5, 1),
     "closed_at": utc(2024, 6, 15), "won": True},
    {"opportunity_id": "T5", "company_key": "KB", "created_at": utc(2024, 2, 1)},
    {"opportunity_id": "T6", "lead_id": "NEW", "created_at": utc(2024, 7, 15)},
]


def training_inputs() -> PreparedInputs:
    return PreparedInputs(
        leads=frame(TRAIN_LEADS, LEAD_SCHEMA),
        lead_companies=frame(TRAIN_MATCHES, MATCH_SCHEMA),
        activities=frame([], ACTIVITY_SCHEMA),
        opportunities=frame(TRAIN_OPPORTUNITIES, OPPORTUNITY_SCHEMA),
        companies=frame([], COMPANY_SCHEMA),
        events=frame([], EVENT_SCHEMA),
    )


def training_rows(label: Literal["opportunity", "won"]) -> set[tuple[str, date, bool]]:
    cfg = Config(model=ModelConfig(label=label, horizon_days=90))
    result = training_set(training_inputs(), cfg, [EARLY, LATER]).collect()
    return set(result.select("lead_id", "as_of", "converted").iter_rows())


def test_training_set_leaves_out_leads_past_the_stage_being_predicted() -> None:
    rows = training_rows("opportunity")
    present = {(lead_id, as_of) for lead_id, as_of, _ in rows}
    assert present == {
        ("OPEN", EARLY),  # not yet open on Mar 1
        ("NEITHER", EARLY), ("NEITHER", LATER),
        ("LOST", EARLY), ("LOST", LATER),  # a lost deal leaves the lead open to convert
        ("BUSY", EARLY), ("BUSY", LATER),  # a colleague's open opportunity does not count
        ("NEW", LATER),
    }


def test_training_labels_for_opportunity_created_within_the_horizon() -> None:
    assert training_rows("opportunity") == {
        ("OPEN", EARLY, True),
        ("NEITHER", EARLY, False), ("NEITHER", LATER, False),
        ("LOST", EARLY, True), ("LOST", LATER, True),  # May 1 is within 90 days of both
        ("BUSY", EARLY, False), ("BUSY", LATER, False),  # company-only deals never label
        ("NEW", LATER, False),  # Jul 15 is 105 days after Apr 1
    }


def test_training_labels_for_deal_won_within_the_horizon() -> None:
    labels = {(lead_id, as_of): converted for lead_id, as_of, converted in training_rows("won")}
    assert labels[("OPEN", EARLY)] is False  # created, never won
    assert labels[("LOST", EARLY)] is False  # won Jun 15: 106 days after Mar 1
    assert labels[("LOST", LATER)] is True  # 75 days after Apr 1


def test_training_set_is_sorted_and_carries_features_and_label() -> None:
    result = training_set(training_inputs(), CFG, [LATER, EARLY]).collect()
    keys = result.select("lead_id", "as_of")
    assert_frame_equal(keys, keys.sort("lead_id", "as_of"))
    assert {"converted", "activity_count_total", "seniority", "open_opportunity"} <= set(
        result.columns
    )
    assert result["converted"].null_count() == 0


@pytest.mark.parametrize("label", ["closed", "Won", ""])
def test_conversion_labels_reject_an_unknown_label(label: str) -> None:
    snapshots = many_snapshots(frame(TRAIN_LEADS, LEAD_SCHEMA), [EARLY])
    opportunities = frame(TRAIN_OPPORTUNITIES, OPPORTUNITY_SCHEMA)
    with pytest.raises(ValueError, match="label must be 'opportunity' or 'won'"):
        conversion_labels(snapshots, opportunities, 90, label)


# ---- training_leads: a fixed subset when there are too many leads --------------------------------


def many_leads(count: int) -> pl.LazyFrame:
    return frame([lead(f"L{i:05d}", utc(2024, 1, 1)) for i in range(count)], LEAD_SCHEMA)


def kept(leads: pl.LazyFrame, max_training_leads: int = 100, seed: int = 42) -> list[str]:
    cfg = Config(model=ModelConfig(max_training_leads=max_training_leads, seed=seed))
    return sorted(training_leads(leads, cfg).collect()["lead_id"])


def test_max_training_leads_defaults_to_25000() -> None:
    assert ModelConfig().max_training_leads == 25_000


def test_training_leads_keep_at_most_max_training_leads() -> None:
    leads = many_leads(1000)
    chosen = kept(leads, 100)
    assert len(chosen) == len(set(chosen)) == 100
    assert set(chosen) <= set(leads.collect()["lead_id"])


def test_training_leads_are_the_same_on_every_call_whatever_the_row_order() -> None:
    leads = many_leads(1000)
    shuffled = leads.collect().sample(fraction=1.0, shuffle=True, seed=7).lazy()
    assert kept(leads) == kept(leads) == kept(shuffled)


def test_training_leads_keep_whole_rows() -> None:
    leads = many_leads(300)
    chosen = training_leads(leads, Config(model=ModelConfig(max_training_leads=100))).collect()
    assert chosen.schema == leads.collect_schema()
    ids = chosen["lead_id"].to_list()
    assert_frame_equal(chosen, leads.collect().filter(pl.col("lead_id").is_in(ids)))


def test_a_larger_maximum_keeps_every_lead_a_smaller_one_kept() -> None:
    leads = many_leads(1000)
    assert set(kept(leads, 100)) <= set(kept(leads, 250))


def test_the_subset_follows_the_seed() -> None:
    leads = many_leads(1000)
    assert kept(leads, seed=1) != kept(leads, seed=2)
    assert kept(leads, seed=1) == kept(leads, seed=1)


@pytest.mark.parametrize("count", [0, 1, 60, 100])
def test_training_leads_keep_every_lead_when_there_are_not_more_than_the_maximum(
    count: int,
) -> None:
    leads = many_leads(count)
    assert kept(leads, 100) == sorted(leads.collect()["lead_id"])


def test_training_set_is_built_from_the_training_leads_only() -> None:
    leads = many_leads(300)
    inputs = PreparedInputs(
        leads=leads,
        lead_companies=frame([], MATCH_SCHEMA),
        activities=frame([], ACTIVITY_SCHEMA),
        opportunities=frame([], OPPORTUNITY_SCHEMA),
        companies=frame([], COMPANY_SCHEMA),
        events=frame([], EVENT_SCHEMA),
    )
    cfg = Config(model=ModelConfig(max_training_leads=100))
    result = training_set(inputs, cfg, [EARLY, LATER]).collect()
    assert sorted(result["lead_id"].unique()) == kept(leads, 100)
    assert result.height == 200  # each kept lead at both dates


def test_domains_list_every_domain_a_lead_is_known_by_once() -> None:
    with_own_domains = [
        {**row, **own} for row, own in zip(MATCH_ROWS, [
            {"lead_email_domain": "k1.fi", "lead_website_domain": "k1.fi"},
            {"lead_email_domain": "rival.example"},
            {"lead_email_domain": "gmail.com"},
            {},
        ], strict=True)
    ]
    schema = {**MATCH_SCHEMA, "lead_email_domain": pl.String(),
              "lead_website_domain": pl.String()}
    prepared = dataclasses.replace(inputs(), lead_companies=frame(with_own_domains, schema))
    domains = dict(features_at(prepared).select("lead_id", "domains").iter_rows())
    # A's website and email share k1.fi: listed once. Free mail is a domain too.
    assert domains == {"A": ["k1.fi"], "B": ["rival.example"], "C": ["gmail.com"]}


def test_domains_are_each_domain_once_in_order_whatever_is_missing_or_shared() -> None:
    values = [None, "a.fi", "b.fi"]
    rows = [(c, w, e) for c in values for w in values for e in values]
    columns = ["company_domain", "lead_website_domain", "lead_email_domain"]
    known = pl.LazyFrame(rows, schema=dict.fromkeys(columns, pl.String()), orient="row")
    expected = known.select(pl.concat_list(columns).list.drop_nulls()
                            .list.unique(maintain_order=True).alias("domains")).collect()
    got = with_text_list(known, "domains", _all_domains()).select("domains").collect()
    assert_frame_equal(got, expected)


def test_companies_and_events_no_lead_is_matched_to_change_no_feature() -> None:
    # build_features reads only the matched companies' snapshots and events (a partition's
    # leads name a fraction of a run's companies): others, known long before D, change
    # nothing, and the fixture's own companies still count.
    others = [{**row, "company_key": f"OTHER-{row['company_key']}"} for row in COMPANY_ROWS]
    other_events = [{**row, "company_key": f"OTHER-{row['company_key']}"} for row in EVENT_ROWS]
    alone = features_at(inputs())
    crowded = features_at(inputs(companies=[*others, *COMPANY_ROWS, *others],
                                 events=[*other_events, *EVENT_ROWS]))
    assert alone["has_firmographics"].any() and alone["hiring_events_recent"].sum() > 0
    assert_frame_equal(crowded, alone)
