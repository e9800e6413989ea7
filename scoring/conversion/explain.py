"""Reasons per lead: the factors that raised and lowered the model's score, in plain words.

Method: the model's raw score (log-odds) is decomposed exactly into a bias plus one contribution per
feature (see `scoring.conversion.estimators`). For each lead the three largest positive
contributions become "raises" factors and the three most negative "lowers" factors, each phrased
from the lead's own value of that feature ("page views in the last 90 days (12)"). How each
feature is phrased is declared in `features.point_in_time.registry` (its `reason`); this module
turns those declarations into polars expressions. Contributions smaller than `min_effect`
log-odds are left out: they would explain nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from features.point_in_time.registry import (
    FACTOR_GROUPS,
    Count,
    Custom,
    Flag,
    Reason,
    Recency,
    Value,
    Words,
    column_named,
)
from scoring.conversion.encoding import FeatureEncoding
from scoring.phrases import count_of, days_ago, decimal, money, plain_number, whole_number
from scoring.rules.stage import SIGNAL_PHRASES

FACTOR_COLUMNS = ("factors_up", "factors_down")

Phrase = Callable[[pl.Expr], pl.Expr]


def _text(value: pl.Expr) -> pl.Expr:
    return value.cast(pl.String)


def _count(noun: str, window: str) -> Phrase:
    """"no page views in the last 90 days" / "page views in the last 90 days (12)"."""
    label = f"{noun} {window}".rstrip()
    return lambda v: pl.when(v.fill_null(0) == 0).then(pl.lit(f"no {label}")).otherwise(
        pl.lit(f"{label} (") + whole_number(v) + pl.lit(")"))


def _optional(present: Callable[[pl.Expr], pl.Expr], absent: str) -> Phrase:
    return lambda v: pl.when(v.is_null()).then(pl.lit(absent)).otherwise(present(v))


def _buying_signal(has_recency: bool) -> Phrase:
    """"buying signal: requested a demo 3 days ago" (the latest of any age), or "no buying
    signal"; stands for the buying-signal group (type, recency, recent count)."""
    def phrase(v: pl.Expr) -> pl.Expr:
        verb = v.replace_strict(SIGNAL_PHRASES, default=v.str.replace_all("_", " "),
                                return_dtype=pl.String)
        when = pl.col("days_since_intent_signal") if has_recency else pl.lit(None)
        return pl.when(v.is_null()).then(pl.lit("no buying signal")).otherwise(
            pl.lit("buying signal: ") + verb + pl.when(when.is_not_null())
            .then(pl.lit(" ") + days_ago(when)).otherwise(pl.lit(""))
        )
    return phrase


def _timeline(v: pl.Expr) -> pl.Expr:
    return (
        pl.when(v >= 0).then(pl.lit("plans to buy within ") + count_of(v, "days"))
        .otherwise(pl.lit("stated buying date passed ") + days_ago(-v))
    )


def _industry(has_label: bool) -> Phrase:
    """"industry: Computer programming (62)" when the frame has the label, else the code."""
    def phrase(v: pl.Expr) -> pl.Expr:
        labelled = pl.col("industry") + pl.lit(" (") + v + pl.lit(")") if has_label else v
        return pl.lit("industry: ") + pl.coalesce(labelled, v)
    return phrase


def _flag(yes: str, no: str) -> Phrase:
    return lambda v: pl.when(v.fill_null(False)).then(pl.lit(yes)).otherwise(pl.lit(no))


def _mapped(words: dict[str, str], fallback: str) -> Phrase:
    return lambda v: v.replace_strict(words, default=pl.lit(fallback) + _text(v),
                                      return_dtype=pl.String)


