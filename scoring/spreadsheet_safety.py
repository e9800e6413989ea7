"""Cells a spreadsheet will not run: CSV-injection neutralization and CSV locales.

OWASP's CSV-injection guidance: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return may be read as a formula by Excel, LibreOffice or Google Sheets (``=HYPERLINK(...)``
from a dirty CRM export is the classic). Such a cell gets a leading single quote, which every
spreadsheet shows as "this is text", and every text cell is written inside double quotes (quotes
in it doubled). Numbers stay numbers: only text columns are touched, and the writer leaves numeric
cells unquoted. Header names are text cells too (pass-through columns come from the export).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"


def neutralize_text(value: str) -> str:
    """One text cell made formula-safe (a header name, say)."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def neutralize_expr(column: pl.Expr) -> pl.Expr:
    """The text column with a leading quote on every cell a spreadsheet would run."""
    return (
        pl.when(column.str.contains(_TRIGGER_PATTERN))
        .then(pl.lit("'") + column)
        .otherwise(column)
    )


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr | None:
    """Columns a CSV cannot hold natively (lists, structs) become text; others stay as they are."""
    if isinstance(dtype, pl.List | pl.Array):
        return pl.col(name).cast(pl.List(pl.String)).list.join(" | ").alias(name)
    if isinstance(dtype, pl.Struct | pl.Object | pl.Categorical | pl.Enum):
        return pl.col(name).cast(pl.String).alias(name)
    return None


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell and header made formula-safe; numeric, boolean and date columns untouched.

    List columns are joined with `` | `` first (a CSV cell holds one text), then neutralized.
    """
    flattened = [e for name, dtype in frame.schema.items()
                 if (e := _as_text(name, dtype)) is not None]
    frame = frame.with_columns(flattened) if flattened else frame
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    safe = frame.with_columns(neutralize_expr(pl.col(n)).alias(n) for n in texts)
    return safe.rename({n: neutralize_text(n) for n in safe.columns if neutralize_text(n) != n})


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV is laid out for the spreadsheet that opens it.

    ``utf-8``: comma, decimal point, no byte-order mark (what CRMs' importers expect).
    ``nordic-excel``: a UTF-8 byte-order mark, ``;`` between cells and decimal commas, which Excel
    in Nordic (and most continental) locales needs to open the file in columns.
    """

    separator: str = ","
    decimal_comma: bool = False
    bom: bool = False

    @classmethod
    def named(cls, locale: CsvLocale) -> CsvFormat:
        return NORDIC_EXCEL if locale == "nordic-excel" else UTF8


CsvLocale = Literal["utf-8", "nordic-excel"]
UTF8 = CsvFormat()
NORDIC_EXCEL = CsvFormat(separator=";", decimal_comma=True, bom=True)
