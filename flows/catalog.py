"""The catalog: every dataset the job reads or writes, and every read and write of them.

`DATASETS` is the one table of them: name, folder, file name, format, what it is. Inputs are
one file per source in the input folder (see `features.schema.SOURCES`; a CRM profile may name
another file). Outputs sit under one output root, one folder per kind and as_of date:

    scores/as_of=D/scores.parquet            scored leads (the full row)
    changes/as_of=D/changes.parquet          the change feed against the previous published run
    exports/as_of=D/leads_for_crm.csv        the generic CRM import file
    exports/as_of=D/hubspot_contacts.csv     ... and one per CRM import profile configured
                                             (salesforce_leads.csv, pipedrive_persons.csv)
    exports/as_of=D/leads_for_crm_changes.csv  each of them with only the new or re-staged
                                             leads (opt-in: hubspot_contacts_changes.csv, ...)
    quarantine/as_of=D/quarantine.parquet    rows set aside, with source file, row and reason
    quarantine/as_of=D/value_issues.parquet  values kept but blanked or flagged, with the reason
    duplicates/as_of=D/duplicates.parquet    merged lead ids with their survivor
    reports/as_of=D/report.md                the run report for sales and ops
    reports/as_of=D/report.html              the same as one self-contained HTML page
    runs/as_of=D/manifest.json               inputs, hashes, counts, model, config, timings

Code asks for a dataset by name (`dataset_path(root, "scores", as_of)`); adding an output is a
new `Dataset` entry here plus the frame the score flow hands to `Storage.write`. Reads and
writes of output datasets go through a `Storage` (`storage_for` picks it; today the local
filesystem), so another backend is a new class, not an edit of the flows.

A run writes everything into a staging folder first and then swaps each as_of folder in with a
rename (`flows.publish`); the manifest goes last, so a run without a manifest never completed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

import polars as pl
import pyarrow.parquet as pq

from features.config import Config, IngestConfig, parse_config
from features.errors import ConfigError, InputError, OutputError
from features.ingest.profile import IDENTITY, Profile, SourceProfile, apply_profile
from features.ingest.validate import (
    PendingQuarantine,
    Validated,
    validate_source,
    with_first_rows,
)
from features.schema import SOURCES, Source
from flows.readers import RawTable, check_input_folder, find_source_file, read_raw
from scoring.changes import PREVIOUS_COLUMNS
from scoring.crm_exports import PROFILES
from scoring.records import InputFile, OutputFile, Record, RunManifest
from scoring.spreadsheet_safety import UTF8, CsvFormat, formula_safe


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file as a mapping; ConfigError naming the file when it is missing or not TOML."""
    if not path.is_file():
        raise ConfigError(f"{what} file '{path}' not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc})") from None


def load_config(path: Path) -> tuple[Config, str]:
    """The config and a hash of its meaning (key order and comments do not change the hash)."""
    config = parse_config(read_toml(path, "config"), source=path.name)
    canonical = json.dumps(config.model_dump(mode="json", by_alias=True), sort_keys=True)
    return config, hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SourceInput:
    """One source as read: validated frames plus what the manifest says about the file."""

    name: str
    file_label: str
    validated: Validated
    raw_rows: pl.LazyFrame  # one row, column `rows`: records read from the file
    file_info: InputFile


def _empty_source(source: Source) -> pl.LazyFrame:
    schema: dict[str, pl.DataType] = {**source.dtypes, "source_row": pl.Int64()}
    return pl.LazyFrame(schema=schema)


def locate_source(folder: Path, source: str, profile: Profile = IDENTITY) -> Path | None:
    """The file for ``source`` in ``folder``: the one the profile names (``[<source>].file``),
    else ``<source>.csv|.tsv|.txt|.parquet``; None when there is none.
    """
    declared = profile.section(source).file
    if declared is None:
        return find_source_file(folder, source)
    check_input_folder(folder)
    path = folder / declared
    return path if path.is_file() else None


def _expected_file(source: str, profile: Profile) -> str:
    declared = profile.section(source).file
    if declared is None:
        return f"{source}.csv or {source}.parquet"
    return f"{declared}, as profile '{profile.name}' says"


