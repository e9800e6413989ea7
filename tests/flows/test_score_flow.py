"""End to end on the bundled sample, under one session-scoped Prefect test harness.

The `demo` fixture does what `leadscore demo` does: train as of the sample's export date, then score
a week before it and on it. The tests read what landed on disk.
"""

from __future__ import annotations

import errno
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from features.schema import SCORED_COLUMNS, STAGES
from flows.catalog import read_manifest
from flows.registry import current_version, read_card, training_status
from scoring.records import RunManifest
from tests.flows.conftest import DemoRun, run_paths, written_by

pytestmark = pytest.mark.slow


def test_every_output_of_a_run_is_written(demo: DemoRun, default_config: Path) -> None:
    expected = written_by(default_config)
    assert {"exports", "export_hubspot", "changes", "report_html"} <= expected
    for name, path in run_paths(demo.out, demo.as_of).items():
        assert path.is_file() == (name in expected), f"{name} at {path}"
    scores = pl.read_parquet(run_paths(demo.out, demo.as_of)["scores"])
    assert list(scores.columns[: len(SCORED_COLUMNS)]) == list(SCORED_COLUMNS)
    assert set(scores["recommended_stage"].unique()) <= set(STAGES)
    assert scores["lead_id"].is_unique().all()


def test_training_registers_a_current_model_with_a_card(demo: DemoRun) -> None:
    assert demo.trained.status == "trained", demo.trained.message
    assert demo.trained.version is not None and demo.trained.model_folder is not None
    folder = Path(demo.trained.model_folder)
    for name in ("model.skops", "encoding.json", "card.json", "card.md"):
        assert (folder / name).is_file()
    assert current_version(demo.out / "models") == demo.trained.version
    card = read_card(demo.out / "models", demo.trained.version)
    window = card.data_window
    assert window.validation_window[0] > window.first_snapshot.isoformat()
    assert set(card.metrics.validation_by_candidate) == {"logistic", "gradient_boosting"}
    assert card.metrics == demo.trained.metrics
    assert card.calibration in ("none", "sigmoid", "isotonic")
    losses = card.calibration_log_loss_out_of_fold
    assert losses[card.calibration] == min(losses.values())
    assert card.drift is not None
    assert 0 < card.drift.train_positive_rate < 1 and 0 < card.drift.test_mean_predicted < 1
    assert card.drift.periods and isinstance(card.drift.warnings, list)
    assert "## Drift" in (folder / "card.md").read_text()


def test_training_records_the_seconds_of_each_step_in_its_status(demo: DemoRun) -> None:
    timings = demo.trained.timings_seconds
    assert timings is not None
    steps = ["read_and_validate", "prepare", "collect_inputs", "training_set",
             "fit_and_select", "register"]
    assert [s for s in timings if s != "prefect_startup"] == steps
    assert all(seconds >= 0 for seconds in timings.values())
    assert timings["fit_and_select"] > 0
    assert training_status(demo.out / "models") == demo.trained


def test_every_scored_row_carries_probability_version_and_reasons(demo: DemoRun) -> None:
    scores = pl.read_parquet(run_paths(demo.out, demo.as_of)["scores"])
    assert scores["conversion_probability"].null_count() == 0
    assert (scores["model_version"] == demo.trained.version).all()
    assert (scores["probability_status"] == "model").all()
    assert (scores["reasons"].list.len() > 0).all()
    assert scores["conversion_probability"].is_between(0, 1).all()


def test_every_input_lead_row_is_scored_merged_or_quarantined(
    demo: DemoRun, sample_dir: Path
) -> None:
    paths = run_paths(demo.out, demo.as_of)
    rows_in = pl.read_csv(sample_dir / "leads.csv", infer_schema=False).height
    scored = pl.read_parquet(paths["scores"])
    merged = pl.read_parquet(paths["duplicates"])
    quarantined = pl.read_parquet(paths["quarantine"]).filter(pl.col("source") == "leads")
    assert scored.height + merged.height + quarantined.height == rows_in
    assert set(merged["survivor_id"]) <= set(scored["lead_id"])
    assert quarantined["reason"].null_count() == 0
    counts = demo.manifest.counts["leads"]
    assert counts.read == rows_in and counts.rows("scored") == scored.height


