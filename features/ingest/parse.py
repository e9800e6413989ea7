"""Vectorized text -> typed parsing for dirty exports. Every function takes and returns ``pl.Expr``.

The parsers never raise on bad input: a value that does not parse becomes null. To tell "present
but did not parse" from "missing", clean the text with :func:`null_if_missing` first, parse the
cleaned expression, and compare with :func:`did_not_parse`::

    text = null_if_missing(pl.col("budget"), cfg.missing_values)
    budget = parse_float(text, decimal_comma=None)
    issue = did_not_parse(text, budget)

All work is polars string kernels (regex, ``strptime``, casts): no per-row Python. The date and
number parsers run through ``map_batches`` (one Python call per batch, not per value) so that
their helper columns are computed once; see ``_in_stages``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cache, partial

import polars as pl

from features.exprs import replaced
from features.schema import UTC_DATETIME

# Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in); 25569 is 1970-01-01.
_EXCEL_UNIX_EPOCH_DAY = 25569
# Serial day numbers we accept as dates: 1954-10-03 .. 2119-01-10. Outside that a bare number is
# far more likely an id or an amount than a date.
_EXCEL_SERIAL_RANGE = (20000, 80000)
_MICROSECONDS_PER_DAY = 86_400_000_000

# Date shapes (no spaces inside) and their formats. Dotted dates are always day first (German
# and Nordic locales); d/m/Y vs m/d/Y is decided by `day_first`, see `_date_parts`.
_YEAR_FIRST_DATES: tuple[tuple[str, str], ...] = (
    (r"\d{4}-\d{1,2}-\d{1,2}", "%Y-%m-%d"),
    (r"\d{4}/\d{1,2}/\d{1,2}", "%Y/%m/%d"),
    (r"\d{8}", "%Y%m%d"),
    (r"\d{1,2}\.\d{1,2}\.\d{4}", "%d.%m.%Y"),
)
_SLASHED_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
_DASHED_DATE = r"\d{1,2}-\d{1,2}-\d{4}"
# Time shapes after the date (values are upper-cased and an ISO `T` made a space first).
# `%.f` is an optional fraction of a second; `%#z` accepts `Z`, `+02`, `+0200` and `+02:00`.
_OFFSET = r" ?(?:Z|[+-]\d{2}(?::?\d{2})?)"
_TIMES: tuple[tuple[str, str], ...] = (
    ("", ""),
    (r" \d{1,2}:\d{2}", " %H:%M"),
    # Without a fraction, `%S` alone takes polars' fast path (`%.f` is ~4x slower).
    (r" \d{1,2}:\d{2}:\d{2}", " %H:%M:%S"),
    (r" \d{1,2}:\d{2}:\d{2}\.\d+", " %H:%M:%S%.f"),
    (rf" \d{{1,2}}:\d{{2}}{_OFFSET}", " %H:%M%#z"),
    (rf" \d{{1,2}}:\d{{2}}:\d{{2}}(?:\.\d+)?{_OFFSET}", " %H:%M:%S%.f%#z"),
    (r" \d{1,2}:\d{2} ?[AP]M", " %I:%M %p"),
    (r" \d{1,2}:\d{2}:\d{2} ?[AP]M", " %I:%M:%S %p"),
)

_TRUE_WORDS = ("yes", "y", "true", "t", "1", "ja", "kyllä", "kylla", "on", "x")
_FALSE_WORDS = ("no", "n", "false", "f", "0", "nej", "nei", "ei", "off")
_BOOL_WORDS: dict[str, bool] = {w: True for w in _TRUE_WORDS} | {w: False for w in _FALSE_WORDS}

_CURRENCY = r"(?:€|\$|£|EUR|USD|GBP|SEK|NOK|DKK|ISK|CHF|KR\.?)"
_UNIT_PREFIX = rf"(?i)^{_CURRENCY}\s*"
_UNIT_SUFFIX = rf"(?i)\s*(?:{_CURRENCY}|%)$"
# Spaces of every kind (\s is Unicode-aware: no-break, narrow no-break, thin) and apostrophes
# (Swiss 1'234) may only group thousands: "1 234,5" is a number, "1 2" is not.
_GROUPING = r"[\s'’]"
_GROUPED = r"^[+-]?\d{1,3}(?:[\s'’]\d{3})+(?:[.,]\d+)?$"
_PLAIN = r"^\d+$"
_DOT_DECIMAL = r"^\d*\.\d+$"
_COMMA_DECIMAL = r"^\d*,\d+$"
# A thousands group never starts with 0: "0,125" can only be a decimal.
_DOT_THOUSANDS = r"^[1-9]\d{0,2}(?:\.\d{3})+$"
_COMMA_THOUSANDS = r"^[1-9]\d{0,2}(?:,\d{3})+$"
_EUROPEAN = r"^[1-9]\d{0,2}(?:\.\d{3})+,\d+$"
_ENGLISH = r"^[1-9]\d{0,2}(?:,\d{3})+\.\d+$"
_SCIENTIFIC = r"^\d+(?:\.\d+)?[eE][+-]?\d+$"
# Integers beyond 2**53 are not exact in a float, so parse_int refuses them.
_MAX_EXACT_FLOAT_INT = 2**53


# Characters that print as nothing: zero-width spaces and joiners, the word joiner and invisible
# operators, the byte-order mark, the soft hyphen and the bidirectional controls. Pasted into an
# id or an email they make a value that prints exactly like another one but never matches it.
INVISIBLE_CHARACTERS = "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"


def without_invisible_characters(expr: pl.Expr) -> pl.Expr:
    """The text with every INVISIBLE_CHARACTERS character removed.

    All of them lie outside ASCII, and a value with as many bytes as characters is ASCII, so
    the regular expression is needed only where the two differ. polars evaluates the `then`
    branch only for a batch in which some row takes it: a batch of ASCII values (ids, emails,
    URLs, types, most of an export) skips the expression, one with some non-ASCII value pays
    both (measured on 10 million values scanned from Parquet: all ASCII 0.22 s rather than
    0.64 s, every value non-ASCII 0.72 s rather than 0.65 s).
    """
    return pl.when(expr.str.len_bytes() != expr.str.len_chars()).then(
        expr.str.replace_all(INVISIBLE_CHARACTERS, "")).otherwise(expr)


def null_if_missing(expr: pl.Expr, missing_values: Sequence[str]) -> pl.Expr:
    """Remove invisible characters, trim the text and turn placeholders ("", "Select", "N/A",
    "-" ...) into null.

    The comparison is on the trimmed value, case-insensitively. Returns the trimmed text.
    """
    trimmed = without_invisible_characters(expr).str.strip_chars()
    placeholders = {m.strip().lower() for m in missing_values}
    spellings = _case_spellings(placeholders)
    if spellings is None:  # a long placeholder: too many spellings, compare lower-cased
        return pl.when(~trimmed.str.to_lowercase().is_in(sorted(placeholders))).then(trimmed)
    # Every upper/lower-case spelling of the few placeholders, so that no lower-cased copy of
    # every value is made (that copy is most of this step's cost on a large export).
    return pl.when(~trimmed.is_in(spellings)).then(trimmed)


_MAX_SPELLINGS = 4096


@cache
def _every_character() -> pl.DataFrame:
    """Every Unicode character (surrogates aside) and, in `lower`, polars' lower case of it."""
    chars = pl.Series("char", [chr(c) for c in range(sys.maxunicode + 1)
                               if not 0xD800 <= c <= 0xDFFF])
    return pl.DataFrame({"char": chars, "lower": chars.str.to_lowercase()})


