"""The nightly `score` flow: one as_of date, inputs in, scored leads and a run record out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from features.config import Config
from features.point_in_time.assemble import PreparedInputs, build_features
from features.point_in_time.snapshots import scoring_snapshots
from features.resolve.accounting import reconcile
from features.resolve.enrich import match_report
from features.resolve.prepare import Prepared, prepare
from flows import PROJECT_ROOT
from flows.catalog import (
    MANIFEST,
    SourceInput,
    load_config,
    partition,
    previous_scores,
    read_errors_named,
    read_sources,
    sha256_of,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from flows.models import model_verdict
from flows.profiles import load_profile
from flows.publish import publish, publish_lock, recover_interrupted, staging_folder
from scoring.report import funnel_summary, render_report
from scoring.score import ModelVerdict, finish, with_icp, with_probabilities

SAMPLE_INPUTS = PROJECT_ROOT / "data" / "sample"
DEFAULT_CONFIG = PROJECT_ROOT / "data" / "leadscore.toml"


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[step] = round(time.perf_counter() - start, 3)


@dataclass(frozen=True)
class Materialized:
    """The prepared inputs held in memory, and what the run reports about them.

    Collected together in one `collect_all`, so polars reads and parses each input file once;
    the features are then computed from memory (a lazy plan that reused the prepared frames
    would recompute them at every use).
    """

    inputs: PreparedInputs
    quarantine: pl.DataFrame
    value_issues: pl.DataFrame
    duplicates: pl.DataFrame
    matches: pl.DataFrame
    buckets: pl.DataFrame
    rows_read: dict[str, int]
    quarantined_by_validation: dict[str, int]


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def read_inputs(
    inputs: Path, cfg: Config, work_dir: Path, profile: str | None = None
) -> dict[str, SourceInput]:
    """Find, read, map (``profile``: a preset name or a TOML path; default the canonical
    names) and validate every source (I/O: the one task that retries)."""
    return read_sources(inputs, cfg, work_dir, load_profile(profile))


@task(cache_policy=NO_CACHE)
def prepare_inputs(sources: dict[str, SourceInput], cfg: Config, as_of: date) -> Prepared:
    frames = {name: s.validated.valid for name, s in sources.items()}
    files = {name: s.file_label for name, s in sources.items()}
    rejected = sources["leads"].validated.quarantine.select(
        pl.col("record").str.json_path_match("$.lead_id").str.strip_chars().alias("lead_id")
    )
    # A malformed CSV surfaces when the checkpoint collects: name the file, not polars' plan.
    with read_errors_named(sources):
        return prepare(frames, files, cfg, as_of, quarantined_lead_ids=rejected,
                       checkpoint=in_memory)


def in_memory(frames: Sequence[pl.LazyFrame]) -> list[pl.LazyFrame]:
    """A checkpoint for `prepare`: collect frames used many times, hand them back as lazy."""
    return [frame.lazy() for frame in pl.collect_all(frames)]


def _present(frame: pl.LazyFrame) -> bool:
    return frame.collect_schema().len() > 0


@task(cache_policy=NO_CACHE)
def materialize(sources: dict[str, SourceInput], prepared: Prepared) -> Materialized:
    """Collect the prepared inputs and every report frame in one pass over the inputs."""
    names = list(sources)
    validation_quarantine = [s.validated.quarantine for s in sources.values()
                             if _present(s.validated.quarantine)]
    issues = [s.validated.value_issues.with_columns(pl.lit(n).alias("source"))
              for n, s in sources.items() if _present(s.validated.value_issues)]
    inputs = prepared.inputs
    lazies = [
        inputs.leads, inputs.lead_companies, inputs.activities, inputs.opportunities,
        inputs.companies, inputs.events,
        pl.concat([*validation_quarantine, prepared.quarantine], how="diagonal_relaxed")
        .sort("source", "source_row", "reason"),
        pl.concat(issues, how="diagonal_relaxed") if issues else pl.LazyFrame(),
        prepared.duplicates.sort("lead_id"),
        prepared.buckets,
        *[sources[n].raw_rows for n in names],
        *[sources[n].validated.quarantine.select(pl.len()) if
          _present(sources[n].validated.quarantine) else pl.LazyFrame({"len": [0]})
          for n in names],
    ]
    with read_errors_named(sources):
        collected = pl.collect_all(lazies)
    held = PreparedInputs(*(frame.lazy() for frame in collected[:6]))
    counts = collected[10:]
    return Materialized(
        inputs=held,
        quarantine=collected[6],
        value_issues=collected[7],
        duplicates=collected[8],
        matches=collected[1],
        buckets=collected[9],
        rows_read={n: int(counts[i].item()) for i, n in enumerate(names)},
        quarantined_by_validation={
            n: int(counts[len(names) + i].item()) for i, n in enumerate(names)
        },
    )


@task(cache_policy=NO_CACHE)
def score_features(inputs: PreparedInputs, cfg: Config, as_of: date) -> pl.DataFrame:
    """Features and ICP fit for every lead known before as_of (the scikit-learn boundary)."""
    snapshots = scoring_snapshots(inputs.leads, as_of)
    return with_icp(build_features(snapshots, inputs, cfg), cfg).collect()


@task(cache_policy=NO_CACHE)
def predict(features: pl.DataFrame, verdict: ModelVerdict) -> pl.DataFrame:
    return with_probabilities(features, verdict)


@task(cache_policy=NO_CACHE)
def recommend(
    scored: pl.DataFrame, leads: pl.LazyFrame, cfg: Config, as_of: date,
    previous: pl.LazyFrame | None,
) -> pl.DataFrame:
    return finish(scored.lazy(), leads, cfg, as_of, previous).collect()


def crm_export(scores: pl.DataFrame) -> pl.DataFrame:
    """The CSV for CRM import: lists joined into one cell, the export's own columns kept."""
    lists = [c for c, t in scores.schema.items() if isinstance(t, pl.List)]
    return scores.with_columns(pl.col(c).list.join(" | ") for c in lists)


