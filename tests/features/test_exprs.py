"""Expression helpers shared by the steps."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

from features.exprs import Texts, marked_sorted, replaced, with_text_list

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


TEXT_VALUES = st.one_of(st.none(), st.text(alphabet="ab;\x1f ", max_size=4))
TEXT_LISTS = st.one_of(st.none(), st.lists(TEXT_VALUES, max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TEXT_VALUES, TEXT_LISTS, TEXT_VALUES), min_size=1, max_size=8))
def test_text_list_is_concat_list_without_nulls(rows: list[tuple[Any, Any, Any]]) -> None:
    # Texts holding the separator, empty texts, null and empty lists, nulls inside lists.
    frame = pl.DataFrame(rows, schema={"a": pl.String, "l": pl.List(pl.String), "b": pl.String},
                         orient="row")
    expected = frame.select(
        pl.concat_list("a", "l", "b").list.drop_nulls().alias("t")).to_series()
    got = with_text_list(frame.lazy(), "t", [pl.col("a"), Texts(pl.col("l")), pl.col("b")])
    assert got.collect_schema().names() == ["a", "l", "b", "t"]
    assert_series_equal(got.collect().get_column("t"), expected)


def test_text_list_of_plain_texts_drops_nulls_and_keeps_order() -> None:
    frame = pl.DataFrame({"a": ["x", None, None, ""], "b": ["y", "z", None, None]})
    got = with_text_list(frame.lazy(), "t", [pl.col("a"), pl.col("b")]).collect()
    assert got.get_column("t").to_list() == [["x", "y"], ["z"], [], [""]]


# ---- marked_sorted --------------------------------------------------------------------------


def _unflagged(values: list[str | None]) -> pl.DataFrame:
    frame = pl.DataFrame({"lead_id": values, "n": range(len(values))})
    assert frame["lead_id"].flags["SORTED_ASC"] is False
    return frame


def test_marked_sorted_flags_a_sorted_column_and_changes_no_value() -> None:
    frame = _unflagged(["L1", "L2", "L2", "L3"])
    marked = marked_sorted(frame, "lead_id")
    assert marked["lead_id"].flags["SORTED_ASC"] is True
    assert marked.equals(frame)


@pytest.mark.parametrize("values", [["L2", "L1", "L3"], ["L1", "L2", None], [None, "L1", "L2"]])
def test_marked_sorted_leaves_an_unsorted_or_null_holding_column_unflagged(
        values: list[str | None]) -> None:
    """A wrong flag would make polars skip a sort that is needed; a null's place in the order
    depends on the sort's options, so a column with one is never flagged."""
    marked = marked_sorted(_unflagged(values), "lead_id")
    assert marked["lead_id"].flags["SORTED_ASC"] is False
    assert marked.sort("lead_id", nulls_last=True)["lead_id"].to_list() == sorted(
        values, key=lambda v: (v is None, v or ""))
