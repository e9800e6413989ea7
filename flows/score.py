"""The nightly `score` flow: one as_of date, inputs in, scored leads and a run record out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from features.config import Config
from features.errors import InputError
from features.exprs import marked_sorted
from features.point_in_time.assemble import PreparedInputs, build_features
from features.point_in_time.snapshots import scoring_snapshots
from features.resolve.accounting import heavy_losses, reconcile
from features.resolve.enrich import MATCH_REPORT_COLUMNS, match_memo, match_report
from features.resolve.prepare import NOT_YET_CREATED, Prepared, prepare
from flows import PROJECT_ROOT
from flows.artifacts import create_run_artifacts
from flows.catalog import (
    SourceInput,
    Storage,
    crm_dataset,
    dataset_path,
    frame_pieces,
    load_config,
    previous_scores,
    read_errors_named,
    read_sources,
    staged_sources,
    storage_for,
    writing,
)
from flows.console import step_started
from flows.exports import (
    HISTORY_FEATURES,
    CrmChoice,
    crm_datasets,
    crm_files,
    export_settings,
    html_report,
    model_card,
    pii_key,
    report_segments,
    without_pii,
)
from flows.models import model_verdict
from flows.partitioned import (
    PartitionLayout,
    finish_partitions,
    prepare_partitions,
    score_partitions,
    scored_features,
)
from flows.profiles import load_profile
from flows.promotions import CURRENT, ModelChoice
from flows.publish import publish, publish_lock, recover_interrupted, staging_folder
from flows.runtime import (
    IO_BACKOFF_SECONDS,
    IO_RETRIES,
    io_retry_condition,
    prefect_startup_seconds,
)
from flows.scored_pieces import FinishedScores, WholeScores
from scoring.changes import CHANGES, change_counts, change_feed, removal_reasons, removed_leads
from scoring.records import (
    ChangeSummary,
    ConfigRef,
    DuplicatesSummary,
    EnrichmentSummary,
    Firmographics,
    InputFile,
    ModelUse,
    OutputFile,
    QuarantineSummary,
    RunInfo,
    RunManifest,
    SourceCounts,
)
from scoring.report import funnel_summary, render_report
from scoring.report_html import historic_conversion
from scoring.report_rows import report_rows
from scoring.score import ModelVerdict, finish, with_icp, with_probabilities
from scoring.spreadsheet_safety import CsvFormat

SAMPLE_INPUTS = PROJECT_ROOT / "data" / "sample"
DEFAULT_CONFIG = PROJECT_ROOT / "data" / "leadscore.toml"


# The step of a flow's timings that is Prefect's start-up, not the job's own work.
PREFECT_STARTUP_STEP = "prefect_startup"


def new_timings() -> dict[str, float]:
    """A flow run's `timings_seconds`, holding Prefect's start-up first when this process
    paid it (once per process: shared by its runs)."""
    startup = prefect_startup_seconds()
    return {} if startup is None else {PREFECT_STARTUP_STEP: startup}


@contextmanager
def timed_step(timings: dict[str, float], step: str) -> Iterator[None]:
    """Announce `step` on the terminal and record its wall seconds in `timings` (a flow's
    `timings_seconds`)."""
    step_started(step)
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
    matches: pl.DataFrame  # MATCH_REPORT_COLUMNS of every surviving lead's match
    buckets: pl.DataFrame
    rows_read: dict[str, int]
    quarantined_by_validation: dict[str, int]
    newest_record: date | None = None


# The dates that say when each source's records happened (the newest one bounds as_of).
_RECORD_DATES = {"leads": "created_at", "activities": "occurred_at",
                 "opportunities": "created_at", "company_events": "occurred_at"}


def _newest_record(sources: dict[str, SourceInput]) -> pl.LazyFrame:
    """One row, column `newest`: the latest record date over every source, known or not."""
    latest = [sources[name].validated.valid.select(pl.col(column).max().cast(pl.Date)
                                                    .alias("newest"))
              for name, column in _RECORD_DATES.items() if name in sources]
    return pl.concat(latest).select(pl.col("newest").max())


def check_losses(sources: dict[str, SourceInput], materialized: Materialized,
                 cfg: Config) -> list[str]:
    """Warnings for sources that lost more than `ingest.warn_quarantined_share` of their rows
    to the quarantine; InputError naming the files past `ingest.max_quarantined_share`."""
    losses = heavy_losses(materialized.rows_read, materialized.quarantine,
                          cfg.ingest.warn_quarantined_share, (NOT_YET_CREATED,))
    fatal = [x for x in losses if x.share > cfg.ingest.max_quarantined_share]
    if fatal:
        said = "; ".join(f"{sources[x.source].file_label}: {x.describe()}" for x in fatal)
        raise InputError(f"{said}; fix the export or its profile, or raise "
                         "[ingest].max_quarantined_share")
    return [f"{sources[x.source].file_label}: {x.describe()}" for x in losses]


def check_as_of(as_of: date, newest_record: date | None, cfg: Config) -> None:
    """InputError when as_of is more than `ingest.max_days_after_newest_record` days after
    the newest record in the inputs (dates before the newest are always fine: backfills)."""
    limit = cfg.ingest.max_days_after_newest_record
    if newest_record is not None and (as_of - newest_record).days > limit:
        raise InputError(
            f"as_of {as_of} is {(as_of - newest_record).days} days after the newest record in "
            f"the inputs ({newest_record}); an export that old would be scored as current. "
            f"Pass --as-of within {limit} days of the export, or raise "
            "[ingest].max_days_after_newest_record"
        )


# The I/O steps: retried with backoff on an operating-system error only (never on a user error).
_IO_TASK: dict[str, Any] = {
    "cache_policy": NO_CACHE, "retries": IO_RETRIES,
    "retry_delay_seconds": exponential_backoff(IO_BACKOFF_SECONDS),
    "retry_condition_fn": io_retry_condition,
}


@dataclass(frozen=True)
class ScoredOutputs:
    """What `write_scored` wrote and kept: the scores, change feed and CRM files (by output
    name), the report's rows of every lead (`scoring.report_rows`) and the change counts."""

    outputs: dict[str, OutputFile]
    report_rows: pl.DataFrame
    change_counts: dict[str, int]


