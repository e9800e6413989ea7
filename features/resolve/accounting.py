"""Counts in = counts out, for every source: checked in code on every run."""

from __future__ import annotations

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
