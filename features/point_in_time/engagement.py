"""Engagement and buying signals from activities, point-in-time, in one pass over the activities.

Every count, recency and signal below comes out of a single `group_by(lead_id, as_of).agg(...)`
over activities joined to the snapshots, so tens of millions of activity rows are read once.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from features.config import FeaturesConfig, StagesConfig
from features.point_in_time.registry import COUNTED_TYPES, Family, family_columns, window_column
from features.point_in_time.snapshots import (
    SNAPSHOT_KEY,
    as_of_start,
    days_before_as_of,
    known_before_as_of,
)


def _age_days() -> pl.Expr:
    """Fractional days between the activity and the start of as_of (always > 0 here)."""
    return (as_of_start() - pl.col("occurred_at")).dt.total_seconds() / 86_400


def engagement_columns(features: FeaturesConfig, stages: StagesConfig) -> list[str]:
    """The names :func:`engagement_features` adds, in order (the windows come from the config;
    the registry declares them)."""
    return list(family_columns(Family.ENGAGEMENT, features.engagement_windows_days))


def _count_columns(windows: Sequence[int]) -> list[str]:
    longest = max(windows)
    return [
        "activity_count_total",
        *[window_column("activity_count", w) for w in windows],
        *[window_column(t, longest) for t in COUNTED_TYPES],
        "intent_signals_recent",
    ]


def _aggregations(windows: Sequence[int], signal_window: int) -> list[pl.Expr]:
    # Windows and recencies count calendar days (1 = the day before as_of), so "in the last 7
    # days" means the 7 days before as_of; the decay uses the exact age.
    # Per-activity values come from `_per_activity` (computed once per row, not once per
    # aggregation that uses them).
    days = pl.col("_days")
    kind = pl.col("activity_type")
    is_intent = pl.col("_intent")
    longest = max(windows)
    return [
        pl.len().cast(pl.Int32).alias("activity_count_total"),
        days.min().alias("days_since_last_activity"),
        *[(days <= w).sum().cast(pl.Int32).alias(window_column("activity_count", w))
          for w in windows],
        # Rounded: a float sum's last bits depend on the order rows arrive in, and re-runs
        # must agree to the bit.
        pl.col("_decay").sum().round(9).alias("engagement_decayed"),
        *[
            ((kind == t) & (days <= longest)).sum().cast(pl.Int32).alias(window_column(t, longest))
            for t in COUNTED_TYPES
        ],
        (is_intent & (days <= signal_window)).sum().cast(pl.Int32)
        .alias("intent_signals_recent"),
        days.filter(is_intent).min().alias("days_since_intent_signal"),
        # The latest signal's key for now (`_intent_type` makes it the type): a plain max per
        # group, where a sort within each group cost 5 of the 11 s of this group_by on a
        # million leads' ten million activities.
        pl.col("_intent_key").max().alias("last_intent_signal"),
        (kind == "unsubscribe").any().alias("unsubscribed"),
        (kind == "bounce").any().alias("bounced_activity"),
    ]


def _per_activity(half_life: float, intent: Sequence[str]) -> list[pl.Expr]:
    """``_days`` (calendar days before as_of), ``_decay`` (the activity's decayed weight),
    ``_intent`` (a buying signal) and ``_intent_key`` (`_intent_key`), for the aggregations of
    ``_aggregations``."""
    return [
        days_before_as_of(pl.col("occurred_at")).alias("_days"),
        (0.5 ** (_age_days() / half_life)).alias("_decay"),
        pl.col("activity_type").is_in(list(intent)).alias("_intent"),
        _intent_key(intent).alias("_intent_key"),
    ]


def _signal_types(intent: Sequence[str]) -> list[str]:
    """The configured signal types once each, in name order: their places in `_intent_key`."""
    return sorted(set(intent))


def _intent_key(intent: Sequence[str]) -> pl.Expr:
    """A buying signal's instant and type as one integer that orders as (instant, type name):
    microseconds since 1970 times the number of signal types, plus the type's place among them
    in name order (null for other activities). The largest key of a lead is its latest signal,
    ties at the same instant falling to the type's name, so re-runs agree."""
    types = _signal_types(intent)
    if not types:
        return pl.lit(None, dtype=pl.Int64)
    place = pl.col("activity_type").replace_strict(types, list(range(len(types))),
                                                   default=None, return_dtype=pl.Int64)
    return pl.col("occurred_at").dt.epoch("us") * len(types) + place


def _intent_type(key: pl.Expr, intent: Sequence[str]) -> pl.Expr:
    """The signal type of an `_intent_key` (polars' % rounds down, as Python's: a key from
    before 1970 decodes too)."""
    types = _signal_types(intent)
    if not types:
        return pl.lit(None, dtype=pl.String)
    return (key % len(types)).replace_strict(list(range(len(types))), types, default=None,
                                             return_dtype=pl.String)


def engagement_features(
    snapshots: pl.LazyFrame,
    activities: pl.LazyFrame,
    features: FeaturesConfig,
    stages: StagesConfig,
) -> pl.LazyFrame:
    """Counts in windows, recency, decayed engagement and intent signals per snapshot.

    Needs: snapshots (lead_id, as_of); activities (lead_id, activity_type, occurred_at), already
    attributed to surviving leads. Only activities strictly before the as_of date are read.
    Returns: lead_id, as_of and :func:`engagement_columns` (counts 0 and flags false when a lead
    has no activity; recencies null, meaning "never").
    """
    aggregations = _aggregations(features.engagement_windows_days, stages.signal_window_days)
    per_snapshot = (
        snapshots.join(
            activities.select("lead_id", "activity_type", "occurred_at"), on="lead_id", how="inner"
        )
        .filter(known_before_as_of(pl.col("occurred_at")))
        .with_columns(_per_activity(features.decay_half_life_days, stages.intent_signals))
        .group_by(SNAPSHOT_KEY)
        .agg(aggregations)
    )
    return snapshots.join(per_snapshot, on=list(SNAPSHOT_KEY), how="left").with_columns(
        _intent_type(pl.col("last_intent_signal"), stages.intent_signals)
        .alias("last_intent_signal"),
        *[pl.col(c).fill_null(0) for c in _count_columns(features.engagement_windows_days)],
        pl.col("engagement_decayed").fill_null(0.0),
        pl.col("unsubscribed").fill_null(False),
        pl.col("bounced_activity").fill_null(False),
    )
