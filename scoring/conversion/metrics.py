"""Model quality on held-out (later) data, in the terms the model card reports."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)


def lift_in_top_fraction(y: np.ndarray, score: np.ndarray, fraction: float = 0.1) -> float:
    """Conversion rate among the top `fraction` by score, divided by the overall rate.

    Rows tied with the last row inside the cut count in proportion (as the average over every
    order of the tied rows), so the result does not depend on the order of the rows.
    """
    base = float(np.mean(y))
    if base == 0:
        return float("nan")
    top = max(1, round(len(y) * fraction))
    cutoff = np.sort(score)[::-1][top - 1]
    above = score > cutoff
    tied = score == cutoff
    positives = float(np.sum(y[above])) + (top - int(above.sum())) * float(np.mean(y[tied]))
    return positives / top / base


def _bins(values: np.ndarray, bins: int) -> np.ndarray:
    """Bin index 0..bins-1 of each value, by rank: equal-size bins, tied values together."""
    ranks = rankdata(values, method="average")
    return np.asarray(np.minimum(((ranks - 0.5) * bins / len(values)).astype(np.int64),
                                 bins - 1), dtype=np.int64)


def calibration_table(
    y: np.ndarray, probability: np.ndarray, bins: int = 10
) -> list[dict[str, Any]]:
    """Predicted vs observed conversion rate in equal-size bins of predicted probability.

    Rows with the same probability share a bin (so the table does not depend on row order);
    empty bins are left out and the others numbered 1, 2, ...
    """
    if len(y) == 0:
        return []
    assigned = _bins(probability, bins)
    rows: list[dict[str, Any]] = []
    for index in np.unique(assigned):
        chunk = assigned == index
        rows.append({
            "bin": len(rows) + 1,
            "rows": int(chunk.sum()),
            "mean_predicted": round(float(np.mean(probability[chunk])), 4),
            "observed_rate": round(float(np.mean(y[chunk])), 4),
        })
    return rows


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Metrics that need only an ordering (valid for a rules score that is not a probability)."""
    if len(np.unique(y)) < 2:
        return {"roc_auc": float("nan"), "pr_auc": float("nan"), "lift_top_decile": float("nan")}
    return {
        "roc_auc": round(float(roc_auc_score(y, score)), 4),
        "pr_auc": round(float(average_precision_score(y, score)), 4),
        "lift_top_decile": round(lift_in_top_fraction(y, score), 3),
    }


def probability_metrics(y: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """Ranking metrics plus the ones that judge probabilities as probabilities."""
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    return {
        **ranking_metrics(y, probability),
        "brier": round(float(brier_score_loss(y, clipped)), 5),
        "log_loss": round(float(log_loss(y, clipped, labels=[0, 1])), 5),
        "rows": len(y),
        "positives": int(np.sum(y)),
        "calibration": calibration_table(y, probability),
    }


def drift_summary(
    train_y: np.ndarray,
    test_y: np.ndarray,
    test_probability: np.ndarray,
    test_period: np.ndarray | None,
    margin: float,
) -> dict[str, Any]:
    """Conversion rates of the training and test parts, the mean predicted probability on the
    test part (overall and per period, e.g. snapshot date), and warnings where the test rate
    differs from the training rate, or the mean prediction from the observed rate, by more
    than `margin` (an absolute difference of rates)."""
    train_rate = float(np.mean(train_y)) if len(train_y) else float("nan")
    test_rate = float(np.mean(test_y)) if len(test_y) else float("nan")
    predicted = float(np.mean(test_probability)) if len(test_y) else float("nan")
    periods = []
    if test_period is not None and len(test_y):
        for period in np.unique(test_period):
            rows = test_period == period
            observed, mean = float(np.mean(test_y[rows])), float(np.mean(test_probability[rows]))
            periods.append({"period": str(period), "rows": int(rows.sum()),
                            "positive_rate": round(observed, 4),
                            "mean_predicted": round(mean, 4),
                            "beyond_margin": bool(abs(mean - observed) > margin)})
    warnings = []
    if abs(test_rate - train_rate) > margin:
        warnings.append(f"the test conversion rate {test_rate:.1%} differs from the training "
                        f"rate {train_rate:.1%} by more than {margin:.1%} "
                        "(model.drift_warning_margin)")
    if abs(predicted - test_rate) > margin:
        warnings.append(f"the mean predicted probability {predicted:.1%} differs from the "
                        f"observed test rate {test_rate:.1%} by more than {margin:.1%}: the "
                        "probabilities are off for this period (consider "
                        "model.recalibrate_recent_days)")
    off = [p["period"] for p in periods if p["beyond_margin"]]
    if off:
        warnings.append(f"{len(off)} of {len(periods)} test periods have a mean prediction "
                        f"more than {margin:.1%} from their observed rate (first: {off[0]})")
    return {
        "train_positive_rate": round(train_rate, 4),
        "test_positive_rate": round(test_rate, 4),
        "test_mean_predicted": round(predicted, 4),
        "margin": margin,
        "periods": periods,
        "warnings": warnings,
    }
