"""Where calibration happens: from a model's raw score (log-odds) to a probability.

Every calibration is one strictly increasing, piecewise-linear map from the raw score to
calibrated log-odds (linear beyond the outer knots), so it never reorders two leads and the
ranking metrics of the calibrated probability are those of the raw score:
- `none`: the raw score as it is (both candidates are fitted on log-loss, so their raw score is
  already a log-odds);
- `sigmoid` (Platt): a straight line, log-odds = a * raw + b, a > 0;
- `isotonic`: isotonic regression (pool-adjacent-violators) on the raw score, whose steps would
  give thousands of leads one probability and leave their order to chance; instead each step's
  mean outcome is placed at the step's mean raw score and the map interpolates between those
  points (in log-odds), so a higher raw score always means a higher probability.
The method is chosen by log-loss on out-of-fold raw scores (`choose_calibration`): each method
is fitted on some folds of them and judged on the other, grouped so that one lead's snapshots
never sit on both sides. `shift_intercept` moves the whole map up or down so that the mean
probability on a recent labelled window equals its conversion rate
(`model.recalibrate_recent_days`).
Probabilities are kept within PROBABILITY_FLOOR and 1 - PROBABILITY_FLOOR.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold

CalibrationMethod = Literal["none", "sigmoid", "isotonic"]
METHODS: tuple[CalibrationMethod, ...] = ("none", "sigmoid", "isotonic")
# A few hundred conversions cannot support a claim of certainty either way (isotonic regression
# would otherwise say exactly 0 or 1).
PROBABILITY_FLOOR = 0.001
_MIN_SLOPE = 1e-6
_LOG_ODDS_LIMIT = float(logit(1 - PROBABILITY_FLOOR))


@dataclass(frozen=True)
class Calibration:
    """A fitted map raw score -> log-odds: straight lines between `knots` (ascending raw
    scores) and their `log_odds` (strictly ascending), extended linearly beyond the ends.

    `shift` is added to every log-odds (intercept recalibration on a recent window).
    `oof_log_loss`: each method's log-loss on the out-of-fold scores it was chosen by.
    """

    method: CalibrationMethod
    knots: tuple[float, ...]
    log_odds: tuple[float, ...]
    shift: float = 0.0
    oof_log_loss: dict[str, float] = field(default_factory=dict)

    def calibrated_log_odds(self, raw: np.ndarray) -> np.ndarray:
        knots, values = np.asarray(self.knots), np.asarray(self.log_odds)
        inside = np.interp(raw, knots, values)
        low_slope = (values[1] - values[0]) / (knots[1] - knots[0])
        high_slope = (values[-1] - values[-2]) / (knots[-1] - knots[-2])
        below = values[0] + (raw - knots[0]) * low_slope
        above = values[-1] + (raw - knots[-1]) * high_slope
        mapped = np.where(raw < knots[0], below, np.where(raw > knots[-1], above, inside))
        return np.asarray(mapped + self.shift, dtype=np.float64)

    def probability(self, raw: np.ndarray) -> np.ndarray:
        probability = expit(self.calibrated_log_odds(np.asarray(raw, dtype=np.float64)))
        return np.asarray(np.clip(probability, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR),
                          dtype=np.float64)

    def to_payload(self) -> dict[str, Any]:
        """Plain data (str, floats, lists) to store beside the estimator."""
        return {"method": self.method, "knots": list(self.knots),
                "log_odds": list(self.log_odds), "shift": self.shift,
                "oof_log_loss": dict(self.oof_log_loss)}

    @staticmethod
    def from_payload(raw: dict[str, Any]) -> Calibration:
        return Calibration(raw["method"], tuple(float(v) for v in raw["knots"]),
                           tuple(float(v) for v in raw["log_odds"]), float(raw["shift"]),
                           {k: float(v) for k, v in raw.get("oof_log_loss", {}).items()})


def _line(slope: float, intercept: float, method: CalibrationMethod) -> Calibration:
    return Calibration(method, (0.0, 1.0), (intercept, intercept + slope))


def _sigmoid(raw: np.ndarray, y: np.ndarray) -> Calibration:
    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    # A raw score that ranks backwards would need a falling map; keep the order instead (the
    # log-loss comparison then prefers another method or shows the model is useless).
    slope = max(float(fitted.coef_[0, 0]), _MIN_SLOPE)
    return _line(slope, float(fitted.intercept_[0]), "sigmoid")


def _isotonic(raw: np.ndarray, y: np.ndarray) -> Calibration:
    """Interpolated isotonic regression: one knot per step, at the step's mean raw score."""
    order = np.argsort(raw, kind="stable")
    sorted_raw, sorted_y = raw[order], y[order].astype(np.float64)
    steps = IsotonicRegression(out_of_bounds="clip").fit_transform(sorted_raw, sorted_y)
    clipped = np.clip(steps, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    # A step is a run of equal fitted values; clipping can join neighbours at the floor/ceiling.
    starts = np.flatnonzero(np.r_[True, np.diff(clipped) != 0])
    counts = np.diff(np.r_[starts, len(clipped)])
    knots = np.add.reduceat(sorted_raw, starts) / counts
    values = logit(clipped[starts])
    if len(knots) < 2 or np.ptp(sorted_raw) == 0:
        # One step: the scores carry no order the outcomes confirm; a flat map would tie
        # everyone, so keep the raw order with the least slope around the overall rate.
        rate = float(np.clip(sorted_y.mean(), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR))
        return _line(_MIN_SLOPE, float(logit(rate)), "isotonic")
    keep = np.r_[True, np.diff(knots) > 0]  # equal mean raw scores cannot happen; be safe
    return Calibration("isotonic", tuple(knots[keep].tolist()), tuple(values[keep].tolist()))


def fit_calibration(raw: np.ndarray, y: np.ndarray, method: CalibrationMethod) -> Calibration:
    """Fit `method` on raw scores and outcomes (0/1)."""
    if method == "none":
        return _line(1.0, 0.0, "none")
    if len(np.unique(y)) < 2:
        rate = float(np.clip(np.mean(y), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR))
        return _line(_MIN_SLOPE, float(logit(rate)), method)
    if method == "sigmoid":
        return _sigmoid(raw, y)
    return _isotonic(raw, y)


def _held_out_log_loss(
    raw: np.ndarray, y: np.ndarray, groups: np.ndarray, method: CalibrationMethod, folds: int
) -> float:
    predicted = np.zeros(len(y), dtype=np.float64)
    for train, test in GroupKFold(n_splits=folds).split(raw, y, groups):
        predicted[test] = fit_calibration(raw[train], y[train], method).probability(raw[test])
    return float(log_loss(y, predicted, labels=[0, 1]))


def choose_calibration(
    raw: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    methods: tuple[CalibrationMethod, ...] = METHODS,
    isotonic_min_rows: int = 1000,
    folds: int = 3,
) -> Calibration:
    """The method with the lowest held-out log-loss on out-of-fold `raw` scores, refitted on
    all of them. Isotonic is only tried with at least `isotonic_min_rows` rows; ties prefer
    the simpler method (the order of METHODS)."""
    tried = [m for m in methods if m != "isotonic" or len(y) >= isotonic_min_rows] or ["sigmoid"]
    distinct_groups = len(np.unique(groups))
    if distinct_groups < folds or len(np.unique(y)) < 2:
        chosen: CalibrationMethod = "sigmoid" if "sigmoid" in tried else tried[0]
        return fit_calibration(raw, y, chosen)
    losses: dict[str, float] = {
        m: round(_held_out_log_loss(raw, y, groups, m, folds), 6) for m in tried}
    best = min(tried, key=lambda m: (losses[m], METHODS.index(m)))
    return replace(fit_calibration(raw, y, best), oof_log_loss=losses)


def shift_intercept(calibration: Calibration, raw: np.ndarray, y: np.ndarray) -> Calibration:
    """The same map moved so that the mean probability on (raw, y) equals the mean of y.

    That shift is also the one that minimises their log-loss. Needs both outcomes in y."""
    rate = float(np.mean(y))
    if not 0 < rate < 1:
        raise ValueError("intercept recalibration needs converted and unconverted rows")
    unshifted = replace(calibration, shift=0.0).calibrated_log_odds(raw)

    def gap(shift: float) -> float:
        return float(np.mean(expit(unshifted + shift)) - rate)

    bound = 2 * _LOG_ODDS_LIMIT + float(np.max(np.abs(unshifted)))
    return replace(calibration, shift=float(brentq(gap, -bound, bound, xtol=1e-10)))
