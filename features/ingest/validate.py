"""Cast a raw input frame to the canonical contract and quarantine the rows that break it.

Input: a frame from ``flows.readers.read_raw`` (text columns, or native types from Parquet) with
``source_row`` and, optionally, ``_raw_error``. Every input row ends in exactly one of
``valid`` and ``quarantine``; optional values that do not parse become null in ``valid`` and are
listed in ``value_issues``. All three frames derive from one lazy plan: collect ``valid``,
``value_issues`` and, for a source with a key, ``quarantine_pending`` (else ``quarantine``)
together (``pl.collect_all``, or sinks) so the input is scanned and parsed once, streaming; then
``with_first_rows`` gives the quarantine (see `Validated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from features.config import IngestConfig
from features.errors import InputError
from features.exprs import replaced
from features.ingest.parse import (
    null_if_missing,
    parse_bool,
    parse_date,
    parse_datetime_utc,
    parse_float,
    parse_int,
    parse_list,
)
from features.schema import ACTIVITY_TYPES, COMPANY_EVENT_TYPES, UTC_DATETIME, Column, Source

SOURCE_ROW = "source_row"
"""Int64: the line (CSV) or row (Parquet) of the record in its file; the header is line 1."""
RAW_ERROR = "_raw_error"
"""String set by the reader when a raw line cannot be trusted (e.g. too many fields), else null."""

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "source_file": pl.String(),
    SOURCE_ROW: pl.Int64(),
    "reason": pl.String(),
    "record": pl.String(),
}
VALUE_ISSUE_SCHEMA: dict[str, pl.DataType] = {
    SOURCE_ROW: pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "issue": pl.String(),
}

# A row must name who or what it is about through at least one of these columns.
REFERENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "activities": ("lead_id", "email"),
    "opportunities": ("lead_id", "business_id", "company_name"),
}
# Text columns whose value must be one of a closed vocabulary (compared lower-cased).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "activity_type": ACTIVITY_TYPES,
    "event_type": COMPANY_EVENT_TYPES,
}
_LOWER_CASED = ("email", "activity_type", "event_type")
# No CRM record, activity or company snapshot is dated before this: an earlier date is a
# placeholder or a conversion error (0001-01-01, 1677-09-21, 1900-01-01), not a fact.
EARLIEST_PLAUSIBLE_DATE = date(1990, 1, 1)

_ISO_ALPHA2 = (
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB
    LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU
    RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN
    TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"""
)
ISO_COUNTRIES: frozenset[str] = frozenset(_ISO_ALPHA2.split())
"""ISO 3166-1 alpha-2 codes (as in the tz database's iso3166.tab)."""

