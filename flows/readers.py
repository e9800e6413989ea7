"""Read one CSV or Parquet export as raw columns, whatever its dialect. All input I/O lives here.

A CSV is read as text only (typing is :mod:`features.ingest.validate`'s job) through
``pl.scan_csv``, so the frame stays lazy. polars reads UTF-8 only: any other encoding, a UTF-8 file
with a stray non-UTF-8 byte, or old Mac ``\\r`` line ends are first copied to a UTF-8 file in
``work_dir``, streamed in chunks. The dialect (encoding, delimiter, ...) is sniffed from the first
64 KiB; then one streaming pass over the whole file either checks that it is valid UTF-8 or
transcodes it, so a bad byte far into the file is caught too (read as cp1252 and counted in the
dialect).

Every frame carries two extra columns (names in :mod:`features.ingest.validate`):

- ``source_row`` (Int64): the line of the file on which the record starts, the header being
  line 1. A record whose quoted field spans lines counts all of them, so the next record's
  number is the line it starts on (what an editor shows). Parquet: the row number from 1.
- ``_raw_error`` (String): why the raw record cannot be trusted, else null. Set when a line has
  more fields than the header, or a value under a header without a name that is empty in the
  sample. The validator quarantines such records; they are never dropped here.

Records with no value at all (blank lines, lines of only delimiters) are dropped: they hold
no data, and the line numbers of the other records stay true.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from features.errors import InputError
from features.ingest.validate import RAW_ERROR, SOURCE_ROW

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIX = ".parquet"
SAMPLE_BYTES = 64 * 1024
COPY_CHUNK_BYTES = 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
# Fields past the header that a too-long line may have and still be shown in `_raw_error`;
# beyond this many, polars truncates the line (it is flagged all the same).
OVERFLOW_FIELDS = 16
# Records of the sample used to choose the delimiter.
SNIFF_RECORDS = 50

_OVERFLOW_PREFIX = "__overflow_"
_RECORD_INDEX = "__record_index"
_UNNAMED_PREFIX = "__unnamed_"
_FALLBACK_ERRORS = "leadscore-cp1252-fallback"
_EXCEL_SEP_LINE = re.compile(r"^sep=(.)\r?$")
_DECIMAL_COMMA_VALUE = re.compile(r"^[+-]?(?:\d+,\d{1,2}|\d+,\d{4,}|\d{1,3}(?:\.\d{3})+,\d+)$")
_DECIMAL_DOT_VALUE = re.compile(r"^[+-]?(?:\d+\.\d{1,2}|\d+\.\d{4,}|\d{1,3}(?:,\d{3})+\.\d+)$")


@dataclass(frozen=True)
class RawTable:
    """One input file read as raw columns.

    ``frame``: every column ``pl.String`` for CSV (native types for Parquet), named by the
    header trimmed of spaces and BOM, plus ``source_row`` and ``_raw_error``.
    ``columns``: the header as it is in the file (untrimmed; a BOM is not part of a name).
    ``dialect``: what was detected, JSON-ready for the run manifest.
    """

    frame: pl.LazyFrame
    path: Path
    dialect: dict[str, Any]
    columns: tuple[str, ...]


def check_input_folder(folder: Path) -> None:
    """InputError when `folder` is missing, or is a file (--inputs takes the folder)."""
    if folder.is_file():
        raise InputError(f"--inputs '{folder}' is a file; give the folder that holds it "
                         f"('{folder.parent}')")
    if not folder.is_dir():
        raise InputError(f"input folder '{folder}' does not exist")


def find_source_file(folder: Path, source: str) -> Path | None:
    """The one file for ``source`` in ``folder`` (``<source>.csv|.tsv|.txt|.parquet``), or None.

    The extension is matched case-insensitively. Raises InputError if the folder is missing
    or if more than one file would do (which one is meant is not for us to guess).
    """
    check_input_folder(folder)
    suffixes = (*CSV_SUFFIXES, PARQUET_SUFFIX)
    found = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.stem == source and p.suffix.lower() in suffixes
    )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(f"{folder.name}: more than one file for '{source}' ({names}); keep one")
    return found[0] if found else None


def read_raw(
    path: Path, work_dir: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> RawTable:
    """Read a CSV (any dialect) or Parquet file lazily; see the module docstring for the columns.

    ``encoding`` and ``delimiter`` override detection. A transcoded copy may be written to
    ``work_dir``; it must live as long as the frame is used (the caller cleans ``work_dir``).
    Raises InputError naming the file when it is missing, empty, has no header or is unreadable.
    """
    if not path.is_file():
        raise InputError(f"{path.name}: file not found ({path})")
    if path.suffix.lower() == PARQUET_SUFFIX:
        return _read_parquet(path)
    return _read_csv(path, work_dir, encoding=encoding, delimiter=delimiter)


# ---- Parquet ------------------------------------------------------------------------------------


def _read_parquet(path: Path) -> RawTable:
    try:
        schema = pl.read_parquet_schema(path)
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # polars raises several error types for a bad file
        raise InputError(f"{path.name}: not a readable Parquet file ({_first_line(exc)})") from None
    columns = tuple(schema)
    names = _unique_names([_clean_name(c) for c in columns])
    frame = (
        pl.scan_parquet(path)
        .rename(dict(zip(columns, names, strict=True)))
        .with_row_index(SOURCE_ROW, offset=1)
        .with_columns(
            pl.col(SOURCE_ROW).cast(pl.Int64),
            pl.lit(None, dtype=pl.String).alias(RAW_ERROR),
        )
        .select(*names, SOURCE_ROW, RAW_ERROR)
    )
    # decimal_comma is there for every format, so callers can pass it on without a check.
    dialect: dict[str, Any] = {"format": "parquet", "rows_estimate": rows, "decimal_comma": None}
    return RawTable(frame=frame, path=path, dialect=dialect, columns=columns)


# ---- CSV: encoding ------------------------------------------------------------------------------

_undecodable = threading.local()


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode bytes that are invalid in the file's encoding as cp1252 (Latin-1 where undefined).

    A mostly-UTF-8 export with a few cp1252 bytes (one pasted name) is common; this keeps them
    readable instead of failing the run, and counts them so the manifest can say so.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    _undecodable.count = getattr(_undecodable, "count", 0) + len(bad)
    return "".join(_decode_byte(b) for b in bad), exc.end


def _decode_byte(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return bytes([byte]).decode("latin-1")


codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)


def _choose_encoding(head: bytes, declared: str | None, name: str) -> tuple[str, bool]:
    """The Python codec to read with and whether the file starts with a BOM."""
    had_bom = head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if declared is not None:
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            raise InputError(f"{name}: unknown encoding '{declared}'") from None
        if codec == "utf-8" and head.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        return codec, had_bom
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    if _decodes(head, "utf-8") or _mostly_utf8(head):
        # A UTF-8 file with a stray byte or two (one pasted cp1252 name) stays UTF-8: the
        # copy decodes just those bytes as cp1252 and counts them.
        return "utf-8", False
    # Not UTF-8: Windows exports are cp1252 (a superset of Latin-1 in the printable range); a
    # byte cp1252 leaves undefined means Latin-1.
    return ("cp1252" if _decodes(head, "cp1252") else "latin-1"), False


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _mostly_utf8(head: bytes) -> bool:
    """More well-formed UTF-8 multi-byte characters than bytes that fit none: UTF-8 text with
    a few foreign bytes, not a cp1252 file (where "ä" is one byte, never a valid sequence)."""
    sequences = _UTF8_SEQUENCE.findall(head)
    high = sum(1 for byte in head if byte >= 0x80)
    stray = high - sum(len(s) for s in sequences)
    return len(sequences) > stray


def _decodes(data: bytes, codec: str) -> bool:
    # Incremental, not final: the sample may end inside a multi-byte character.
    try:
        codecs.getincrementaldecoder(codec)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decode_sample(head: bytes, codec: str, *, final: bool) -> str:
    decoder = codecs.getincrementaldecoder(codec)(errors=_FALLBACK_ERRORS)
    return decoder.decode(head, final=final)


def _check_utf8(path: Path) -> tuple[int | None, bool]:
    """Stream the file once: offset of its first invalid UTF-8 byte (or None), and whether it
    holds a double quote at all (without one, no field can span lines).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, has_quote = 0, False
    with path.open("rb") as src:
        while chunk := src.read(COPY_CHUNK_BYTES):
            has_quote = has_quote or b'"' in chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return max(offset + len(chunk) - len(exc.object) + exc.start, 0), True
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset, True
    return None, has_quote


