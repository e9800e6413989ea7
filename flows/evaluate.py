"""`leadscore evaluate`: how well the modelling procedure does on your own data.

Two shapes of input:
- one table with an outcome column (`--input FILE --profile P`, the profile's `[evaluate]`
  section names the outcome and the columns to leave out): a split at `--split-date` on the
  profile's date column, else stratified k-fold cross-validation, or `--holdout-last FRACTION`
  when the rows are in time order;
- the canonical multi-table inputs (`--inputs DIR`): point-in-time snapshots as in training,
  trained on snapshots whose horizon ended before `--split-date`, measured on snapshots from it.
No model is registered: this only measures.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from features.config import Config
from features.errors import ConfigError, InputError
from features.ingest.parse import parse_datetime_utc
from features.ingest.profile import Profile
from features.ingest.validate import RAW_ERROR, SOURCE_ROW
from features.point_in_time.training import labelled_snapshot_dates, training_set
from flows.catalog import READ_ERRORS, load_config, sha256_of
from flows.readers import read_raw
from flows.score import materialize, prepare_inputs, read_inputs, validate_inputs
from scoring.conversion.encoding import canonical_feature_spec
from scoring.conversion.evaluate import TARGET as TABLE_TARGET
from scoring.conversion.evaluate import (
    PreparedTable,
    cross_validate,
    holdout,
    prepare_table,
    with_date_features,
)
from scoring.conversion.metrics import probability_metrics, ranking_metrics
from scoring.conversion.train import (
    TARGET,
    fit_kind,
    train_conversion_model,
    validation_drift,
)
from scoring.score import with_icp


def _single_table(path: Path, profile: Profile, work: Path) -> pl.DataFrame:
    section = profile.section(profile.evaluate.source if profile.evaluate else "leads")
    raw = read_raw(path, work, encoding=section.encoding, delimiter=section.delimiter)
    try:
        return raw.frame.drop(SOURCE_ROW, RAW_ERROR, strict=False).collect()
    except READ_ERRORS as exc:
        raise InputError(f"{path.name}: cannot be read ({str(exc).strip()[:200]})") from None


def with_seed(cfg: Config, seed: int | None) -> Config:
    """`cfg` with model.seed replaced (the command line's --seed), or as it is."""
    if seed is None:
        return cfg
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"seed": seed})})


def _dates(frame: pl.DataFrame, column: str, day_first: bool) -> pl.Series:
    """The profile's date column parsed (UTC); an error names the column when it cannot be."""
    if column not in frame.columns:
        raise InputError(
            f"date column '{column}' (profile [evaluate].date_column) is not in the file"
        )
    moments = frame.select(parse_datetime_utc(pl.col(column).cast(pl.String), day_first=day_first))
    when = moments.to_series()
    if when.null_count() == when.len():
        raise InputError(f"date column '{column}': no value parses as a date")
    return when


def evaluate_table(
    path: Path,
    profile: Profile,
    cfg: Config,
    *,
    split_date: date | None = None,
    holdout_last: float | None = None,
    folds: int = 5,
) -> dict[str, Any]:
    """Metrics (JSON-ready) for a single-table export with an outcome column."""
    spec = profile.evaluate
    if spec is None:
        raise ConfigError(f"profile '{profile.name}' has no [evaluate] section (outcome column)")
    if split_date is not None and holdout_last is not None:
        raise ConfigError("choose either --split-date or --holdout-last, not both")
    if split_date is not None and not spec.date_column:
        raise ConfigError(f"--split-date needs a date column: profile '{profile.name}' has no "
                          "[evaluate].date_column")
    with tempfile.TemporaryDirectory(prefix="leadscore-") as work:
        frame = _single_table(path, profile, Path(work))
    if spec.outcome not in frame.columns:
        raise InputError(f"{path.name}: outcome column '{spec.outcome}' (profile "
                         f"'{profile.name}') is missing")
    exclude = [*spec.exclude, *([spec.date_column] if spec.date_column else [])]
    table = prepare_table(frame, spec.outcome, spec.positive, exclude, cfg.ingest.missing_values)
    _check_outcome(path, frame, table, spec.outcome, spec.positive)
    when: pl.Series | None = None
    if spec.date_column:
        day_first = profile.section(spec.source).day_first
        # rows without an outcome are not in the table
        when = _dates(frame, spec.date_column,
                      cfg.ingest.day_first if day_first is None else day_first).filter(table.kept)
        table = with_date_features(table, when, spec.date_column)
    if when is not None and split_date is not None:
        is_test = (when.dt.date() >= split_date).fill_null(False).alias("is_test")
        _check_split(table, is_test, f"--split-date {split_date} on '{spec.date_column}'")
        month = when.dt.strftime("%Y-%m").fill_null("no date")
        report = holdout(table, is_test, cfg.model, f"time split at {split_date.isoformat()} "
                                                    f"on '{spec.date_column}'", period=month)
    elif holdout_last is not None:
        rows = table.frame.height  # in file order, without the rows that have no outcome
        cut = round(rows * (1 - holdout_last))
        is_test = pl.Series("is_test", [i >= cut for i in range(rows)])
        _check_split(table, is_test, f"--holdout-last {holdout_last}")
        report = holdout(table, is_test, cfg.model, f"last {holdout_last:.0%} of rows held out")
    else:
        _check_folds(table, folds)
        report = cross_validate(table, cfg.model, folds=folds)
    report["data"] = _describe(path, frame, table)
    report["seed"] = cfg.model.seed
    return report


