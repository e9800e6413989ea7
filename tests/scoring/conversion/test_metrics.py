from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.conversion.metrics import (
    calibration_table,
    drift_summary,
    lift_in_top_fraction,
    probability_metrics,
    ranking_metrics,
)

# Ten leads, two converted; the best-scored one converted, the other sits fourth.
Y = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])


def test_lift_is_top_conversion_rate_over_overall_rate() -> None:
    assert lift_in_top_fraction(Y, SCORE, fraction=0.1) == pytest.approx(5.0)
    assert lift_in_top_fraction(Y, SCORE, fraction=0.2) == pytest.approx(2.5)
    assert lift_in_top_fraction(Y, SCORE, fraction=0.4) == pytest.approx(2.5)


def test_lift_over_all_rows_is_one() -> None:
    assert lift_in_top_fraction(Y, SCORE, fraction=1.0) == pytest.approx(1.0)


def test_lift_takes_at_least_one_row() -> None:
    assert lift_in_top_fraction(Y, SCORE, fraction=0.01) == pytest.approx(5.0)


def test_lift_does_not_depend_on_the_order_of_tied_rows() -> None:
    tied = np.zeros(10)
    assert lift_in_top_fraction(Y, tied, fraction=0.1) == pytest.approx(1.0)
    assert lift_in_top_fraction(Y[::-1].copy(), tied, fraction=0.1) == pytest.approx(1.0)


def test_rows_tied_at_the_cut_count_in_proportion() -> None:
    # top 2 of 10: the best row (converted) and one of three tied rows, one of them converted
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    expected = (1 + 1 / 3) / 2 / 0.2
    assert lift_in_top_fraction(y, score, fraction=0.2) == pytest.approx(expected)
    reordered = np.array([2, 0, 3, 1, 4, 5, 6, 7, 8, 9])
    assert lift_in_top_fraction(y[reordered], score[reordered], fraction=0.2) == pytest.approx(
        expected)


def test_lift_without_positives_is_nan() -> None:
    assert math.isnan(lift_in_top_fraction(np.zeros(10), SCORE))


def test_calibration_table_compares_predicted_and_observed_per_bin() -> None:
    probability = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7])
    y = np.array([0, 1, 0, 1, 1, 0])
    assert calibration_table(y, probability, bins=3) == [
        {"bin": 1, "rows": 2, "mean_predicted": 0.15, "observed_rate": 0.0},
        {"bin": 2, "rows": 2, "mean_predicted": 0.5, "observed_rate": 0.5},
        {"bin": 3, "rows": 2, "mean_predicted": 0.85, "observed_rate": 1.0},
    ]


def test_calibration_table_skips_empty_bins_when_rows_are_fewer_than_bins() -> None:
    table = calibration_table(np.array([0, 1, 1]), np.array([0.2, 0.6, 0.4]), bins=10)
    assert [row["rows"] for row in table] == [1, 1, 1]
    assert [row["mean_predicted"] for row in table] == [0.2, 0.4, 0.6]
    assert [row["observed_rate"] for row in table] == [0.0, 1.0, 1.0]


def test_calibration_bins_keep_tied_probabilities_together_whatever_the_row_order() -> None:
    probability = np.array([0.1, 0.1, 0.1, 0.1, 0.5, 0.9])
    y = np.array([1, 0, 0, 0, 1, 1])
    table = calibration_table(y, probability, bins=3)
    # the four tied rows go to the bin of their middle rank (the second); the others share
    # the third
    assert [row["rows"] for row in table] == [4, 2]
    assert table[0]["observed_rate"] == 0.25
    order = np.array([5, 3, 0, 4, 1, 2])
    assert calibration_table(y[order], probability[order], bins=3) == table


def test_drift_summary_warns_when_rates_move_beyond_the_margin() -> None:
    train_y = np.array([0] * 9 + [1])
    test_y = np.array([0, 1, 1, 0])
    probability = np.array([0.1, 0.1, 0.1, 0.1])
    period = np.array(["2026-01", "2026-01", "2026-02", "2026-02"])
    drift = drift_summary(train_y, test_y, probability, period, margin=0.05)
    assert drift["train_positive_rate"] == 0.1 and drift["test_positive_rate"] == 0.5
    assert drift["test_mean_predicted"] == 0.1
    assert len(drift["warnings"]) == 3
    assert "model.drift_warning_margin" in drift["warnings"][0]
    assert [p["period"] for p in drift["periods"]] == ["2026-01", "2026-02"]
    assert all(p["beyond_margin"] for p in drift["periods"])
    calm = drift_summary(test_y, test_y, np.full(4, 0.5), None, margin=0.05)
    assert calm["warnings"] == [] and calm["periods"] == []


def test_calibration_table_rounds_to_four_decimals() -> None:
    table = calibration_table(np.array([0, 0, 1]), np.array([0.1, 0.1, 0.10001]), bins=1)
    assert table == [{"bin": 1, "rows": 3, "mean_predicted": 0.1, "observed_rate": 0.3333}]


def test_ranking_metrics_of_a_perfect_ordering() -> None:
    y = np.array([0, 0, 1, 1])
    assert ranking_metrics(y, np.array([0.1, 0.2, 0.8, 0.9])) == {
        "roc_auc": 1.0, "pr_auc": 1.0, "lift_top_decile": 2.0,
    }


@pytest.mark.parametrize("label", [0, 1])
def test_ranking_metrics_of_a_single_class_are_nan(label: int) -> None:
    metrics = ranking_metrics(np.full(5, label), np.linspace(0, 1, 5))
    assert set(metrics) == {"roc_auc", "pr_auc", "lift_top_decile"}
    assert all(math.isnan(value) for value in metrics.values())


@pytest.mark.parametrize("label", [0, 1])
def test_probability_metrics_of_a_single_class_still_judge_the_probabilities(label: int) -> None:
    probability = np.array([0.0, 0.5, 1.0, 0.2])
    metrics = probability_metrics(np.full(4, label), probability)
    assert math.isnan(metrics["roc_auc"])
    assert metrics["rows"] == 4
    assert metrics["positives"] == 4 * label
    assert math.isfinite(metrics["log_loss"])
    assert metrics["brier"] == pytest.approx(np.mean((probability - label) ** 2), abs=1e-5)
    assert sum(row["rows"] for row in metrics["calibration"]) == 4


def test_probability_metrics_clip_certain_wrong_answers_to_a_finite_log_loss() -> None:
    metrics = probability_metrics(np.array([1, 0]), np.array([0.0, 1.0]))
    assert metrics["log_loss"] == pytest.approx(-math.log(1e-6), rel=1e-4)
    assert metrics["roc_auc"] == 0.0
