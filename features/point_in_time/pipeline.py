"""Where a lead already is in the sales pipeline at as_of, from the opportunities export.

An opportunity counts for the lead it names (after duplicate merging) and for the company it
belongs to: a won deal anywhere in the company makes the company a customer.
"""

from __future__ import annotations

import polars as pl

from features.point_in_time.registry import Family, family_columns
from features.point_in_time.snapshots import SNAPSHOT_KEY, as_of_start, known_before_as_of

PIPELINE_COLUMNS = family_columns(Family.PIPELINE)


def _closed_before_as_of() -> pl.Expr:
    return pl.col("closed_at").is_not_null() & known_before_as_of(pl.col("closed_at"))


def _status_aggregations(prefix: str) -> list[pl.Expr]:
    created = known_before_as_of(pl.col("created_at"))
    closed = _closed_before_as_of()
    won = pl.col("won").fill_null(False)
    # A won deal without a close date is taken as won when created.
    won_known = won & (closed | (pl.col("closed_at").is_null() & created))
    return [
        (created & ~closed & ~won_known).any().alias(f"{prefix}open_opportunity"),
        won_known.any().alias(f"{prefix}won_deal"),
    ]


def pipeline_features(snapshots: pl.LazyFrame, opportunities: pl.LazyFrame) -> pl.LazyFrame:
    """Open and won opportunities per snapshot, for the lead and for its company.

    Needs: snapshots (lead_id, as_of, company_key); opportunities (opportunity_id, lead_id,
    company_key, created_at, closed_at, won), lead_id already mapped to surviving leads.
    Returns: lead_id, as_of and PIPELINE_COLUMNS (flags false and counts 0 without opportunities).
    """
    opps = opportunities.select("lead_id", "company_key", "created_at", "closed_at", "won")
    created = known_before_as_of(pl.col("created_at"))
    by_lead = (
        snapshots.select(SNAPSHOT_KEY)
        .join(opps.filter(pl.col("lead_id").is_not_null()), on="lead_id")
        .filter(created)
        .group_by(SNAPSHOT_KEY)
        .agg(
            *_status_aggregations(""),
            pl.col("closed_at").filter(pl.col("won").fill_null(False) & _closed_before_as_of())
            .max().alias("last_won_at"),
            (_closed_before_as_of() & ~pl.col("won").fill_null(False)).sum().cast(pl.Int32)
            .alias("lost_opportunities"),
        )
    )
    by_company = (
        snapshots.filter(pl.col("company_key").is_not_null())
        .select(*SNAPSHOT_KEY, "company_key")
        .join(opps.filter(pl.col("company_key").is_not_null()).drop("lead_id"), on="company_key")
        .filter(created)
        .group_by(SNAPSHOT_KEY)
        .agg(_status_aggregations("company_"))
    )
    flags = [c for c in PIPELINE_COLUMNS if c not in ("last_won_at", "lost_opportunities")]
    return (
        snapshots.select(SNAPSHOT_KEY)
        .join(by_lead, on=list(SNAPSHOT_KEY), how="left")
        .join(by_company, on=list(SNAPSHOT_KEY), how="left")
        .with_columns(
            *[pl.col(c).fill_null(False) for c in flags],
            pl.col("lost_opportunities").fill_null(0),
        )
        .select(*SNAPSHOT_KEY, *PIPELINE_COLUMNS)
    )


def conversion_labels(
    snapshots: pl.LazyFrame, opportunities: pl.LazyFrame, horizon_days: int, label: str
) -> pl.LazyFrame:
    """Training label per snapshot: did the lead convert within `horizon_days` after as_of?

    `label="opportunity"`: an opportunity for the lead was created in [as_of, as_of + horizon).
    `label="won"`: a deal for the lead was won (closed) in that interval.
    Needs: snapshots (lead_id, as_of); opportunities (lead_id, created_at, closed_at, won).
    Returns: lead_id, as_of, converted (bool). Only lead-level opportunities count: a deal that
    names only a company says nothing about which of its people converted.
    """
    if label not in ("opportunity", "won"):
        raise ValueError(f"label must be 'opportunity' or 'won', not {label!r}")
    moment = pl.col("created_at") if label == "opportunity" else pl.col("closed_at")
    start = as_of_start()
    end = start + pl.duration(days=horizon_days)
    hit = (moment >= start) & (moment < end)
    if label == "won":
        hit = hit & pl.col("won").fill_null(False)
    events = opportunities.filter(pl.col("lead_id").is_not_null()).select(
        "lead_id", "created_at", "closed_at", "won"
    )
    converted = (
        snapshots.join(events, on="lead_id")
        .group_by(SNAPSHOT_KEY)
        .agg(hit.any().alias("converted"))
    )
    return snapshots.select(SNAPSHOT_KEY).join(
        converted, on=list(SNAPSHOT_KEY), how="left"
    ).with_columns(pl.col("converted").fill_null(False))