def _ingest_for(cfg: Config, section: SourceProfile) -> IngestConfig:
    """The ingest settings for one file: a profile's day_first overrides the config's."""
    if section.day_first is None:
        return cfg.ingest
    return cfg.ingest.model_copy(update={"day_first": section.day_first})


def read_source(
    folder: Path, source: Source, cfg: Config, work_dir: Path, profile: Profile | None = None
) -> SourceInput:
    """Find, read, map (``profile``; default the identity) and validate one source.

    An absent optional source is an empty frame. The manifest's file info records the profile
    and the mapping it applied to this file.
    """
    profile = profile or IDENTITY
    section = profile.section(source.name)
    path = locate_source(folder, source.name, profile)
    if path is None:
        if source.required:
            raise InputError(
                f"{folder}: no '{source.name}' file (expected "
                f"{_expected_file(source.name, profile)})"
            )
        empty = _empty_source(source)
        nothing = Validated(empty, pl.LazyFrame(), pl.LazyFrame())
        return SourceInput(source.name, f"{source.name} (absent)", nothing,
                           pl.LazyFrame({"rows": [0]}), InputFile(present=False))
    raw: RawTable = read_raw(path, work_dir, encoding=section.encoding,
                             delimiter=section.delimiter)
    mapped = apply_profile(raw.frame, profile, source.name, file_label=path.name)
    decimal_comma = (raw.dialect.get("decimal_comma") if section.decimal_comma is None
                     else section.decimal_comma)
    validated = validate_source(mapped.frame, source, _ingest_for(cfg, section),
                                file_label=path.name, decimal_comma=decimal_comma)
    info = InputFile(present=True, path=str(path), bytes=path.stat().st_size,
                     sha256=sha256_of(path), dialect=raw.dialect, profile=mapped.record())
    return SourceInput(source.name, path.name, validated,
                       raw.frame.select(pl.len().alias("rows")), info)


# polars raises these when a lazily read CSV turns out to be malformed at collect time.
READ_ERRORS = (pl.exceptions.ComputeError, pl.exceptions.SchemaError,
               pl.exceptions.ShapeError, pl.exceptions.NoDataError)


