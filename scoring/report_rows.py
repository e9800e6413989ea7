"""The scored rows the reports read: for every lead the columns that the funnel, the
summaries and the two reports use, and the reasons only of the leads a report may show.

Built one piece of the scored rows at a time (`report_rows`), so a partitioned run never holds
all its scored rows to report on them, and the reports read the same rows whatever the number
of partitions. The reasons are most of a scored row's bytes. Each piece's rows carry the
lead's segments (SEGMENT_COLUMNS) too, so the rows of all pieces line up column by column: a
column set beside them afterwards would be laid out differently, and polars copies every
row to line such a frame up before filtering or grouping it.
"""

from __future__ import annotations

import polars as pl

from scoring.report import TOP_ROWS
from scoring.report_html import TOP

REPORT_COLUMNS: tuple[str, ...] = (
    "lead_id", "recommended_stage", "priority", "priority_score", "icp_fit", "icp_tier",
    "icp_matched", "conversion_probability", "probability_status", "previous_stage",
    "previous_probability", "changed_since_previous_run", "change", "stage_change",
    "company_name", "firmographics_age_days", "firmographics_stale", "reasons",
)

# The HTML report's segments: scored features, not output columns.
SEGMENT_COLUMNS: tuple[str, ...] = ("industry", "country")

_SHOWN = max(TOP_ROWS, TOP)


def _may_be_shown() -> pl.Expr:
    """The leads whose reasons a report may print: the first of each worked stage by priority
    (the Markdown's lists, the HTML's call-first table: priority is the rank over all leads),
    and this piece's largest moves of probability either way (a superset of the whole run's
    top movers, the HTML's movers tables)."""
    delta = pl.col("conversion_probability").cast(pl.Float64) - pl.col("previous_probability")
    largest_up = delta.filter(delta > 0).top_k(_SHOWN).min()
    largest_down = delta.filter(delta < 0).bottom_k(_SHOWN).max()
    return ((pl.col("priority") <= _SHOWN) | (delta >= largest_up)
            | (delta <= largest_down)).fill_null(False)


def report_rows(scored: pl.DataFrame, segments: pl.DataFrame) -> pl.DataFrame:
    """Needs REPORT_COLUMNS (the finished scored rows of one piece or of all); ``segments``:
    lead_id and SEGMENT_COLUMNS of (at least) these leads, as text or categories. Returns
    REPORT_COLUMNS and SEGMENT_COLUMNS (as text), with ``reasons`` null where no report shows
    them and the ICP rule names as categories."""
    # Joined back rather than masked with when/then: a masked list column keeps every row's
    # strings in memory.
    shown = scored.filter(_may_be_shown()).select("lead_id", "reasons")
    return (
        scored.select(c for c in REPORT_COLUMNS if c != "reasons")
        .with_columns(pl.col("icp_matched").cast(pl.List(pl.Categorical)))
        .join(shown, on="lead_id", how="left", maintain_order="left")
        .join(segments.select("lead_id", *SEGMENT_COLUMNS), on="lead_id", how="left",
              maintain_order="left")
        .select(*REPORT_COLUMNS, pl.col(SEGMENT_COLUMNS).cast(pl.String))
    )
