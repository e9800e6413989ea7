"""What a run shows in the Prefect UI: artifacts made from its manifest.

Four per run, each under a fixed key so the UI keeps their history across runs: the funnel
(leads per stage), the row accounting (every input row's destination), the change counts
against the previous run, and a link to the run report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from flows.runtime import IO_BACKOFF_SECONDS, IO_RETRIES, io_retry_condition
from scoring.records import RunManifest

FUNNEL_KEY = "leadscore-funnel"
ACCOUNTING_KEY = "leadscore-row-accounting"
CHANGES_KEY = "leadscore-changes"
REPORT_KEY = "leadscore-report"


def funnel_rows(manifest: RunManifest) -> list[dict[str, Any]]:
    return [{"stage": stage, "leads": leads} for stage, leads in manifest.funnel.stages.items()]


def accounting_rows(manifest: RunManifest) -> list[dict[str, Any]]:
    """One row per source and destination: `read` first, then where the rows went."""
    rows: list[dict[str, Any]] = []
    for source, counts in manifest.counts.items():
        rows.append({"source": source, "where": "read", "rows": counts.read})
        rows.extend({"source": source, "where": where, "rows": n}
                    for where, n in counts.buckets.items())
    return rows


def change_rows(manifest: RunManifest) -> list[dict[str, Any]]:
    counts = manifest.changes.counts if manifest.changes else {}
    return [{"change": change, "leads": n} for change, n in counts.items()]


@task(cache_policy=NO_CACHE, retries=IO_RETRIES,
      retry_delay_seconds=exponential_backoff(IO_BACKOFF_SECONDS),
      retry_condition_fn=io_retry_condition)
def create_run_artifacts(manifest: RunManifest, report: Path) -> None:
    """The run's artifacts (an API call each: retried like the other I/O steps)."""
    as_of = manifest.run.as_of
    previous = (manifest.changes.previous_as_of if manifest.changes else None) or \
        "no previous run"
    create_table_artifact(funnel_rows(manifest), key=FUNNEL_KEY,
                          description=f"Leads per recommended stage, as of {as_of}")
    create_table_artifact(accounting_rows(manifest), key=ACCOUNTING_KEY,
                          description=f"Where every input row went, as of {as_of}")
    create_table_artifact(change_rows(manifest), key=CHANGES_KEY,
                          description=f"Change against the previous run ({previous}), "
                                      f"as of {as_of}")
    create_link_artifact(report.resolve().as_uri(), link_text=f"Run report, as of {as_of}",
                         key=REPORT_KEY, description=f"The run report, as of {as_of}")