def _unbalanced_quote_line(path: Path, encoding: str) -> int | None:
    """The first line with an odd number of double quotes: where a stray quote usually is."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if line.count('"') % 2:
                return number
    return None


def malformed_input(sources: dict[str, SourceInput], error: Exception) -> InputError:
    """Name the file (and, for a stray quote, the line) behind a read error polars raised while
    collecting a plan over several files. Only runs on the failure path: it re-reads files."""
    for source in sources.values():
        info = source.file_info
        if not info.present or info.path is None:
            continue
        try:
            source.validated.valid.select(pl.len()).collect()
            source.validated.quarantine.select(pl.len()).collect()
        except READ_ERRORS as exc:
            dialect = info.dialect or {}
            transcoded = dialect.get("transcoded_to")
            readable = Path(str(transcoded)) if transcoded else Path(info.path)
            encoding = "utf-8" if transcoded else str(dialect.get("encoding", "utf-8"))
            is_csv = readable.suffix != ".parquet"
            line = _unbalanced_quote_line(readable, encoding) if is_csv else None
            where = (f"; line {line} has an unbalanced double quote (a quote inside an "
                     "unquoted field): quote the whole field or remove the quote") if line else ""
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return InputError(f"{source.file_label}: cannot be read ({first}){where}")
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputError(f"an input file cannot be read ({first})")


@contextmanager
def read_errors_named(sources: dict[str, SourceInput]) -> Iterator[None]:
    """Turn a read error surfacing in a lazy plan into an InputError naming the file."""
    try:
        yield
    except READ_ERRORS as exc:
        raise malformed_input(sources, exc) from None


def read_sources(
    folder: Path, cfg: Config, work_dir: Path, profile: Profile | None = None
) -> dict[str, SourceInput]:
    """Every source of the contract, in contract order, each read through ``profile``."""
    return {
        name: read_source(folder, source, cfg, work_dir, profile)
        for name, source in SOURCES.items()
    }


# The run's intermediate files (the validated sources, a partitioned run's partitions) are
# written once and read once or a few times in the same run: lz4 writes 100 million
# activities' partitions about a quarter faster than Parquet's default zstd (and reads them
# faster) for files about 1.4 to 1.6x the size; validating a 1M export 5.9 -> 5.5 s.
STAGING_COMPRESSION: Literal["lz4"] = "lz4"


def staged_sources(sources: dict[str, SourceInput], folder: Path) -> dict[str, SourceInput]:
    """Every source's validated frames written once as Parquet under `folder` (the run's
    staging folder), and the sources handed back reading those files.

    Validation (parsing, checks, placeholders) is the costliest pass over a large export, and
    each later step reads the validated rows again (dedupe, attribution, the quarantine, the
    counts, the newest record): from typed Parquet each such read is a cheap scan of the
    columns it needs. Written in one streaming pass per source (`valid`, `value_issues` and
    the quarantine, pending for a keyed source, share their plan), so memory does not grow
    with the file; then, for a source with a key, its quarantine from the rows set aside in
    that pass and the valid rows' keys (`with_first_rows`). A malformed file surfaces here,
    as an InputError naming it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    parts = ("valid", "quarantine", "value_issues")
    sinks: dict[str, list[pl.LazyFrame]] = {name: [] for name in sources}
    written: dict[tuple[str, str], Path] = {}
    pending: dict[str, tuple[PendingQuarantine, Path]] = {}
    for name, source in sources.items():
        if not source.file_info.present:
            continue  # an absent source is an empty frame already
        held = source.validated.quarantine_pending
        for part in parts:
            frame: pl.LazyFrame = getattr(source.validated, part)
            if part == "quarantine" and held is not None:
                # Written beside the valid rows; its repeats' reasons are joined in below.
                path = folder / f"{name}.quarantine_pending.parquet"
                frame, pending[name] = held.rows, (held, path)
            elif frame.collect_schema().len() == 0:
                continue
            else:
                path = written[(name, part)] = folder / f"{name}.{part}.parquet"
            sinks[name].append(frame.sink_parquet(path, lazy=True,
                                                  compression=STAGING_COMPRESSION))
    with read_errors_named(sources):
        # One source at a time: the five sources' plans collected together held about 7 GiB
        # at 10 million leads (100 million activities), each alone at most about 2 GiB, in
        # about the same time (each plan streams on every core).
        counted = [pl.collect_all([*sinks[name], source.raw_rows])[-1]
                   for name, source in sources.items()]
        # The repeats' reasons name the row kept for their key: from the two files just
        # written (the valid rows read for their keys alone), a second, small pass.
        pl.collect_all([
            with_first_rows(PendingQuarantine(pl.scan_parquet(path), held.key),
                            pl.scan_parquet(written[(name, "valid")]))
            .sink_parquet(written.setdefault((name, "quarantine"),
                                              folder / f"{name}.quarantine.parquet"), lazy=True,
                          compression=STAGING_COMPRESSION)
            for name, (held, path) in pending.items()])
    staged: dict[str, SourceInput] = {}
    for (name, source), count in zip(sources.items(), counted, strict=True):
        valid, quarantine, issues = (
            pl.scan_parquet(written[(name, part)]) if (name, part) in written
            else getattr(source.validated, part) for part in parts)
        staged[name] = SourceInput(source.name, source.file_label,
                                   Validated(valid, quarantine, issues), count.lazy(),
                                   source.file_info)
    return staged


# ---- the datasets ------------------------------------------------------------------------------

Format = Literal["csv or parquet", "parquet", "csv", "markdown", "html", "json"]


@dataclass(frozen=True)
class Dataset:
    """One dataset the job reads (``folder`` "inputs": the input folder itself) or writes
    (``folder``: its kind folder under the output root, holding one ``as_of=D`` folder per
    run). ``file`` is the file name; for an input, the name without its extension.
    ``on_request``: written only when a run asks for it (an option), not by every run."""

    name: str
    folder: str
    file: str
    format: Format
    description: str
    on_request: bool = False

    @property
    def is_input(self) -> bool:
        return self.folder == INPUTS


def crm_dataset(crm: str, changes_only: bool = False) -> str:
    """The output dataset of one CRM import profile: ``exports`` is the generic file; with
    `changes_only`, its twin holding only the changed leads (``--changes-only``)."""
    name = "exports" if crm == "generic" else f"export_{crm}"
    return f"{name}_changes_only" if changes_only else name


