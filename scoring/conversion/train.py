"""Train, compare on later data, choose, refit: the model-selection procedure.

1. Split labelled snapshots by time: validation = snapshots in the last `validation_days` of the
   labelled window; training = snapshots whose horizon ended before validation began (so no
   training label overlaps the validation period).
2. Fit every candidate on the training part (calibrated on grouped out-of-fold scores) and
   score the validation part. Choose the lowest validation log-loss.
3. Report ROC-AUC, PR-AUC, Brier, log-loss, top-decile lift and a calibration table for every
   candidate, next to the rules-only ICP fit as a baseline (ranking metrics only: fit is not a
   probability).
4. Refit the chosen kind on all labelled snapshots; that model is the one registered.
Too little history (fewer labelled leads or converted leads than configured) trains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from features.config import ModelConfig
from scoring.conversion.encoding import FeatureEncoding, FeatureSpec, fit_encoding
from scoring.conversion.estimators import TrainedModel, fit_model
from scoring.conversion.metrics import probability_metrics, ranking_metrics

TARGET = "converted"
GROUP = "lead_id"


@dataclass
class TrainingOutcome:
    """What training found: a model, or the reason there is none, plus the evidence."""

    status: str  # "trained" or "insufficient_history"
    message: str
    counts: dict[str, Any]
    model: TrainedModel | None = None
    chosen: str | None = None
    candidates: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    validation_window: tuple[str, str] | None = None
    validation_rows: pl.DataFrame | None = None
    # The chosen kind as fitted on the training part only: honest on the validation rows, so
    # it (not the refit `model`) is what the registry compares with the current model.
    candidate_model: TrainedModel | None = None


def history_counts(labelled: pl.DataFrame) -> dict[str, int]:
    """Rows, distinct leads, positive rows and distinct converted leads."""
    positives = labelled.filter(pl.col(TARGET))
    return {
        "rows": labelled.height,
        "leads": labelled[GROUP].n_unique(),
        "positive_rows": positives.height,
        "converted_leads": positives[GROUP].n_unique(),
    }


def split_by_time(
    labelled: pl.DataFrame, cfg: ModelConfig
) -> tuple[pl.DataFrame, pl.DataFrame, date]:
    """(training part, validation part, first validation date)."""
    last = labelled["as_of"].max()
    assert isinstance(last, date)
    validation_start = last - timedelta(days=cfg.validation_days)
    validation = labelled.filter(pl.col("as_of") >= validation_start)
    horizon_end = pl.col("as_of") + pl.duration(days=cfg.horizon_days)
    training = labelled.filter(horizon_end <= validation_start)
    return training, validation, validation_start


def _too_little(counts: dict[str, int], cfg: ModelConfig) -> str | None:
    if counts["leads"] < cfg.min_labelled_rows:
        return (f"only {counts['leads']} labelled leads; at least {cfg.min_labelled_rows} "
                "are needed (model.min_labelled_rows)")
    if counts["converted_leads"] < cfg.min_positives:
        return (f"only {counts['converted_leads']} converted leads; at least "
                f"{cfg.min_positives} are needed (model.min_positives)")
    return None


def _xy(
    frame: pl.DataFrame, encoding: FeatureEncoding
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        encoding.matrix(frame),
        frame[TARGET].cast(pl.Int8).to_numpy(),
        frame[GROUP].to_numpy(),
    )


def fit_candidates(
    training: pl.DataFrame, spec: FeatureSpec, cfg: ModelConfig
) -> dict[str, TrainedModel]:
    """Every candidate kind fitted (and calibrated) on the training part only."""
    encoding = fit_encoding(training, spec, TARGET)
    x_train, y_train, groups = _xy(training, encoding)
    return {
        kind: fit_model(kind, encoding, x_train, y_train, groups, seed=cfg.seed,
                        isotonic_min_rows=cfg.isotonic_min_rows)
        for kind in cfg.candidates
    }


def _metrics_on(models: dict[str, TrainedModel], rows: pl.DataFrame) -> dict[str, dict[str, Any]]:
    y = rows[TARGET].cast(pl.Int8).to_numpy()
    return {kind: probability_metrics(y, model.probability(model.encoding.matrix(rows)))
            for kind, model in models.items()}


def evaluate_candidates(
    training: pl.DataFrame, validation: pl.DataFrame, spec: FeatureSpec, cfg: ModelConfig
) -> dict[str, dict[str, Any]]:
    """Validation metrics of every candidate fitted on the training part."""
    return _metrics_on(fit_candidates(training, spec, cfg), validation)


def train_conversion_model(
    labelled: pl.DataFrame, spec: FeatureSpec, cfg: ModelConfig, baseline_column: str = "icp_fit"
) -> TrainingOutcome:
    """Run the whole selection procedure of the module docstring on labelled snapshots.

    Needs: the spec's feature columns, lead_id, as_of, converted, and `baseline_column`.
    """
    counts: dict[str, Any] = dict(history_counts(labelled))
    shortfall = _too_little(counts, cfg)
    if shortfall:
        return TrainingOutcome("insufficient_history", shortfall, counts)
    training, validation, validation_start = split_by_time(labelled, cfg)
    split_counts = {"training": history_counts(training), "validation": history_counts(validation)}
    counts = {**counts, **split_counts}
    # Converted leads, not positive rows: one conversion is positive in every snapshot within
    # the horizon before it, so rows would overstate the evidence.
    fewest = min(part["converted_leads"] for part in split_counts.values())
    if fewest < 10:
        return TrainingOutcome(
            "insufficient_history",
            "fewer than 10 converted leads in the training or the validation period; "
            "widen model.training_window_days or shorten model.validation_days",
            counts,
        )
    fitted = fit_candidates(training, spec, cfg)
    candidates = _metrics_on(fitted, validation)
    chosen = min(candidates, key=lambda k: (candidates[k]["log_loss"], k))
    y_valid = validation[TARGET].cast(pl.Int8).to_numpy()
    baseline = ranking_metrics(y_valid, validation[baseline_column].fill_null(0).to_numpy())
    encoding = fit_encoding(labelled, spec, TARGET)
    x_all, y_all, groups = _xy(labelled, encoding)
    final = fit_model(chosen, encoding, x_all, y_all, groups, seed=cfg.seed,
                      isotonic_min_rows=cfg.isotonic_min_rows)
    window_end = validation["as_of"].max()
    return TrainingOutcome(
        status="trained",
        message=f"chose {chosen} by validation log-loss",
        counts=counts,
        model=final,
        chosen=chosen,
        candidates=candidates,
        baseline={"icp_fit": baseline},
        validation_window=(validation_start.isoformat(), str(window_end)),
        validation_rows=validation,
        candidate_model=fitted[chosen],
    )


def validation_log_loss(model: TrainedModel, validation: pl.DataFrame) -> float:
    """A model's log-loss on labelled rows (for the registry's no-worse check)."""
    metrics = probability_metrics(
        validation[TARGET].cast(pl.Int8).to_numpy(),
        model.probability(model.encoding.matrix(validation)),
    )
    return float(metrics["log_loss"])
