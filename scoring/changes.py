"""The change feed: each lead's recommendation against the previous published run.

Categories (column `change`):

- `new`: not in the previous run (or there is no previous run);
- `upgraded` / `downgraded`: the recommended stage moved up or down the funnel
  (`STAGE_RANK`: disqualified < lead < prospect < opportunity < customer);
- `unchanged`: the same stage;
- `removed`: in the previous run, absent now; `removed_reason` says why (merged into a
  survivor, quarantined with the quarantine's reason, or gone from the export).

Pure: frames in, frames out. The flow reads the previous run and writes the feed.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CHANGES: tuple[str, ...] = ("new", "upgraded", "downgraded", "unchanged", "removed")
# What a CRM import needs to hear about: the recommendation moved (or the lead is new to it).
CHANGED: tuple[str, ...] = ("new", "upgraded", "downgraded")
STAGE_RANK: dict[str, int] = {
    "disqualified": 0, "lead": 1, "prospect": 2, "opportunity": 3, "customer": 4,
}
FEED_COLUMNS: tuple[str, ...] = (
    "lead_id", "change", "recommended_stage", "previous_stage", "conversion_probability",
    "previous_probability", "removed_reason",
)
# What a run reads of the previous published run: the change feed compares stage and
# probability; the report's top movers compare priority_score.
PREVIOUS_COLUMNS: tuple[str, ...] = ("lead_id", "recommended_stage", "conversion_probability",
                                     "priority_score")


def _rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(STAGE_RANK, default=None, return_dtype=pl.Int8)


def with_change(current: pl.LazyFrame, previous: pl.LazyFrame | None) -> pl.LazyFrame:
    """Add previous_stage, previous_probability, change and changed_since_previous_run.

    Needs: lead_id, recommended_stage in `current`; PREVIOUS_COLUMNS in `previous` (the
    previous published run's scores, None when there is none: every lead is then `new`, and
    changed_since_previous_run is null since there is nothing to compare with).
    """
    if previous is None:
        return current.with_columns(
            pl.lit(None, dtype=pl.String).alias("previous_stage"),
            pl.lit(None, dtype=pl.Float64).alias("previous_probability"),
            pl.lit("new").alias("change"),
            pl.lit(None, dtype=pl.Boolean).alias("changed_since_previous_run"),
        )
    before = previous.select(
        "lead_id",
        pl.col("recommended_stage").alias("previous_stage"),
        pl.col("conversion_probability").cast(pl.Float64).alias("previous_probability"),
    )
    now, then = _rank("recommended_stage"), _rank("previous_stage")
    return current.join(before, on="lead_id", how="left").with_columns(
        pl.when(pl.col("previous_stage").is_null()).then(pl.lit("new"))
        .when(now > then).then(pl.lit("upgraded"))
        .when(now < then).then(pl.lit("downgraded"))
        .otherwise(pl.lit("unchanged")).alias("change"),
        pl.when(pl.col("previous_stage").is_not_null())
        .then(pl.col("previous_stage") != pl.col("recommended_stage"))
        .alias("changed_since_previous_run"),
    )


@dataclass(frozen=True)
class RemovalReasons:
    """Why a lead id this run does not score is gone: merged into a survivor (``_merged``)
    or quarantined (``_quarantined``), each keyed by lead_id. Built once per run
    (`removal_reasons`) and read by every piece's `removed_leads`."""

    merged: pl.DataFrame
    quarantined: pl.DataFrame


def removal_reasons(duplicates: pl.DataFrame, quarantine: pl.DataFrame) -> RemovalReasons:
    """Needs: `duplicates` (lead_id, survivor_id) of this run; `quarantine` (source, reason,
    record: the row as JSON) of this run. A quarantined lead's id is read from its record's
    JSON here, once, not once per piece."""
    merged = duplicates.select(
        "lead_id", (pl.lit("merged into ") + pl.col("survivor_id")).alias("_merged"))
    quarantined = (
        quarantine.filter(pl.col("source") == "leads")
        .select(pl.col("record").str.json_path_match("$.lead_id").str.strip_chars()
                .alias("lead_id"), pl.col("reason"))
        .drop_nulls("lead_id")
        .group_by("lead_id").agg(pl.col("reason").sort().first())
        .select("lead_id", (pl.lit("quarantined: ") + pl.col("reason")).alias("_quarantined"))
    ) if quarantine.height else pl.DataFrame(schema={"lead_id": pl.String,
                                                     "_quarantined": pl.String})
    return RemovalReasons(merged, quarantined)


def removed_leads(
    previous: pl.DataFrame, scored_ids: pl.Series, reasons: RemovalReasons,
) -> pl.DataFrame:
    """Leads of the previous run that this run does not score, each with why.

    Needs: PREVIOUS_COLUMNS in `previous`; `reasons` from `removal_reasons`.
    Returns FEED_COLUMNS with change `removed`, sorted by lead_id.
    """
    gone = previous.filter(~pl.col("lead_id").is_in(scored_ids.implode()))
    return (
        gone.join(reasons.merged, on="lead_id", how="left")
        .join(reasons.quarantined, on="lead_id", how="left")
        .select(
            "lead_id",
            pl.lit("removed").alias("change"),
            pl.lit(None, dtype=pl.String).alias("recommended_stage"),
            pl.col("recommended_stage").alias("previous_stage"),
            pl.lit(None, dtype=pl.Float64).alias("conversion_probability"),
            pl.col("conversion_probability").cast(pl.Float64).alias("previous_probability"),
            pl.coalesce("_merged", "_quarantined",
                        pl.lit("deleted: no longer in the leads export")).alias("removed_reason"),
        )
        .sort("lead_id")
    )


def change_feed(scores: pl.DataFrame, removed: pl.DataFrame | None) -> pl.DataFrame:
    """One row per lead of this run or the previous one: FEED_COLUMNS, sorted by lead_id.

    Needs: lead_id, change, recommended_stage, previous_stage, conversion_probability,
    previous_probability in `scores` (see `with_change`); `removed` from `removed_leads`.
    """
    current = scores.select(
        "lead_id", "change", "recommended_stage", "previous_stage",
        pl.col("conversion_probability").cast(pl.Float64), "previous_probability",
        pl.lit(None, dtype=pl.String).alias("removed_reason"),
    )
    parts = [current] if removed is None else [current, removed.select(FEED_COLUMNS)]
    return pl.concat(parts).sort("lead_id")


def change_counts(feed: pl.DataFrame) -> dict[str, int]:
    """Leads per change category, every category present (zero when none)."""
    counted = dict(feed.group_by("change").len().iter_rows())
    return {change: int(counted.get(change, 0)) for change in CHANGES}


def changes_only(scores: pl.DataFrame) -> pl.DataFrame:
    """The scored rows whose recommendation changed since the previous run (new, upgraded,
    downgraded): what a CRM import needs instead of the whole file. Needs: change."""
    return scores.filter(pl.col("change").is_in(CHANGED))