def _reason_kind() -> pl.Expr:
    # "duplicate lead_id 'L1' (first at row 3)" and "... 'L2' ..." are one kind of problem.
    return pl.col("reason").str.replace_all(r"'[^']*'", "'…'").str.replace_all(r"\d+", "N")


def quarantine_summary(quarantine: pl.DataFrame) -> dict[str, Any]:
    if quarantine.height == 0:
        return {"rows": 0, "by_source_and_reason": {}}
    grouped = (
        quarantine.group_by("source", _reason_kind().alias("reason"))
        .agg(pl.len().alias("rows"))
        .sort(["source", "rows", "reason"], descending=[False, True, False])
    )
    by: dict[str, dict[str, int]] = {}
    for row in grouped.iter_rows(named=True):
        by.setdefault(row["source"], {})[row["reason"]] = row["rows"]
    return {"rows": quarantine.height, "by_source_and_reason": by}


def enrichment_summary(
    matches: pl.DataFrame, identities: pl.DataFrame, scores: pl.DataFrame
) -> dict[str, Any]:
    """Match rates and reasons, the company domains and names too ambiguous to match on,
    freshness."""
    report = match_report(matches, identities)
    report["firmographics"] = {
        "with_company_data": int(scores["firmographics_age_days"].is_not_null().sum()),
        "stale": int(scores["firmographics_stale"].fill_null(False).sum()),
        "median_age_days": scores["firmographics_age_days"].median(),
    }
    return report


