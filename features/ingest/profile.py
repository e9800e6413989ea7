"""Mapping profiles: how one CRM's export columns become the canonical contract. Pure: no I/O.

A profile (TOML; loaded by ``flows.profiles``) says, per source, which export column feeds which
canonical column, which canonical columns the export lacks get a fixed value, and how values are
translated. Applying it is one lazy ``select`` on the raw frame from ``flows.readers.read_raw``,
before ``features.ingest.validate.validate_source``:

- mapped export columns are renamed to their canonical names (one export column may feed two);
- constants add canonical columns the export lacks, as text;
- value maps translate a canonical column's values: keys compared trimmed and case-insensitively,
  a value mapped to "" becomes missing, an unmapped value passes through (validation judges it);
- every other export column passes through unchanged, except that one named like a canonical
  column that the profile fills from elsewhere is renamed ``<name>_export``: nothing is
  overwritten.

A canonical column that the profile neither maps nor sets is read from an export column of that
very name when there is one, so a profile with no mappings (the generic one) is the identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.errors import ConfigError, InputError
from features.exprs import replaced
from features.ingest.validate import RAW_ERROR, SOURCE_ROW
from features.schema import SOURCES

SourceName = Literal["leads", "activities", "opportunities", "companies", "company_events"]
EXPORT_SUFFIX = "_export"
"""Added to a passed-through export column whose name a mapped canonical column takes."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def value_key(value: str) -> str:
    """How value-map keys are compared with values: trimmed and lower-cased (as polars does)."""
    return value.strip().lower()