def test_merged_ids_on_survivors_match_the_duplicates_file(demo: DemoRun) -> None:
    paths = run_paths(demo.out, demo.as_of)
    scored = pl.read_parquet(paths["scores"]).select("lead_id", "merged_ids").explode("merged_ids")
    from_scores = scored.drop_nulls("merged_ids").select(
        pl.col("merged_ids").alias("lead_id"), pl.col("lead_id").alias("survivor_id")
    ).sort("lead_id")
    duplicates = pl.read_parquet(paths["duplicates"]).select("lead_id", "survivor_id")
    assert_frame_equal(from_scores, duplicates.sort("lead_id"))


def test_second_run_reports_changes_since_the_previous_run(demo: DemoRun) -> None:
    previous = demo.manifest.funnel.vs_previous_run
    assert previous.previous_as_of == demo.earlier
    scores = pl.read_parquet(run_paths(demo.out, demo.as_of)["scores"])
    earlier = pl.read_parquet(run_paths(demo.out, demo.earlier)["scores"])
    both = scores.join(earlier.select("lead_id", pl.col("recommended_stage").alias("before")),
                       on="lead_id")
    assert (both["previous_stage"] == both["before"]).all()
    changed = both.filter(pl.col("before") != pl.col("recommended_stage")).height
    assert previous.changed == changed


def test_crm_export_has_one_row_per_scored_lead_and_flat_cells(demo: DemoRun) -> None:
    paths = run_paths(demo.out, demo.as_of)
    export = pl.read_csv(paths["exports"], infer_schema=False)
    scores = pl.read_parquet(paths["scores"])
    assert export.height == scores.height
    assert export["crm_record_id"].null_count() == 0, "the CRM's own id comes back"
    assert export["top_reasons"].str.contains("; ").any()
    for crm in ("export_hubspot", "export_salesforce", "export_pipedrive"):
        imported = pl.read_csv(paths[crm], infer_schema=False)
        assert imported.height == scores.height, crm


def test_manifest_records_inputs_config_model_counts_and_timings(demo: DemoRun) -> None:
    manifest = read_manifest(demo.out, demo.as_of)
    assert manifest is not None
    leads, companies = manifest.inputs["leads"], manifest.inputs["companies"]
    assert leads.sha256 is not None and len(leads.sha256) == 64
    assert companies.dialect is not None and companies.dialect["delimiter"] == ";"
    assert len(manifest.config.sha256) == 64
    assert manifest.model.model_dump() == {"status": "model", "version": demo.trained.version,
                                           "note": None, "chosen": "current",
                                           "why": "the registry's current model"}
    assert {"read_and_validate", "features", "predict_and_explain"} <= set(
        manifest.timings_seconds)
    for source, counts in manifest.counts.items():
        parts = sum(v for k, v in counts.buckets.items() if k != "scored")
        assert parts == counts.read, source
    assert manifest.outputs["scores"].rows == manifest.funnel.leads
    assert manifest == demo.manifest, "the flow returns the manifest it wrote"


def test_manifest_json_keeps_its_flat_shape(demo: DemoRun, default_config: Path) -> None:
    text = run_paths(demo.out, demo.as_of)["manifest"].read_text(encoding="utf-8")
    on_disk = json.loads(text)
    assert list(on_disk) == ["run", "inputs", "config", "model", "counts", "enrichment",
                             "quarantine", "value_issues", "funnel", "timings_seconds",
                             "duplicates", "warnings", "outputs", "changes"]
    assert on_disk["counts"]["leads"]["read"] == demo.manifest.counts["leads"].read
    assert on_disk["run"]["started_at"].endswith("+00:00")
    assert set(on_disk["outputs"]) == written_by(default_config) - {"manifest"}
    assert on_disk["outputs"]["report"] == {"path": f"reports/as_of={demo.as_of}/report.md"}
    assert RunManifest.from_json(on_disk).to_json() == on_disk


def test_manifest_enrichment_report_adds_up(demo: DemoRun) -> None:
    enrichment = demo.manifest.enrichment
    scores = pl.read_parquet(run_paths(demo.out, demo.as_of)["scores"])
    assert enrichment.leads == scores.height
    by_method = {m: v.count for m, v in enrichment.by_method.items()}
    assert sum(by_method.values()) == enrichment.leads
    assert sum(enrichment.unmatched_reasons.values()) == by_method["none"]
    assert enrichment.firmographics.with_company_data <= enrichment.matched
    # The sample has companies sharing a name in one country: counted, never matched on.
    assert enrichment.ambiguous_company_names > 0
    ambiguous = [n for reason, n in enrichment.unmatched_reasons.items()
                 if reason.startswith("ambiguous")]
    assert enrichment.ambiguous_leads == sum(ambiguous)


