"""Numbers phrased for people: "revenue EUR 184 M", "3,000 employees", "3 days ago".

Every number a reason shows goes through one of these polars expressions, so no reason ever shows
a raw float such as ``184014956.0``. The words and the number format come from one `Language`
(`LANGUAGE` is the switch point): a Swedish or Finnish team gets its own by adding an instance
with their words and separators and pointing `LANGUAGE` at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Language:
    """The words and number format of one language."""

    code: str
    thousands_separator: str
    decimal_separator: str
    currency: str
    million: str
    billion: str
    thousand: str
    yesterday: str
    today: str
    days_ago: str  # "{n} days ago"
    in_days: str   # "in {n} days"


ENGLISH = Language(
    code="en", thousands_separator=",", decimal_separator=".", currency="EUR",
    million="M", billion="bn", thousand="k", yesterday="yesterday", today="today",
    days_ago="{n} days ago", in_days="in {n} days",
)
# The one place to change the language of every phrase.
LANGUAGE = ENGLISH


def _around(template: str, number: pl.Expr) -> pl.Expr:
    before, _, after = template.partition("{n}")
    return pl.lit(before) + number + pl.lit(after)


def whole_number(value: pl.Expr, lang: Language = LANGUAGE) -> pl.Expr:
    """3000.0 -> "3,000"; -1234 -> "-1,234"; null stays null."""
    rounded = value.cast(pl.Float64).round(0).cast(pl.Int64)
    digits = rounded.abs().cast(pl.String)
    # Group the digits in threes from the right: reverse, split, join, reverse back.
    grouped = (digits.str.reverse().str.replace_all(r"(\d{3})", "$1" + "\x00")
               .str.strip_suffix("\x00").str.replace_all("\x00", lang.thousands_separator,
                                                         literal=True)
               .str.reverse())
    return pl.when(rounded < 0).then(pl.lit("-") + grouped).otherwise(grouped)


def _one_decimal(value: pl.Expr, lang: Language) -> pl.Expr:
    """12.34 -> "12.3", 12.0 -> "12" (a trailing .0 says nothing)."""
    text = value.round(1).cast(pl.String).str.strip_suffix(".0")
    return text.str.replace(".", lang.decimal_separator, literal=True)


def short_amount(value: pl.Expr, lang: Language = LANGUAGE) -> pl.Expr:
    """184014956.0 -> "184 M", 2_400_000_000 -> "2.4 bn", 56_000 -> "56 k", 950 -> "950".

    Three significant figures at most: enough to compare companies, no false precision."""
    # Rounded first, so 999,999 reads "1 M", not "1000 k".
    rounded = value.cast(pl.Float64).round_sig_figs(3)
    size = rounded.abs()
    return (
        pl.when(size >= 1e9).then(_one_decimal(rounded / 1e9, lang) + pl.lit(" " + lang.billion))
        .when(size >= 1e6).then(_one_decimal(rounded / 1e6, lang) + pl.lit(" " + lang.million))
        .when(size >= 1e4).then(_one_decimal(rounded / 1e3, lang) + pl.lit(" " + lang.thousand))
        .otherwise(whole_number(value, lang))
    )


def money(value: pl.Expr, lang: Language = LANGUAGE) -> pl.Expr:
    """184014956.0 -> "EUR 184 M"."""
    return pl.lit(lang.currency + " ") + short_amount(value, lang)


def count_of(value: pl.Expr, noun: str, lang: Language = LANGUAGE) -> pl.Expr:
    """3000 employees -> "3,000 employees"."""
    return whole_number(value, lang) + pl.lit(" " + noun)


def days_ago(days_before: pl.Expr, lang: Language = LANGUAGE) -> pl.Expr:
    """An event `days_before` calendar days before as_of: 0 today, 1 yesterday, else "N days
    ago"; a negative value (a date still ahead) reads "in N days"."""
    days = days_before.cast(pl.Float64).round(0).cast(pl.Int64)
    return (
        pl.when(days == 0).then(pl.lit(lang.today))
        .when(days == 1).then(pl.lit(lang.yesterday))
        .when(days < 0).then(_around(lang.in_days, whole_number(-days, lang)))
        .otherwise(_around(lang.days_ago, whole_number(days, lang)))
    )


def decimal(value: pl.Expr, digits: int = 1, lang: Language = LANGUAGE) -> pl.Expr:
    """A score or ratio with at most `digits` decimals, trailing zeros dropped: 0.8 -> "0.8"."""
    text = value.cast(pl.Float64).round(digits).cast(pl.String)
    trimmed = pl.when(text.str.contains(r"\.")).then(
        text.str.strip_chars_end("0").str.strip_suffix(".")).otherwise(text)
    return trimmed.str.replace(".", lang.decimal_separator, literal=True)


def plain_number(value: pl.Expr, lang: Language = LANGUAGE) -> pl.Expr:
    """Any number for a reader: 184014956.0 -> "184 M", 3000.0 -> "3,000", 0.4567 -> "0.46"."""
    as_float = value.cast(pl.Float64)
    return (
        pl.when(as_float.abs() >= 1e6).then(short_amount(as_float, lang))
        .when(as_float == as_float.round(0)).then(whole_number(as_float, lang))
        .otherwise(decimal(as_float.round_sig_figs(3), 2, lang))
    )


def number_text(value: float, lang: Language = LANGUAGE) -> str:
    """A plain Python number phrased like `short_amount` (for labels outside polars, e.g. the
    ICP rule names "50 to 5,000 employees")."""
    return str(pl.select(short_amount(pl.lit(value, dtype=pl.Float64), lang)).item())