INPUTS = "inputs"
DATASETS: dict[str, Dataset] = {d.name: d for d in (
    *(Dataset(name, INPUTS, name, "csv or parquet", f"the CRM's {name} (input)")
      for name in SOURCES),
    Dataset("scores", "scores", "scores.parquet", "parquet", "scored leads (the full row)"),
    Dataset("changes", "changes", "changes.parquet", "parquet",
            "the change feed: each lead against the previous published run "
            "(`scoring.changes`)"),
    # The generic file always; the other profiles when `[export].crm` or `--crm` names them.
    *(Dataset(crm_dataset(p.name), "exports", p.file_name, "csv",
              f"the {p.title} import file (README, \"CRM import files\")",
              on_request=p.name != "generic")
      for p in PROFILES.values()),
    *(Dataset(crm_dataset(p.name, changes_only=True), "exports",
              p.file_name.removesuffix(".csv") + "_changes.csv", "csv",
              f"the {p.title} import file with only the new, upgraded and downgraded leads "
              "(`--changes-only`)", on_request=True)
      for p in PROFILES.values()),
    Dataset("quarantine", "quarantine", "quarantine.parquet", "parquet",
            "rows set aside, with source file, row and reason"),
    Dataset("value_issues", "quarantine", "value_issues.parquet", "parquet",
            "values kept but blanked or flagged, with source, row, column and reason"),
    Dataset("duplicates", "duplicates", "duplicates.parquet", "parquet",
            "merged lead ids with their survivor"),
    Dataset("report", "reports", "report.md", "markdown", "the run report for sales and ops"),
    Dataset("report_html", "reports", "report.html", "html",
            "the run report as one self-contained HTML page (inline CSS and SVG)"),
    Dataset("manifest", "runs", "manifest.json", "json",
            "the run manifest (`scoring.records.RunManifest`); its presence marks a complete run"),
)}
OUTPUTS: dict[str, Dataset] = {n: d for n, d in DATASETS.items() if not d.is_input}
# The output kind folders, in catalog order; the manifest's folder ("runs") last.
OUTPUT_KINDS: tuple[str, ...] = tuple(dict.fromkeys(d.folder for d in OUTPUTS.values()))
# What every run writes (the on-request outputs only when asked).
ALWAYS_WRITTEN: tuple[str, ...] = tuple(n for n, d in OUTPUTS.items() if not d.on_request)
MANIFEST = OUTPUTS["manifest"].file


def output(name: str) -> Dataset:
    """The output dataset called ``name``; KeyError naming the known ones otherwise."""
    if name not in OUTPUTS:
        raise KeyError(f"no output dataset {name!r} in the catalog (known: {', '.join(OUTPUTS)})")
    return OUTPUTS[name]


# Why a write fails that the user can fix: no space, no permission, a read-only filesystem.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM,
                 errno.EROFS}
_HINTS = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space",
          errno.EFBIG: "free some space"}
