"""Backfill end to end on the bundled sample: three dates in parallel, a rerun that skips
them, a forced date reproduced byte for byte, and each date's model from the promotion history.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from flows.backfill import BackfillResult, backfill_dates, summary_table
from flows.promotions import PROMOTIONS

# The files a rerun of the same date must reproduce exactly (the manifest and report carry
# the run's id and times).
REPRODUCED = ("scores/{d}/scores.parquet", "exports/{d}/leads_for_crm.csv",
              "changes/{d}/changes.parquet", "quarantine/{d}/quarantine.parquet",
              "duplicates/{d}/duplicates.parquet")


def test_dates_step_by_every_n_days_up_to_the_end_inclusive() -> None:
    assert backfill_dates(date(2026, 10, 1), date(2026, 10, 7), 3) == [
        date(2026, 10, 1), date(2026, 10, 4), date(2026, 10, 7)]
    assert backfill_dates(date(2026, 10, 1), date(2026, 10, 1)) == [date(2026, 10, 1)]


def _manifest(out: Path, day: date) -> dict[str, object]:
    return dict(json.loads((out / "runs" / f"as_of={day}" / "manifest.json").read_text()))


def _files(out: Path, day: date) -> dict[str, bytes]:
    stamp = f"as_of={day}"
    return {p.format(d=stamp): (out / p.format(d=stamp)).read_bytes() for p in REPRODUCED}


@pytest.mark.slow
def test_backfill_runs_skips_reproduces_and_uses_each_dates_model(
    trained_registry: Path, tmp_path: Path, sample_dir: Path, default_config: Path,
    sample_export_date: date,
) -> None:
    from flows.backfill import backfill_flow

    out = tmp_path / "out"
    shutil.copytree(trained_registry, out / "models")
    model = json.loads((out / "models" / "current.json").read_text())["version"]
    start = sample_export_date - timedelta(days=2)
    common = {"inputs": sample_dir, "config": default_config, "out": out, "workers": 2,
              "changes_only": True}

    first: BackfillResult = backfill_flow(start=start, end=sample_export_date, **common)
    assert [d.status for d in first.dates] == ["scored"] * 3, summary_table(first)
    # The model was trained as of the export date: the two days before it had no model.
    assert [d.model for d in first.dates] == ["rules only", "rules only", model]
    assert "no model was current" in first.dates[0].note
    earlier = _manifest(out, start)
    assert earlier["model"]["status"] == "no_model"  # type: ignore[index]
    assert "no model was current" in earlier["model"]["note"]  # type: ignore[index]
    assert _manifest(out, sample_export_date)["model"]["version"] == model  # type: ignore[index]
    # Each date compared with the day before, whatever order the two workers finished in.
    for day in (start + timedelta(days=1), sample_export_date):
        changes = _manifest(out, day)["changes"]
        assert changes["previous_as_of"] == str(day - timedelta(days=1))  # type: ignore[index]
    assert _manifest(out, start)["changes"]["previous_as_of"] is None  # type: ignore[index]
    changed = pl.read_csv(out / "exports" / f"as_of={sample_export_date}" /
                          "leads_for_crm_changes.csv")
    assert set(changed["change_since_previous_run"]) <= {"new", "upgraded", "downgraded"}
    counts = _manifest(out, sample_export_date)["changes"]["counts"]  # type: ignore[index]
    assert changed.height == counts["new"] + counts["upgraded"] + counts["downgraded"]
    # Every configured CRM file has its changes-only twin, with the CRM's own columns.
    hubspot = pl.read_csv(out / "exports" / f"as_of={sample_export_date}" /
                          "hubspot_contacts_changes.csv")
    assert hubspot.columns[:2] == ["Record ID", "Email"]
    assert 0 < hubspot.height <= changed.height
    assert first.dates[2].stage_changes == counts["upgraded"] + counts["downgraded"]

    middle = start + timedelta(days=1)
    before = _files(out, middle)
    rerun = backfill_flow(start=start, end=sample_export_date, **common)
    assert [d.status for d in rerun.dates] == ["skipped"] * 3

    forced = backfill_flow(start=middle, end=middle, force=True, **common)
    assert [d.status for d in forced.dates] == ["scored"]
    assert _files(out, middle) == before


@pytest.mark.slow
def test_a_failing_date_is_reported_and_the_others_complete(
    prefect_harness: None, tmp_path: Path, sample_dir: Path, default_config: Path,
    sample_export_date: date,
) -> None:
    from flows.backfill import backfill_flow

    out = tmp_path / "out"
    # The history says a model trained as of the export date serves it, but its folder is gone.
    (out / "models").mkdir(parents=True)
    (out / "models" / PROMOTIONS).write_text(json.dumps([{
        "version": "20261101-gone", "trained_as_of": str(sample_export_date),
        "promoted_at": "2026-11-01T03:00:00Z"}]))
    day_before = sample_export_date - timedelta(days=1)
    result = backfill_flow(start=day_before, end=sample_export_date, inputs=sample_dir,
                           config=default_config, out=out, workers=2)
    assert [d.status for d in result.dates] == ["scored", "failed"], summary_table(result)
    assert "20261101-gone" in result.dates[1].note
    assert (out / "runs" / f"as_of={day_before}" / "manifest.json").is_file()
    assert not (out / "runs" / f"as_of={sample_export_date}").exists()