_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    # English, the Nordic languages (fi, sv, no, da, is), Estonian and German; upper-cased.
    "FI": ("FIN", "FINLAND", "SUOMI", "FINNLAND", "SOOME"),
    "SE": ("SWE", "SWEDEN", "SVERIGE", "RUOTSI", "ROOTSI", "SCHWEDEN", "SVÍÞJÓÐ"),
    "NO": ("NOR", "NORWAY", "NORGE", "NOREG", "NORJA", "NORRA", "NORWEGEN", "NOREGUR"),
    "DK": ("DNK", "DENMARK", "DANMARK", "TANSKA", "TAANI", "DÄNEMARK", "DANMÖRK"),
    "IS": ("ISL", "ICELAND", "ISLAND", "ÍSLAND", "ISLANTI", "ISLAND"),
    "EE": ("EST", "ESTONIA", "EESTI", "VIRO", "ESTLAND"),
    "DE": ("DEU", "GER", "GERMANY", "DEUTSCHLAND", "SAKSA", "TYSKLAND", "SAKSAMAA", "ÞÝSKALAND"),
    "GB": ("GBR", "UK", "UNITED KINGDOM", "GREAT BRITAIN", "BRITAIN", "ENGLAND", "SCOTLAND",
           "WALES", "NORTHERN IRELAND", "ISO-BRITANNIA", "YHDISTYNYT KUNINGASKUNTA", "ENGLANTI",
           "STORBRITANNIEN", "STORBRITANNIA", "SUURBRITANNIA", "BRETLAND"),
    "US": ("USA", "UNITED STATES", "UNITED STATES OF AMERICA", "AMERICA", "YHDYSVALLAT",
           "FÖRENTA STATERNA", "USA", "AMERIKAS FORENTE STATER", "AMERIKAS FORENEDE STATER",
           "AMEERIKA ÜHENDRIIGID", "VEREINIGTE STAATEN", "BANDARÍKIN"),
    "NL": ("NLD", "NETHERLANDS", "THE NETHERLANDS", "HOLLAND", "NEDERLAND", "ALANKOMAAT",
           "HOLLANTI", "NEDERLÄNDERNA", "NEDERLANDENE", "HOLLAND", "MADALMAAD", "NIEDERLANDE"),
    "FR": ("FRA", "FRANCE", "RANSKA", "FRANKRIKE", "FRANKRIG", "PRANTSUSMAA", "FRANKREICH"),
    "ES": ("ESP", "SPAIN", "ESPAÑA", "ESPANJA", "SPANIEN", "SPANIA", "HISPAANIA"),
    "IT": ("ITA", "ITALY", "ITALIA", "ITALIEN", "ITAALIA"),
    "PL": ("POL", "POLAND", "PUOLA", "POLEN", "POOLA"),
    "LV": ("LVA", "LATVIA", "LATVIJA", "LETTLAND", "LÄTI"),
    "LT": ("LTU", "LITHUANIA", "LIETUVA", "LIETTUA", "LITAUEN", "LEEDU"),
    "IE": ("IRL", "IRELAND", "IRLANTI", "IRLAND", "IIRIMAA"),
    "CH": ("CHE", "SWITZERLAND", "SVEITSI", "SCHWEIZ", "SVEITS", "ŠVEITS"),
    "AT": ("AUT", "AUSTRIA", "ITÄVALTA", "ÖSTERRIKE", "ØSTERRIG", "ØSTERRIKE", "ÖSTERREICH"),
    "BE": ("BEL", "BELGIUM", "BELGIA", "BELGIEN"),
    "RU": ("RUS", "RUSSIA", "VENÄJÄ", "RYSSLAND", "RUSLAND", "RUSSLAND", "VENEMAA"),
    "CA": ("CAN", "CANADA", "KANADA"),
    "AU": ("AUS", "AUSTRALIA", "AUSTRALIEN"),
    "IN": ("IND", "INDIA", "INTIA", "INDIEN"),
    "CN": ("CHN", "CHINA", "KIINA", "KINA"),
    "JP": ("JPN", "JAPAN", "JAPANI"),
    "AE": ("ARE", "UAE", "UNITED ARAB EMIRATES"),
    "SG": ("SGP", "SINGAPORE"),
}
COUNTRY_ALIASES: dict[str, str] = {
    alias: code for code, aliases in _COUNTRY_NAMES.items() for alias in aliases
}
"""Upper-cased country names and alpha-3 codes -> ISO alpha-2 (dots removed first: U.S.A.)."""

_KINDS: dict[type[pl.DataType], str] = {
    pl.Datetime: "date/time",
    pl.Date: "date",
    pl.Float64: "number",
    pl.Int64: "whole number",
    pl.Boolean: "yes/no value",
    pl.List: "list",
}

_P = "__ls_"  # prefix of this module's helper columns
_BAD = f"{_P}bad"  # Boolean: the row fails a check of its own (not counting a repeated key)
_KEEP = f"{_P}keep"  # Boolean: the row is valid
_REPEATED = f"{_P}repeated"  # the key of a quarantined row that repeats a kept row's key
_FIRST_ROW = f"{_P}first_row"


