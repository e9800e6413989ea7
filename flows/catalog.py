"""The catalog: every read and write of the job, and nothing else.

Inputs: one file per source in an input folder (see `features.schema.SOURCES`).
Outputs, under one output root, one folder per as_of date:

    scores/as_of=D/scores.parquet          scored leads (the full row)
    exports/as_of=D/leads_for_crm.csv      the CSV sales import into the CRM
    quarantine/as_of=D/quarantine.parquet  rows set aside, with source file, row and reason
    duplicates/as_of=D/duplicates.parquet  merged lead ids with their survivor
    reports/as_of=D/report.md              the run report for sales and ops
    runs/as_of=D/manifest.json             inputs, hashes, counts, model, config, timings

A run writes everything into a staging folder first and then swaps each as_of folder in with a
rename (`flows.publish`); the manifest goes last, so a run without a manifest never completed.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from features.config import Config, IngestConfig, parse_config
from features.errors import ConfigError, InputError
from features.ingest.profile import IDENTITY, Profile, SourceProfile, apply_profile
from features.ingest.validate import Validated, validate_source
from features.schema import SOURCES, Source
from flows.readers import RawTable, find_source_file, read_raw

OUTPUT_KINDS = ("scores", "exports", "quarantine", "duplicates", "reports", "runs")
# The run manifest, in runs/as_of=D/: its presence marks a complete run.
MANIFEST = "manifest.json"


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
    file_info: dict[str, Any] = field(default_factory=dict)


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
    if not folder.is_dir():
        raise InputError(f"input folder '{folder}' does not exist")
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
                           pl.LazyFrame({"rows": [0]}), {"present": False})
    raw: RawTable = read_raw(path, work_dir, encoding=section.encoding,
                             delimiter=section.delimiter)
    mapped = apply_profile(raw.frame, profile, source.name, file_label=path.name)
    decimal_comma = (raw.dialect.get("decimal_comma") if section.decimal_comma is None
                     else section.decimal_comma)
    validated = validate_source(mapped.frame, source, _ingest_for(cfg, section),
                                file_label=path.name, decimal_comma=decimal_comma)
    info = {
        "present": True,
        "path": str(path),
        "bytes": path.stat().st_size,
        "sha256": sha256_of(path),
        "dialect": raw.dialect,
        "profile": mapped.record(),
    }
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
        if not info.get("present"):
            continue
        try:
            source.validated.valid.select(pl.len()).collect()
            source.validated.quarantine.select(pl.len()).collect()
        except READ_ERRORS as exc:
            dialect = info.get("dialect", {})
            readable = Path(dialect.get("transcoded_to") or info["path"])
            encoding = "utf-8" if dialect.get("transcoded_to") else dialect.get("encoding", "utf-8")
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


# ---- outputs -----------------------------------------------------------------------------------


def partition(root: Path, kind: str, as_of: date) -> Path:
    return root / kind / f"as_of={as_of.isoformat()}"


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", statistics=True)


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ", date_format="%Y-%m-%d")


def write_json(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n",
                    encoding="utf-8")


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def completed_runs(root: Path) -> list[date]:
    """as_of dates with a manifest (complete runs), oldest first."""
    runs = root / "runs"
    if not runs.is_dir():
        return []
    found = []
    for folder in runs.glob("as_of=*"):
        if (folder / MANIFEST).is_file():
            found.append(date.fromisoformat(folder.name.removeprefix("as_of=")))
    return sorted(found)


def previous_scores(root: Path, as_of: date) -> tuple[date | None, pl.LazyFrame | None]:
    """The latest complete run before as_of: its date and its (lead_id, recommended_stage)."""
    earlier = [d for d in completed_runs(root) if d < as_of]
    if not earlier:
        return None, None
    last = earlier[-1]
    path = partition(root, "scores", last) / "scores.parquet"
    if not path.is_file():
        return None, None
    # Read now, not lazily later: the caller holds the publish lock so that a backfill of that
    # date cannot swap the file mid-read.
    return last, pl.read_parquet(path, columns=["lead_id", "recommended_stage"]).lazy()


def read_manifest(root: Path, as_of: date) -> dict[str, Any] | None:
    path = partition(root, "runs", as_of) / MANIFEST
    if not path.is_file():
        return None
    return dict(json.loads(path.read_text(encoding="utf-8")))