# polars' writers report the operating system's error as text only: "... (os error 28)".
_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def _errno_of(error: Exception) -> int | None:
    if isinstance(error, OSError) and error.errno is not None:
        return error.errno
    found = _OS_ERROR.search(str(error))
    return int(found.group(1)) if found else None


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a write that fails for a reason the user can fix (disk full, read-only, no
    permission) into one OutputError naming the path. A run writes into its staging folder and
    publishes last, so the previous output is kept whatever failed."""
    try:
        yield
    except (OSError, pl.exceptions.PolarsError) as error:
        code = _errno_of(error)
        if code not in _WRITE_ERRNOS:
            raise
        where = getattr(error, "filename", None) or path
        hint = _HINTS.get(code, "choose a writable --out or fix its permissions")
        raise OutputError(f"cannot write {where}: {os.strerror(code)}; {hint} and run again "
                          "(the previous output is kept)") from None


def partition(root: Path, kind: str, as_of: date) -> Path:
    """The as_of folder of one output kind: ``root/<kind>/as_of=D``."""
    return root / kind / f"as_of={as_of.isoformat()}"


def dataset_path(root: Path, name: str, as_of: date) -> Path:
    """Where output dataset ``name`` of the run for ``as_of`` lives under output root ``root``."""
    dataset = output(name)
    return partition(root, dataset.folder, as_of) / dataset.file


def output_folders() -> str:
    """The output kinds as a shell-style list, for the console: "{scores,exports,...}"."""
    return "{" + ",".join(OUTPUT_KINDS) + "}"


# ---- writers -----------------------------------------------------------------------------------


# Rows per Parquet row group: a reader that wants a range of lead ids (the previous run's
# scores, a partitioned run's finished rows) skips the groups outside it by their statistics.
PARQUET_ROW_GROUP = 250_000


class FrameWriter(Protocol):
    """An output frame written in pieces, in order, all with the same columns: the file is
    what one write of their concatenation gives."""

    def append(self, frame: pl.DataFrame) -> None: ...


class _ParquetPieces:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: pq.ParquetWriter | None = None

    def append(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        with writing(self.path):
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd",
                                                write_statistics=True)
            self._writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class _CsvPieces:
    """The one CSV writer of the job: every text cell and header formula-safe (OWASP), text
    quoted, numbers left as numbers, laid out for `layout` (see `CsvFormat`); the header (and
    a byte-order mark) once, before the first piece."""

    def __init__(self, path: Path, layout: CsvFormat) -> None:
        self.path, self.layout = path, layout
        self._file = path.open("wb")

    def append(self, frame: pl.DataFrame) -> None:
        first = self._file.tell() == 0
        with writing(self.path):
            formula_safe(frame).write_csv(
                self._file, separator=self.layout.separator,
                decimal_comma=self.layout.decimal_comma, include_bom=self.layout.bom and first,
                include_header=first, quote_style="non_numeric",
                datetime_format="%Y-%m-%dT%H:%M:%SZ", date_format="%Y-%m-%d")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


@contextmanager
def frame_pieces(path: Path, format: str, layout: CsvFormat = UTF8
                 ) -> Iterator[_ParquetPieces | _CsvPieces]:
    """A `FrameWriter` for `path` (format parquet or csv). A failure of this file's writes
    that the user can fix is one OutputError naming it (`writing`); an error raised by the
    caller between the pieces passes through as it is (it may be another file's)."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        pieces = _ParquetPieces(path) if format == "parquet" else _CsvPieces(path, layout)
    try:
        yield pieces
    finally:
        with writing(path):
            pieces.close()


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    with frame_pieces(path, "parquet") as pieces:
        pieces.append(frame)


def write_csv(frame: pl.DataFrame, path: Path, layout: CsvFormat = UTF8) -> None:
    with frame_pieces(path, "csv", layout) as pieces:
        pieces.append(frame)


def write_json(data: Mapping[str, object], path: Path) -> None:
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n",
                        encoding="utf-8")


def write_text(text: str, path: Path) -> None:
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# ---- storage -----------------------------------------------------------------------------------


class OpenFrame:
    """An output frame being written in pieces (`Storage.open_frame`)."""

    def __init__(self, pieces: FrameWriter, written: Callable[[int], OutputFile]) -> None:
        self._pieces, self._written, self.rows = pieces, written, 0

    def append(self, frame: pl.DataFrame) -> None:
        self._pieces.append(frame)
        self.rows += frame.height

    @property
    def written(self) -> OutputFile:
        """The file's path, rows and sha256 (once its block is left)."""
        return self._written(self.rows)


class Storage(Protocol):
    """Where the output datasets of one output root (or one run's staging folder) live."""

    def write(self, name: str, as_of: date, content: pl.DataFrame | str | Record) -> OutputFile:
        """Write output ``name`` of ``as_of``: a frame (parquet or csv, as the catalog says), a
        text (markdown) or a record (json). Returns its path relative to the root and, for a
        frame, its rows and sha256."""
        ...

    def open_frame(self, name: str, as_of: date) -> AbstractContextManager[OpenFrame]:
        """Output frame ``name`` of ``as_of`` written in pieces (`OpenFrame.append`), for a
        frame too large to hold at once; its `OpenFrame.written` once the block is left."""
        ...

    def read_frame(self, name: str, as_of: date, columns: Sequence[str]) -> pl.DataFrame | None:
        """``columns`` of a frame output (those of them a Parquet file has), read now; None
        when that run has no such file."""
        ...

    def read_manifest(self, as_of: date) -> RunManifest | None:
        """The manifest of the run for ``as_of``; None when that run never completed."""
        ...

    def completed_runs(self) -> list[date]:
        """as_of dates with a manifest (complete runs), oldest first."""
        ...


