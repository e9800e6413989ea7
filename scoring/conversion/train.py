"""Train, compare on later data, choose, refit: the model-selection procedure.

1. Split labelled snapshots by time: validation = snapshots in the last `validation_days` of the
   labelled window; training = snapshots whose horizon ended before validation began (so no
   training label overlaps the validation period).
2. Fit every candidate on the training part (its numeric transform and calibration chosen on
   grouped out-of-fold scores of that part, `scoring.conversion.estimators`) and score the
   validation part.
   Choose the lowest validation log-loss.
3. Report ROC-AUC, PR-AUC, Brier, log-loss, top-decile lift and a calibration table for every
   candidate, next to the rules-only ICP fit as a baseline (ranking metrics only: fit is not a
   probability).
4. Refit the chosen kind on all labelled snapshots; that model is the one registered.
   With `recalibrate_recent_days`, each fitted model's intercept is then shifted so that its
   mean probability on the last that-many days of its own labelled snapshots equals their rate.
5. Drift: the training and validation conversion rates and the mean validation probability
   per snapshot date, with warnings beyond `drift_warning_margin` (`drift_summary`).
Too little history (fewer labelled leads or converted leads than configured) trains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from features.config import ModelConfig
from scoring.conversion.calibration import shift_intercept
from scoring.conversion.encoding import FeatureEncoding, FeatureSpec, fit_encoding
from scoring.conversion.estimators import TrainedModel, fit_model
from scoring.conversion.metrics import drift_summary, probability_metrics, ranking_metrics

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
    drift: dict[str, Any] = field(default_factory=dict)


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
    frame: pl.DataFrame, encoding: FeatureEncoding, target: str = TARGET, group: str = GROUP
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        encoding.matrix(frame),
        frame[target].cast(pl.Int8).to_numpy(),
        frame[group].to_numpy(),
    )


def fit_kind(
    kind: str, frame: pl.DataFrame, encoding: FeatureEncoding, cfg: ModelConfig, *,
    target: str = TARGET, group: str = GROUP, date_column: str | None = "as_of",
) -> TrainedModel:
    """One candidate fitted and calibrated on `frame` (see
    `scoring.conversion.estimators.fit_model`), with its intercept recalibrated on the most
    recent rows by `date_column` when configured."""
    x, y, groups = _xy(frame, encoding, target, group)
    model = fit_model(kind, encoding, x, y, groups, seed=cfg.seed,
                      isotonic_min_rows=cfg.isotonic_min_rows,
                      transforms=cfg.numeric_transforms, calibration=cfg.calibration_methods)
    if cfg.recalibrate_recent_days and date_column is not None:
        return recalibrated_on_recent(model, frame, cfg.recalibrate_recent_days, target,
                                      date_column)
    return model


def recalibrated_on_recent(
    model: TrainedModel, frame: pl.DataFrame, days: int, target: str = TARGET,
    date_column: str = "as_of",
) -> TrainedModel:
    """`model` with its calibration shifted so that its mean probability on the rows of the
    last `days` days of `frame` (by `date_column`) equals their conversion rate.

    Unchanged when that window holds only one outcome (nothing to match)."""
    last = frame[date_column].max()
    assert isinstance(last, date)
    recent = frame.filter(pl.col(date_column) > last - timedelta(days=days))
    y = recent[target].cast(pl.Int8).to_numpy()
    if len(y) == 0 or not 0 < y.mean() < 1:
        return model
    raw = model.raw_score(model.encoding.matrix(recent))
    return replace(model, calibration=shift_intercept(model.calibration, raw, y))


def encode(frame: pl.DataFrame, spec: FeatureSpec, cfg: ModelConfig,
           target: str = TARGET) -> FeatureEncoding:
    return fit_encoding(frame, spec, target, min_count=cfg.rare_category_min_rows,
                        max_levels=cfg.max_category_levels)


def fit_candidates(
    training: pl.DataFrame, spec: FeatureSpec, cfg: ModelConfig
) -> dict[str, TrainedModel]:
    """Every candidate kind fitted (and calibrated) on the training part only."""
    encoding = encode(training, spec, cfg)
    return {kind: fit_kind(kind, training, encoding, cfg) for kind in cfg.candidates}


def validation_drift(
    training: pl.DataFrame, validation: pl.DataFrame, model: TrainedModel, cfg: ModelConfig
) -> dict[str, Any]:
    """`drift_summary` of a model fitted on `training`, on `validation`, per snapshot date."""
    return drift_summary(
        training[TARGET].cast(pl.Int8).to_numpy(),
        validation[TARGET].cast(pl.Int8).to_numpy(),
        model.probability(model.encoding.matrix(validation)),
        validation["as_of"].cast(pl.String).to_numpy(),
        cfg.drift_warning_margin,
    )


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
    final = fit_kind(chosen, labelled, encode(labelled, spec, cfg), cfg)
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
        drift=validation_drift(training, validation, fitted[chosen], cfg),
    )


def validation_log_loss(model: TrainedModel, validation: pl.DataFrame) -> float:
    """A model's log-loss on labelled rows (for the registry's no-worse check)."""
    metrics = probability_metrics(
        validation[TARGET].cast(pl.Int8).to_numpy(),
        model.probability(model.encoding.matrix(validation)),
    )
    return float(metrics["log_loss"])
