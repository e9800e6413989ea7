from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import FeaturesConfig
from features.point_in_time.company import (
    EVENT_COLUMNS,
    FIRMOGRAPHIC_COLUMNS,
    company_event_features,
    firmographic_features,
)
from features.schema import UTC_DATETIME

AS_OF = date(2024, 6, 1)
START = datetime(2024, 6, 1, tzinfo=UTC)
CFG = FeaturesConfig()  # stale after 365 days; events look back 180 days

COMPANY_SCHEMA = {
    "company_key": pl.String(),
    "updated_at": UTC_DATETIME,
    "industry_code": pl.String(),
    "industry": pl.String(),
    "employees": pl.Int64(),
    "revenue": pl.Float64(),
    "founded_year": pl.Int64(),
    "technologies": pl.List(pl.String()),
    "open_jobs": pl.Int64(),
    "status": pl.String(),
    "match_domain": pl.String(),
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def snapshots(*rows: tuple[str, date]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"lead_id": pl.String, "as_of": pl.Date}, orient="row")


def lead_companies(*rows: tuple[str, str | None]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"lead_id": pl.String, "company_key": pl.String},
                        orient="row")


def companies(*rows: dict[str, Any]) -> pl.LazyFrame:
    return pl.LazyFrame([{c: r.get(c) for c in COMPANY_SCHEMA} for r in rows],
                        schema=COMPANY_SCHEMA)


def snapshot(
    key: str, updated_at: datetime | None, employees: int, **values: Any
) -> dict[str, Any]:
    return {"company_key": key, "updated_at": updated_at, "employees": employees, **values}


def firmographics(
    comps: pl.LazyFrame,
    snaps: pl.LazyFrame | None = None,
    links: pl.LazyFrame | None = None,
    cfg: FeaturesConfig = CFG,
) -> pl.DataFrame:
    snaps = snapshots(("A", AS_OF)) if snaps is None else snaps
    links = lead_companies(("A", "FI:1")) if links is None else links
    return firmographic_features(snaps, links, comps, cfg).collect().sort("lead_id", "as_of")


def one(comps: pl.LazyFrame, **kwargs: Any) -> dict[str, Any]:
    return firmographics(comps, **kwargs).row(0, named=True)


# ---- firmographic_features -----------------------------------------------------------------------


def test_output_columns_are_the_snapshot_key_company_key_and_firmographic_columns() -> None:
    result = firmographics(companies(snapshot("FI:1", utc(2024, 1, 1), 10)))
    assert result.columns == ["lead_id", "as_of", "company_key", *FIRMOGRAPHIC_COLUMNS]


def test_the_newest_snapshot_updated_before_as_of_is_used() -> None:
    comps = companies(
        snapshot("FI:1", utc(2023, 1, 1), 10),
        snapshot("FI:1", utc(2024, 5, 31, 23, 59, 59), 20),
        snapshot("FI:1", utc(2024, 3, 1), 15),
    )
    row = one(comps)
    assert row["employees"] == 20
    assert row["firmographics_updated_at"] == utc(2024, 5, 31, 23, 59, 59)
    assert row["firmographics_age_days"] == 1  # updated yesterday


def test_a_snapshot_updated_on_the_as_of_date_is_not_yet_known() -> None:
    comps = companies(
        snapshot("FI:1", utc(2024, 3, 1), 10),
        snapshot("FI:1", START, 99),  # midnight of the as_of day
        snapshot("FI:1", utc(2024, 6, 1, 15), 98),
        snapshot("FI:1", utc(2024, 7, 1), 97),
    )
    row = one(comps)
    assert row["employees"] == 10
    assert row["firmographics_updated_at"] == utc(2024, 3, 1)


def test_only_snapshots_after_as_of_mean_no_firmographics() -> None:
    row = one(companies(snapshot("FI:1", START, 99)))
    assert row["has_firmographics"] is False
    assert row["company_key"] == "FI:1"
    assert row["employees"] is None
    assert row["firmographics_age_days"] is None


def test_snapshot_without_updated_at_is_always_known_with_null_age() -> None:
    row = one(companies(snapshot("FI:1", None, 42)))
    assert row["has_firmographics"] is True
    assert row["employees"] == 42
    assert row["firmographics_updated_at"] is None
    assert row["firmographics_age_days"] is None
    assert row["firmographics_stale"] is None  # unknown age: not known to be fresh either


def test_a_dated_snapshot_known_at_as_of_wins_over_an_undated_one() -> None:
    comps = companies(snapshot("FI:1", None, 42), snapshot("FI:1", utc(2024, 1, 1), 50))
    assert one(comps)["employees"] == 50


def test_an_undated_snapshot_is_used_when_the_dated_one_is_not_yet_known() -> None:
    comps = companies(snapshot("FI:1", None, 42), snapshot("FI:1", utc(2024, 7, 1), 50))
    row = one(comps)
    assert (row["employees"], row["firmographics_age_days"]) == (42, None)