def _transcode(
    path: Path, work_dir: Path, codec: str, *, cr_line_ends: bool
) -> tuple[Path, int, bool]:
    """Stream ``path`` into a UTF-8 copy in ``work_dir``.

    Returns the copy, the count of bytes that did not decode (read as cp1252 instead), and
    whether the text holds a double quote.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    _undecodable.count = 0
    decoder = codecs.getincrementaldecoder(codec)(errors=_FALLBACK_ERRORS)
    has_quote = False
    with (
        path.open("rb") as src,
        tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=work_dir,
            prefix=f"{path.stem}-", suffix=".utf8.csv", delete=False,
        ) as dst,
    ):
        while chunk := src.read(COPY_CHUNK_BYTES):
            text = decoder.decode(chunk)
            has_quote = has_quote or '"' in text
            dst.write(text.replace("\r", "\n") if cr_line_ends else text)
        dst.write(decoder.decode(b"", final=True))
    return Path(dst.name), _undecodable.count, has_quote


def _utf8_file(
    path: Path, work_dir: Path, codec: str, line_terminator: str
) -> tuple[Path, dict[str, Any], bool]:
    """A UTF-8 file polars can scan: ``path`` itself when it is one, else a transcoded copy.

    Also returns what to record in the dialect and whether the file holds a double quote.
    """
    cr_line_ends = line_terminator == "\r"
    info: dict[str, Any] = {"transcoded_to": None, "undecodable_bytes": 0}
    if codec in ("utf-8", "utf-8-sig") and not cr_line_ends:
        invalid_at, has_quote = _check_utf8(path)
        if invalid_at is None:
            return path, info, has_quote
        info["first_invalid_byte"] = invalid_at
    copy, undecodable, has_quote = _transcode(path, work_dir, codec, cr_line_ends=cr_line_ends)
    info.update(transcoded_to=str(copy), undecodable_bytes=undecodable)
    if undecodable:
        info["undecodable_as"] = "cp1252"
    return copy, info, has_quote


# ---- CSV: dialect -------------------------------------------------------------------------------


def _line_terminator(text: str) -> str:
    if "\r\n" in text:
        return "\r\n"
    if "\n" in text:
        return "\n"
    return "\r" if "\r" in text else "\n"


def _records(text: str, delimiter: str, limit: int | None = None) -> tuple[list[list[str]], int]:
    """Parse CSV records from ``text``; also the physical lines the first record spans."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    records: list[list[str]] = []
    first_lines = 0
    try:
        for record in reader:
            records.append(record)
            if len(records) == 1:
                first_lines = reader.line_num
            if limit is not None and len(records) >= limit:
                break
    except csv.Error:
        pass  # the sample may end inside a quoted field: keep what parsed
    return records, first_lines


