"""Turn a feature frame into the numeric matrix a model sees, the same way at training and scoring.

Numeric and true/false features pass through as numbers (missing = NaN); how a model rescales
them (standardized, signed log, splines) is the model's choice
(`scoring.conversion.estimators`). Categorical features become codes 0..k-1, with categories
ordered by their smoothed training conversion rate, so a tree's "code <= t" split groups
similar categories. Levels with fewer than
`min_count` training rows, those beyond the `max_levels` most frequent, and levels never seen
in training share one level, OTHER, placed in the order by its own rate: a column with
thousands of distinct values (cities, campaigns) costs a few dozen codes, and a rare level
borrows the evidence of the other rare ones instead of being read as missing.
Each level's share of the training rows is kept too (`level_shares`): gradient boosting sees
it beside the code, a second order of the same levels (common ways in against rare ones) that
the conversion-rate order does not give.
The encoding is plain data (JSON), stored next to the model, so loading it runs no code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from features.config import Config
from features.point_in_time.registry import feature_columns


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns of a feature frame feed the model, by kind."""

    numeric: tuple[str, ...]
    boolean: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.boolean + self.categorical


def canonical_feature_spec(cfg: Config) -> FeatureSpec:
    """The model features of the canonical pipeline: the registry's features with a model use,
    in registry order, at the configured engagement windows.

    The registry leaves out the undated lead fields (budget, timeline, need): exports carry them
    only as they are today, filled in during qualification, so at a past snapshot date they would
    tell the model what happened later. They feed ICP rules (which score today), never the model.
    """
    columns = feature_columns(cfg.features.engagement_windows_days)
    return FeatureSpec(
        numeric=tuple(c.name for c in columns if c.model == "numeric"),
        boolean=tuple(c.name for c in columns if c.model == "boolean"),
        categorical=tuple(c.name for c in columns if c.model == "categorical"),
    )


def add_derived_columns(features: pl.LazyFrame) -> pl.LazyFrame:
    """Columns the model uses that are a plain function of other features.

    Needs industry_code, as_of, lead_age_days. Adds industry_division (the first two digits of
    industry_code: NACE/SIC division) and the weekday (1 = Monday) and month of the lead's
    creation as text (categories): the day a lead arrived is known from then on, and says
    something about how it arrived (a weekend sign-up, a trade-fair month).
    """
    created = pl.col("as_of") - pl.duration(days=pl.col("lead_age_days"))
    return features.with_columns(
        pl.col("industry_code").str.replace_all(r"\D", "").str.slice(0, 2)
        .replace("", None).alias("industry_division"),
        created.dt.weekday().cast(pl.String).alias("created_weekday"),
        created.dt.month().cast(pl.String).alias("created_month"),
    )


# The shared level of rare and unseen values (a real value spelled the same joins it).
OTHER = "(rare or unseen)"