@task(cache_policy=NO_CACHE)
def write_outputs(
    staging: Path, as_of: date, scores: pl.DataFrame, materialized: Materialized,
    manifest: dict[str, Any], report: str,
) -> dict[str, Any]:
    """Write every output into the staging folder; return each file's rows and hash."""
    files = {
        "scores": (partition(staging, "scores", as_of) / "scores.parquet", scores),
        "exports": (partition(staging, "exports", as_of) / "leads_for_crm.csv",
                    crm_export(scores)),
        "quarantine": (partition(staging, "quarantine", as_of) / "quarantine.parquet",
                       materialized.quarantine),
        "value_issues": (partition(staging, "quarantine", as_of) / "value_issues.parquet",
                         materialized.value_issues),
        "duplicates": (partition(staging, "duplicates", as_of) / "duplicates.parquet",
                       materialized.duplicates),
    }
    outputs: dict[str, Any] = {}
    for name, (path, frame) in files.items():
        if path.suffix == ".csv":
            write_csv(frame, path)
        else:
            write_parquet(frame, path)
        outputs[name] = {"path": str(path.relative_to(staging)), "rows": frame.height,
                         "sha256": sha256_of(path)}
    report_path = partition(staging, "reports", as_of) / "report.md"
    write_text(report, report_path)
    outputs["report"] = {"path": str(report_path.relative_to(staging))}
    manifest["outputs"] = outputs
    write_json(manifest, partition(staging, "runs", as_of) / MANIFEST)
    return outputs


def _inputs_section(sources: dict[str, SourceInput], rows: dict[str, int]) -> dict[str, Any]:
    return {name: {**s.file_info, "rows": rows[name]} for name, s in sources.items()}


@flow(name="score")
def score_flow(
    as_of: date | None = None,
    inputs: Path = SAMPLE_INPUTS,
    config: Path = DEFAULT_CONFIG,
    out: Path = Path("out"),
    models: Path | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """Score every lead as of `as_of` (default: today, UTC) and publish the outputs under `out`."""
    logger = get_run_logger()
    as_of = as_of or datetime.now(UTC).date()  # the nightly default; backfills pass a date
    started = datetime.now(UTC)
    timings: dict[str, float] = {}
    cfg, config_hash = load_config(config)
    out.mkdir(parents=True, exist_ok=True)
    for step in recover_interrupted(out):
        logger.warning("Output folder %s: %s", out, step)
    with staging_folder(out) as staging:
        with _timed(timings, "read_and_validate"):
            sources = read_inputs(inputs, cfg, staging / "work", profile)
        with _timed(timings, "prepare"):
            prepared = prepare_inputs(sources, cfg, as_of)
        verdict = model_verdict(models or out / "models", cfg)
        if verdict.model is None:
            logger.warning("No conversion model: %s", verdict.note)
        with _timed(timings, "collect_inputs"):
            materialized = materialize(sources, prepared)
        with _timed(timings, "features"):
            features = score_features(materialized.inputs, cfg, as_of)
        with _timed(timings, "predict_and_explain"):
            scored = predict(features, verdict)
        with publish_lock(out):
            previous_as_of, previous = previous_scores(out, as_of)
        with _timed(timings, "recommend"):
            scores = recommend(scored, materialized.inputs.leads, cfg, as_of, previous)
        accounting = reconcile(materialized.rows_read, materialized.quarantined_by_validation,
                               materialized.buckets, scores.height)
        summary = funnel_summary(scores, previous_as_of)
        manifest: dict[str, Any] = {
            "run": {
                "as_of": as_of.isoformat(),
                "run_id": uuid.uuid4().hex,
                "started_at": started.isoformat(),
                "leadscore_version": package_version("leadscore"),
            },
            "inputs": _inputs_section(sources, materialized.rows_read),
            "config": {"path": str(config), "sha256": config_hash},
            "model": {"status": verdict.status, "version": verdict.version,
                      "note": verdict.note},
            "counts": accounting,
            "enrichment": enrichment_summary(materialized.matches, prepared.company_identities,
                                             scores),
            "quarantine": quarantine_summary(materialized.quarantine),
            "value_issues": materialized.value_issues.height,
            "funnel": summary,
            "timings_seconds": timings,
        }
        with _timed(timings, "write"):
            report = render_report(scores, manifest)
            manifest["run"]["finished_at"] = datetime.now(UTC).isoformat()
            write_outputs(staging, as_of, scores, materialized, manifest, report)
            publish(staging, out, as_of)
    return manifest