@dataclass(frozen=True)
class LocalStorage:
    """Output datasets as files under ``root`` on a local filesystem (`flows.publish` swaps
    a staging root's as_of folders into the output root with renames); CSVs laid out as
    ``csv_format`` says."""

    root: Path
    csv_format: CsvFormat = UTF8

    def path(self, name: str, as_of: date) -> Path:
        return dataset_path(self.root, name, as_of)

    def write(self, name: str, as_of: date, content: pl.DataFrame | str | Record) -> OutputFile:
        dataset, path = output(name), self.path(name, as_of)
        relative = str(path.relative_to(self.root))
        if isinstance(content, pl.DataFrame):
            with self.open_frame(name, as_of) as frame:
                frame.append(content)
            return frame.written
        if isinstance(content, Record) and dataset.format == "json":
            write_json(content.to_json(), path)
        elif isinstance(content, str) and dataset.format in ("markdown", "html"):
            write_text(content, path)
        else:
            raise TypeError(f"output {name!r} is {dataset.format}, not {type(content).__name__}")
        return OutputFile(path=relative)

    @contextmanager
    def open_frame(self, name: str, as_of: date) -> Iterator[OpenFrame]:
        dataset, path = output(name), self.path(name, as_of)
        if dataset.format not in ("csv", "parquet"):
            raise TypeError(f"output {name!r} is {dataset.format}, not a frame")
        with frame_pieces(path, dataset.format, self.csv_format) as pieces:
            yield OpenFrame(pieces, lambda rows: OutputFile(
                path=str(path.relative_to(self.root)), rows=rows, sha256=sha256_of(path)))

    def read_frame(self, name: str, as_of: date, columns: Sequence[str]) -> pl.DataFrame | None:
        path = self.path(name, as_of)
        if not path.is_file():
            return None
        if output(name).format == "csv":
            return pl.read_csv(path, columns=list(columns), infer_schema=False)
        # Runs written by older versions may lack newer columns: read the ones there are.
        present = [c for c in columns if c in pl.read_parquet_schema(path)]
        return pl.read_parquet(path, columns=present)

    def read_manifest(self, as_of: date) -> RunManifest | None:
        path = self.path("manifest", as_of)
        if not path.is_file():
            return None
        return RunManifest.from_json(json.loads(path.read_text(encoding="utf-8")))

    def completed_runs(self) -> list[date]:
        runs = self.root / output("manifest").folder
        if not runs.is_dir():
            return []
        found = []
        for folder in runs.glob("as_of=*"):
            if (folder / MANIFEST).is_file():
                found.append(date.fromisoformat(folder.name.removeprefix("as_of=")))
        return sorted(found)


def storage_for(root: Path, csv_format: CsvFormat = UTF8) -> Storage:
    """The storage of an output root: the one place a second backend would be chosen."""
    return LocalStorage(root, csv_format)


def completed_runs(root: Path) -> list[date]:
    """as_of dates with a manifest (complete runs) under ``root``, oldest first."""
    return storage_for(root).completed_runs()


def previous_scores(root: Path, as_of: date) -> tuple[date | None, pl.LazyFrame | None]:
    """The latest complete run before as_of: its date and its lead_id, recommended_stage,
    conversion_probability and priority_score (`scoring.changes.PREVIOUS_COLUMNS`: what the
    change feed compares and the report's top movers need)."""
    storage = storage_for(root)
    earlier = [d for d in storage.completed_runs() if d < as_of]
    if not earlier:
        return None, None
    # Read now, not lazily later: the caller holds the publish lock so that a backfill of that
    # date cannot swap the file mid-read.
    frame = storage.read_frame("scores", earlier[-1], list(PREVIOUS_COLUMNS))
    return (None, None) if frame is None else (earlier[-1], frame.lazy())


def read_manifest(root: Path, as_of: date) -> RunManifest | None:
    """The manifest of the run for ``as_of`` under ``root``; None when it never completed."""
    return storage_for(root).read_manifest(as_of)