@dataclass(frozen=True)
class FeatureEncoding:
    """A fitted encoding: the spec plus the ordered levels of each categorical column (OTHER
    among them: the code of every value not listed)."""

    spec: FeatureSpec
    categories: dict[str, list[str]] = field(default_factory=dict)
    # Per categorical column, each level's share of the training rows (in `categories` order;
    # OTHER's is that of all the rare levels together). Encodings saved before have none.
    shares: dict[str, list[float]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.spec.columns)

    @property
    def categorical_mask(self) -> list[bool]:
        return [c in self.spec.categorical for c in self.spec.columns]

    def indexes(self, kind: str) -> list[int]:
        """Matrix column indexes of the spec's `kind`: numeric, boolean or categorical."""
        wanted = set(getattr(self.spec, kind))
        return [i for i, c in enumerate(self.spec.columns) if c in wanted]

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """A float64 matrix, one column per spec column in order; missing values are NaN."""
        numeric = [pl.col(c).cast(pl.Float64).alias(c)
                   for c in self.spec.numeric + self.spec.boolean]
        codes = [self._codes(c) for c in self.spec.categorical]
        selected = frame.select(*numeric, *codes)
        return selected.to_numpy(order="c").astype(np.float64, copy=False)

    def level_shares(self, x: np.ndarray) -> np.ndarray:
        """For a `matrix` x, one column per categorical column (spec order): the training share
        of the row's level; NaN where the value is missing."""
        columns = []
        for index, column in zip(self.indexes("categorical"), self.spec.categorical,
                                 strict=True):
            codes = x[:, index]
            present = ~np.isnan(codes)
            share = np.full(len(codes), np.nan)
            share[present] = np.asarray(self.shares[column])[codes[present].astype(np.int64)]
            columns.append(share)
        return np.column_stack(columns) if columns else np.empty((x.shape[0], 0))

    def _codes(self, column: str) -> pl.Expr:
        levels = self.categories[column]
        other = float(levels.index(OTHER)) if OTHER in levels else None
        value = pl.col(column).cast(pl.String)
        code = value.replace_strict(levels, list(range(len(levels))), default=other,
                                    return_dtype=pl.Float64)
        return pl.when(value.is_null()).then(None).otherwise(code).alias(column)

    def to_json(self) -> dict[str, Any]:
        return {"spec": asdict(self.spec), "categories": self.categories,
                "shares": self.shares}

    @staticmethod
    def from_json(raw: dict[str, Any]) -> FeatureEncoding:
        spec = FeatureSpec(**{k: tuple(v) for k, v in raw["spec"].items()})
        return FeatureEncoding(spec, {k: list(v) for k, v in raw["categories"].items()},
                               {k: [float(s) for s in v]
                                for k, v in raw.get("shares", {}).items()})


def _ordered_levels(
    frame: pl.DataFrame, column: str, target: str, min_count: int, max_levels: int
) -> pl.DataFrame:
    """The levels (value, rows), OTHER among them, in the order of their smoothed rate."""
    values = frame.select(pl.col(column).cast(pl.String).alias("value"),
                          pl.col(target).cast(pl.Float64).alias("y")).drop_nulls("value")
    prior = float(values["y"].cast(pl.Float64).fill_null(0.0).mean() or 0.0)  # type: ignore[arg-type]
    stats = values.group_by("value").agg(pl.len().alias("rows"), pl.col("y").sum().alias("yes"))
    kept = (stats.filter(pl.col("rows") >= min_count)
            .sort(["rows", "value"], descending=[True, False]).head(max_levels))
    rest = stats.join(kept.select("value"), on="value", how="anti")
    levels = kept.select("value", "rows", "yes")
    # OTHER is always a level: values unseen in training get its code (with no rare training
    # rows, it sits at the overall rate).
    other = pl.DataFrame({"value": [OTHER], "rows": [int(rest["rows"].sum())],
                          "yes": [float(rest["yes"].sum())]})
    levels = pl.concat([levels.cast({"rows": pl.Int64, "yes": pl.Float64}),
                        other.cast({"rows": pl.Int64, "yes": pl.Float64})])
    # Shrunk towards the overall rate by `min_count` rows' worth of it: a level seen a few
    # times is not placed at an extreme by chance.
    smoothed = (pl.col("yes") + min_count * prior) / (pl.col("rows") + min_count)
    return (levels.with_columns(smoothed.alias("rate")).sort(["rate", "value"])
            .select("value", "rows"))


def fit_encoding(
    frame: pl.DataFrame, spec: FeatureSpec, target: str, min_count: int = 10,
    max_levels: int = 250,
) -> FeatureEncoding:
    """Learn each categorical column's levels and their order from labelled training rows.

    Levels with at least `min_count` rows, at most `max_levels` of them (the most frequent;
    tree models bin at most 255 values), plus OTHER; ordered by smoothed conversion rate;
    with each level's share of the rows.
    """
    levels = {column: _ordered_levels(frame, column, target, min_count, max_levels)
              for column in spec.categorical}
    rows = max(frame.height, 1)
    return FeatureEncoding(
        spec,
        {column: level["value"].to_list() for column, level in levels.items()},
        {column: (level["rows"].cast(pl.Float64) / rows).to_list()
         for column, level in levels.items()},
    )


def missing_columns(frame_columns: Sequence[str], spec: FeatureSpec) -> list[str]:
    return [c for c in spec.columns if c not in frame_columns]
