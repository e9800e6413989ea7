"""Evaluate the modelling procedure on a single-table export with an outcome column.

The shape of a Salesforce leads report with its Converted flag: one row per lead, the outcome in
one column, everything else a candidate feature. Columns are typed from their values (numeric
when nearly all present values parse as numbers, else categorical); a date column, when the
profile names one, becomes its weekday, month and age in days at the table's latest date (the
moment the outcomes were read). The candidates are the same as in training
(`scoring.conversion.estimators`), each fitted with its own encoding, transform and calibration
inside every training part, and the metrics are computed on predictions for rows the model did
not see:

- with a date column: train before `split_date`, test on and after it;
- without: stratified k-fold cross-validation (pooled out-of-fold predictions), or, when the
  rows are in time order, the last `holdout_fraction` of rows as the test part.

Inside each training part the candidate is chosen by its out-of-fold log-loss on that part
alone (the inner validation of `scoring.conversion.estimators.fit_model`), never by the test
rows; the figures reported as `held_out` are those of the chosen models. Every candidate's
held-out figures are listed too, for reference only.
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
from scoring.conversion.encoding import FeatureSpec
from scoring.conversion.estimators import TrainedModel
from scoring.conversion.metrics import drift_summary, probability_metrics
from scoring.conversion.train import encode, fit_kind

TARGET = "__converted"
ROW_ID = "__row"
# The row's date (when the profile names a date column), for recalibration on recent rows.
DATE = "__date"
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


def date_features(when: pl.Series, name: str) -> pl.DataFrame:
    """`name weekday` and `name month` (as text: categories), `name age days` (days from the
    date to the latest date of the column, when the outcomes were read) and DATE itself."""
    return pl.DataFrame({"day": when.dt.date()}).select(
        pl.col("day").dt.weekday().cast(pl.String).alias(f"{name} weekday"),
        pl.col("day").dt.month().cast(pl.String).alias(f"{name} month"),
        (pl.col("day").max() - pl.col("day")).dt.total_days().cast(pl.Float64)
        .alias(f"{name} age days"),
        pl.col("day").alias(DATE),
    )


def with_date_features(table: PreparedTable, when: pl.Series, name: str) -> PreparedTable:
    """The table with `date_features` of `when` (one value per row of table.frame) added."""
    derived = date_features(when, name)
    spec = FeatureSpec(numeric=(*table.spec.numeric, f"{name} age days"),
                       categorical=(*table.spec.categorical, f"{name} weekday", f"{name} month"))
    return PreparedTable(pl.concat([table.frame, derived], how="horizontal"), spec,
                         table.dropped, table.kept)


@dataclass(frozen=True)
class _FoldResult:
    """Each candidate fitted on one training part, and which one its inner validation chose."""

    models: dict[str, TrainedModel]
    chosen: str


def _fit_fold(train: pl.DataFrame, spec: FeatureSpec, cfg: ModelConfig) -> _FoldResult:
    encoding = encode(train, spec, cfg, target=TARGET)
    dated = DATE if DATE in train.columns else None
    models: dict[str, TrainedModel] = {
        kind: fit_kind(kind, train, encoding, cfg, target=TARGET, group=ROW_ID,
                       date_column=dated)
        for kind in cfg.candidates}
    chosen = min(models, key=lambda k: (models[k].oof_log_loss, k))
    return _FoldResult(models, chosen)


def _predict(model: TrainedModel, rows: pl.DataFrame) -> np.ndarray:
    return model.probability(model.encoding.matrix(rows))


def _report(
    y: np.ndarray, chosen: np.ndarray, predictions: dict[str, np.ndarray], method: str,
    choices: list[str],
) -> dict[str, Any]:
    return {
        "method": method,
        "selection": "per training part, by out-of-fold log-loss on that part only",
        "chosen": choices[0] if len(set(choices)) == 1 else sorted(set(choices)),
        "chosen_per_part": choices,
        "held_out": probability_metrics(y, chosen),
        "candidates_held_out": {kind: probability_metrics(y, p)
                                for kind, p in predictions.items()},
    }


def cross_validate(
    table: PreparedTable, cfg: ModelConfig, folds: int = 5
) -> dict[str, Any]:
    """Stratified k-fold: every row is predicted once, by models that did not see it."""
    y = table.frame[TARGET].cast(pl.Int8).to_numpy()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=cfg.seed)
    predictions: dict[str, np.ndarray] = {kind: np.zeros(len(y)) for kind in cfg.candidates}
    chosen = np.zeros(len(y))
    choices: list[str] = []
    per_fold: list[float] = []
    for train_index, test_index in splitter.split(np.zeros(len(y)), y):
        train, test = table.frame[train_index], table.frame[test_index]
        fold = _fit_fold(train, table.spec, cfg)
        for kind, model in fold.models.items():
            predictions[kind][test_index] = _predict(model, test)
        chosen[test_index] = predictions[fold.chosen][test_index]
        choices.append(fold.chosen)
        per_fold.append(probability_metrics(y[test_index], chosen[test_index])["roc_auc"])
    report = _report(y, chosen, predictions, f"stratified {folds}-fold cross-validation",
                     choices)
    report["held_out"]["roc_auc_mean_of_folds"] = round(float(np.mean(per_fold)), 4)
    report["drift"] = drift_summary(y, y, chosen, None, cfg.drift_warning_margin)
    return report


def holdout(
    table: PreparedTable, is_test: pl.Series, cfg: ModelConfig, method: str,
    period: pl.Series | None = None,
) -> dict[str, Any]:
    """Train on rows where `is_test` is false, measure on the others.

    `period` (one label per row of the table, e.g. the month) groups the drift table."""
    train = table.frame.filter(~is_test)
    test = table.frame.filter(is_test)
    y = test[TARGET].cast(pl.Int8).to_numpy()
    fold = _fit_fold(train, table.spec, cfg)
    predictions = {kind: _predict(model, test) for kind, model in fold.models.items()}
    report = _report(y, predictions[fold.chosen], predictions, method, [fold.chosen])
    report["train_rows"] = train.height
    report["drift"] = drift_summary(
        train[TARGET].cast(pl.Int8).to_numpy(), y, predictions[fold.chosen],
        None if period is None else period.filter(is_test).to_numpy(), cfg.drift_warning_margin)
    return report