def _sniff_delimiter(text: str) -> str:
    """The candidate giving the header more than one field and most records of its width.

    Quotes are respected (a quoted ``;`` in a comma file does not count). Ties go to the
    earlier of ``, ; \\t |``; a file with a single column reads with ``,``.
    """
    best, best_score = ",", (False, 0.0, 0)
    for candidate in DELIMITERS:
        records, _ = _records(text, candidate, limit=SNIFF_RECORDS)
        if not records:
            continue
        width = len(records[0])
        same = sum(len(r) == width for r in records[1:]) / max(len(records) - 1, 1)
        score = (width > 1, same, width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _guess_decimal_comma(rows: Sequence[Sequence[str]], delimiter: str) -> bool | None:
    """True if the sample's numbers use a decimal comma, False if a point, None if unsure.

    Votes by column, not by value, so one column of dotted codes (NACE "62.01") does not
    outvote the amounts. Columns of both kinds: a ``;`` delimiter is the decimal-comma locales'
    own (Excel picks it there), so True; otherwise None. "1,234" and "1.234" vote for neither.
    """
    comma_columns: set[int] = set()
    dot_columns: set[int] = set()
    for row in rows:
        for i, value in enumerate(row):
            text = value.strip()
            if _DECIMAL_COMMA_VALUE.match(text):
                comma_columns.add(i)
            elif _DECIMAL_DOT_VALUE.match(text):
                dot_columns.add(i)
    if comma_columns and dot_columns:
        return True if delimiter == ";" else None
    if comma_columns or dot_columns:
        return bool(comma_columns)
    return None


# ---- CSV: columns -------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    return name.replace("\ufeff", "").strip()


def _read_as_pattern(name: str) -> bool:
    """polars reads a column named ``*`` as every column and ``^...$`` as a regex."""
    return name == "*" or (name.startswith("^") and name.endswith("$"))


def _unique_names(names: Sequence[str]) -> list[str]:
    """Suffix repeated names (``email``, ``email_2``) and names polars would read as a pattern
    (``*`` -> ``*_2``), and keep ours (source_row, ...) free."""
    taken = {SOURCE_ROW, RAW_ERROR}
    unique: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in taken or _read_as_pattern(candidate):
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def _column_names(header: Sequence[str], data: Sequence[Sequence[str]]) -> list[str]:
    """Frame names for the header's fields. A field without a name becomes ``column_<n>`` when
    the sample has values under it, else an internal name for a column to drop.
    """
    named: list[str] = []
    for i, raw in enumerate(header):
        name = _clean_name(raw)
        if not name:
            has_values = any(len(r) > i and r[i].strip() for r in data)
            name = f"column_{i + 1}" if has_values else f"{_UNNAMED_PREFIX}{i + 1}"
        named.append(name)
    return _unique_names(named)


def _raw_error(names: Sequence[str], overflow: Sequence[str], delimiter: str) -> pl.Expr:
    """Text saying why a record cannot be trusted (extra fields, value under no name), or null."""
    width = len(names)
    extra = pl.concat_str([pl.col(c) for c in overflow], separator=delimiter, ignore_nulls=True)
    problems = [
        pl.when(pl.any_horizontal(pl.col(c).is_not_null() for c in overflow)).then(
            pl.format(f"line has more fields than the {width} in the header (extra: {{}})", extra)
        )
    ]
    for name in names:
        if name.startswith(_UNNAMED_PREFIX):
            position = name.removeprefix(_UNNAMED_PREFIX)
            problems.append(
                pl.when(pl.col(name).str.strip_chars() != "").then(
                    pl.lit(f"value in field {position}, which has no header name")
                )
            )
    joined = pl.concat_str(problems, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined).otherwise(None)


def _source_row(fields: Sequence[str], first_data_line: int, *, has_quote: bool) -> pl.Expr:
    """The line each record starts on: its index plus the newlines inside earlier records.

    Counting those newlines costs ~a third of the scan, so it is skipped when the file holds
    no double quote (then no field can span lines).
    """
    index = pl.col(_RECORD_INDEX).cast(pl.Int64)
    if not has_quote:
        return (first_data_line + index).alias(SOURCE_ROW)
    inner_newlines = pl.sum_horizontal(
        pl.col(c).str.count_matches("\n", literal=True) for c in fields
    ).cast(pl.Int64)
    earlier = inner_newlines.cum_sum() - inner_newlines
    return (first_data_line + index + earlier).alias(SOURCE_ROW)


# ---- CSV ----------------------------------------------------------------------------------------


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as src:
            return src.read(SAMPLE_BYTES)
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc.strerror})") from None