@dataclass(frozen=True)
class Validated:
    """``valid``: rows on the contract; ``quarantine``: rows that are not, with the reason;
    ``value_issues``: optional values in ``valid`` rows that did not parse and became null.

    ``quarantine_pending`` (sources with a key): the quarantined rows before a repeated key's
    reason names the row it repeats, which only ``valid`` knows; ``quarantine`` is
    `with_first_rows` of the two. A caller that writes ``valid`` in one streaming pass writes
    this beside it and joins the two files afterwards: a plan that joined them while
    validating would hold every row until the last one was read.
    """

    valid: pl.LazyFrame
    quarantine: pl.LazyFrame
    value_issues: pl.LazyFrame
    quarantine_pending: PendingQuarantine | None = None


@dataclass(frozen=True)
class PendingQuarantine:
    """A keyed source's quarantined rows (``rows``) before the reasons of the rows that
    repeat a kept row's ``key`` name that row (`with_first_rows`)."""

    rows: pl.LazyFrame
    key: str


def check_columns(columns: Iterable[str], source: Source, file_label: str) -> None:
    """Raise InputError if a required column (or every reference column) is missing.

    Names are compared exactly after trimming; mapping a CRM's names happens before this.
    """
    found = [c.strip() for c in columns if c not in (SOURCE_ROW, RAW_ERROR)]
    shown = ", ".join(found[:30]) + (f", ... ({len(found)} columns)" if len(found) > 30 else "")
    for name in source.required_columns:
        if name not in found:
            raise InputError(
                f"{file_label}: required column '{name}' is missing (found: {shown or 'none'})"
            )
    references = REFERENCE_COLUMNS.get(source.name, ())
    if references and not any(r in found for r in references):
        wanted = " or ".join(f"'{r}'" for r in references)
        raise InputError(
            f"{file_label}: needs a column {wanted} to say whom each row is about "
            f"(found: {shown or 'none'})"
        )


def validate_source(
    raw: pl.LazyFrame,
    source: Source,
    cfg: IngestConfig,
    *,
    file_label: str,
    decimal_comma: bool | None = None,
) -> Validated:
    """Check and cast one source's raw frame; see the module docstring.

    Needs the source's required columns (any extra columns are passed through unchanged) and
    ``source_row`` (added from the row order, from 1, when absent). ``valid`` has every
    canonical column of ``source`` in schema order and type (absent ones as typed nulls), then
    the extra columns, then ``source_row``. ``decimal_comma`` is for numbers, see
    :func:`features.ingest.parse.parse_float`.
    """
    raw = _trim_names(raw)
    schema = raw.collect_schema()
    check_columns(schema.names(), source, file_label)
    if SOURCE_ROW not in schema:
        raw = raw.with_row_index(SOURCE_ROW, offset=1)
    data_columns = [n for n in schema.names() if n not in (SOURCE_ROW, RAW_ERROR)]
    present = [c for c in source.columns if c.name in schema]
    extras = [n for n in data_columns if n not in source.dtypes]

    # Text first, then values from it: polars does not reliably share the cleaning between
    # the two (nor across the parsers), so each helper column is materialized once. A native
    # (Parquet) column converted without text gets no text column: its text is needed only to
    # quote it in a quarantine reason or value issue, written for those few rows alone.
    texts = {c.name: _Text.of(c, schema[c.name]) for c in present}
    typed = raw.with_columns(
        _text_column(c, schema[c.name], cfg).alias(_text(c.name))
        for c in present if texts[c.name].materialized
    ).with_columns(
        _value_column(c, schema[c.name], cfg, decimal_comma).alias(_value(c.name))
        for c in present
    )
    # The three outputs share this plan: collected together (pl.collect_all), polars computes
    # it once. (A `drop` or `cache` here defeats that sharing in polars 2.1: do not add one.)
    checks = _checks(source, present, texts, has_raw_error=RAW_ERROR in schema)
    flagged = _flag(typed, source, present, texts, checks)
    keep = pl.col(_KEEP)

    valid = flagged.filter(keep).select(
        *(_valid_column(c, schema) for c in source.columns),
        *extras,
        pl.col(SOURCE_ROW).cast(pl.Int64),
    )
    quarantine = flagged.filter(~keep).select(
        pl.lit(source.name).alias("source"),
        pl.lit(file_label).alias("source_file"),
        pl.col(SOURCE_ROW).cast(pl.Int64),
        _reason(checks).alias("reason"),
        pl.struct(data_columns).struct.json_encode().alias("record"),
        *([] if source.key is None else [_repeated_key(source.key).alias(_REPEATED)]),
    )
    issues = _value_issues(flagged, present, texts)
    if source.key is None:
        return Validated(valid, quarantine, issues)
    pending = PendingQuarantine(quarantine, source.key)
    return Validated(valid, with_first_rows(pending, valid), issues, quarantine_pending=pending)