def _phrased(reason: Reason) -> Phrase:
    """The expression that writes a registry reason from the feature's value."""
    if isinstance(reason, Count):
        return _count(reason.noun, reason.when)
    if isinstance(reason, Recency):
        prefix = reason.prefix
        return _optional(lambda v: pl.lit(prefix) + days_ago(v), reason.absent)
    if isinstance(reason, Value):
        return _value(reason)
    if isinstance(reason, Flag):
        return _flag(reason.yes, reason.no)
    if isinstance(reason, Words):
        return _mapped(dict(reason.words), reason.fallback)
    raise TypeError(f"no phrase for {reason!r}")  # Custom reasons are looked up by name


def _shown(reason: Value, v: pl.Expr) -> pl.Expr:
    """The value as `reason.shown` says, numbers through scoring.phrases (never a raw float)."""
    if reason.shown == "whole":
        return whole_number(v)
    if reason.shown == "money":
        return money(v)
    if reason.shown == "decimal":
        return decimal(v, reason.decimals)
    if reason.shown == "days_ago":
        return days_ago(v)
    return v.str.replace_all("_", " ") if reason.underscores_as_spaces else _text(v)


def _value(reason: Value) -> Phrase:
    def present(v: pl.Expr) -> pl.Expr:
        text = pl.lit(reason.prefix) + _shown(reason, v)
        return text + pl.lit(reason.suffix) if reason.suffix else text
    return present if reason.absent is None else _optional(present, reason.absent)


def _custom_phrases(columns: Sequence[str]) -> dict[str, Phrase]:
    """The registry's Custom reasons: phrases that read other columns of the frame too."""
    return {
        "timeline_days": _optional(_timeline, "no buying timeline given"),
        "last_intent_signal": _buying_signal("days_since_intent_signal" in columns),
        "industry_division": _optional(_industry("industry" in columns), "industry unknown"),
    }


def _phrases(encoding: FeatureEncoding, columns: Sequence[str]) -> dict[str, Phrase]:
    """A phrase for each model feature the registry declares (others get :func:`_generic`)."""
    custom = _custom_phrases(columns)
    phrases: dict[str, Phrase] = {}
    for name in encoding.names:
        declared = column_named(name)
        if declared is None or declared.reason is None:
            continue
        reason = declared.reason
        phrases[name] = custom[name] if isinstance(reason, Custom) else _phrased(reason)
    return phrases


def _generic(name: str, dtype: pl.DataType) -> Phrase:
    """"<column name>: <value>" for features without a phrase of their own (e.g. the columns
    of a single-table export); numbers phrased for people ("1,530", "184 M", "0.46")."""
    label = name.replace("_", " ")

    def phrase(v: pl.Expr) -> pl.Expr:
        shown = plain_number(v) if dtype.is_numeric() else _text(v)
        return pl.lit(f"{label}: ") + shown.fill_null("missing")
    return phrase


def phrase_frame(frame: pl.DataFrame, encoding: FeatureEncoding) -> pl.DataFrame:
    """One phrase per model feature per row, columns in the encoding's order."""
    known = _phrases(encoding, frame.columns)
    return frame.select(
        (known.get(name) or _generic(name, frame.schema[name]))(pl.col(name)).alias(name)
        for name in encoding.names
    )


def _picks(order: np.ndarray, keep: np.ndarray) -> pl.DataFrame:
    """(row, slot, feature) for every kept pick: a long table, one row per phrase to write."""
    rows, slots = np.nonzero(keep)
    return pl.DataFrame({
        "row": rows.astype(np.int64),
        "slot": slots.astype(np.int32),
        "feature": order[rows, slots].astype(np.int32),
    })