def _lower_cased_to(chars: set[str]) -> dict[str, list[str]]:
    """Each of `chars` (lower case) -> every character polars lower-cases to it alone ("k":
    k, K and the Kelvin sign)."""
    table = _every_character().filter(pl.col("lower").is_in(sorted(chars)))
    found: dict[str, list[str]] = {c: [] for c in chars}
    for char, lower in table.iter_rows():
        found[lower].append(char)
    return found


def _case_spellings(words: set[str]) -> list[str] | None:
    """Every text that lower-cases to one of `words` ("na": na, nA, Na, NA), so that comparing
    with them equals comparing lower-cased text; None when there would be more than
    _MAX_SPELLINGS."""
    spellings: set[str] = set()
    cases_of = _lower_cased_to({char for word in words for char in word})
    for word in words:
        variants = [""]
        for char in word:
            cases = cases_of[char] or [char]
            variants = [v + c for v in variants for c in cases]
            if len(spellings) + len(variants) > _MAX_SPELLINGS:
                return None
        spellings.update(variants)
    return sorted(spellings)


def did_not_parse(present: pl.Expr, parsed: pl.Expr) -> pl.Expr:
    """True where a value was present (non-null after :func:`null_if_missing`) but parsed null."""
    return present.is_not_null() & parsed.is_null()


def _date_parts(day_first: bool) -> tuple[tuple[str, str], ...]:
    # Day first tries d/m before m/d; a part above 12 fails the wrong order, so "25/12/2024" and
    # "12/25/2024" parse the same whichever way round the config says.
    orders = ("%d/%m/%Y", "%m/%d/%Y") if day_first else ("%m/%d/%Y", "%d/%m/%Y")
    slashed = tuple((_SLASHED_DATE, fmt) for fmt in orders)
    dashed = tuple((_DASHED_DATE, fmt.replace("/", "-")) for fmt in orders)
    return _YEAR_FIRST_DATES + slashed + dashed


