"""Expression helpers shared by the steps."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_series_equal

from features.exprs import replaced

MAPPING = {"FINLAND": "FI", "SUOMI": "FI", "SVERIGE": "SE", "NOWHERE": None}
VALUES = ["FINLAND", "SE", None, "SUOMI", "NOWHERE", "NORGE"]


@pytest.mark.parametrize("default", [None, pl.col("v"), pl.lit("??")])
def test_replaced_is_replace_strict(default: pl.Expr | None) -> None:
    # Many batches (a frame of several chunks, streamed) give what one replace_strict gives.
    frame = pl.concat([pl.DataFrame({"v": VALUES})] * 50, rechunk=False)
    expected = frame.select(pl.col("v").replace_strict(
        MAPPING, default=default, return_dtype=pl.String)).to_series()
    for engine in ("in-memory", "streaming"):
        got = frame.lazy().select(replaced(pl.col("v"), MAPPING, pl.String(), default=default)
                                  ).collect(engine=engine).to_series()
        assert_series_equal(got, expected)


def test_replaced_to_another_type_maps_unknown_values_to_null() -> None:
    words = pl.DataFrame({"w": ["yes", "no", "maybe", None]})
    got = words.select(replaced(pl.col("w"), {"yes": True, "no": False}, pl.Boolean()))
    assert got.to_series().to_list() == [True, False, None, None]