def _classes(y: pl.Series) -> tuple[int, int]:
    """(converted rows, other rows)."""
    positives = int(y.sum())
    return positives, y.len() - positives


def _check_outcome(path: Path, frame: pl.DataFrame, table: PreparedTable, outcome: str,
                   positive: tuple[str, ...]) -> None:
    """InputError when the outcome has one class only: nothing to learn or measure."""
    positives, others = _classes(table.frame[TABLE_TARGET])
    if positives and others:
        return
    values = frame[outcome].cast(pl.String).str.strip_chars().drop_nulls().unique().sort()
    shown = ", ".join(f"'{v}'" for v in values.head(10).to_list())
    which = "no row" if not positives else "every row"
    raise InputError(f"{path.name}: {which} of outcome '{outcome}' is one of [evaluate].positive "
                     f"{list(positive)}; its values are {shown or 'all missing'}")


def _check_split(table: PreparedTable, is_test: pl.Series, described: str) -> None:
    """InputError when either side of a split lacks a converted or an other row."""
    y = table.frame[TABLE_TARGET]
    train, test = _classes(y.filter(~is_test)), _classes(y.filter(is_test))
    if min(*train, *test) == 0:
        raise InputError(
            f"{described}: the training part has {sum(train)} rows ({train[0]} converted), the "
            f"test part {sum(test)} ({test[0]} converted); both need converted and other rows: "
            "choose a split inside the data"
        )


def _check_folds(table: PreparedTable, folds: int) -> None:
    fewest = min(_classes(table.frame[TABLE_TARGET]))
    if fewest < folds:
        raise InputError(f"--folds {folds}: only {fewest} rows of one outcome class; each fold "
                         "needs one: choose fewer folds")


def _describe(path: Path, frame: pl.DataFrame, table: PreparedTable) -> dict[str, Any]:
    y = table.frame[TABLE_TARGET]
    return {
        "file": str(path),
        "sha256": sha256_of(path),
        "rows": frame.height,
        "rows_without_outcome": table.rows_without_outcome,
        "rows_evaluated": table.frame.height,
        "positives": int(y.sum()),
        "positive_rate": round(int(y.sum()) / max(y.len(), 1), 4),
        "numeric_features": list(table.spec.numeric),
        "categorical_features": list(table.spec.categorical),
        "not_used": table.dropped,
    }


def evaluate_canonical(
    inputs: Path,
    config: Path,
    *,
    as_of: date,
    split_date: date,
    profile: str | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Metrics for the canonical inputs, split by snapshot date at `split_date`.

    `profile` is a preset name or a TOML path, as for `score` and `train`; `seed` replaces
    the config's model.seed.
    """
    cfg, _ = load_config(config)
    cfg = with_seed(cfg, seed)
    with tempfile.TemporaryDirectory(prefix="leadscore-") as work:
        # Validated once into Parquet, as `score` and `train` do: `prepare` reads the leads
        # more than once, and would otherwise parse and validate the file each time.
        sources = validate_inputs.fn(read_inputs.fn(inputs, cfg, Path(work), profile),
                                     Path(work))
        held = materialize.fn(sources, prepare_inputs.fn(sources, cfg, as_of))
        dates = labelled_snapshot_dates(cfg, as_of)
        labelled = with_icp(training_set(held.inputs, cfg, dates), cfg).collect()
    horizon_end = pl.col("as_of") + pl.duration(days=cfg.model.horizon_days)
    train = labelled.filter(horizon_end <= split_date)
    test = labelled.filter(pl.col("as_of") >= split_date)
    if train.height == 0 or test.height == 0:
        raise InputError(
            f"--split-date {split_date}: {train.height} training and {test.height} test "
            f"snapshots between {dates[0]} and {dates[-1]}; choose a date inside that range"
        )
    # What `train` would have done on the split date: choose on the later part of the training
    # snapshots, refit on all of them; then measured on the test snapshots it never saw.
    outcome = train_conversion_model(train, canonical_feature_spec(cfg), cfg.model)
    if outcome.model is None:
        raise InputError(f"--split-date {split_date}: the training snapshots before it do not "
                         f"support a model: {outcome.message}")
    model = outcome.model
    y = test[TARGET].cast(pl.Int8).to_numpy()
    # Every candidate refitted the same way, for reference only (the choice was made above).
    encoding = model.encoding
    refitted = {kind: model if kind == outcome.chosen else fit_kind(kind, train, encoding,
                                                                    cfg.model)
                for kind in cfg.model.candidates}
    return {
        "method": f"point-in-time snapshots, trained before {split_date} (label horizon "
                  f"{cfg.model.horizon_days} days), measured on snapshots from it",
        "selection": "on the training snapshots' last model.validation_days "
                     f"({' to '.join(outcome.validation_window or ())}), as `train` does",
        "chosen": outcome.chosen,
        "transform": model.transform,
        "calibration": model.calibration.method,
        "held_out": probability_metrics(y, model.probability(model.encoding.matrix(test))),
        "inner_validation": outcome.candidates,
        "candidates_held_out": {
            kind: probability_metrics(y, m.probability(m.encoding.matrix(test)))
            for kind, m in refitted.items()},
        "rules_only_baseline": {"icp_fit": ranking_metrics(y, test["icp_fit"].to_numpy())},
        "drift": validation_drift(train, test, model, cfg.model),
        "seed": cfg.model.seed,
        "data": {"inputs": str(inputs), "as_of": as_of.isoformat(),
                 "train_snapshots": train.height, "test_snapshots": test.height,
                 "test_positives": int(y.sum())},
    }
