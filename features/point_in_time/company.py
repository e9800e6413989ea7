"""Firmographics and company events as they were known at each snapshot's as_of date.

A companies file may hold several snapshots of one company (rows with different `updated_at`);
each lead gets the newest snapshot updated strictly before as_of. A snapshot without `updated_at`
is taken as always known, but its age is unknown (null), which the run report counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from features.config import FeaturesConfig
from features.point_in_time.registry import Family, family_columns
from features.point_in_time.snapshots import (
    SNAPSHOT_KEY,
    as_of_start,
    days_before_as_of,
    known_before_as_of,
)

_ALWAYS_KNOWN = datetime(1900, 1, 1, tzinfo=UTC)

FIRMOGRAPHIC_COLUMNS = family_columns(Family.FIRMOGRAPHICS)
EVENT_COLUMNS = family_columns(Family.COMPANY_EVENTS)


def firmographic_features(
    snapshots: pl.LazyFrame,
    lead_companies: pl.LazyFrame,
    companies: pl.LazyFrame,
    cfg: FeaturesConfig,
) -> pl.LazyFrame:
    """The company snapshot valid at as_of, per lead snapshot.

    Needs: snapshots (lead_id, as_of); lead_companies (lead_id, company_key);
    companies (company_key, updated_at, industry_code, industry, employees, revenue,
    founded_year, technologies, open_jobs, status, match_domain).
    Returns: lead_id, as_of, company_key and FIRMOGRAPHIC_COLUMNS.
    """
    known = companies.select(
        "company_key",
        pl.col("updated_at").fill_null(_ALWAYS_KNOWN).alias("_known_from"),
        pl.col("updated_at").alias("firmographics_updated_at"),
        "industry_code", "industry", "employees", "revenue", "founded_year", "technologies",
        "open_jobs", pl.col("status").str.to_lowercase().alias("company_status"),
        pl.col("match_domain").alias("company_domain"),
        pl.lit(True).alias("_found"),
    ).sort("_known_from")
    keyed = (
        snapshots.join(lead_companies.select("lead_id", "company_key"), on="lead_id", how="left")
        .with_columns(as_of_start().alias("_as_of_start"))
        .sort("_as_of_start")
    )
    # strictly before as_of: a snapshot updated on the as_of day itself is not yet known.
    joined = keyed.join_asof(
        known, left_on="_as_of_start", right_on="_known_from", by="company_key",
        strategy="backward", allow_exact_matches=False,
        # both sides are sorted just above; polars cannot verify that within `by` groups
        check_sortedness=False,
    )
    age = days_before_as_of(pl.col("firmographics_updated_at"))
    return joined.select(
        *SNAPSHOT_KEY,
        "company_key",
        pl.col("_found").fill_null(False).alias("has_firmographics"),
        "industry_code", "industry", "employees", "revenue",
        (pl.col("as_of").dt.year() - pl.col("founded_year")).cast(pl.Int32)
        .alias("company_age_years"),
        "technologies", "open_jobs", "company_status", "company_domain",
        "firmographics_updated_at",
        age.alias("firmographics_age_days"),
        (age > cfg.firmographics_max_age_days).alias("firmographics_stale"),
    )


def company_event_features(
    snapshots: pl.LazyFrame, events: pl.LazyFrame, cfg: FeaturesConfig
) -> pl.LazyFrame:
    """Funding, hiring and other company events before as_of, within the lookback window.

    Needs: snapshots (lead_id, as_of, company_key); events (company_key, event_type, occurred_at).
    Returns: lead_id, as_of and EVENT_COLUMNS (flags false and counts 0 without events).
    """
    lookback = cfg.company_event_lookback_days
    age = days_before_as_of(pl.col("occurred_at"))
    kind = pl.col("event_type")
    recent = age <= lookback
    per_snapshot = (
        snapshots.filter(pl.col("company_key").is_not_null())
        .join(events.select("company_key", "event_type", "occurred_at"), on="company_key")
        .filter(known_before_as_of(pl.col("occurred_at")))
        .group_by(SNAPSHOT_KEY)
        .agg(
            ((kind == "funding") & recent).any().alias("funded_recently"),
            age.filter(kind == "funding").min().alias("days_since_funding"),
            ((kind == "hiring") & recent).sum().cast(pl.Int32).alias("hiring_events_recent"),
            ((kind == "expansion") & recent).any().alias("expansion_recently"),
            ((kind == "leadership_change") & recent).any().alias("leadership_change_recently"),
            (kind == "bankruptcy").any().alias("bankrupt"),
        )
    )
    flags = ["funded_recently", "expansion_recently", "leadership_change_recently", "bankrupt"]
    return (
        snapshots.select(SNAPSHOT_KEY)
        .join(per_snapshot, on=list(SNAPSHOT_KEY), how="left")
        .with_columns(
            *[pl.col(c).fill_null(False) for c in flags],
            pl.col("hiring_events_recent").fill_null(0),
        )
    )
