"""Single-table evaluation: typing of columns, and honest (unseen-row) metrics."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from features.config import ModelConfig
from scoring.conversion.evaluate import (
    TARGET,
    PreparedTable,
    cross_validate,
    holdout,
    prepare_table,
    with_date_features,
)

MISSING = ("", "select", "n/a")


def _table(n: int = 1200, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    visits = rng.poisson(3, n)
    source = rng.choice(["Google", "Direct", "Referral", "Select"], n)
    signal = visits * 0.6 + (source == "Referral") * 1.5 + rng.normal(0, 1, n)
    converted = (signal > np.quantile(signal, 0.6)).astype(int)
    return pl.DataFrame({
        "Prospect ID": [f"P{i}" for i in range(n)],
        "TotalVisits": [str(v) if i % 17 else "" for i, v in enumerate(visits)],
        "Lead Source": source,
        "Magazine": ["No"] * n,
        "Empty": [""] * n,
        "Converted": converted.astype(str),
    })


def test_columns_are_typed_from_their_values_and_unusable_ones_are_listed() -> None:
    table = prepare_table(_table(), "Converted", ["1"], ["Prospect ID"], MISSING)
    assert table.spec.numeric == ("TotalVisits",)
    assert table.spec.categorical == ("Lead Source",)
    assert table.dropped == {"Prospect ID": "excluded by the profile", "Magazine": "constant",
                             "Empty": "no value"}
    assert table.frame["TotalVisits"].dtype == pl.Float64
    assert table.frame["Lead Source"].null_count() > 0, "Select must read as missing"


def test_outcome_values_are_compared_trimmed_and_case_insensitively() -> None:
    frame = pl.DataFrame({"x": ["a", "b", "c", "d"], "Won": [" Yes", "no", "YES", "N/A"]})
    table = prepare_table(frame, "Won", ["yes"], [], MISSING)
    assert table.frame[TARGET].to_list() == [True, False, True]


def test_rows_without_an_outcome_are_left_out_and_counted() -> None:
    frame = pl.DataFrame({"x": ["a", "b", "c", "d"], "Won": ["yes", None, "", "no"]})
    table = prepare_table(frame, "Won", ["yes"], [], MISSING)
    assert table.frame.height == 2
    assert table.rows_without_outcome == 2


def test_missing_outcome_column_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        prepare_table(pl.DataFrame({"x": ["1"]}), "Converted", ["1"], [], MISSING)


def test_cross_validation_predicts_every_row_once_and_finds_the_signal() -> None:
    table = prepare_table(_table(), "Converted", ["1"], ["Prospect ID"], MISSING)
    report = cross_validate(table, ModelConfig(isotonic_min_rows=200), folds=3)
    assert report["method"] == "stratified 3-fold cross-validation"
    assert report["held_out"]["rows"] == 1200
    assert report["held_out"]["roc_auc"] > 0.8
    for metrics in report["candidates_held_out"].values():
        assert metrics["rows"] == 1200
        assert metrics["roc_auc"] > 0.8
    assert len(report["chosen_per_part"]) == 3
    assert report["drift"]["warnings"] == []


def test_the_candidate_is_chosen_on_the_training_part_not_on_the_test_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scramble the test rows' outcomes: the choice (made inside the training part) and the
    chosen model's predictions stay the same; only the measured figures change."""
    table = prepare_table(_table(), "Converted", ["1"], ["Prospect ID"], MISSING)
    is_test = pl.Series([i >= 900 for i in range(1200)])
    cfg = ModelConfig(isotonic_min_rows=200)
    honest = holdout(table, is_test, cfg, "last 25%")
    flipped = table.frame.with_columns(
        pl.when(pl.int_range(pl.len()) >= 900).then(~pl.col(TARGET)).otherwise(pl.col(TARGET))
        .alias(TARGET))
    scrambled = holdout(PreparedTable(flipped, table.spec, table.dropped, table.kept), is_test,
                        cfg, "last 25%")
    assert scrambled["chosen"] == honest["chosen"]
    assert scrambled["held_out"]["roc_auc"] == pytest.approx(1 - honest["held_out"]["roc_auc"],
                                                             abs=1e-3)


def test_a_date_column_becomes_weekday_month_and_age_features() -> None:
    table = prepare_table(_table(8), "Converted", ["1"], ["Prospect ID"], MISSING)
    days = pl.Series([date(2026, 3, 2) + timedelta(days=i) for i in range(8)])
    when = days.cast(pl.Datetime("us", "UTC"))
    dated = with_date_features(table, when, "Created")
    assert "Created age days" in dated.spec.numeric
    assert {"Created weekday", "Created month"} <= set(dated.spec.categorical)
    assert dated.frame["Created weekday"].to_list()[:2] == ["1", "2"]  # 2026-03-02: a Monday
    assert dated.frame["Created age days"].to_list() == [7.0, 6, 5, 4, 3, 2, 1, 0]


def test_holdout_trains_only_on_the_other_rows() -> None:
    table = prepare_table(_table(), "Converted", ["1"], ["Prospect ID"], MISSING)
    is_test = pl.Series([i >= 900 for i in range(1200)])
    report = holdout(table, is_test, ModelConfig(isotonic_min_rows=200), "last 25%")
    assert report["train_rows"] == 900
    assert report["held_out"]["rows"] == 300
    assert all(m["rows"] == 300 for m in report["candidates_held_out"].values())
    assert report["chosen"] in report["candidates_held_out"]