@task(**_IO_TASK)
def read_inputs(
    inputs: Path, cfg: Config, work_dir: Path, profile: str | None = None
) -> dict[str, SourceInput]:
    """Find, read, map (``profile``: a preset name or a TOML path; default the canonical
    names) and validate every source. The files' headers and dialects are read here; their
    rows are read lazily, by `prepare_inputs` and `materialize`, which retry too."""
    return read_sources(inputs, cfg, work_dir, load_profile(profile))


@task(**_IO_TASK)
def validate_inputs(sources: dict[str, SourceInput], staging: Path) -> dict[str, SourceInput]:
    """Validate every source once, into Parquet in the staging folder (`staged_sources`)."""
    return staged_sources(sources, staging / "validated")


@task(**_IO_TASK)
def prepare_inputs(sources: dict[str, SourceInput], cfg: Config, as_of: date) -> Prepared:
    frames = {name: s.validated.valid for name, s in sources.items()}
    files = {name: s.file_label for name, s in sources.items()}
    rejected = sources["leads"].validated.quarantine.select(
        pl.col("record").str.json_path_match("$.lead_id").str.strip_chars().alias("lead_id")
    )
    # A malformed CSV surfaces when the checkpoint collects: name the file, not polars' plan.
    with read_errors_named(sources):
        # Each business ID and domain of the leads and companies checked once for both.
        memo = match_memo(frames["leads"], frames["companies"])
        return prepare(frames, files, cfg, as_of, quarantined_lead_ids=rejected,
                       checkpoint=in_memory, memo=memo)


def in_memory(frames: Sequence[pl.LazyFrame]) -> list[pl.LazyFrame]:
    """A checkpoint for `prepare`: collect frames used many times, hand them back as lazy."""
    return [frame.lazy() for frame in pl.collect_all(frames)]


def _present(frame: pl.LazyFrame) -> bool:
    return frame.collect_schema().len() > 0