def with_first_rows(pending: PendingQuarantine, valid: pl.LazyFrame) -> pl.LazyFrame:
    """The quarantine (QUARANTINE_SCHEMA) from `Validated.quarantine_pending` and the valid
    rows: a row that repeats a kept row's key gets the reason "duplicate <key> '<value>'
    (first at row <the kept row's source_row>)"."""
    key = pending.key
    repeated = pending.rows.select(pl.col(_REPEATED).alias(key)).drop_nulls().unique()
    first_rows = valid.join(repeated, on=key, how="semi").select(
        pl.col(key).alias(_REPEATED), pl.col(SOURCE_ROW).alias(_FIRST_ROW))
    message = pl.format(f"duplicate {key} '{{}}' (first at row {{}})", pl.col(_REPEATED),
                        pl.col(_FIRST_ROW))
    return pending.rows.join(first_rows, on=_REPEATED, how="left", maintain_order="left").select(
        "source", "source_file", SOURCE_ROW,
        pl.when(pl.col(_REPEATED).is_not_null()).then(message).otherwise(pl.col("reason"))
        .alias("reason"),
        "record")


# ---- typing -------------------------------------------------------------------------------------


def _trim_names(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Rename " lead_id " to "lead_id" (unless that name is taken), as check_columns compares."""
    names = raw.collect_schema().names()
    renames = {n: n.strip() for n in names if n != n.strip() and n.strip() not in names}
    return raw.rename(renames) if renames else raw


def _text(name: str) -> str:
    return f"{_P}text_{name}"


def _value(name: str) -> str:
    return f"{_P}value_{name}"


def _text_column(column: Column, dtype: pl.DataType, cfg: IngestConfig) -> pl.Expr:
    """The value as present text: trimmed, placeholders null (a native Parquet value as text).

    "Present but did not parse" is then ``text not null and value null``.
    """
    text = _as_text(pl.col(column.name), dtype)
    if _needs_text(column, dtype):
        return null_if_missing(text, cfg.missing_values)
    return text


def _as_text(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value of type `dtype` as text; a native list (Parquet) reads as its items joined."""
    if isinstance(dtype, pl.List):
        return raw.cast(pl.List(pl.String), strict=False).list.join("|")
    return raw.cast(pl.String, strict=False)


def _value_column(
    column: Column, dtype: pl.DataType, cfg: IngestConfig, decimal_comma: bool | None
) -> pl.Expr:
    """The value in its canonical type: parsed from the text, or converted from a native type.

    Numbers that are not finite (1e400 overflows to infinity) are null: no count, amount or
    size is infinite. Dates before EARLIEST_PLAUSIBLE_DATE are kept here, for the quarantine
    reason to name them, and dropped by ``_valid_column``."""
    if _needs_text(column, dtype):
        value = _parse_text(pl.col(_text(column.name)), column, cfg, decimal_comma)
    else:
        native = _convert_native(pl.col(column.name), dtype, column.dtype)
        assert native is not None  # _needs_text said so
        value = native
    if column.dtype == pl.Float64:
        return pl.when(value.is_finite()).then(value)
    return value


def _is_temporal(dtype: pl.DataType) -> bool:
    return dtype == UTC_DATETIME or dtype == pl.Date


def _too_early(column: Column) -> pl.Expr:
    """The value is a date before EARLIEST_PLAUSIBLE_DATE."""
    earliest: date | datetime = EARLIEST_PLAUSIBLE_DATE
    if column.dtype == UTC_DATETIME:
        earliest = datetime.combine(EARLIEST_PLAUSIBLE_DATE, datetime.min.time(), UTC)
    return pl.col(_value(column.name)) < pl.lit(earliest, dtype=column.dtype)


def _needs_text(column: Column, dtype: pl.DataType) -> bool:
    """Whether the value goes through text: a text column, or a native one we cannot convert
    directly (e.g. an id stored as a number).
    """
    if dtype == pl.String or dtype == pl.Null:
        return True
    return _convert_native(pl.col(column.name), dtype, column.dtype) is None


def _parse_text(
    text: pl.Expr, column: Column, cfg: IngestConfig, decimal_comma: bool | None
) -> pl.Expr:
    target = column.dtype
    if target == UTC_DATETIME:
        return parse_datetime_utc(text, day_first=cfg.day_first)
    if target == pl.Date:
        return parse_date(text, day_first=cfg.day_first)
    if target == pl.Float64:
        return parse_float(text, decimal_comma=decimal_comma)
    if target == pl.Int64:
        return parse_int(text, decimal_comma=decimal_comma)
    if target == pl.Boolean:
        return parse_bool(text)
    if isinstance(target, pl.List):
        return parse_list(text)
    return _normalize_text(text, column.name)


def _normalize_text(text: pl.Expr, name: str) -> pl.Expr:
    """Cheap, safe canonical forms: ISO country codes, lower-cased email and type names."""
    if name == "country":
        key = text.str.to_uppercase().str.replace_all(".", "", literal=True)
        key = key.str.replace_all(r"\s+", " ")
        return replaced(key, COUNTRY_ALIASES, pl.String(), default=key)
    if name in _LOWER_CASED:
        return text.str.to_lowercase()
    return text


def _convert_native(raw: pl.Expr, dtype: pl.DataType, target: pl.DataType) -> pl.Expr | None:
    """Convert an already-typed (Parquet) value to ``target``; None when only text would do."""
    if dtype == target:
        return raw
    if target == UTC_DATETIME or target == pl.Date:
        return _convert_temporal(raw, dtype, target)
    numeric = dtype.is_numeric() or dtype == pl.Boolean
    if target == pl.Int64 and dtype.is_float():
        return pl.when(raw == raw.round(0)).then(raw.cast(pl.Int64, strict=False))
    if target in (pl.Float64, pl.Int64, pl.Boolean) and numeric:
        return raw.cast(target, strict=False)
    if isinstance(target, pl.List) and isinstance(dtype, pl.List):
        return raw.cast(target, strict=False)
    return None


def _convert_temporal(raw: pl.Expr, dtype: pl.DataType, target: pl.DataType) -> pl.Expr | None:
    if isinstance(dtype, pl.Datetime):
        utc = (
            raw.dt.convert_time_zone("UTC") if dtype.time_zone else raw.dt.replace_time_zone("UTC")
        )
        utc = utc.dt.cast_time_unit("us")
        return utc if target == UTC_DATETIME else utc.dt.date()
    if dtype == pl.Date:
        return raw if target == pl.Date else raw.cast(UTC_DATETIME)
    return None


def _valid_column(column: Column, schema: pl.Schema) -> pl.Expr:
    if column.name in schema and _is_temporal(column.dtype):
        value = pl.col(_value(column.name))
        return pl.when(~_too_early(column)).then(value).alias(column.name)
    if column.name in schema:
        return pl.col(_value(column.name)).alias(column.name)
    return pl.lit(None, dtype=column.dtype).alias(column.name)


def _kind(dtype: pl.DataType) -> str:
    return _KINDS.get(type(dtype), "value")


# ---- quarantine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """How a check reads a column's value as text: `ref` (the text) and `present` (text not
    null); `materialized` when the text is a helper column of its own (text columns, and
    native ones converted through text), else the native value cast where it is needed."""

    ref: pl.Expr
    present: pl.Expr
    materialized: bool

    @staticmethod
    def of(column: Column, dtype: pl.DataType) -> _Text:
        if _needs_text(column, dtype):
            ref = pl.col(_text(column.name))
            return _Text(ref, ref.is_not_null(), materialized=True)
        raw = pl.col(column.name)
        return _Text(_as_text(raw, dtype), raw.is_not_null(), materialized=False)


@dataclass(frozen=True)
class _Check:
    """One quarantine check: `problem` (Boolean, never null) and the `message` saying it,
    written only for the rows that have a problem."""

    problem: pl.Expr
    message: pl.Expr


def _checks(source: Source, present: Sequence[Column], texts: dict[str, _Text], *,
            has_raw_error: bool) -> list[_Check]:
    checks = [
        *_required_checks(present, texts),
        *_vocabulary_checks(present),
        *_reference_checks(source, present),
    ]
    if has_raw_error:
        raw_error = pl.col(RAW_ERROR)
        checks.append(_Check(raw_error.is_not_null() & (raw_error != ""), raw_error))
    return checks


def _flag(
    typed: pl.LazyFrame, source: Source, present: Sequence[Column], texts: dict[str, _Text],
    checks: Sequence[_Check],
) -> pl.LazyFrame:
    """Add _BAD, _KEEP and one Boolean issue column per column that can have a value issue.

    Only Booleans here: the reasons and issue texts are written after the filters, for the
    rows they concern (a format over every row of a large export costs more than the checks).
    """
    bad = pl.any_horizontal(c.problem.fill_null(False) for c in checks) if checks else pl.lit(False)
    issues = [problem.fill_null(False).alias(_issue(name))
              for name, (problem, _) in _issue_checks(present, texts).items()]
    flagged = typed.with_columns(bad.alias(_BAD), *issues)
    return _flag_duplicates(flagged, source.key)


def _reason(checks: Sequence[_Check]) -> pl.Expr:
    """The quarantine reason of a row that fails its own checks: their messages joined (a
    row that only repeats a key gets its reason in `with_first_rows`)."""
    own = pl.concat_str([pl.when(c.problem).then(c.message) for c in checks], separator="; ",
                        ignore_nulls=True) if checks else pl.lit("")
    return pl.when(pl.col(_BAD)).then(own)


def _repeated_key(key: str) -> pl.Expr:
    """The key of a row quarantined only because an earlier valid row has its key."""
    return pl.when(~pl.col(_BAD)).then(pl.col(_value(key)))


def _required_checks(present: Sequence[Column], texts: dict[str, _Text]) -> list[_Check]:
    checks: list[_Check] = []
    for column in (c for c in present if c.required):
        text, value = texts[column.name], pl.col(_value(column.name))
        checks.append(_Check(~text.present, pl.lit(f"required {column.name} is missing")))
        if column.dtype != pl.String:
            message = f"{column.name} '{{}}' is not a valid {_kind(column.dtype)}"
            checks.append(_Check(text.present & value.is_null(), pl.format(message, text.ref)))
        if _is_temporal(column.dtype):
            early = (f"{column.name} '{{}}' is before {EARLIEST_PLAUSIBLE_DATE}: "
                     "not a plausible date")
            checks.append(_Check(_too_early(column).fill_null(False),
                                 pl.format(early, text.ref)))
    return checks


def _vocabulary_checks(present: Sequence[Column]) -> list[_Check]:
    checks: list[_Check] = []
    for column in (c for c in present if c.name in VOCABULARIES):
        value = pl.col(_value(column.name))
        known = ", ".join(VOCABULARIES[column.name])
        message = f"{column.name} '{{}}' is not one of: {known}"
        checks.append(_Check(value.is_not_null() & ~value.is_in(VOCABULARIES[column.name]),
                             pl.format(message, value)))
    return checks


def _reference_checks(source: Source, present: Sequence[Column]) -> list[_Check]:
    names = [c.name for c in present if c.name in REFERENCE_COLUMNS.get(source.name, ())]
    if not names:
        return []
    wanted = " or ".join(REFERENCE_COLUMNS[source.name])
    missing = pl.all_horizontal(pl.col(_value(n)).is_null() for n in names)
    return [_Check(missing, pl.lit(f"no {wanted} to say whom the row is about"))]


def _flag_duplicates(flagged: pl.LazyFrame, key: str | None) -> pl.LazyFrame:
    """Add _KEEP: not _BAD and not a repeat of the key; the first *otherwise valid* row (in
    row order) is kept.

    A key's first row may itself be quarantined (say, a bad date): then the next good row is
    the one kept, rather than losing the key altogether. ``is_first_distinct`` streams in row
    order; a window (``min().over(key)``) made polars hold every row of the source at once
    (about 5 GiB for 10 million leads).
    """
    ok = ~pl.col(_BAD)
    if key is None:
        return flagged.with_columns(ok.alias(_KEEP))
    value = pl.col(_value(key))
    first = pl.when(ok).then(value).is_first_distinct()
    return flagged.with_columns((ok & (value.is_null() | first)).alias(_KEEP))


# ---- value issues -------------------------------------------------------------------------------


def _issue(name: str) -> str:
    return f"{_P}issue_{name}"


def _issue_checks(present: Sequence[Column], texts: dict[str, _Text]
                  ) -> dict[str, tuple[pl.Expr, str]]:
    """Per column that can have a value issue: when it has one, and what to call it."""
    checks: dict[str, tuple[pl.Expr, str]] = {}
    for column in present:
        text, value = texts[column.name].present, pl.col(_value(column.name))
        if column.name == "country":
            problem = value.is_not_null() & ~value.is_in(sorted(ISO_COUNTRIES))
            checks[column.name] = (problem, "unknown country")
        elif _is_temporal(column.dtype) and not column.required:
            problem = text & (value.is_null() | _too_early(column))
            checks[column.name] = (problem, f"not a valid {_kind(column.dtype)} (or before "
                                            f"{EARLIEST_PLAUSIBLE_DATE.year})")
        elif column.dtype != pl.String and not column.required:
            problem = text & value.is_null()
            checks[column.name] = (problem, f"not a valid {_kind(column.dtype)}")
    return checks


def _value_issues(flagged: pl.LazyFrame, present: Sequence[Column], texts: dict[str, _Text]
                  ) -> pl.LazyFrame:
    """Issues of the rows in ``valid`` only (a quarantined row has its reason instead).

    Each issue column holds the offending text or null; unpivoting them gives one row per
    issue, in row order and, within a row, in schema order.
    """
    checks = _issue_checks(present, texts)
    if not checks:
        return pl.LazyFrame(schema=VALUE_ISSUE_SCHEMA)
    names = list(checks)
    any_issue = pl.any_horizontal(pl.col(_issue(n)) for n in names)
    # One when/then, not `valid & any_issue`: polars splits a conjunction into a filter equal
    # to valid's, and two equal filters stop it sharing the plan between the three outputs.
    wanted = pl.when(pl.col(_KEEP)).then(any_issue).otherwise(False)
    return (
        flagged.filter(wanted)
        .select(pl.col(SOURCE_ROW).cast(pl.Int64),
                *(pl.when(pl.col(_issue(n))).then(texts[n].ref).alias(n) for n in names))
        .unpivot(index=SOURCE_ROW, variable_name="column", value_name="value")
        .drop_nulls("value")
        .sort(SOURCE_ROW, maintain_order=True)
        .with_columns(
            pl.col("column")
            .replace_strict({n: label for n, (_, label) in checks.items()}, return_dtype=pl.String)
            .alias("issue")
        )
        .select(pl.col(name).cast(dtype) for name, dtype in VALUE_ISSUE_SCHEMA.items())
    )
