"""Snapshots: the (lead_id, as_of) pairs that features are computed for.

Scoring uses one as_of for every lead; training uses many past dates per lead. Every feature
function takes a snapshot frame and reads the date from its `as_of` column, so the same code serves
both and point-in-time honesty is proven once: a row dated at or after `as_of` is never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl

from features.schema import UTC_DATETIME

SNAPSHOT_KEY = ("lead_id", "as_of")


def as_of_start(as_of: pl.Expr | None = None) -> pl.Expr:
    """Midnight UTC at the start of the as_of date: the instant before which data is "known"."""
    column = pl.col("as_of") if as_of is None else as_of
    return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(UTC_DATETIME)


def days_before_as_of(moment: pl.Expr) -> pl.Expr:
    """Calendar days (UTC) from `moment` to as_of: 1 = the day before as_of ("yesterday").

    Calendar days, not elapsed 24-hour periods, so that a date-only export (stamped at
    midnight) and a timestamped one read the same, and "N days ago" means what it says.
    """
    return (pl.col("as_of") - moment.dt.date()).dt.total_days().cast(pl.Int32)


def known_before_as_of(moment: pl.Expr) -> pl.Expr:
    """True when the event happened strictly before the as_of date began."""
    return moment < as_of_start()


def scoring_snapshots(leads: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Every lead created before `as_of`, at `as_of`. Needs lead_id, created_at."""
    return leads.select("lead_id", "created_at").with_columns(
        as_of=pl.lit(as_of, dtype=pl.Date)
    ).filter(known_before_as_of(pl.col("created_at"))).select(SNAPSHOT_KEY)


def snapshot_dates(last: date, every_days: int, window_days: int) -> list[date]:
    """Dates from `last` back to `last - window_days`, `every_days` apart, oldest first."""
    count = window_days // every_days
    return sorted(last - timedelta(days=every_days * i) for i in range(count + 1))


def many_snapshots(leads: pl.LazyFrame, dates: Sequence[date]) -> pl.LazyFrame:
    """Each lead at each date it already existed. Needs lead_id, created_at."""
    dates_frame = pl.LazyFrame({"as_of": list(dates)}, schema={"as_of": pl.Date})
    return (
        leads.select("lead_id", "created_at")
        .join(dates_frame, how="cross")
        .filter(known_before_as_of(pl.col("created_at")))
        .select(SNAPSHOT_KEY)
    )
