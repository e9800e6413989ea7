"""The `train` flow: point-in-time training set, candidates compared on later data, registry."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

import features
import flows
import scoring
from features.config import Config
from features.point_in_time.assemble import PreparedInputs
from features.point_in_time.training import labelled_snapshot_dates, training_set
from flows.catalog import load_config
from flows.models import library_versions
from flows.profiles import load_profile
from flows.publish import recover_interrupted, staging_folder
from flows.registry import (
    current_version,
    load_model,
    read_card,
    save_model,
    set_current,
    write_training_status,
)
from flows.score import DEFAULT_CONFIG, SAMPLE_INPUTS, materialize, prepare_inputs, read_inputs
from scoring.conversion.encoding import canonical_feature_spec
from scoring.conversion.train import (
    TARGET,
    TrainingOutcome,
    train_conversion_model,
    validation_log_loss,
)
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


def model_card(outcome: TrainingOutcome, version: str, as_of: date, dates: list[date],
               config_hash: str, cfg: Config) -> dict[str, Any]:
    assert outcome.model is not None
    calibrator = type(outcome.model.calibrator).__name__
    return {
        "version": version,
        "trained_as_of": as_of.isoformat(),
        "kind": outcome.chosen,
        "label": {"event": cfg.model.label, "horizon_days": cfg.model.horizon_days},
        "data_window": {
            "first_snapshot": dates[0].isoformat(),
            "last_snapshot": dates[-1].isoformat(),
            "snapshot_every_days": cfg.model.snapshot_every_days,
            "validation_window": list(outcome.validation_window or ()),
        },
        "counts": outcome.counts,
        "features": list(outcome.model.encoding.names),
        "calibration": "isotonic" if calibrator == "IsotonicRegression" else "sigmoid",
        "selection": outcome.message,
        "metrics": {
            "validation_by_candidate": outcome.candidates,
            "rules_only_baseline": outcome.baseline,
        },
        "libraries": library_versions(),
        "config_sha256": config_hash,
        "code_sha256": code_hash(),
    }


def _metric_row(name: str, metrics: dict[str, Any]) -> str:
    cells = [metrics.get(k, "") for k in ("roc_auc", "pr_auc", "brier", "log_loss",
                                         "lift_top_decile")]
    return f"| {name} | " + " | ".join("" if c == "" else f"{c}" for c in cells) + " |"


def card_markdown(card: dict[str, Any]) -> str:
    metrics = card["metrics"]
    lines = [
        f"# Model {card['version']}",
        "",
        f"- Kind: {card['kind']}, calibration: {card['calibration']}",
        f"- Predicts: {card['label']['event']} within {card['label']['horizon_days']} days",
        f"- Snapshots: {card['data_window']['first_snapshot']} to "
        f"{card['data_window']['last_snapshot']}, every "
        f"{card['data_window']['snapshot_every_days']} days",
        f"- Validation window (later than training): "
        f"{' to '.join(card['data_window']['validation_window'])}",
        f"- Rows {card['counts']['rows']}, leads {card['counts']['leads']}, "
        f"converted leads {card['counts']['converted_leads']}",
        f"- Libraries: {', '.join(f'{k} {v}' for k, v in card['libraries'].items())}",
        "",
        "## Validation metrics (trained on earlier snapshots only)",
        "",
        "| model | ROC-AUC | PR-AUC | Brier | log-loss | top-decile lift |",
        "|---|---|---|---|---|---|",
        *[_metric_row(k, v) for k, v in metrics["validation_by_candidate"].items()],
        *[_metric_row(f"{k} (rules only)", v) for k, v in metrics["rules_only_baseline"].items()],
        "",
        "## Calibration of the chosen model (validation)",
        "",
        "| bin | rows | mean predicted | observed |",
        "|---|---|---|---|",
        *[f"| {r['bin']} | {r['rows']} | {r['mean_predicted']} | {r['observed_rate']} |"
          for r in metrics["validation_by_candidate"][card["kind"]]["calibration"]],
        "",
        f"Features ({len(card['features'])}): {', '.join(card['features'])}",
        "",
    ]
    return "\n".join(lines)


# The fewest converted leads the no-worse comparison needs to mean anything.
MIN_COMPARISON_CONVERSIONS = 10


def _converted_leads(rows: pl.DataFrame) -> int:
    """Distinct leads with a positive label (one lead converts once, but is positive in every
    snapshot within the horizon before it)."""
    return rows.filter(pl.col(TARGET))["lead_id"].n_unique() if rows.height else 0


def _comparison_window(
    validation: pl.DataFrame, card: dict[str, Any]
) -> tuple[pl.DataFrame, str] | None:
    """The validation snapshots on which the current model can be judged, and what they are.

    Best: snapshots on or after the current model's training date, whose outcomes it never
    saw. With too few of those (a retrain sooner than a horizon after the last): snapshots
    after its last training snapshot. The current model never saw their features, but may
    have seen some of their leads' conversions as labels of earlier snapshots, which favours
    keeping it: a new model then has to be clearly better, never the other way round.
    None when neither window holds MIN_COMPARISON_CONVERSIONS converted leads.
    """
    last_snapshot = date.fromisoformat(card["data_window"]["last_snapshot"])
    windows = [(pl.col("as_of") > last_snapshot,
                f"snapshots after the current model's last training snapshot {last_snapshot} "
                "(it may have seen some of their conversions, which favours it)")]
    if "trained_as_of" in card:
        trained = date.fromisoformat(card["trained_as_of"])
        windows.insert(0, (pl.col("as_of") >= trained,
                           f"snapshots from {trained} on, whose outcomes the current model "
                           "never saw"))
    for window, described in windows:
        rows = validation.filter(window)
        if _converted_leads(rows) >= MIN_COMPARISON_CONVERSIONS:
            return rows, described
    return None


def _promotion(
    models: Path, outcome: TrainingOutcome, version: str, force: bool
) -> dict[str, Any]:
    """Decide whether the new model replaces the current one.

    Both are scored on validation snapshots the current model was not fitted on (see
    `_comparison_window`); the new kind is scored as fitted on the training part only (the
    refit model has seen the validation window). Without such snapshots the current model
    stays (`--force` overrides).
    """
    current = current_version(models)
    if current is None:
        return {"promote": True, "why": "no current model"}
    if current == version:
        return {"promote": True, "why": "the same model (same inputs, config and code)"}
    if force:
        return {"promote": True, "why": "--force", "replaces": current}
    assert outcome.candidate_model is not None and outcome.validation_rows is not None
    card = read_card(models, current)
    if card.get("features") != list(outcome.candidate_model.encoding.names):
        return {"promote": True, "why": "the current model's features no longer match the config",
                "replaces": current}
    window = _comparison_window(outcome.validation_rows, card)
    if window is None:
        last_snapshot = card["data_window"]["last_snapshot"]
        return {"promote": False, "current": current,
                "why": "cannot compare on data the current model was not fitted on: the "
                       f"validation snapshots after its last training snapshot {last_snapshot} "
                       f"hold fewer than {MIN_COMPARISON_CONVERSIONS} converted leads; "
                       "use --force to promote anyway"}
    rows, described = window
    old = validation_log_loss(load_model(models, current), rows)
    new = validation_log_loss(outcome.candidate_model, rows)
    verdict: dict[str, Any] = {"current": current, "compared_on": described,
                               "compared_rows": rows.height,
                               "compared_conversions": _converted_leads(rows),
                               "current_log_loss": old, "new_log_loss": new,
                               "promote": new <= old}
    verdict["why"] = (f"no worse than the current model on {described}" if new <= old else
                      f"worse than the current model on {described} "
                      "(use --force to promote anyway)")
    return verdict


@flow(name="train")
def train_flow(
    as_of: date | None = None,
    inputs: Path = SAMPLE_INPUTS,
    config: Path = DEFAULT_CONFIG,
    out: Path = Path("out"),
    models: Path | None = None,
    force: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """Train on history known before `as_of` (default: today, UTC) and register the model."""
    logger = get_run_logger()
    as_of = as_of or datetime.now(UTC).date()
    cfg, config_hash = load_config(config)
    models = models or out / "models"
    out.mkdir(parents=True, exist_ok=True)
    for step in recover_interrupted(out):
        logger.warning("Output folder %s: %s", out, step)
    with staging_folder(out) as staging:
        sources = read_inputs(inputs, cfg, staging / "work", profile)
        prepared = prepare_inputs(sources, cfg, as_of)
        held = materialize(sources, prepared)
        dates = labelled_snapshot_dates(cfg, as_of)
        labelled = build_training_set(held.inputs, cfg, dates)
        outcome = fit_and_select(labelled, cfg)
    result: dict[str, Any] = {"as_of": as_of.isoformat(), "status": outcome.status,
                              "message": outcome.message, "counts": outcome.counts}
    if outcome.model is None:
        logger.warning("Not training: %s", outcome.message)
        write_training_status(models, result)
        return result
    hashes = [s.file_info.get("sha256", "absent") for s in sources.values()]
    version = model_version(as_of, _fingerprint(config_hash, profile, hashes, outcome.chosen or ""))
    card = model_card(outcome, version, as_of, dates, config_hash, cfg)
    promotion = _promotion(models, outcome, version, force)
    save_model(models, version, outcome.model, card, card_markdown(card))
    if promotion["promote"]:
        set_current(models, version)
    result.update({"version": version, "kind": outcome.chosen, "current": promotion["promote"],
                   "promotion": promotion, "metrics": card["metrics"],
                   "model_folder": str(models / version)})
    write_training_status(models, json.loads(json.dumps(result, default=str)))
    return result
