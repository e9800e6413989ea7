"""Synthetic CRM and firmographic exports with a hidden, learnable conversion process.

``generate_sample`` is pure: the same ``(leads, seed, export_date)`` always gives the same
frames, and it never reads the clock. ``write_sample`` writes them in the dialects real exports
come in (``companies.csv`` is semicolon-delimited, decimal-comma, cp1252) plus ``sample.json``.

The hidden process: each person has a latent fit (software/IT industry, 50-5000 employees, senior
title in IT/engineering/operations/management, business email). Fit, and funding or hiring at the
company, raise the rate of *buying episodes*: bursts of activity that open with an intent signal
(demo or pricing request, contact sales) among pricing page views. An opportunity follows within
days to weeks, with a probability that grows with fit. Background activity, stray signals and
opportunities with no signal keep the process imperfect. Everything is vectorized numpy/polars:
no Python loop per lead or per activity.

Dirt is planted on purpose and counted per kind (``dirt`` in ``sample.json``) so the ingest can be
checked against it. The generator must not share code with what it tests: it imports only the
schema constants.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from samplegen.companies import (
    _companies_frame,
    _company_events_frame,
    _make_companies,
    _make_company_events,
)
from samplegen.frames import _activities_frame, _opportunities_frame
from samplegen.lead_rows import _FORM_SOURCES, LEAD_COLUMNS, _lead_dirt, _lead_rows
from samplegen.people import _assign_roles, _make_people
from samplegen.process import _Acts, _plan_activities
from samplegen.records import _Clock
from samplegen.tables import _A, DAY, GENERATOR, HISTORY_DAYS, MIN_LEADS, SOURCE_FILES, VERSION, Rng

# ---- public API --------------------------------------------------------------------------------

__all__ = ["MIN_LEADS", "SOURCE_FILES", "generate_sample", "write_sample"]


def _clock(export_date: date) -> _Clock:
    end = int(datetime(export_date.year, export_date.month, export_date.day, tzinfo=UTC)
              .timestamp())
    return _Clock(end - HISTORY_DAYS * DAY, end)


def _duplicate_touches(rng: Rng, leads: pl.DataFrame, n_people: int) -> _Acts:
    """A duplicate row exists because someone filled a form again: one activity at creation."""
    dups = leads.filter((pl.col("_who") >= n_people) & pl.col("lead_source").is_in(_FORM_SOURCES))
    who = dups["_who"].to_numpy()
    t = dups["_t"].to_numpy() + rng.integers(0, 300, len(who))
    return _Acts(who, t, np.full(len(who), _A["form_submit"]))


def generate_sample(leads: int, seed: int, export_date: date) -> dict[str, pl.DataFrame]:
    """Make the five source frames as a CRM and a firmographics provider would export them.

    Returns ``leads``, ``companies``, ``activities``, ``opportunities``, ``company_events`` (see
    ``SOURCE_FILES``) and ``dirt`` (columns ``kind``, ``count``: the dirt planted on purpose).
    Text columns hold text as exported (placeholders, dotted dates, ``Yes``/``No``); activities
    and events are typed. Nothing is dated on or after ``export_date`` except BANT ``timeline``
    (an expected purchase date, which may lie in the future). Pure and deterministic.
    """
    if leads < MIN_LEADS:
        raise ValueError(f"leads must be at least {MIN_LEADS}, got {leads}")
    rng = np.random.default_rng(seed)
    clock = _clock(export_date)
    companies = _make_companies(rng, max(10, round(leads * 0.22)), clock)
    events = _make_company_events(rng, companies, clock)
    companies_out = _companies_frame(rng, companies, clock)
    n_dup = round(leads * 0.03)
    people = _make_people(rng, leads - n_dup, companies, clock)
    roles = _assign_roles(rng, people, n_dup, clock)
    acts, deals = _plan_activities(rng, people, companies, events, clock)
    dirt: dict[str, int] = {}
    lead_rows = _lead_rows(rng, people, companies, deals, roles, clock, dirt)
    dirt = _lead_dirt(lead_rows, people, roles) | dirt
    acts = _Acts.concat([acts, _duplicate_touches(rng, lead_rows, people.n)])
    activities = _activities_frame(rng, acts, lead_rows, clock, dirt)
    opportunities = _opportunities_frame(rng, deals, people, companies, lead_rows, clock, dirt)
    return {
        "leads": lead_rows.select(LEAD_COLUMNS),
        "companies": companies_out,
        "activities": activities,
        "opportunities": opportunities,
        "company_events": _company_events_frame(events, companies),
        "dirt": pl.DataFrame({"kind": list(dirt), "count": list(dirt.values())},
                             schema={"kind": pl.String, "count": pl.Int64}),
    }


def _write_csv(frame: pl.DataFrame, path: Path, *, nordic: bool = False) -> None:
    """Comma-separated UTF-8, or the Nordic spreadsheet dialect: semicolons, decimal commas,
    cp1252, CRLF line ends."""
    if not nordic:
        frame.write_csv(path, datetime_format="%Y-%m-%d %H:%M:%S", float_precision=2)
        return
    text = frame.write_csv(separator=";", decimal_comma=True, float_precision=2,
                           datetime_format="%Y-%m-%d", line_terminator="\r\n")
    path.write_bytes(text.encode("cp1252"))


def write_sample(out_dir: Path, *, leads: int, seed: int, export_date: date) -> dict[str, Any]:
    """Generate the sample and write it to ``out_dir``; return the ``sample.json`` manifest.

    Files: ``leads.csv``, ``companies.csv`` (``;``, decimal comma, cp1252), ``activities.parquet``,
    ``opportunities.csv``, ``company_events.csv``, ``sample.json``. Same arguments, same bytes.
    """
    frames = generate_sample(leads, seed, export_date)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(frames["leads"], out_dir / SOURCE_FILES["leads"])
    _write_csv(frames["companies"], out_dir / SOURCE_FILES["companies"], nordic=True)
    frames["activities"].write_parquet(out_dir / SOURCE_FILES["activities"],
                                                 compression="zstd", statistics=True)
    _write_csv(frames["opportunities"], out_dir / SOURCE_FILES["opportunities"])
    _write_csv(frames["company_events"], out_dir / SOURCE_FILES["company_events"])
    manifest = {
        "generator": GENERATOR,
        "version": VERSION,
        "seed": seed,
        "leads": leads,
        "export_date": export_date.isoformat(),
        "rows": {name: frames[name].height for name in SOURCE_FILES},
        "dirt": dict(zip(frames["dirt"]["kind"], frames["dirt"]["count"], strict=True)),
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out_dir / "sample.json").write_text(text, encoding="utf-8")
    return manifest