class SourceProfile(_Frozen):
    """How one source's export file is found, read and mapped. Every key is optional."""

    file: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    day_first: bool | None = None
    decimal_comma: bool | None = None
    # canonical column -> export column alternatives, the first present in the file wins.
    columns: dict[str, tuple[str, ...]] = {}
    constants: dict[str, str] = {}
    # canonical column -> {export value: canonical value}
    values: dict[str, dict[str, str]] = {}

    @field_validator("columns", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (v,) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("columns")
    @classmethod
    def _named(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for canonical, alternatives in value.items():
            if not alternatives or not all(a.strip() for a in alternatives):
                raise ValueError(f"{canonical}: name one export column, or a list of them")
        return {k: tuple(a.strip() for a in v) for k, v in value.items()}

    @property
    def is_identity(self) -> bool:
        """Maps nothing: the export already uses the canonical names."""
        return not (self.columns or self.constants or self.values)


class EvaluateProfile(_Frozen):
    """A single-table export with an outcome column (used by ``leadscore evaluate``)."""

    source: SourceName = "leads"
    outcome: str = Field(min_length=1)
    positive: tuple[str, ...] = ("1", "yes", "true")
    date_column: str = ""
    # Export columns never used as model features (leaky or identifying).
    exclude: tuple[str, ...] = ()


class Profile(_Frozen):
    """One CRM's export: a section per source (any subset) and an optional ``[evaluate]``."""

    name: str = Field(min_length=1)
    description: str = ""
    leads: SourceProfile = SourceProfile()
    activities: SourceProfile = SourceProfile()
    opportunities: SourceProfile = SourceProfile()
    companies: SourceProfile = SourceProfile()
    company_events: SourceProfile = SourceProfile()
    evaluate: EvaluateProfile | None = None

    def section(self, source: str) -> SourceProfile:
        """The section for ``source`` (an empty, identity section when the file has none)."""
        sections: dict[str, SourceProfile] = {
            "leads": self.leads, "activities": self.activities,
            "opportunities": self.opportunities, "companies": self.companies,
            "company_events": self.company_events,
        }
        return sections[source]

    @model_validator(mode="after")
    def _canonical_names(self) -> Profile:
        for source in SOURCES:
            _check_section(self.section(source), source)
        return self


def _check_section(section: SourceProfile, source: str) -> None:
    """Column, constant and value-map names must be the source's canonical columns."""
    canonical = SOURCES[source].dtypes
    for table in ("columns", "constants", "values"):
        for name in getattr(section, table):
            if name not in canonical:
                raise ValueError(
                    f"{source}.{table}.{name}: not a canonical {source} column "
                    f"(one of: {', '.join(canonical)})"
                )
    for name in section.constants:
        if name in section.columns:
            raise ValueError(f"{source}.constants.{name}: also mapped in {source}.columns")
    for name, mapping in section.values.items():
        keys = [value_key(k) for k in mapping]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(
                f"{source}.values.{name}: '{repeated[0]}' is listed twice (keys are compared "
                "trimmed and case-insensitively)"
            )


IDENTITY = Profile(name="generic", description="The canonical column names (no mapping).")
"""The profile used when none is given."""


def parse_profile(raw: dict[str, Any], source: str = "profile.toml") -> Profile:
    """Validate a parsed TOML mapping; raise ConfigError naming the file and the first bad key."""
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        # An unknown key explains the rest (a typo also makes its intended key "missing").
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        key = ".".join(str(part) for part in first["loc"])
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        message = message.removeprefix("Value error, ")
        raise ConfigError(f"{source}: {key + ': ' if key else ''}{message}") from None


# ---- applying a profile ------------------------------------------------------------------------


@dataclass(frozen=True)
class MappedFrame:
    """A raw frame with a profile applied, and what was done (for the run manifest).

    ``columns``: canonical column -> the export column it was read from (the alternative found);
    ``renamed``: export column -> the name it passes through as (a clash with a canonical name).
    """

    frame: pl.LazyFrame
    profile: str
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    value_maps: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """JSON-ready: the profile's name and the mapping actually used on this file."""
        return {
            "name": self.profile,
            "columns": self.columns,
            "constants": self.constants,
            "renamed": self.renamed,
            "value_maps": list(self.value_maps),
        }


def _loose(name: str) -> str:
    return " ".join(name.casefold().split())


def find_export_column(wanted: str, names: Sequence[str]) -> str | None:
    """The column of ``names`` called ``wanted``: exactly, else ignoring case and spacing
    ("Create date" for "Create Date"; the first such column in file order). None if absent.
    """
    if wanted in names:
        return wanted
    loose = _loose(wanted)
    return next((n for n in names if _loose(n) == loose), None)


def _shown(names: Sequence[str]) -> str:
    if not names:
        return "none"
    more = f", ... ({len(names)} columns)" if len(names) > 30 else ""
    return ", ".join(names[:30]) + more


def _resolve_columns(
    section: SourceProfile, source: str, names: Sequence[str], profile: str, file_label: str
) -> dict[str, str]:
    """canonical -> export column, the first alternative present.

    An optional column the export lacks is left out (a preset maps more than every export
    has: a contact owner, an unsubscribe flag). InputError naming every required column the
    export lacks, at once."""
    required = set(SOURCES[source].required_columns)
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for canonical, alternatives in section.columns.items():
        found = next(
            (c for c in (find_export_column(a, names) for a in alternatives) if c is not None),
            None,
        )
        if found is not None:
            resolved[canonical] = found
        elif canonical in required:
            wanted = " or ".join(f"'{a}'" for a in alternatives)
            missing.append(f"reads {canonical} from column {wanted}")
    if missing:
        raise InputError(
            f"{file_label}: profile '{profile}' {'; '.join(missing)}, which the file does not "
            f"have (found: {_shown(names)}); edit the profile "
            "(`leadscore profile suggest FILE` drafts one)"
        )
    return resolved


def free_names(passthrough: Sequence[str], taken: set[str]) -> dict[str, str]:
    """Pass-through columns whose name a canonical column takes -> ``<name>_export`` (unique)."""
    used = set(passthrough) | taken
    renamed: dict[str, str] = {}
    for name in passthrough:
        if name not in taken:
            continue
        candidate, n = f"{name}{EXPORT_SUFFIX}", 1
        while candidate in used:
            n += 1
            candidate = f"{name}{EXPORT_SUFFIX}_{n}"
        used.add(candidate)
        renamed[name] = candidate
    return renamed


def _check_required(
    source: str, available: set[str], profile: str, file_label: str, names: Sequence[str]
) -> None:
    missing = [n for n in SOURCES[source].required_columns if n not in available]
    if missing:
        listed = ", ".join(f"'{n}'" for n in missing)
        what = f"column {listed} is" if len(missing) == 1 else f"columns {listed} are"
        raise InputError(
            f"{file_label}: required {what} missing: profile '{profile}' maps "
            f"no export column to {'it' if len(missing) == 1 else 'them'} and the file has none "
            f"of that name (found: {_shown(names)}); add {'it' if len(missing) == 1 else 'them'} "
            f"under [{source}.columns] or [{source}.constants]"
        )


def value_map(column: str, mapping: dict[str, str]) -> pl.Expr:
    """``column`` as text with its values translated by ``mapping`` (see the module docstring).

    Needs ``column``; returns it under the same name, as String.
    """
    text = pl.col(column).cast(pl.String)
    lookup = {value_key(k): (v.strip() or None) for k, v in mapping.items()}
    key = text.str.strip_chars().str.to_lowercase()
    return replaced(key, lookup, pl.String(), default=text).alias(column)


def apply_profile(
    frame: pl.LazyFrame, profile: Profile, source: str, *, file_label: str
) -> MappedFrame:
    """Map one source's raw frame onto canonical names (lazily; see the module docstring).

    Needs the export columns the profile maps (InputError naming the file, the profile and the
    column when one is absent) and keeps ``source_row`` and ``_raw_error``. Adds the mapped and
    constant canonical columns (schema order), then the export's other columns in file order.
    """
    section = profile.section(source)
    if section.is_identity:
        return MappedFrame(frame, profile.name)
    all_names = frame.collect_schema().names()
    names = [n for n in all_names if n not in (SOURCE_ROW, RAW_ERROR)]
    markers = [n for n in all_names if n in (SOURCE_ROW, RAW_ERROR)]
    mapped = _resolve_columns(section, source, names, profile.name, file_label)
    filled = set(mapped) | set(section.constants)
    passthrough = [n for n in names if n not in mapped.values()]
    renamed = free_names(passthrough, filled)
    _check_required(source, filled | set(passthrough), profile.name, file_label, names)
    canonical = [
        pl.col(mapped[c]).alias(c) if c in mapped
        else pl.lit(section.constants[c], dtype=pl.String).alias(c)
        for c in SOURCES[source].dtypes if c in filled
    ]
    out = frame.select(
        *canonical, *(pl.col(n).alias(renamed.get(n, n)) for n in passthrough), *markers
    )
    present = set(filled) | {n for n in passthrough if n not in renamed}
    maps = [value_map(c, m) for c, m in section.values.items() if c in present]
    if maps:
        out = out.with_columns(maps)
    return MappedFrame(
        out, profile.name, mapped, dict(section.constants), renamed,
        tuple(c for c in section.values if c in present),
    )
