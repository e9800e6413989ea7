"""Small vectorized helpers: weighted choices, picks per group, timestamps, ASCII folding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from features.schema import UTC_DATETIME
from samplegen.tables import _ASCII_FOLD, _HOUR_WEIGHTS, DAY, Rng

# ---- small vectorized helpers ------------------------------------------------------------------


def _take(values: Sequence[str | None], idx: np.ndarray) -> pl.Series:
    """values[idx] as a String series (fast: gathers from a small series)."""
    return pl.Series(values=list(values), dtype=pl.String).gather(idx)


_QUANTUM = 1 << 13


def _choice(rng: Rng, n: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """n draws of an index with the given relative weights.

    For short weight lists, a lookup table of 8192 slots (weights rounded to 1/8192) makes tens
    of millions of draws several times faster than ``rng.choice(p=...)``."""
    p = np.asarray(weights, dtype=float)
    p = p / p.sum()
    if len(p) > 256:
        return np.searchsorted(np.cumsum(p), rng.random(n) * p.sum(), side="right").clip(
            0, len(p) - 1)
    slots = np.floor(p * _QUANTUM).astype(np.int64)
    short = _QUANTUM - slots.sum()
    slots[np.argsort(slots - p * _QUANTUM, kind="stable")[:short]] += 1
    table = np.repeat(np.arange(len(p)), slots)
    return table[rng.integers(0, _QUANTUM, n)]


def _pick_in_groups(rng: Rng, groups: np.ndarray, tables: Sequence[Sequence[str]]) -> pl.Series:
    """For each row, a uniform pick from ``tables[group]``."""
    lengths = np.array([len(t) for t in tables])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = [v for t in tables for v in t]
    idx = offsets[groups] + (rng.random(len(groups)) * lengths[groups]).astype(np.int64)
    return _take(flat, idx)


def _keep(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """values where mask, else null."""
    return values.to_frame("v").select(pl.when(pl.Series(mask)).then(pl.col("v"))).to_series()


def _datetimes(seconds: np.ndarray) -> pl.Series:
    return pl.Series(seconds.astype(np.int64) * 1_000_000).cast(UTC_DATETIME)


def _office_hours(rng: Rng, t: np.ndarray) -> np.ndarray:
    """Move each time to a random office-hours moment of the same UTC day."""
    hours = _choice(rng, len(t), _HOUR_WEIGHTS)
    return (t // DAY) * DAY + hours * 3600 + rng.integers(0, 3600, size=len(t))


def _ascii_fold(expr: pl.Expr) -> pl.Expr:
    src, dst = zip(*_ASCII_FOLD, strict=True)
    return expr.str.to_lowercase().str.replace_many(list(src), list(dst))


def _occurrence(keys: pl.Series) -> pl.Series:
    """0 for the first row with each key (in order), 1 for the second, and so on. Numbers only
    the repeated keys: a window over millions of distinct strings is slow."""
    repeated = keys.is_duplicated()
    dups = keys.to_frame("k").with_row_index("i").filter(repeated).with_columns(
        nth=pl.int_range(pl.len()).over("k"))
    out = np.zeros(len(keys), dtype=np.int64)
    out[dups["i"].to_numpy()] = dups["nth"].to_numpy()
    return pl.Series(out)
