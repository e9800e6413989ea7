from __future__ import annotations

import polars as pl
import pytest

from scoring.phrases import count_of, days_ago, money, plain_number, whole_number


def _one(expr: pl.Expr) -> str:
    return str(pl.select(expr).item())


@pytest.mark.parametrize(("value", "text"), [
    (184014956.0, "EUR 184 M"), (2_400_000_000.0, "EUR 2.4 bn"), (999_999.0, "EUR 1 M"),
    (56_000.0, "EUR 56 k"), (950.0, "EUR 950"),
])
def test_money_reads_like_a_person_writes_it(value: float, text: str) -> None:
    assert _one(money(pl.lit(value))) == text


def test_counts_group_thousands() -> None:
    assert _one(count_of(pl.lit(3000.0), "employees")) == "3,000 employees"
    assert _one(whole_number(pl.lit(-1234567))) == "-1,234,567"


@pytest.mark.parametrize(("days", "text"), [(0, "today"), (1, "yesterday"), (3, "3 days ago"),
                                            (1500, "1,500 days ago"), (-4, "in 4 days")])
def test_days_ago(days: int, text: str) -> None:
    assert _one(days_ago(pl.lit(days))) == text


def test_plain_number_never_shows_a_raw_float() -> None:
    frame = pl.DataFrame({"v": [184014956.0, 3000.0, 0.4567, 12.0]})
    shown = frame.select(plain_number(pl.col("v")))["v"].to_list()
    assert shown == ["184 M", "3,000", "0.46", "12"]


def test_null_stays_null() -> None:
    assert pl.select(money(pl.lit(None, dtype=pl.Float64))).item() is None
