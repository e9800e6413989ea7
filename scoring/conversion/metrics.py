"""Model quality on held-out (later) data, in the terms the model card reports."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)


def lift_in_top_fraction(y: np.ndarray, score: np.ndarray, fraction: float = 0.1) -> float:
    """Conversion rate among the top `fraction` by score, divided by the overall rate.

    Ties at the cut are broken by position after a stable sort, so the result is deterministic.
    """
    base = float(np.mean(y))
    if base == 0:
        return float("nan")
    top = max(1, round(len(y) * fraction))
    order = np.argsort(-score, kind="stable")[:top]
    return float(np.mean(y[order]) / base)


def calibration_table(
    y: np.ndarray, probability: np.ndarray, bins: int = 10
) -> list[dict[str, Any]]:
    """Predicted vs observed conversion rate in equal-size bins of predicted probability."""
    order = np.argsort(probability, kind="stable")
    rows = []
    for index, chunk in enumerate(np.array_split(order, bins)):
        if len(chunk) == 0:
            continue
        rows.append({
            "bin": index + 1,
            "rows": len(chunk),
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