def _excel_serial(text: pl.Expr) -> pl.Expr:
    """Excel serial day numbers (``45292`` = 2024-01-01; a fraction is the time of day)."""
    serial = (
        pl.when(text.str.contains(r"^\d{5}(?:\.\d+)?$"))
        .then(text.cast(pl.Float64, strict=False))
        .otherwise(None)
    )
    micros = ((serial - _EXCEL_UNIX_EPOCH_DAY) * _MICROSECONDS_PER_DAY).round(0).cast(pl.Int64)
    low, high = _EXCEL_SERIAL_RANGE
    return (
        pl.when(serial.is_between(low, high))
        .then(micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        .otherwise(None)
    )


def _in_stages(
    values: pl.Series, stages: Sequence[dict[str, pl.Expr]], result: pl.Expr
) -> pl.Series:
    """Evaluate ``result`` on one batch after materializing each stage's helper columns.

    polars does not share common subexpressions across ``strptime`` calls, so a parser written
    as one expression recomputed its cleaned text for every format tried (~8x slower on a
    million rows). Run through ``map_batches``, each helper column is computed once per batch.
    """
    frame = pl.DataFrame({"value": values})
    for stage in stages:
        frame = frame.with_columns(**stage)
    return frame.select(result.alias(values.name)).to_series()


def _datetime_batch(values: pl.Series, *, day_first: bool) -> pl.Series:
    text = pl.col("value").str.strip_chars().str.to_uppercase()
    iso_t = pl.col("text").str.contains(r"^\d{4}-\d{1,2}-\d{1,2}T")
    without_t = pl.when(iso_t).then(pl.col("text").str.replace("T", " ", literal=True))
    parts = _date_parts(day_first)
    gates = {f"date{i}": pl.col("text").str.contains(rf"^{shape}(?: |$)")
             for i, (shape, _) in enumerate(parts)}
    gates |= {f"time{j}": pl.col("text").str.contains(rf"^\S+{shape}$")
              for j, (shape, _) in enumerate(_TIMES)}
    # Each strptime only sees the values of its own shape; the rest are null, which it skips.
    attempts = [
        pl.when(pl.col(f"date{i}") & pl.col(f"time{j}"))
        .then(pl.col("text"))
        .otherwise(None)
        .str.strptime(UTC_DATETIME, date_fmt + time_fmt, strict=False)
        for i, (_, date_fmt) in enumerate(parts)
        for j, (_, time_fmt) in enumerate(_TIMES)
    ]
    stages = [{"text": text}, {"text": without_t.otherwise(pl.col("text"))}, gates]
    return _in_stages(values, stages, pl.coalesce(*attempts, _excel_serial(pl.col("text"))))


def parse_datetime_utc(expr: pl.Expr, *, day_first: bool) -> pl.Expr:
    """Parse text to ``Datetime("us", "UTC")``; unparseable values become null.

    Accepts ISO dates and datetimes (``T`` or space, optional fraction, ``Z`` or ``+02:00``
    offsets, converted to UTC; values without an offset are taken as UTC), ``yyyy/mm/dd``,
    ``yyyymmdd``, ``dd.mm.yyyy``, ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (and with dashes) by
    ``day_first`` unless a part above 12 decides it, each with an optional ``HH:MM[:SS]``
    (with an offset) or 12-hour ``AM``/``PM`` time, and Excel serial day numbers between 20000
    and 80000 (a fraction is the time of day). Two-digit years are not accepted.
    """
    return expr.map_batches(
        partial(_datetime_batch, day_first=day_first),
        return_dtype=UTC_DATETIME,
        is_elementwise=True,
    )


def parse_date(expr: pl.Expr, *, day_first: bool) -> pl.Expr:
    """Parse text to ``pl.Date`` with the formats of :func:`parse_datetime_utc` (UTC day)."""
    return parse_datetime_utc(expr, day_first=day_first).dt.date()


def parse_bool(expr: pl.Expr) -> pl.Expr:
    """Parse yes/no words to ``pl.Boolean``, case-insensitively; anything else becomes null.

    True: yes, y, true, t, 1, ja, kyllä, kylla, on, x (a ticked box).
    False: no, n, false, f, 0, nej (sv, da), nei (no), ei (fi), off.
    """
    word = expr.str.strip_chars().str.to_lowercase()
    return replaced(word, _BOOL_WORDS, pl.Boolean())


def _number_body(decimal_comma: bool | None) -> pl.Expr:
    """Rewrite column ``body`` (unsigned, no spaces or units) to ``digits[.digits]``, else null.

    Both separators: the last one is the decimal mark. A lone separator follows
    ``decimal_comma``; with ``None`` a comma is a thousands separator when it groups exactly
    three digits after a non-zero lead (``1,234`` -> 1234, ``1,234,567``), otherwise a decimal
    comma (``12,5``, ``0,125``, ``1,2345``), and a dot is a decimal point unless it can only be
    grouping (``1.234`` -> 1.234, ``1.234.567`` -> 1234567).
    """
    body = pl.col("body")
    drop_dots = body.str.replace_all(".", "", literal=True)
    drop_commas = body.str.replace_all(",", "", literal=True)
    comma_to_dot = body.str.replace(",", ".", literal=True)

    def matches(pattern: str) -> pl.Expr:
        return body.str.contains(pattern)

    chain = (
        pl.when(matches(_PLAIN) | matches(_SCIENTIFIC)).then(body)
        .when(matches(_EUROPEAN)).then(drop_dots.str.replace(",", ".", literal=True))
        .when(matches(_ENGLISH)).then(drop_commas)
    )
    if decimal_comma is True:
        chain = (
            chain.when(matches(_COMMA_DECIMAL)).then(comma_to_dot)
            .when(matches(_DOT_THOUSANDS)).then(drop_dots)
            .when(matches(_DOT_DECIMAL)).then(body)
        )
    elif decimal_comma is False:
        chain = (
            chain.when(matches(_DOT_DECIMAL)).then(body)
            .when(matches(_COMMA_THOUSANDS)).then(drop_commas)
        )
    else:
        chain = (
            chain.when(matches(_COMMA_THOUSANDS)).then(drop_commas)
            .when(matches(_COMMA_DECIMAL)).then(comma_to_dot)
            .when(matches(_DOT_DECIMAL)).then(body)
            .when(matches(_DOT_THOUSANDS)).then(drop_dots)
        )
    return chain.otherwise(None)


def _float_batch(values: pl.Series, *, decimal_comma: bool | None) -> pl.Series:
    spaced = (
        pl.col("value").str.strip_chars()
        .str.replace(_UNIT_PREFIX, "")
        .str.replace(_UNIT_SUFFIX, "")
        .str.replace("−", "-", literal=True)
    )
    well_grouped = ~pl.col("spaced").str.contains(_GROUPING) | pl.col("spaced").str.contains(
        _GROUPED
    )
    compact = pl.when(well_grouped).then(pl.col("spaced").str.replace_all(_GROUPING, ""))
    signed = {
        "sign": pl.col("text").str.extract(r"^([+-])", 1).fill_null(""),
        "body": pl.col("text").str.replace(r"^[+-]", ""),
    }
    number = pl.concat_str([pl.col("sign"), _number_body(decimal_comma)])
    stages = [{"spaced": spaced}, {"text": compact.otherwise(None)}, signed]
    return _in_stages(values, stages, number.cast(pl.Float64, strict=False))


def parse_float(expr: pl.Expr, *, decimal_comma: bool | None) -> pl.Expr:
    """Parse a human-written number to ``pl.Float64``; anything else becomes null.

    Handles "1 234,56", "1.234,56", "1,234.56", "1234.5", "12,5", "€ 1 200", "1200 EUR",
    "15%" (-> 15.0), "1.5E+06", a leading sign (also the Unicode minus), and spaces of any kind
    (no-break, thin) or apostrophes grouping thousands ("1 2" is not a number).
    ``decimal_comma`` says whether a lone comma is the decimal mark (``True``), a thousands
    separator (``False``), or is decided per value (``None``): see :func:`_number_body`.
    """
    return expr.map_batches(
        partial(_float_batch, decimal_comma=decimal_comma),
        return_dtype=pl.Float64,
        is_elementwise=True,
    )


def parse_int(expr: pl.Expr, *, decimal_comma: bool | None = None) -> pl.Expr:
    """Parse a number like :func:`parse_float` to ``pl.Int64``; non-integral values become null.

    "1 200", "1,200" and "12.0" give 1200, 1200 and 12; "12.5" gives null.
    """
    value = parse_float(expr, decimal_comma=decimal_comma)
    whole = (value == value.round(0)) & (value.abs() < _MAX_EXACT_FLOAT_INT)
    return pl.when(whole).then(value.cast(pl.Int64, strict=False)).otherwise(None)


def parse_list(expr: pl.Expr) -> pl.Expr:
    """Split text on ``|``, ``;`` or ``,`` into ``List(String)``, items trimmed, empty ones dropped.

    A value with no item left (only separators) becomes null, like a missing one.
    """
    items = (
        expr.str.replace_all(r"[|;,]", "|")
        .str.split("|")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    return pl.when(items.list.len() > 0).then(items).otherwise(None)