def test_same_as_of_gives_identical_scores(
    demo: DemoRun, tmp_path: Path, sample_dir: Path, default_config: Path
) -> None:
    from flows.score import score_flow

    score_flow(as_of=demo.as_of, inputs=sample_dir, config=default_config, out=tmp_path,
               models=demo.out / "models")
    first = run_paths(demo.out, demo.as_of)["scores"]
    again = run_paths(tmp_path, demo.as_of)["scores"]
    # The earlier run in demo.out fills the change columns; a fresh folder has none.
    volatile = ["previous_stage", "changed_since_previous_run", "change",
                "previous_probability"]
    assert_frame_equal(pl.read_parquet(first).drop(volatile), pl.read_parquet(again).drop(volatile))


def test_rerunning_an_as_of_in_place_is_byte_identical(
    demo: DemoRun, sample_dir: Path, default_config: Path
) -> None:
    from flows.score import score_flow

    paths = run_paths(demo.out, demo.as_of)
    before = {k: paths[k].read_bytes() for k in ("scores", "exports", "export_hubspot",
                                                 "export_salesforce", "quarantine", "duplicates")}
    score_flow(as_of=demo.as_of, inputs=sample_dir, config=default_config, out=demo.out)
    for name, content in before.items():
        assert paths[name].read_bytes() == content, f"{name} changed on a re-run"


def test_without_a_model_every_row_says_why(
    prefect_harness: None, tmp_path: Path, sample_dir: Path, default_config: Path,
    sample_export_date: date,
) -> None:
    from flows.score import score_flow

    manifest = score_flow(as_of=sample_export_date, inputs=sample_dir, config=default_config,
                          out=tmp_path)
    scores = pl.read_parquet(run_paths(tmp_path, sample_export_date)["scores"])
    assert manifest.model.status == "no_model"
    assert scores["conversion_probability"].null_count() == scores.height
    assert (scores["probability_status"] == "no_model").all()
    assert scores["reasons"].list.eval(pl.element().str.contains("No conversion probability"))\
        .list.any().all()


def test_too_little_history_trains_nothing_and_scoring_says_so_on_every_row(
    prefect_harness: None, tmp_path: Path, default_config: Path,
) -> None:
    from flows.score import score_flow
    from flows.train import train_flow
    from samplegen import write_sample

    inputs = tmp_path / "small"
    write_sample(inputs, leads=200, seed=5, export_date=date(2026, 11, 1))
    out = tmp_path / "out"
    trained = train_flow(as_of=date(2026, 11, 1), inputs=inputs, config=default_config, out=out)
    assert trained.status == "insufficient_history"
    assert "min_labelled_rows" in trained.message
    assert trained.timings_seconds is not None and "fit_and_select" in trained.timings_seconds
    assert not (out / "models" / "current.json").exists()
    manifest = score_flow(as_of=date(2026, 11, 1), inputs=inputs, config=default_config, out=out)
    scores = pl.read_parquet(run_paths(out, date(2026, 11, 1))["scores"])
    assert manifest.model.status == "insufficient_history"
    assert (scores["probability_status"] == "insufficient_history").all()
    assert scores["conversion_probability"].null_count() == scores.height
    assert scores["reasons"].list.eval(
        pl.element().str.contains("too little history")).list.any().all()


def test_header_only_leads_with_a_trained_model_is_a_run_of_zero_leads(
    demo: DemoRun, tmp_path: Path, sample_dir: Path, default_config: Path,
) -> None:
    from flows.score import score_flow

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    header = (sample_dir / "leads.csv").read_text(encoding="utf-8").splitlines()[0]
    (inputs / "leads.csv").write_text(header + "\n", encoding="utf-8")
    # No activities either: with no leads, every activity would be quarantined as belonging to
    # an unknown lead, and a source losing all its rows stops the run (pinned elsewhere).
    pl.read_parquet(sample_dir / "activities.parquet").head(0).write_parquet(
        inputs / "activities.parquet")
    manifest = score_flow(as_of=demo.as_of, inputs=inputs, config=default_config,
                          out=tmp_path / "out", models=demo.out / "models")
    assert manifest.model.status == "model"
    assert pl.read_parquet(run_paths(tmp_path / "out", demo.as_of)["scores"]).height == 0


def test_as_of_before_any_lead_with_a_trained_model_scores_nothing(
    demo: DemoRun, tmp_path: Path, sample_dir: Path, default_config: Path,
) -> None:
    from flows.score import score_flow

    as_of = date(2020, 1, 1)
    score_flow(as_of=as_of, inputs=sample_dir, config=default_config, out=tmp_path / "out",
               models=demo.out / "models")
    scores = pl.read_parquet(run_paths(tmp_path / "out", as_of)["scores"])
    assert scores.height == 0