def test_each_lead_snapshot_gets_the_company_snapshot_valid_at_its_own_date() -> None:
    comps = companies(
        snapshot("FI:1", utc(2024, 1, 1), 10),
        snapshot("FI:1", utc(2024, 4, 1), 20),
        snapshot("SE:2", utc(2024, 2, 1), 300),
    )
    snaps = snapshots(("A", date(2024, 2, 1)), ("A", date(2024, 4, 2)), ("B", date(2024, 2, 2)))
    links = lead_companies(("A", "FI:1"), ("B", "SE:2"))
    result = firmographics(comps, snaps, links).select("lead_id", "as_of", "employees")
    expected = pl.DataFrame(
        {
            "lead_id": ["A", "A", "B"],
            "as_of": [date(2024, 2, 1), date(2024, 4, 2), date(2024, 2, 2)],
            "employees": [10, 20, 300],
        }
    )
    assert_frame_equal(result, expected)


def test_staleness_starts_after_the_configured_maximum_age() -> None:
    comps = companies(
        snapshot("FI:1", START - timedelta(days=365), 1),
        snapshot("FI:2", START - timedelta(days=366), 2),
        snapshot("FI:3", START - timedelta(days=30), 3),
    )
    snaps = snapshots(("A", AS_OF), ("B", AS_OF), ("C", AS_OF))
    links = lead_companies(("A", "FI:1"), ("B", "FI:2"), ("C", "FI:3"))
    result = firmographics(comps, snaps, links).select(
        "lead_id", "firmographics_age_days", "firmographics_stale"
    )
    expected = pl.DataFrame(
        {
            "lead_id": ["A", "B", "C"],
            "firmographics_age_days": [365, 366, 30],
            "firmographics_stale": [False, True, False],
        },
        schema_overrides={"firmographics_age_days": pl.Int32},
    )
    assert_frame_equal(result, expected)


def test_firmographics_age_is_calendar_days_whatever_the_time_of_day() -> None:
    comps = companies(
        snapshot("FI:1", START - timedelta(days=365) + timedelta(hours=23), 1),  # 2023-06-02
        snapshot("FI:2", START - timedelta(days=365, hours=1), 2),  # 2023-06-01, 23:00
    )
    snaps = snapshots(("A", AS_OF), ("B", AS_OF))
    links = lead_companies(("A", "FI:1"), ("B", "FI:2"))
    result = firmographics(comps, snaps, links)
    assert result["firmographics_age_days"].to_list() == [365, 366]
    assert result["firmographics_stale"].to_list() == [False, True]


def test_staleness_follows_the_configured_maximum_age() -> None:
    comps = companies(snapshot("FI:1", START - timedelta(days=31), 1))
    assert one(comps, cfg=FeaturesConfig(firmographics_max_age_days=30))["firmographics_stale"]


def test_firmographic_values_are_carried_and_derived() -> None:
    comps = companies(
        snapshot("FI:1", utc(2024, 1, 1), 120, industry_code="6201", industry="Software",
                 revenue=1.5e7, founded_year=2010, technologies=["salesforce", "aws"],
                 open_jobs=4, status="Active", match_domain="acme.fi"),
    )
    row = one(comps)
    assert row["has_firmographics"] is True
    assert row["industry_code"] == "6201"
    assert row["industry"] == "Software"
    assert row["revenue"] == 1.5e7
    assert row["company_age_years"] == 14
    assert row["technologies"] == ["salesforce", "aws"]
    assert row["open_jobs"] == 4
    assert row["company_status"] == "active"  # lower-cased
    assert row["company_domain"] == "acme.fi"


def test_lead_without_a_company_has_no_firmographics() -> None:
    comps = companies(snapshot("FI:1", utc(2024, 1, 1), 10))
    snaps = snapshots(("A", AS_OF), ("NONE", AS_OF), ("MISSING", AS_OF))
    links = lead_companies(("A", "FI:1"), ("NONE", None))  # MISSING has no link row at all
    result = firmographics(comps, snaps, links).select(
        "lead_id", "company_key", "has_firmographics", "employees"
    )
    expected = pl.DataFrame(
        {
            "lead_id": ["A", "MISSING", "NONE"],
            "company_key": ["FI:1", None, None],
            "has_firmographics": [True, False, False],
            "employees": [10, None, None],
        }
    )
    assert_frame_equal(result, expected)


# ---- company_event_features ----------------------------------------------------------------------


def keyed_snapshots(*rows: tuple[str, date, str | None]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows, schema={"lead_id": pl.String, "as_of": pl.Date, "company_key": pl.String},
        orient="row",
    )


def events(*rows: tuple[str, str, datetime]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows,
        schema={"company_key": pl.String, "event_type": pl.String, "occurred_at": UTC_DATETIME},
        orient="row",
    )