def _collect_named(frames: dict[str, pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    """Collect every frame in one `collect_all` pass, each result under its own name."""
    return dict(zip(frames, pl.collect_all(list(frames.values())), strict=True))


# The prepared inputs a partitioned run reads per partition from its files (the leads also
# per piece of lead ids, for the CRM files' emails), so the flow leaves them as scans rather
# than holding every partition's at once.
PARTITION_ONLY_INPUTS = ("leads", "lead_companies", "activities", "opportunities", "companies",
                         "events")


@task(**_IO_TASK)
def materialize(sources: dict[str, SourceInput], prepared: Prepared,
                partitioned: bool = False) -> Materialized:
    """Collect the prepared inputs and every report frame in one pass over the inputs
    (`partitioned`: all but PARTITION_ONLY_INPUTS, which stay lazy)."""
    validation_quarantine = [s.validated.quarantine for s in sources.values()
                             if _present(s.validated.quarantine)]
    issues = [s.validated.value_issues.with_columns(pl.lit(n).alias("source"))
              for n, s in sources.items() if _present(s.validated.value_issues)]
    inputs = {f.name: getattr(prepared.inputs, f.name) for f in fields(PreparedInputs)
              if not (partitioned and f.name in PARTITION_ONLY_INPUTS)}
    lazy = {name: getattr(prepared.inputs, name) for name in PARTITION_ONLY_INPUTS
            if name not in inputs}
    reports = {
        "quarantine": pl.concat([*validation_quarantine, prepared.quarantine],
                                how="diagonal_relaxed").sort("source", "source_row", "reason"),
        "value_issues": pl.concat(issues, how="diagonal_relaxed") if issues else pl.LazyFrame(),
        "duplicates": prepared.duplicates.sort("lead_id"),
        # Only what the enrichment summary counts, as categories: a partitioned run would
        # otherwise hold every lead's match row to the end (about 1.5 GiB at 10M leads).
        "matches": prepared.matches.select(pl.col(MATCH_REPORT_COLUMNS).cast(pl.Categorical)),
        "buckets": prepared.buckets,
        "newest": _newest_record(sources),
    }
    rows_read = {f"read:{n}": s.raw_rows for n, s in sources.items()}
    rejected = {f"rejected:{n}": (s.validated.quarantine.select(pl.len())
                                  if _present(s.validated.quarantine)
                                  else pl.LazyFrame({"len": [0]}))
                for n, s in sources.items()}
    with read_errors_named(sources):
        got = _collect_named({**inputs, **reports, **rows_read, **rejected})
    return Materialized(
        inputs=PreparedInputs(**{name: got[name].lazy() for name in inputs}, **lazy),
        quarantine=got["quarantine"],
        value_issues=got["value_issues"],
        duplicates=got["duplicates"],
        matches=got["matches"],
        buckets=got["buckets"],
        rows_read={n: int(got[f"read:{n}"].item()) for n in sources},
        quarantined_by_validation={n: int(got[f"rejected:{n}"].item()) for n in sources},
        newest_record=got["newest"].item(),
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
    # The scores come sorted by lead_id from the features; flagged so, finish's sorts by it
    # cost nothing.
    return finish(marked_sorted(scored, "lead_id").lazy(), leads, cfg, as_of,
                  previous).collect()


def _reason_kind() -> pl.Expr:
    # "duplicate lead_id 'L1' (first at row 3)" and "... 'L2' ..." are one kind of problem.
    return pl.col("reason").str.replace_all(r"'[^']*'", "'…'").str.replace_all(r"\d+", "N")


def duplicates_summary(duplicates: pl.DataFrame) -> DuplicatesSummary:
    """How many lead rows were merged, and how many merges a person should check."""
    review = int(duplicates["needs_review"].sum()) if duplicates.height else 0
    return DuplicatesSummary(merged=duplicates.height, needs_review=review)


def quarantine_summary(quarantine: pl.DataFrame) -> QuarantineSummary:
    """Needs: source, reason. Rows per source per kind of reason, most frequent first."""
    if quarantine.height == 0:
        return QuarantineSummary(rows=0, by_source_and_reason={})
    grouped = (
        quarantine.group_by("source", _reason_kind().alias("reason"))
        .agg(pl.len().alias("rows"))
        .sort(["source", "rows", "reason"], descending=[False, True, False])
    )
    by: dict[str, dict[str, int]] = {}
    for row in grouped.iter_rows(named=True):
        by.setdefault(row["source"], {})[row["reason"]] = row["rows"]
    return QuarantineSummary(rows=quarantine.height, by_source_and_reason=by)


def enrichment_summary(
    matches: pl.DataFrame, identities: pl.DataFrame, scores: pl.DataFrame
) -> EnrichmentSummary:
    """Match rates and reasons, the company domains and names too ambiguous to match on,
    freshness (scores needs firmographics_age_days, firmographics_stale)."""
    firmographics = Firmographics(
        with_company_data=int(scores["firmographics_age_days"].is_not_null().sum()),
        stale=int(scores["firmographics_stale"].fill_null(False).sum()),
        median_age_days=scores["firmographics_age_days"].median(),
    )
    return EnrichmentSummary.model_validate(
        {**match_report(matches, identities), "firmographics": firmographics}
    )


@task(**_IO_TASK)
def write_scored(
    storage: Storage, as_of: date, finished: FinishedScores, previous: pl.LazyFrame | None,
    materialized: Materialized, crm: CrmChoice, pii: bytes | None, segments: pl.DataFrame,
    work: Path,
) -> ScoredOutputs:
    """Write the scores, the change feed and the CRM import files piece by piece (see
    `flows.scored_pieces`), and keep the report's rows of every lead (`segments`: their
    SEGMENT_FEATURES, `flows.exports`).

    The report rows are written piece by piece to a work file under `work` and read back
    once every output is written, so they are never held beside a piece's frames: at 10
    million leads they are about 2.5 GiB, and a list of pieces also kept every piece's
    allocations apart.

    The CRM import files keep emails as they are (the CRM matches on them); the scores have
    them hashed when the run hashes PII (``pii``)."""
    crm_names = [crm_dataset(name, only) for name, only in
                 crm_datasets(crm.settings, crm.with_changes_only)]
    counts = dict.fromkeys(CHANGES, 0)
    left_out = dict.fromkeys(crm_names, 0)
    record_id_from: dict[str, str | None] = dict.fromkeys(crm_names)
    reasons = (None if previous is None
               else removal_reasons(materialized.duplicates, materialized.quarantine))
    report_file = work / "report_rows.parquet"
    with ExitStack() as files:
        scores, changes, *imports = (files.enter_context(storage.open_frame(name, as_of))
                                     for name in ("scores", "changes", *crm_names))
        report = files.enter_context(frame_pieces(report_file, "parquet"))
        for piece in finished.pieces():
            scores.append(without_pii(piece.frame, pii))
            removed = None if previous is None or reasons is None else removed_leads(
                previous.filter(piece.holds()).collect(), piece.frame["lead_id"], reasons)
            feed = change_feed(piece.frame, removed)
            changes.append(feed)
            counts = {k: counts[k] + n for k, n in change_counts(feed).items()}
            for name, writer, crm_file in zip(
                    crm_names, imports,
                    crm_files(piece.frame, materialized.inputs.leads.filter(piece.holds()),
                              crm.settings, crm.input_profile, crm.with_changes_only),
                    strict=True):
                writer.append(crm_file.result.frame)
                left_out[name] += crm_file.result.left_out
                record_id_from[name] = crm_file.result.record_id_from
            report.append(report_rows(piece.frame, segments.filter(piece.holds())))
    outputs = {"scores": scores.written, "changes": changes.written}
    for name, writer in zip(crm_names, imports, strict=True):
        outputs[name] = writer.written.model_copy(update={
            "left_out_without_id": left_out[name], "record_id_from": record_id_from[name]})
    return ScoredOutputs(outputs, pl.read_parquet(report_file), counts)


@task(**_IO_TASK)
def write_outputs(
    storage: Storage, as_of: date, materialized: Materialized, scored: ScoredOutputs,
    manifest: RunManifest, report: str, html: str, pii: bytes | None,
) -> RunManifest:
    """Write the other outputs into the staging folder, then the manifest with each file's
    path, rows and hash; return that manifest. One entry per catalog output (`flows.catalog`).
    Every output but the CRM import files has emails hashed when the run hashes PII."""
    frames = {
        "quarantine": without_pii(materialized.quarantine, pii),
        "value_issues": without_pii(materialized.value_issues, pii),
        "duplicates": without_pii(materialized.duplicates, pii),
    }
    outputs = {**scored.outputs,
               **{name: storage.write(name, as_of, frame) for name, frame in frames.items()}}
    outputs["report"] = storage.write("report", as_of, report)
    outputs["report_html"] = storage.write("report_html", as_of, html)
    written = manifest.model_copy(update={"outputs": outputs})
    storage.write("manifest", as_of, written)
    return written


def _inputs_section(sources: dict[str, SourceInput], rows: dict[str, int]) -> dict[str, InputFile]:
    return {name: s.file_info.model_copy(update={"rows": rows[name]})
            for name, s in sources.items()}


def score_date(
    as_of: date,
    inputs: Path = SAMPLE_INPUTS,
    config: Path = DEFAULT_CONFIG,
    out: Path = Path("out"),
    models: Path | None = None,
    profile: str | None = None,
    *,
    model: ModelChoice = CURRENT,
    with_changes_only: bool = False,
    crm: tuple[str, ...] | None = None,
    hash_pii: bool | None = None,
    previous_ready: Callable[[], None] | None = None,
    partitions: int | None = None,
) -> RunManifest:
    """Score every lead as of `as_of` and publish the outputs under `out`: the one scoring path,
    run by the `score` flow for its date and by `backfill` for each of its dates.

    `model` chooses the conversion model (default: the registry's current one).
    `crm` and `hash_pii` override the config's [export] section (`--crm`, `--hash-pii`);
    `with_changes_only` also writes each CRM file with only the changed leads.
    `previous_ready` blocks until the run this one compares against can be read: a backfill
    passes one that waits for its earlier dates to finish, so that each date compares with
    the day before exactly as the nightly run would have, whatever order the workers finish in.
    `partitions` (default: the config's `run.partitions`): above 1, the per-lead steps run in
    that many partitions (`flows.partitioned`), as tasks of the flow's task runner.
    Runs inside a flow (its tasks and logger need one).
    """
    logger = get_run_logger()
    started = datetime.now(UTC)
    timings = new_timings()
    cfg, config_hash = load_config(config)
    settings = export_settings(cfg, crm, hash_pii)
    key = pii_key(settings)
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        recovered = recover_interrupted(out)
    for step in recovered:
        logger.warning("Output folder %s: %s", out, step)
    with staging_folder(out) as staging:
        with timed_step(timings, "read_and_validate"):
            sources = validate_inputs(read_inputs(inputs, cfg, staging / "work", profile),
                                      staging)
        parts = partitions or cfg.run.partitions
        layout = PartitionLayout(staging / "partitions", parts) if parts > 1 else None
        with timed_step(timings, "prepare"):
            prepared = (prepare_inputs(sources, cfg, as_of) if layout is None
                        else prepare_partitions(sources, cfg, as_of, layout))
        verdict = model_verdict(models or out / "models", cfg, model)
        if verdict.model is None:
            logger.warning("As of %s, no conversion model: %s", as_of, verdict.note)
        else:
            logger.info("As of %s, model %s (%s)", as_of, verdict.version, model.why)
        with timed_step(timings, "collect_inputs"):
            materialized = materialize(sources, prepared, partitioned=layout is not None)
        check_as_of(as_of, materialized.newest_record, cfg)
        warnings = check_losses(sources, materialized, cfg)
        for warning in warnings:
            logger.warning("Data quality: %s", warning)
        if layout is None:
            with timed_step(timings, "features"):
                features = score_features(materialized.inputs, cfg, as_of)
            with timed_step(timings, "predict_and_explain"):
                scored = predict(features, verdict)
        else:
            with timed_step(timings, "features_and_predict"):
                score_partitions(layout, cfg, as_of, verdict)
        if previous_ready is not None:
            with timed_step(timings, "wait_for_previous_date"):
                previous_ready()
        with publish_lock(out):
            previous_as_of, previous = previous_scores(out, as_of)
        with timed_step(timings, "recommend"):
            if layout is None:
                finished: FinishedScores = WholeScores(
                    recommend(scored, materialized.inputs.leads, cfg, as_of, previous))
                features_scored = scored.lazy()
            else:
                finished = finish_partitions(layout, cfg, as_of, previous)
                features_scored = scored_features(layout)
            segments = report_segments(features_scored)
            history = historic_conversion(features_scored.select(HISTORY_FEATURES).collect())
        storage = storage_for(staging, CsvFormat.named(settings.csv_locale))
        with timed_step(timings, "write_scores"):
            written = write_scored(
                storage, as_of, finished, previous, materialized,
                CrmChoice(settings, load_profile(profile).name if profile else None,
                          with_changes_only), key, segments, staging / "work")
        del segments  # in the report rows now
        rows = written.report_rows
        accounting = reconcile(materialized.rows_read, materialized.quarantined_by_validation,
                               materialized.buckets, finished.rows)
        manifest = RunManifest(
            run=RunInfo(as_of=as_of, run_id=uuid.uuid4().hex, started_at=started,
                        leadscore_version=package_version("leadscore")),
            inputs=_inputs_section(sources, materialized.rows_read),
            config=ConfigRef(path=str(config), sha256=config_hash),
            model=ModelUse(status=verdict.status, version=verdict.version, note=verdict.note,
                           chosen=model.kind, why=model.why),
            counts={source: SourceCounts.model_validate(counts)
                    for source, counts in accounting.items()},
            enrichment=enrichment_summary(materialized.matches, prepared.company_identities,
                                          rows),
            quarantine=quarantine_summary(materialized.quarantine),
            value_issues=materialized.value_issues.height,
            funnel=funnel_summary(rows, previous_as_of),
            changes=ChangeSummary(previous_as_of=previous_as_of, counts=written.change_counts),
            timings_seconds=timings,
            duplicates=duplicates_summary(materialized.duplicates),
            warnings=warnings,
        )
        with timed_step(timings, "write"):
            report = render_report(rows, manifest)
            html = html_report(rows, history, previous, manifest,
                               model_card(models or out / "models", verdict.version))
            finished_at = manifest.run.model_copy(update={"finished_at": datetime.now(UTC)})
            manifest = write_outputs(storage, as_of, materialized, written,
                                     manifest.model_copy(update={"run": finished_at}), report,
                                     html, key)
            with writing(out):
                publish(staging, out, as_of)
    # The manifest on disk has the steps up to the write; the log has them all.
    create_run_artifacts(manifest, dataset_path(out, "report_html", as_of))
    logger.info("As of %s: %s leads; steps (s): %s", as_of, finished.rows,
                ", ".join(f"{k} {v}" for k, v in timings.items()))
    return manifest


@flow(name="score")
def score_flow(
    as_of: date | None = None,
    inputs: Path = SAMPLE_INPUTS,
    config: Path = DEFAULT_CONFIG,
    out: Path = Path("out"),
    models: Path | None = None,
    profile: str | None = None,
    changes_only: bool = False,
    crm: tuple[str, ...] | None = None,
    hash_pii: bool | None = None,
    partitions: int | None = None,
) -> RunManifest:
    """Score every lead as of `as_of` (default: today, UTC) and publish the outputs under `out`.

    `changes_only`: also the CRM files with just the leads whose recommendation changed;
    `crm` and `hash_pii` override the config's [export] section (`--crm`, `--hash-pii`);
    `partitions` overrides [run].partitions (`--partitions`)."""
    as_of = as_of or datetime.now(UTC).date()  # the nightly default; backfills pass a date
    return score_date(as_of, inputs, config, out, models, profile,
                      with_changes_only=changes_only, crm=crm, hash_pii=hash_pii,
                      partitions=partitions)