def _check_text(head: bytes, name: str) -> None:
    if not head:
        raise InputError(f"{name}: the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise InputError(f"{name}: is a spreadsheet (xlsx), not CSV: save it as CSV or Parquet")
    if head.startswith(b"PAR1"):
        raise InputError(f"{name}: is a Parquet file: name it {Path(name).stem}.parquet")


def _check_decoded(text: str, name: str) -> None:
    if not text.strip():
        raise InputError(f"{name}: the file is empty")
    if "\x00" in text:
        raise InputError(f"{name}: is not a text file (it contains NUL bytes)")


@dataclass(frozen=True)
class _Sniffed:
    """What the first 64 KiB say about a CSV file."""

    codec: str
    had_bom: bool
    line_terminator: str
    delimiter: str
    preamble_rows: int  # rows before the header (Excel's "sep=;" line)
    header: list[str]
    header_lines: int  # physical lines of preamble and header
    data: list[list[str]]  # the sample's complete data records
    whole_file: bool


def _sniff(path: Path, encoding: str | None, delimiter: str | None) -> _Sniffed:
    name = path.name
    head = _read_head(path)
    _check_text(head, name)
    whole = path.stat().st_size <= len(head)
    codec, had_bom = _choose_encoding(head, encoding, name)
    text = _decode_sample(head, codec, final=whole)
    _check_decoded(text, name)
    preamble_rows = 0
    first_line, _, rest = text.partition("\n")
    excel_sep = _EXCEL_SEP_LINE.match(first_line)
    if excel_sep:  # Excel's "sep=;" first line declares the delimiter
        preamble_rows, text = 1, rest
        delimiter = delimiter or excel_sep.group(1)
    if delimiter is not None and len(delimiter) != 1:
        raise InputError(f"{name}: the delimiter must be one character, got {delimiter!r}")
    delimiter = delimiter or _sniff_delimiter(text)
    records, header_lines = _records(text, delimiter)
    if not whole and len(records) > 1:
        records.pop()  # the sample cut the last record short
    header = records[0] if records else []
    if not any(_clean_name(h) for h in header):
        raise InputError(f"{name}: no header line (the first line has no column names)")
    return _Sniffed(
        codec=codec, had_bom=had_bom, line_terminator=_line_terminator(text),
        delimiter=delimiter, preamble_rows=preamble_rows, header=header,
        header_lines=preamble_rows + header_lines, data=records[1:], whole_file=whole,
    )


def _scan(scan_path: Path, sniffed: _Sniffed, names: list[str], *, has_quote: bool) -> pl.LazyFrame:
    """Scan as text: header names, then overflow fields to catch lines longer than the header."""
    overflow = [f"{_OVERFLOW_PREFIX}{k}" for k in range(1, OVERFLOW_FIELDS + 1)]
    fields = [*names, *overflow]
    scanned = pl.scan_csv(
        scan_path,
        has_header=False,
        skip_rows=sniffed.preamble_rows + 1,
        separator=sniffed.delimiter,
        quote_char='"',
        schema=dict.fromkeys(fields, pl.String),
        truncate_ragged_lines=True,
        missing_columns="insert",  # short (ragged) lines: missing fields are null
        raise_if_empty=False,
        encoding="utf8",
    )
    first_data_line = sniffed.header_lines + 1
    kept = [n for n in names if not n.startswith(_UNNAMED_PREFIX)]
    return (
        scanned.with_row_index(_RECORD_INDEX)
        .with_columns(
            _source_row(fields, first_data_line, has_quote=has_quote),
            _raw_error(names, overflow, sniffed.delimiter).alias(RAW_ERROR),
        )
        .filter(~pl.all_horizontal(pl.col(c).is_null() for c in fields))
        .select(*kept, SOURCE_ROW, RAW_ERROR)
    )


def _dialect(
    sniffed: _Sniffed, names: list[str], file_size: int, copy_info: dict[str, Any]
) -> dict[str, Any]:
    data = sniffed.data
    # Whole file sampled: exact count of records (blank ones included); else by bytes.
    rows = len(data) if sniffed.whole_file else round(file_size * len(data) / SAMPLE_BYTES)
    return {
        "format": "csv",
        "encoding": sniffed.codec.removesuffix("-sig"),
        "delimiter": sniffed.delimiter,
        "had_bom": sniffed.had_bom,
        "line_terminator": sniffed.line_terminator,
        "decimal_comma": _guess_decimal_comma(data, sniffed.delimiter),
        "rows_estimate": rows,
        "header_lines": sniffed.header_lines,
        "renamed_columns": {
            h: n for h, n in zip(sniffed.header, names, strict=True)
            if _clean_name(h) != n and not n.startswith(_UNNAMED_PREFIX)
        },
        "dropped_empty_columns": [
            int(n.removeprefix(_UNNAMED_PREFIX)) for n in names if n.startswith(_UNNAMED_PREFIX)
        ],
        **copy_info,
    }


def _read_csv(
    path: Path, work_dir: Path, *, encoding: str | None, delimiter: str | None
) -> RawTable:
    sniffed = _sniff(path, encoding, delimiter)
    scan_path, copy_info, has_quote = _utf8_file(
        path, work_dir, sniffed.codec, sniffed.line_terminator
    )
    names = _column_names(sniffed.header, sniffed.data)
    frame = _scan(scan_path, sniffed, names, has_quote=has_quote)
    dialect = _dialect(sniffed, names, path.stat().st_size, copy_info)
    columns = tuple(h.replace("\ufeff", "") for h in sniffed.header)
    return RawTable(frame=frame, path=path, dialect=dialect, columns=columns)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