def event_row(evs: pl.LazyFrame, cfg: FeaturesConfig = CFG) -> dict[str, Any]:
    snaps = keyed_snapshots(("A", AS_OF, "FI:1"))
    return company_event_features(snaps, evs, cfg).collect().row(0, named=True)


def before(days: float, hour: int = 0) -> datetime:
    """`days` before the as_of day began, then `hour` hours later (on the same calendar day
    when 0 <= hour < 24 and days is whole)."""
    return START - timedelta(days=days) + timedelta(hours=hour)


def test_event_output_columns_are_the_snapshot_key_and_event_columns() -> None:
    snaps = keyed_snapshots(("A", AS_OF, "FI:1"))
    result = company_event_features(snaps, events(), CFG).collect()
    assert result.columns == ["lead_id", "as_of", *EVENT_COLUMNS]


def test_events_within_the_lookback_set_their_flags() -> None:
    evs = events(
        ("FI:1", "funding", before(10)),
        ("FI:1", "hiring", before(1)),
        ("FI:1", "hiring", before(179.5)),
        ("FI:1", "expansion", before(60)),
        ("FI:1", "leadership_change", before(100)),
    )
    row = event_row(evs)
    assert row["funded_recently"] is True
    assert row["days_since_funding"] == 10
    assert row["hiring_events_recent"] == 2
    assert row["expansion_recently"] is True
    assert row["leadership_change_recently"] is True
    assert row["bankrupt"] is False


def test_events_older_than_the_lookback_do_not_count_as_recent() -> None:
    evs = events(
        ("FI:1", "funding", before(400)),
        ("FI:1", "hiring", before(180, hour=-1)),  # the 181st day back (23:00): outside
        ("FI:1", "expansion", before(200)),
        ("FI:1", "leadership_change", before(181)),
    )
    row = event_row(evs)
    assert row["funded_recently"] is False
    assert row["days_since_funding"] == 400  # recency looks back without limit
    assert row["hiring_events_recent"] == 0
    assert row["expansion_recently"] is False
    assert row["leadership_change_recently"] is False


@pytest.mark.parametrize("hour", [0, 23], ids=["midnight", "late"])
def test_an_event_on_the_last_day_of_the_lookback_is_recent(hour: int) -> None:
    # "Within 180 days" = the 180 calendar days before as_of, the 180th included.
    evs = events(
        ("FI:1", "funding", before(180, hour)),
        ("FI:1", "hiring", before(180, hour)),
        ("FI:1", "expansion", before(180, hour)),
        ("FI:1", "leadership_change", before(180, hour)),
    )
    row = event_row(evs)
    assert row["days_since_funding"] == 180
    assert (row["funded_recently"], row["hiring_events_recent"], row["expansion_recently"],
            row["leadership_change_recently"]) == (True, 1, True, True)


def test_days_since_funding_is_calendar_days() -> None:
    assert event_row(events(("FI:1", "funding", before(1, 23))))["days_since_funding"] == 1
    assert event_row(events(("FI:1", "funding", before(10, 6))))["days_since_funding"] == 10


def test_lookback_follows_the_config() -> None:
    evs = events(("FI:1", "hiring", before(20)), ("FI:1", "hiring", before(40)))
    assert event_row(evs, FeaturesConfig(company_event_lookback_days=30))[
        "hiring_events_recent"
    ] == 1


def test_a_bankruptcy_at_any_time_before_as_of_counts() -> None:
    assert event_row(events(("FI:1", "bankruptcy", before(2000))))["bankrupt"] is True


def test_events_on_or_after_the_as_of_day_are_never_read() -> None:
    evs = events(
        ("FI:1", "funding", START),
        ("FI:1", "bankruptcy", START + timedelta(hours=5)),
        ("FI:1", "hiring", START + timedelta(days=30)),
    )
    row = event_row(evs)
    assert row == {
        "lead_id": "A", "as_of": AS_OF, "funded_recently": False, "days_since_funding": None,
        "hiring_events_recent": 0, "expansion_recently": False,
        "leadership_change_recently": False, "bankrupt": False,
    }


def test_snapshot_without_company_or_events_has_false_flags_and_zero_counts() -> None:
    snaps = keyed_snapshots(("A", AS_OF, "FI:1"), ("NOCO", AS_OF, None), ("QUIET", AS_OF, "FI:9"))
    evs = events(("FI:1", "funding", before(5)))
    result = company_event_features(snaps, evs, CFG).collect().sort("lead_id")
    expected = pl.DataFrame(
        {
            "lead_id": ["A", "NOCO", "QUIET"],
            "as_of": [AS_OF] * 3,
            "funded_recently": [True, False, False],
            "days_since_funding": [5, None, None],
            "hiring_events_recent": [0, 0, 0],
            "expansion_recently": [False] * 3,
            "leadership_change_recently": [False] * 3,
            "bankrupt": [False] * 3,
        },
        schema_overrides={"days_since_funding": pl.Int32, "hiring_events_recent": pl.Int32},
    )
    assert_frame_equal(result, expected)
