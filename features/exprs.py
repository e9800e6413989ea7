"""Small expression helpers shared by the feature and scoring steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl


def _value(value: pl.Expr | str | None) -> pl.Expr:
    if isinstance(value, pl.Expr):
        return value
    return pl.lit(value, dtype=pl.String)


def first_match(
    cases: Sequence[tuple[pl.Expr, pl.Expr | str | None]], default: pl.Expr | str | None
) -> pl.Expr:
    """The value of the first case whose condition is true, else `default`.

    A null condition counts as false, so a missing value never selects a case.
    """
    if not cases:
        return _value(default)
    chain: Any = pl.when(cases[0][0].fill_null(False)).then(_value(cases[0][1]))
    for condition, value in cases[1:]:
        chain = chain.when(condition.fill_null(False)).then(_value(value))
    result: pl.Expr = chain.otherwise(_value(default))
    return result