def _phrased_picks(
    frame: pl.DataFrame, picks: pl.DataFrame, names: Sequence[str], encoding: FeatureEncoding
) -> pl.DataFrame:
    """The phrase of each pick, written only for the rows that need it (about 6 per lead, not
    one per feature per lead): row, slot, text."""
    known = _phrases(encoding, frame.columns)
    parts = []
    for index, rows in picks.group_by("feature", maintain_order=True):
        name = names[int(index[0])]
        phrase = (known.get(name) or _generic(name, frame.schema[name]))(pl.col(name))
        # Gather only the columns the phrase reads (one or two), not the whole row.
        read = frame.select(list(dict.fromkeys(phrase.meta.root_names())))
        written = read[rows["row"].to_numpy()].select(phrase.alias("text"))
        parts.append(rows.select("row", "slot").with_columns(written["text"]))
    schema = {"row": pl.Int64, "slot": pl.Int32, "text": pl.String}
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _listed(frame: pl.DataFrame, phrased: pl.DataFrame, name: str) -> pl.Series:
    """One list per row of `frame`, phrases in slot order (empty when none were kept)."""
    lists = phrased.sort("row", "slot").group_by("row", maintain_order=True).agg(
        pl.col("text").alias(name)
    )
    every_row = pl.DataFrame({"row": np.arange(frame.height, dtype=np.int64)})
    return (
        every_row.join(lists, on="row", how="left", maintain_order="left")
        .select(pl.col(name).fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .to_series()
    )


def factor_units(names: Sequence[str]) -> list[tuple[str, list[int]]]:
    """The factors a lead's reasons are chosen from: (phrased feature, member indexes).

    Each group of FACTOR_GROUPS whose first feature is among `names` is one unit; every other
    feature is a unit of its own."""
    index = {name: i for i, name in enumerate(names)}
    units: list[tuple[str, list[int]]] = []
    grouped: set[str] = set()
    for group in FACTOR_GROUPS:
        members = [index[n] for n in group if n in index]
        if group[0] in index and len(members) > 1:
            units.append((group[0], members))
            grouped.update(n for n in group if n in index)
    units.extend((name, [i]) for name, i in index.items() if name not in grouped)
    return sorted(units, key=lambda unit: min(unit[1]))


def _largest_first(values: np.ndarray, count: int) -> np.ndarray:
    """Each row's `count` column indexes of its largest values, largest first, a tie to the
    lower index: the first `count` columns of a stable descending argsort, found by `count`
    passes of argmax (which returns a maximum's first index) rather than a sort of every row.
    `count` is at most the number of columns. A matrix with a NaN or an infinity (which
    argmax would rank differently, or pick twice) is sorted instead."""
    if not np.isfinite(values).all():
        return np.argsort(-values, axis=1, kind="stable")[:, :count]
    remaining = values.astype(np.float64, copy=True)
    rows = np.arange(len(values))
    order = np.empty((len(values), count), dtype=np.intp)
    for slot in range(count):
        order[:, slot] = best = remaining.argmax(axis=1)
        remaining[rows, best] = -np.inf
    return order


def top_factors(
    frame: pl.DataFrame,
    contributions: np.ndarray,
    encoding: FeatureEncoding,
    *,
    count: int = 3,
    min_effect: float = 0.05,
) -> pl.DataFrame:
    """factors_up and factors_down: lists of up to `count` phrases per row, strongest first.

    Contributions of the features in one FACTOR_GROUPS group are added up first."""
    n_rows = contributions.shape[0]
    if n_rows == 0:
        empty = pl.Series([], dtype=pl.List(pl.String))
        return pl.DataFrame({"factors_up": empty, "factors_down": empty})
    units = factor_units(encoding.names)
    membership = np.zeros((contributions.shape[1], len(units)))
    for unit, (_, members) in enumerate(units):
        membership[members, unit] = 1.0
    contributions = contributions @ membership
    count = min(count, contributions.shape[1])
    up_order = _largest_first(contributions, count)
    down_order = _largest_first(-contributions, count)
    up_keep = np.take_along_axis(contributions, up_order, axis=1) > min_effect
    down_keep = np.take_along_axis(contributions, down_order, axis=1) < -min_effect
    names = [name for name, _ in units]
    up = _phrased_picks(frame, _picks(up_order, up_keep), names, encoding)
    down = _phrased_picks(frame, _picks(down_order, down_keep), names, encoding)
    return pl.DataFrame({
        "factors_up": _listed(frame, up, "factors_up"),
        "factors_down": _listed(frame, down, "factors_down"),
    })
