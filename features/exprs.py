"""Small expression helpers shared by the feature and scoring steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


def replaced(
    expr: pl.Expr, mapping: dict[Any, Any], return_dtype: pl.DataType,
    default: pl.Expr | None = None,
) -> pl.Expr:
    """``expr.replace_strict(mapping, default=default)``, evaluated one batch at a time.

    In polars 2.1 the streaming engine runs ``replace``/``replace_strict`` over the whole
    column at once: the country codes alone held about 3 GiB more while a 10-million-lead
    export was validated. The same lookup per batch streams (and costs no more).
    ``default`` (an expression, or None for null) is what an unmapped value becomes.
    """
    if default is None:
        return expr.map_batches(
            lambda values: values.replace_strict(mapping, default=None,
                                                 return_dtype=return_dtype),
            return_dtype=return_dtype, is_elementwise=True)
    # The struct takes the name of its first field, so the result keeps ``expr``'s name.
    return pl.struct(expr, default.alias("__replaced_default")).map_batches(
        lambda pair: pair.struct[0].replace_strict(
            mapping, default=pair.struct[1], return_dtype=return_dtype),
        return_dtype=return_dtype, is_elementwise=True)


@dataclass(frozen=True)
class Texts:
    """A List(String) expression whose texts go, in order, into a `text_list`."""

    texts: pl.Expr


# Joins a row's texts for `text_list`: a control character texts almost never hold.
_TEXT_SEPARATOR = "\x1f"


def with_text_list(frame: pl.LazyFrame, name: str, items: Sequence[pl.Expr | Texts]
                   ) -> pl.LazyFrame:
    """Adds `name`: the non-null texts of `items`, in order, as one List(String) per row
    (empty when none); each item a String expression, or `Texts` of a List(String) one.

    The items are computed as columns first: `_text_list` reads each of them three or four
    times, and polars does not share them across its branches (at a million leads' reasons,
    5.7 s in one step, 2.8 s in two).
    """
    temporary = [f"__text_list_{i}" for i in range(len(items))]
    computed = [(item.texts if isinstance(item, Texts) else item).alias(column)
                for item, column in zip(items, temporary, strict=True)]
    columns = [Texts(pl.col(column)) if isinstance(item, Texts) else pl.col(column)
               for item, column in zip(items, temporary, strict=True)]
    return (frame.with_columns(computed).with_columns(_text_list(columns).alias(name))
            .drop(temporary))


def _text_list(items: Sequence[pl.Expr | Texts]) -> pl.Expr:
    """`with_text_list`'s list, from items that are columns.

    The same lists as ``pl.concat_list(...).list.drop_nulls()``, which polars builds row by
    row (about 2 s per million rows for ten texts); joining the texts with `_TEXT_SEPARATOR`
    and splitting them again takes a tenth of that. A row where that could differ (a text
    holding the separator, which the count of separators shows; a null list or a list with a
    null in it) takes concat_list, and polars evaluates that branch only for batches with
    such a row.
    """
    if not items:
        return pl.lit([], dtype=pl.List(pl.String))
    texts: list[pl.Expr] = []
    counts: list[pl.Expr] = []
    unusual: list[pl.Expr] = []
    for item in items:
        if isinstance(item, Texts):
            length = item.texts.list.len()
            joined = pl.when(length > 0).then(
                item.texts.list.join(_TEXT_SEPARATOR, ignore_nulls=False))
            texts.append(joined)
            counts.append(length.fill_null(0))
            unusual.append(item.texts.is_null() | ((length > 0) & joined.is_null()))
        else:
            texts.append(item)
            counts.append(item.is_not_null().cast(pl.UInt32))
    total = pl.sum_horizontal(counts).cast(pl.Int64)
    joined_all = pl.concat_str(texts, separator=_TEXT_SEPARATOR, ignore_nulls=True)
    separators = joined_all.str.count_matches(_TEXT_SEPARATOR, literal=True).cast(pl.Int64)
    usual = ~pl.any_horizontal(unusual) if unusual else pl.lit(True)
    row_by_row = pl.concat_list(
        [item.texts if isinstance(item, Texts) else item for item in items]
    ).list.drop_nulls()
    split = (pl.when(total == 0).then(pl.lit([], dtype=pl.List(pl.String)))
             .otherwise(joined_all.str.split(_TEXT_SEPARATOR)))
    # One condition for every row the split serves: a row of a chained `when` that an
    # earlier branch took would still make polars evaluate the branches after it.
    return (
        pl.when(usual & ((total == 0) | (separators == total - 1))).then(split)
        .otherwise(row_by_row)
    )


def marked_sorted(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """`frame`, with `column` flagged as sorted (ascending) when its values are, and no null.

    Polars skips a sort by a column flagged sorted, but flags only what it sorted itself: a
    frame sorted by several columns, concatenated from batches or read from Parquet is sorted
    without the flag, and sorting it again gathers every column (1M scored leads: 2.0 s of
    `recommend_stage`'s 2.5 s). The check is one pass over the column (about 2 ms per
    million lead ids).
    """
    values = frame[column]
    if values.null_count() == 0 and values.is_sorted():
        return frame.with_columns(values.set_sorted())
    return frame
