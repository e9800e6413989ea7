"""The `train` flow: point-in-time training set, candidates compared on later data, registry."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from importlib.metadata import version as package_version
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

import features
import flows
import scoring
from features.config import Config
from features.point_in_time.assemble import PreparedInputs
from features.point_in_time.training import labelled_snapshot_dates, training_set
from flows.catalog import load_config, writing
from flows.models import library_versions
from flows.profiles import load_profile
from flows.publish import recover_interrupted, staging_folder
from flows.registry import (
    current_version,
    load_model,
    read_card,
    remove_abandoned_model_folders,
    save_model,
    set_current,
    write_training_status,
)
from flows.score import (
    DEFAULT_CONFIG,
    SAMPLE_INPUTS,
    check_as_of,
    check_losses,
    materialize,
    new_timings,
    prepare_inputs,
    read_inputs,
    timed_step,
    validate_inputs,
)
from scoring.conversion.card import card_markdown, model_card
from scoring.conversion.encoding import canonical_feature_spec
from scoring.conversion.promotion import decide_promotion
from scoring.conversion.train import TrainingOutcome, train_conversion_model
from scoring.records import TrainingCounts, TrainingResult
from scoring.score import with_icp


@task(cache_policy=NO_CACHE)
def build_training_set(inputs: PreparedInputs, cfg: Config, dates: list[date]) -> pl.DataFrame:
    """Collect the labelled snapshots (the scikit-learn boundary)."""
    return with_icp(training_set(inputs, cfg, dates), cfg).collect()


@task(cache_policy=NO_CACHE)
def fit_and_select(labelled: pl.DataFrame, cfg: Config) -> TrainingOutcome:
    return train_conversion_model(labelled, canonical_feature_spec(cfg), cfg.model)


def model_version(as_of: date, fingerprint: list[str]) -> str:
    """Same as_of and fingerprint (inputs, config, profile, code and library versions, model
    kind) give the same version: re-training the same thing is idempotent, anything else gets
    a new folder."""
    digest = hashlib.sha256("|".join(fingerprint).encode()).hexdigest()
    return f"{as_of:%Y%m%d}-{digest[:10]}"


def code_hash() -> str:
    """A hash of the job's own source (features/, scoring/ and flows/, the .py files): changed
    code gives a new model version even with the package version unchanged, so a retrain never
    reuses the folder of a model that older code built."""
    digest = hashlib.sha256()
    for package in (features, scoring, flows):
        folder = Path(str(package.__file__)).parent
        for path in sorted(folder.rglob("*.py")):
            if path.is_file():  # not an editor's dangling lock link
                digest.update(path.relative_to(folder.parent).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _fingerprint(config_hash: str, profile: str | None, input_hashes: list[str],
                 kind: str) -> list[str]:
    profile_json = load_profile(profile).model_dump_json()
    libraries = json.dumps(library_versions(), sort_keys=True)
    return [config_hash, hashlib.sha256(profile_json.encode()).hexdigest(),
            package_version("leadscore"), code_hash(), libraries, kind, *input_hashes]


@flow(name="train")
def train_flow(
    as_of: date | None = None,
    inputs: Path = SAMPLE_INPUTS,
    config: Path = DEFAULT_CONFIG,
    out: Path = Path("out"),
    models: Path | None = None,
    force: bool = False,
    profile: str | None = None,
) -> TrainingResult:
    """Train on history known before `as_of` (default: today, UTC) and register the model."""
    logger = get_run_logger()
    as_of = as_of or datetime.now(UTC).date()
    timings = new_timings()
    cfg, config_hash = load_config(config)
    models = models or out / "models"
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        recovered = [*recover_interrupted(out), *remove_abandoned_model_folders(models)]
    for step in recovered:
        logger.warning("Output folder %s: %s", out, step)
    with staging_folder(out) as staging:
        with timed_step(timings, "read_and_validate"):
            sources = validate_inputs(read_inputs(inputs, cfg, staging / "work", profile),
                                      staging)
        with timed_step(timings, "prepare"):
            prepared = prepare_inputs(sources, cfg, as_of)
        with timed_step(timings, "collect_inputs"):
            held = materialize(sources, prepared)
        check_as_of(as_of, held.newest_record, cfg)
        for warning in check_losses(sources, held, cfg):
            logger.warning("Data quality: %s", warning)
        dates = labelled_snapshot_dates(cfg, as_of)
        with timed_step(timings, "training_set"):
            labelled = build_training_set(held.inputs, cfg, dates)
        with timed_step(timings, "fit_and_select"):
            outcome = fit_and_select(labelled, cfg)
    counts = TrainingCounts.model_validate(outcome.counts)
    if outcome.model is None:
        logger.warning("Not training: %s", outcome.message)
        untrained = TrainingResult(as_of=as_of, status="insufficient_history",
                                   message=outcome.message, counts=counts,
                                   timings_seconds=timings)
        with writing(models):
            write_training_status(models, untrained)
        return untrained
    with timed_step(timings, "register"):
        hashes = [s.file_info.sha256 or "absent" for s in sources.values()]
        version = model_version(as_of, _fingerprint(config_hash, profile, hashes,
                                                    outcome.chosen or ""))
        card = model_card(outcome, version, as_of, dates, config_hash=config_hash,
                          code_hash=code_hash(), libraries=library_versions(), cfg=cfg)
        current = current_version(models)
        promotion = decide_promotion(
            outcome, version, force=force, current=current,
            current_card=lambda: read_card(models, str(current)),
            current_model=lambda: load_model(models, str(current)),
        )
        with writing(models):
            save_model(models, version, outcome.model, card, card_markdown(card))
            if promotion.promote:
                set_current(models, version)
    result = TrainingResult(
        as_of=as_of, status="trained", message=outcome.message, counts=counts, version=version,
        kind=outcome.chosen, current=promotion.promote, promotion=promotion,
        metrics=card.metrics, model_folder=str(models / version), timings_seconds=timings)
    with writing(models):
        write_training_status(models, result)
    logger.info("Trained as of %s; steps (s): %s", as_of,
                ", ".join(f"{k} {v}" for k, v in timings.items()))
    return result
