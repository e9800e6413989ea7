"""Counts in = counts out, for every source: checked in code on every run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl


class AccountingError(RuntimeError):
    """Rows went missing or were counted twice: a bug, never a user error, so the run stops
    (with a traceback and exit status 1, not as a one-line user error)."""


def reconcile(
    read: dict[str, int],
    quarantined_by_validation: dict[str, int],
    buckets: pl.DataFrame,
    scored_leads: int,
) -> dict[str, dict[str, Any]]:
    """Per source: rows read, where each went, and whether they add up.

    `buckets` has columns source, bucket, rows (see features.resolve.prepare). Leads must satisfy
    read = quarantined + created_after_as_of + merged + survivor, and survivor = scored.
    Raises AccountingError naming the source when a sum does not hold.
    """
    report: dict[str, dict[str, Any]] = {}
    for source, rows_read in read.items():
        parts = {
            row["bucket"]: int(row["rows"])
            for row in buckets.filter(pl.col("source") == source).iter_rows(named=True)
        }
        parts["quarantined_by_validation"] = quarantined_by_validation.get(source, 0)
        accounted = sum(parts.values())
        if accounted != rows_read:
            raise AccountingError(
                f"{source}: {rows_read} rows read but {accounted} accounted for ({parts})"
            )
        report[source] = {"read": rows_read, **dict(sorted(parts.items()))}
    survivors = report.get("leads", {}).get("survivor", 0)
    if survivors != scored_leads:
        raise AccountingError(f"leads: {survivors} survivors but {scored_leads} scored rows")
    if "leads" in report:
        report["leads"]["scored"] = scored_leads
    return report


@dataclass(frozen=True)
class SourceLoss:
    """A source that lost a large share of its rows to the quarantine."""

    source: str
    read: int
    quarantined: int
    top_reason: str

    @property
    def share(self) -> float:
        return self.quarantined / self.read

    def describe(self) -> str:
        return (f"{self.source}: {self.quarantined} of {self.read} rows ({self.share:.0%}) "
                f"quarantined, most often: {self.top_reason}")


def heavy_losses(read: dict[str, int], quarantine: pl.DataFrame, share: float,
                 not_losses: tuple[str, ...] = ()) -> list[SourceLoss]:
    """Sources (in `read` order) whose quarantined rows exceed `share` of the rows read.

    Needs `quarantine` with columns source and reason (one row per quarantined input row);
    rows whose reason is in `not_losses` (a lead not created yet at as_of) do not count."""
    losses = []
    if quarantine.height:
        quarantine = quarantine.filter(~pl.col("reason").is_in(not_losses))
    for source, rows_read in read.items():
        rows = quarantine.filter(pl.col("source") == source) if quarantine.height else quarantine
        if rows_read == 0 or rows.height / rows_read <= share:
            continue
        top = rows.group_by("reason").agg(pl.len()).sort(["len", "reason"],
                                                         descending=[True, False])
        losses.append(SourceLoss(source, rows_read, rows.height, top["reason"][0]))
    return losses
