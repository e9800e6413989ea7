"""Calibration: order-keeping maps from raw score to probability, chosen by held-out log-loss."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from scoring.conversion.calibration import (
    METHODS,
    PROBABILITY_FLOOR,
    Calibration,
    choose_calibration,
    fit_calibration,
    shift_intercept,
)


def scores(rows: int, seed: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores whose true log-odds are `scale` times the score (1: already calibrated)."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(0, 1.5, rows)
    y = (rng.random(rows) < expit(scale * raw)).astype(np.int8)
    return raw, y


RAW, Y = scores(4000, seed=0)
GROUPS = np.arange(len(Y)) // 2


@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_strictly_increasing_in_the_raw_score(method: str) -> None:
    calibration = fit_calibration(RAW, Y, method)  # type: ignore[arg-type]
    grid = np.linspace(-5, 5, 2001)
    probability = calibration.probability(grid)
    inside = (probability > PROBABILITY_FLOOR) & (probability < 1 - PROBABILITY_FLOOR)
    assert (np.diff(probability)[inside[1:] & inside[:-1]] > 0).all()


def test_isotonic_gives_distinct_probabilities_to_distinct_scores() -> None:
    calibration = fit_calibration(RAW, Y, "isotonic")
    probability = calibration.probability(RAW)
    kept = (probability > PROBABILITY_FLOOR) & (probability < 1 - PROBABILITY_FLOOR)
    assert len(np.unique(probability[kept])) == len(np.unique(RAW[kept]))
    # the plain step function would give a few dozen values
    assert len(np.unique(probability)) > 1000


def test_none_is_the_logistic_of_the_raw_score() -> None:
    calibration = fit_calibration(RAW, Y, "none")
    np.testing.assert_allclose(calibration.probability(np.array([-1.0, 0.0, 2.0])),
                               expit(np.array([-1.0, 0.0, 2.0])))


def test_a_calibrated_score_is_left_nearly_as_it_is() -> None:
    chosen = choose_calibration(RAW, Y, GROUPS)
    assert set(chosen.oof_log_loss) == set(METHODS)
    assert chosen.oof_log_loss[chosen.method] == min(chosen.oof_log_loss.values())
    assert chosen.oof_log_loss["none"] - chosen.oof_log_loss[chosen.method] < 0.002


def test_an_overconfident_score_is_recalibrated() -> None:
    raw, y = scores(4000, seed=1, scale=0.3)
    chosen = choose_calibration(raw, y, np.arange(len(y)))
    assert chosen.method in ("sigmoid", "isotonic")
    assert chosen.oof_log_loss[chosen.method] < chosen.oof_log_loss["none"] - 0.05


def test_isotonic_is_not_tried_below_its_minimum_rows() -> None:
    chosen = choose_calibration(RAW, Y, GROUPS, isotonic_min_rows=len(Y) + 1)
    assert "isotonic" not in chosen.oof_log_loss


def test_intercept_shift_matches_the_mean_probability_to_the_observed_rate() -> None:
    calibration = fit_calibration(RAW, Y, "sigmoid")
    raw, y = scores(2000, seed=2)
    y = np.maximum(y, (np.arange(len(y)) % 4 == 0)).astype(np.int8)  # a higher rate now
    shifted = shift_intercept(calibration, raw, y)
    assert shifted.shift > 0
    assert float(np.mean(shifted.probability(raw))) == pytest.approx(float(np.mean(y)), abs=1e-4)
    order = np.argsort(raw)
    assert (np.diff(shifted.probability(raw)[order]) >= 0).all()


def test_intercept_shift_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="converted and unconverted"):
        shift_intercept(fit_calibration(RAW, Y, "none"), RAW[:10], np.zeros(10))


def test_payload_round_trip_gives_the_same_probabilities() -> None:
    calibration = shift_intercept(choose_calibration(RAW, Y, GROUPS), RAW, Y)
    restored = Calibration.from_payload(calibration.to_payload())
    assert restored == calibration
    np.testing.assert_array_equal(restored.probability(RAW), calibration.probability(RAW))