def test_as_of_far_past_the_newest_record_is_an_input_error_and_publishes_nothing(
    prefect_harness: None, tmp_path: Path, sample_dir: Path, default_config: Path,
) -> None:
    from features.errors import InputError
    from flows.score import score_flow

    with pytest.raises(InputError, match=r"as_of 9999-12-31 is \d+ days after the newest record"):
        score_flow(as_of=date(9999, 12, 31), inputs=sample_dir, config=default_config,
                   out=tmp_path / "out")
    assert not (tmp_path / "out" / "runs").exists()


def test_as_of_bound_allows_a_week_after_the_newest_record() -> None:
    from features.config import Config
    from features.errors import InputError
    from flows.score import check_as_of

    newest = date(2026, 10, 31)
    check_as_of(date(2026, 11, 7), newest, Config())
    check_as_of(date(2020, 1, 1), newest, Config())  # backfills of the past are fine
    check_as_of(date(2026, 11, 7), None, Config())  # nothing dated: nothing to compare
    with pytest.raises(InputError, match="max_days_after_newest_record"):
        check_as_of(date(2026, 11, 8), newest, Config())


def _inputs_with_activities(tmp_path: Path, sample_dir: Path, occurred_at: list[str]) -> Path:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "leads.csv").write_bytes((sample_dir / "leads.csv").read_bytes())
    lead_ids = pl.read_csv(sample_dir / "leads.csv", columns=["lead_id"])["lead_id"]
    pl.DataFrame({
        "lead_id": lead_ids.head(len(occurred_at)),
        "activity_type": ["page_view"] * len(occurred_at),
        "occurred_at": occurred_at,
    }).write_csv(inputs / "activities.csv")
    return inputs


def test_a_source_whose_every_row_is_quarantined_stops_the_run_naming_it(
    prefect_harness: None, tmp_path: Path, sample_dir: Path, default_config: Path,
    sample_export_date: date,
) -> None:
    from features.errors import InputError
    from flows.score import score_flow

    inputs = _inputs_with_activities(tmp_path, sample_dir, ["1761955200"] * 20)
    with pytest.raises(InputError, match=r"activities\.csv: activities: 20 of 20 rows \(100%\) "
                                         r"quarantined, most often: occurred_at '1761955200'"):
        score_flow(as_of=sample_export_date, inputs=inputs, config=default_config,
                   out=tmp_path / "out", models=tmp_path / "models")
    assert not (tmp_path / "out" / "runs").exists()


def test_a_source_losing_most_rows_is_a_warning_in_the_manifest(
    prefect_harness: None, tmp_path: Path, sample_dir: Path, default_config: Path,
    sample_export_date: date,
) -> None:
    from flows.score import score_flow

    inputs = _inputs_with_activities(tmp_path, sample_dir,
                                     ["1761955200"] * 14 + ["2026-10-01"] * 6)
    manifest = score_flow(as_of=sample_export_date, inputs=inputs, config=default_config,
                          out=tmp_path / "out", models=tmp_path / "models")
    assert manifest.warnings == [
        "activities.csv: activities: 14 of 20 rows (70%) quarantined, most often: occurred_at "
        "'1761955200' is not a valid date/time"]


def test_a_full_disk_mid_write_is_one_error_and_keeps_the_previous_output(
    demo: DemoRun, sample_dir: Path, default_config: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from features.errors import OutputError
    from flows.publish import STAGING
    from flows.score import score_flow

    paths = {n: p for n, p in run_paths(demo.out, demo.as_of).items()
             if n in written_by(default_config)}
    before = {name: path.read_bytes() for name, path in paths.items()}

    real_write = pq.ParquetWriter.write_table

    def disk_full(self: pq.ParquetWriter, table: Any, **options: Any) -> None:
        real_write(self, table.slice(0, 1), **options)  # a partial file, as a full disk leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", disk_full)
    with pytest.raises(OutputError, match=r"cannot write .*scores\.parquet: No space left"):
        score_flow(as_of=demo.as_of, inputs=sample_dir, config=default_config, out=demo.out)
    monkeypatch.undo()
    assert {name: path.read_bytes() for name, path in paths.items()} == before
    leftovers = [p for p in (demo.out / STAGING).iterdir() if not p.name.startswith(".")]
    assert leftovers == []
