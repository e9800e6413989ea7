"""Turn a feature frame into the numeric matrix a model sees, the same way at training and scoring.

Numeric and true/false features pass through a signed log (`sign(x) * log1p(|x|)`, missing =
NaN): counts, employees and revenue are heavy-tailed, a linear model needs that, and trees do
not mind. Categorical features become codes 0..k-1, with categories ordered by their training
conversion rate, so a tree's "code <= t" split groups similar categories; rare categories
(fewer than `min_count` training rows) and unseen ones become missing (NaN).
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

    Adds industry_division: the first two digits of industry_code (NACE/SIC division).
    """
    return features.with_columns(
        pl.col("industry_code").str.replace_all(r"\D", "").str.slice(0, 2)
        .replace("", None).alias("industry_division")
    )


def _symlog(column: pl.Expr) -> pl.Expr:
    value = column.cast(pl.Float64)
    return value.sign() * value.abs().log1p()


@dataclass(frozen=True)
class FeatureEncoding:
    """A fitted encoding: the spec plus the ordered categories of each categorical column."""

    spec: FeatureSpec
    categories: dict[str, list[str]] = field(default_factory=dict)

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
        numeric = [_symlog(pl.col(c)).alias(c) for c in self.spec.numeric + self.spec.boolean]
        codes = [
            pl.col(c).cast(pl.String).replace_strict(
                self.categories[c], list(range(len(self.categories[c]))),
                default=None, return_dtype=pl.Float64,
            ).alias(c)
            for c in self.spec.categorical
        ]
        selected = frame.select(*numeric, *codes)
        return selected.to_numpy(order="c").astype(np.float64, copy=False)

    def to_json(self) -> dict[str, Any]:
        return {"spec": asdict(self.spec), "categories": self.categories}

    @staticmethod
    def from_json(raw: dict[str, Any]) -> FeatureEncoding:
        spec = FeatureSpec(**{k: tuple(v) for k, v in raw["spec"].items()})
        return FeatureEncoding(spec, {k: list(v) for k, v in raw["categories"].items()})


def fit_encoding(
    frame: pl.DataFrame, spec: FeatureSpec, target: str, min_count: int = 5
) -> FeatureEncoding:
    """Learn category order (by conversion rate, then name) from labelled training rows."""
    categories: dict[str, list[str]] = {}
    for column in spec.categorical:
        stats = (
            frame.select(pl.col(column).cast(pl.String).alias("value"), pl.col(target))
            .drop_nulls("value")
            .group_by("value")
            .agg(pl.len().alias("rows"), pl.col(target).cast(pl.Float64).mean().alias("rate"))
            .filter(pl.col("rows") >= min_count)
            .sort(["rate", "value"])
        )
        # Tree models bin at most 255 values; keep the most frequent categories if there are more.
        if stats.height > 250:
            stats = (stats.sort(["rows", "value"], descending=[True, False]).head(250)
                     .sort(["rate", "value"]))
        categories[column] = stats["value"].to_list()
    return FeatureEncoding(spec, categories)


def missing_columns(frame_columns: Sequence[str], spec: FeatureSpec) -> list[str]:
    return [c for c in spec.columns if c not in frame_columns]
