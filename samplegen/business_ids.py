"""Business identifiers with valid check digits (verified against python-stdnum in the tests)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from samplegen.tables import COUNTRIES, Rng

# ---- business identifiers (check digits verified against python-stdnum in the tests) ----------


def _digits(body: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (body[:, None] // powers) % 10


def _unique_bodies(rng: Rng, n: int, low: int, high: int) -> np.ndarray:
    """Distinct random integers in [low, high), more than n so invalid ones can be dropped."""
    m = min(high - low, int(n * 1.3) + 50)
    return low + rng.choice(high - low, size=m, replace=False)


def _weighted_check(body: np.ndarray, width: int, weights: Sequence[int]) -> np.ndarray:
    """Mod-11 check digit making the weighted sum 0 mod 11 (10 means no valid digit)."""
    total = _digits(body, width) @ np.asarray(weights)
    return (-total) % 11


def _fi_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 1_000_000, 3_400_000)
    check = _weighted_check(body, 7, (7, 9, 10, 5, 8, 4, 2))
    ok = check < 10
    return (body[ok] * 10 + check[ok])[:n]


def _se_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 556_000_000, 559_999_999)
    d = _digits(body, 9)
    doubled = d[:, 0::2] * 2
    total = (doubled // 10 + doubled % 10).sum(axis=1) + d[:, 1::2].sum(axis=1)
    return (body * 10 + (10 - total % 10) % 10)[:n]


def _no_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 81_000_000, 99_999_999)
    total = _digits(body, 8) @ np.array([3, 2, 7, 6, 5, 4, 3, 2])
    check = (11 - total % 11) % 11
    ok = check < 10
    return (body[ok] * 10 + check[ok])[:n]


def _dk_ids(rng: Rng, n: int) -> np.ndarray:
    # No leading 1, so a CVR is never mistaken for an Estonian registry code by its shape.
    body = _unique_bodies(rng, n, 2_000_000, 9_999_999)
    check = _weighted_check(body, 7, (2, 7, 6, 5, 4, 3, 2))
    ok = check < 10
    return (body[ok] * 10 + check[ok])[:n]


def _ee_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 1_000_000, 1_699_999)
    d = _digits(body, 7)
    first = (d @ (np.arange(7) % 9 + 1)) % 11
    second = (d @ ((np.arange(7) + 2) % 9 + 1)) % 11
    check = np.where(first == 10, second, first) % 10
    return (body * 10 + check)[:n]


def _foreign_ids(rng: Rng, n: int) -> np.ndarray:
    return _unique_bodies(rng, n, 10_000_000, 99_999_999)[:n]


_ID_MAKERS = (_fi_ids, _se_ids, _no_ids, _dk_ids, _ee_ids, _foreign_ids, _foreign_ids,
              _foreign_ids)
_ID_WIDTH = (8, 10, 9, 8, 8, 8, 8, 9)  # digits, zero-padded: a US EIN has nine


def _compact_ids(rng: Rng, country: np.ndarray) -> pl.Series:
    """Unique, valid registry numbers (digits only, zero-padded) for each company's country."""
    numbers = np.zeros(len(country), dtype=np.int64)
    for code, make in enumerate(_ID_MAKERS):
        rows = np.flatnonzero(country == code)
        made = make(rng, len(rows))
        if len(made) < len(rows):
            raise ValueError(f"too many companies in {COUNTRIES[code]} for its id space")
        numbers[rows] = made
    width = np.asarray(_ID_WIDTH)[country]
    text = pl.Series(numbers).cast(pl.String)
    return pl.DataFrame({"t": text, "w": width}).select(
        pl.col("t").str.zfill(pl.col("w"))
    ).to_series()


def _format_business_id(compact: pl.Expr, country: pl.Expr) -> pl.Expr:
    """Each registry's own way of writing its number."""
    c = compact
    return (
        pl.when(country == "FI").then(pl.concat_str(c.str.slice(0, 7), pl.lit("-"), c.str.slice(7)))
        .when(country == "SE").then(pl.concat_str(c.str.slice(0, 6), pl.lit("-"), c.str.slice(6)))
        .when(country == "DE").then(pl.concat_str(pl.lit("HRB "), c.str.slice(3)))
        .when(country == "US").then(pl.concat_str(c.str.slice(0, 2), pl.lit("-"), c.str.slice(2)))
        .otherwise(c)
    )
