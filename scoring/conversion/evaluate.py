"""Evaluate the modelling procedure on a single-table export with an outcome column.

The shape of a Salesforce leads report with its Converted flag: one row per lead, the outcome in one
column, everything else a candidate feature. Columns are typed from their values (numeric when
nearly all present values parse as numbers, else categorical), the candidates are the same as in
training (`scoring.conversion.estimators`), each fitted with its own encoding and calibration inside
every training part, and the metrics are computed on predictions for rows the model did not see:

- with a date column: train before `split_date`, test on and after it;
- without: stratified k-fold cross-validation (pooled out-of-fold predictions), or, when the
  rows are in time order, the last `holdout_fraction` of rows as the test part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.model_selection import StratifiedKFold

from features.config import ModelConfig
from features.ingest.parse import null_if_missing, parse_float
from scoring.conversion.encoding import FeatureSpec, fit_encoding
from scoring.conversion.estimators import fit_model
from scoring.conversion.metrics import probability_metrics

TARGET = "__converted"
ROW_ID = "__row"
# A column is numeric when at least this share of its present values parse as numbers.
NUMERIC_SHARE = 0.95


@dataclass(frozen=True)
class PreparedTable:
    """The table with a boolean target, typed feature columns, and the spec to model them."""

    frame: pl.DataFrame
    spec: FeatureSpec
    dropped: dict[str, str]
    # One flag per input row: true where the row has an outcome and is in `frame`.
    kept: pl.Series

    @property
    def rows_without_outcome(self) -> int:
        return int((~self.kept).sum())


def _numeric_share(frame: pl.DataFrame, column: str) -> float:
    text = frame[column].cast(pl.String)
    present = text.drop_nulls()
    if present.len() == 0:
        return 0.0
    parsed = present.to_frame().select(parse_float(pl.col(column), decimal_comma=None))
    return float(parsed.to_series().is_not_null().sum()) / present.len()


def prepare_table(
    frame: pl.DataFrame,
    outcome: str,
    positive: Sequence[str],
    exclude: Sequence[str],
    missing_values: Sequence[str],
) -> PreparedTable:
    """Target from `outcome`, placeholders to null, each remaining column typed.

    Columns named in `exclude`, constant columns and columns with no value are dropped (and
    listed with the reason, so the evaluation says what it did not use). Rows without an
    outcome (an open case, not a "no") are left out and counted.
    """
    if outcome not in frame.columns:
        raise KeyError(outcome)
    kept = frame.select(
        null_if_missing(pl.col(outcome).cast(pl.String), missing_values).is_not_null()
        .alias("kept")
    ).to_series()
    frame = frame.filter(kept)
    wanted = {p.strip().lower() for p in positive}
    target = frame[outcome].cast(pl.String).str.strip_chars().str.to_lowercase().is_in(wanted)
    dropped: dict[str, str] = {c: "excluded by the profile" for c in exclude if c in frame.columns}
    cleaned = frame.select(
        null_if_missing(pl.col(c).cast(pl.String), missing_values).alias(c)
        for c in frame.columns if c != outcome and c not in dropped
    )
    numeric, categorical = [], []
    for column in cleaned.columns:
        distinct = cleaned[column].drop_nulls().n_unique()
        if distinct <= 1:
            dropped[column] = "no value" if distinct == 0 else "constant"
        elif _numeric_share(cleaned, column) >= NUMERIC_SHARE:
            numeric.append(column)
        else:
            categorical.append(column)
    typed = cleaned.select(
        *[parse_float(pl.col(c), decimal_comma=None).alias(c) for c in numeric],
        *[pl.col(c) for c in categorical],
    ).with_columns(target.alias(TARGET), pl.int_range(pl.len()).cast(pl.String).alias(ROW_ID))
    spec = FeatureSpec(numeric=tuple(numeric), categorical=tuple(categorical))
    return PreparedTable(typed, spec, dropped, kept)


def _fit_predict(
    train: pl.DataFrame, test: pl.DataFrame, spec: FeatureSpec, kind: str, cfg: ModelConfig
) -> np.ndarray:
    encoding = fit_encoding(train, spec, TARGET)
    model = fit_model(
        kind, encoding, encoding.matrix(train), train[TARGET].cast(pl.Int8).to_numpy(),
        train[ROW_ID].to_numpy(), seed=cfg.seed, isotonic_min_rows=cfg.isotonic_min_rows,
    )
    return model.probability(encoding.matrix(test))


def _report(
    y: np.ndarray, predictions: dict[str, np.ndarray], method: str
) -> dict[str, Any]:
    candidates = {kind: probability_metrics(y, p) for kind, p in predictions.items()}
    chosen = min(candidates, key=lambda k: (candidates[k]["log_loss"], k))
    return {"method": method, "chosen": chosen, "candidates": candidates}


def cross_validate(
    table: PreparedTable, cfg: ModelConfig, folds: int = 5
) -> dict[str, Any]:
    """Stratified k-fold: every row is predicted once, by models that did not see it."""
    y = table.frame[TARGET].cast(pl.Int8).to_numpy()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=cfg.seed)
    predictions: dict[str, np.ndarray] = {kind: np.zeros(len(y)) for kind in cfg.candidates}
    per_fold: dict[str, list[float]] = {kind: [] for kind in cfg.candidates}
    for train_index, test_index in splitter.split(np.zeros(len(y)), y):
        train, test = table.frame[train_index], table.frame[test_index]
        for kind in cfg.candidates:
            probability = _fit_predict(train, test, table.spec, kind, cfg)
            predictions[kind][test_index] = probability
            per_fold[kind].append(probability_metrics(y[test_index], probability)["roc_auc"])
    report = _report(y, predictions, f"stratified {folds}-fold cross-validation")
    for name, aucs in per_fold.items():
        report["candidates"][name]["roc_auc_mean_of_folds"] = round(float(np.mean(aucs)), 4)
    return report


def holdout(
    table: PreparedTable, is_test: pl.Series, cfg: ModelConfig, method: str
) -> dict[str, Any]:
    """Train on rows where `is_test` is false, measure on the others."""
    train = table.frame.filter(~is_test)
    test = table.frame.filter(is_test)
    y = test[TARGET].cast(pl.Int8).to_numpy()
    predictions: dict[str, np.ndarray] = {
        kind: _fit_predict(train, test, table.spec, kind, cfg) for kind in cfg.candidates
    }
    report = _report(y, predictions, method)
    report["train_rows"] = train.height
    return report
