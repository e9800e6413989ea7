"""Mapping profiles on disk: the presets in ``data/profiles/``, loading one, drafting one.

``load_profile("hubspot")`` reads a preset, ``load_profile("my_crm.toml")`` a file, and
``load_profile(None)`` is the identity (canonical names). ``suggest_profile`` drafts a profile
for an export from its header and first rows: TOML for the user to check and edit.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rapidfuzz import fuzz

from features.errors import ConfigError
from features.ingest.profile import IDENTITY, Profile, parse_profile, value_key
from features.ingest.validate import RAW_ERROR, REFERENCE_COLUMNS, SOURCE_ROW
from features.schema import SOURCES, STAGES
from flows import PROJECT_ROOT
from flows.catalog import read_toml
from flows.readers import RawTable, read_raw

PRESETS_DIR = PROJECT_ROOT / "data" / "profiles"
SUGGEST_ROWS = 1000
"""Rows of the export read to suggest value maps."""
FUZZY_MIN_SCORE = 85.0
"""rapidfuzz ratio (0-100) of a header to a synonym at or above which a near match is proposed."""
MAX_STAGE_VALUES = 50


def preset_names() -> list[str]:
    """The presets shipped in ``data/profiles/``, by name."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def read_profile(path: Path) -> Profile:
    """Read and check a profile file; ConfigError naming the file (and key) when it is bad."""
    return parse_profile(read_toml(path, "profile"), source=path.name)


def load_profile(spec: str | Path | None) -> Profile:
    """A profile by preset name (``hubspot``) or by path; None or "" is the identity."""
    if spec is None or str(spec) == "":
        return IDENTITY
    path = Path(spec)
    if path.is_file() or path.suffix.lower() == ".toml" or len(path.parts) > 1:
        return read_profile(path)
    preset = PRESETS_DIR / f"{spec}.toml"
    if not preset.is_file():
        raise ConfigError(
            f"unknown profile '{spec}': no such file, and not a preset "
            f"({', '.join(preset_names())})"
        )
    return read_profile(preset)


# ---- suggesting a profile ----------------------------------------------------------------------

# Export headers commonly used for each canonical column, most specific first. Compared after
# normalizing: lower case, accents and punctuation dropped ("Country/Region" = "country region").
SYNONYMS: dict[str, tuple[str, ...]] = {
    "lead_id": ("lead id", "contact id", "prospect id", "person id", "person - id", "leadid",
                "contact record id", "customer id"),
    "created_at": ("create date", "created date", "createdate", "created", "created on",
                   "creation date", "date created", "created time", "person created",
                   "person - person created", "lead created", "deal created", "engage date"),
    "email": ("email", "e-mail", "email address", "e-mail address", "person - email",
              "person - email - work", "work email", "business email"),
    "first_name": ("first name", "firstname", "given name", "forename", "person - first name"),
    "last_name": ("last name", "lastname", "surname", "family name", "person - last name"),
    "title": ("job title", "title", "jobtitle", "position", "role", "job role"),
    "phone": ("phone", "phone number", "telephone", "mobile", "mobile phone number",
              "mobile phone", "person - phone", "person - phone - work"),
    "company_name": ("company name", "company", "company / account", "account name", "account",
                     "organization", "organisation", "organization name",
                     "person - organization", "deal - organization"),
    "website": ("website", "website url", "web site", "url", "domain", "company website"),
    "business_id": ("business id", "vat number", "vat id", "vat", "registration number",
                    "company number", "organisation number", "org number", "y-tunnus", "orgnr"),
    "country": ("country", "country/region", "country code", "nation", "office location",
                "headquarters country", "hq country"),
    "lead_source": ("lead source", "original source", "source", "leadsource", "channel"),
    "owner": ("owner", "lead owner", "contact owner", "hubspot owner", "account owner",
              "person - owner", "sales rep", "assigned to"),
    "crm_stage": ("lifecycle stage", "lead status", "lead stage", "stage", "status",
                  "lifecycle", "person - label", "label"),
    "budget": ("budget",),
    "timeline": ("timeline", "timeframe", "purchase timeline"),
    "need": ("need", "pain", "use case"),
    "opted_out": ("opted out", "opt out", "email opt out", "do not email",
                  "unsubscribed from all email", "unsubscribed", "hasoptedoutofemail",
                  "do not contact"),
    "bounced": ("bounced", "email bounced", "hard bounced", "emailbounced"),
    "activity_type": ("activity type", "type", "event type", "activity", "event", "action"),
    "occurred_at": ("occurred at", "activity date", "event date", "timestamp", "date", "time"),
    "campaign": ("campaign", "campaign name", "utm campaign"),
    "url": ("url", "page url", "page", "link"),
    "opportunity_id": ("opportunity id", "deal id", "deal - id", "opportunity"),
    "stage": ("deal stage", "opportunity stage", "stage", "dealstage", "deal - stage",
              "pipeline stage"),
    "closed_at": ("close date", "closed date", "closed at", "closedate", "won time",
                  "deal - close date", "closed on"),
    "won": ("won", "is won", "iswon", "closed won"),
    "amount": ("amount", "deal value", "close value", "value", "deal - value", "deal amount"),
    "domain": ("domain", "company domain name", "web domain", "website", "website url"),
    "industry_code": ("industry code", "nace", "sic", "naics", "sic code", "naics code",
                      "nace code"),
    "industry": ("industry", "sector", "vertical"),
    "employees": ("employees", "number of employees", "employee count", "headcount",
                  "company size"),
    "revenue": ("revenue", "annual revenue", "turnover"),
    "founded_year": ("year founded", "founded year", "founded", "year established",
                     "established", "founding year"),
    "technologies": ("technologies", "tech stack", "technology"),
    "open_jobs": ("open jobs", "job openings", "open positions", "vacancies"),
    "status": ("status", "company status"),
    "updated_at": ("updated at", "last modified date", "last modified", "updated",
                   "last updated"),
    "event_type": ("event type", "type", "event"),
}
# A bare "id" or "name" means the row's own record: only for the source it identifies.
SOURCE_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "leads": {"lead_id": ("id", "record id")},
    "opportunities": {"opportunity_id": ("id", "record id")},
    "companies": {"company_name": ("name", "organization - name")},
}

# (phrase, stage): the first phrase found among a CRM stage value's words gives its stage.
_STAGE_PHRASES: tuple[tuple[str, str], ...] = (
    ("not converted", "disqualified"), ("disqualified", "disqualified"),
    ("unqualified", "disqualified"), ("junk", "disqualified"), ("lost", "disqualified"),
    ("not contacted", "lead"),
    ("customer", "customer"), ("evangelist", "customer"), ("converted", "customer"),
    ("won", "customer"),
    ("opportunity", "opportunity"), ("negotiation", "opportunity"), ("proposal", "opportunity"),
    ("marketingqualifiedlead", "prospect"), ("salesqualifiedlead", "prospect"),
    ("qualified", "prospect"), ("mql", "prospect"), ("sql", "prospect"),
    ("working", "prospect"), ("contacted", "prospect"), ("hot", "prospect"),
    ("subscriber", "lead"), ("lead", "lead"), ("new", "lead"), ("open", "lead"),
    ("nurture", "lead"), ("warm", "lead"), ("cold", "lead"), ("other", "lead"),
)


def _words(text: str) -> str:
    """Lower case, accents dropped, every run of other characters one space."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain.lower()).split())


def _keys(header: str) -> set[str]:
    """A header's comparison keys: words without spaces, also without a "Person - " prefix."""
    keys = {_words(header).replace(" ", "")}
    if " - " in header:
        keys.add(_words(header.split(" - ", 1)[1]).replace(" ", ""))
    return keys


def _synonyms(source: str) -> dict[str, tuple[str, ...]]:
    """Canonical column -> its synonyms for this source (its own name first)."""
    extra = SOURCE_SYNONYMS.get(source, {})
    return {
        c: (c.replace("_", " "), *SYNONYMS.get(c, ()), *extra.get(c, ()))
        for c in SOURCES[source].dtypes
    }


@dataclass(frozen=True)
class Match:
    """An export header proposed for a canonical column; ``score`` None means a synonym matched
    exactly, else the rapidfuzz ratio of the near match."""

    canonical: str
    header: str
    score: float | None


# (sort key, canonical column, header, score): one proposed pairing.
_Candidate = tuple[tuple[float, ...], str, str, float | None]


def _assign(candidates: list[_Candidate]) -> list[Match]:
    """Best first (by the sort key), each canonical column and each header used once."""
    taken_columns: set[str] = set()
    taken_headers: set[str] = set()
    chosen = []
    for _, canonical, header, score in sorted(candidates, key=lambda c: c[0]):
        if canonical in taken_columns or header in taken_headers:
            continue
        taken_columns.add(canonical)
        taken_headers.add(header)
        chosen.append(Match(canonical, header, score))
    return chosen


def _exact_candidates(
    headers: Sequence[str], synonyms: dict[str, tuple[str, ...]]
) -> list[_Candidate]:
    """Ranked by the synonym's place in its list, then schema order, then header order."""
    keys = [_keys(h) for h in headers]
    found: list[_Candidate] = []
    for order, (canonical, names) in enumerate(synonyms.items()):
        for rank, name in enumerate(names):
            wanted = _words(name).replace(" ", "")
            found.extend(
                ((rank, order, i), canonical, h, None)
                for i, (h, k) in enumerate(zip(headers, keys, strict=True)) if wanted in k
            )
    return found


def _fuzzy_candidates(
    headers: Sequence[str], synonyms: dict[str, tuple[str, ...]]
) -> list[_Candidate]:
    """Near matches (a typo, a plural) scoring at least FUZZY_MIN_SCORE, best first."""
    found: list[_Candidate] = []
    for order, (canonical, names) in enumerate(synonyms.items()):
        for i, header in enumerate(headers):
            score = max(fuzz.ratio(_words(header), _words(n)) for n in names)
            if score >= FUZZY_MIN_SCORE:
                found.append(((-score, order, i), canonical, header, round(score)))
    return found


def match_headers(headers: Sequence[str], source: str) -> list[Match]:
    """Propose an export header for each canonical column of ``source`` it can: synonyms
    first, then near matches among what is left. In schema order."""
    synonyms = _synonyms(source)
    exact = _assign(_exact_candidates(headers, synonyms))
    left_columns = {c: n for c, n in synonyms.items() if c not in {m.canonical for m in exact}}
    left_headers = [h for h in headers if h not in {m.header for m in exact}]
    near = _assign(_fuzzy_candidates(left_headers, left_columns))
    order = list(synonyms)
    return sorted([*exact, *near], key=lambda m: order.index(m.canonical))


def guess_stage(value: str) -> str | None:
    """The funnel stage a CRM's own stage name most likely means, or None."""
    words = f" {_words(value)} "
    return next((stage for phrase, stage in _STAGE_PHRASES if f" {phrase} " in words), None)


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _column_lines(matches: Sequence[Match], source: str) -> list[str]:
    lines = []
    for m in matches:
        line = f"{m.canonical} = {_toml(m.header)}"
        if m.score is not None:
            line = f"{line:<40} # near match (score {m.score:.0f}): check it"
        lines.append(line)
    mapped = {m.canonical for m in matches}
    required = SOURCES[source].required_columns
    for name in (c for c in required if c not in mapped):
        lines.append(f"# REQUIRED {name}: no export column matched; name one here, or set it "
                     f"under [{source}.constants]")
    references = REFERENCE_COLUMNS.get(source, ())
    if references and not mapped & set(references):
        lines.append(f"# REQUIRED one of {', '.join(references)}: none matched")
    return lines


def _stage_lines(source: str, header: str, values: Sequence[str]) -> list[str]:
    lines = ["", f"[{source}.values.crm_stage]",
             f"# the values of {_toml(header)} seen in the first rows -> {', '.join(STAGES)}"]
    seen: set[str] = set()
    for value in values:
        if value_key(value) in seen or not value.strip():
            continue
        seen.add(value_key(value))
        stage = guess_stage(value)
        if stage is None:
            lines.append(f"# {_toml(value.strip())} = \"\"  # not recognized: choose a stage")
        else:
            lines.append(f"{_toml(value.strip())} = {_toml(stage)}")
    return lines


def _read_head(path: Path, rows: int) -> tuple[RawTable, pl.DataFrame]:
    with tempfile.TemporaryDirectory(prefix="leadscore-suggest-") as work:
        raw = read_raw(path, Path(work))
        head = raw.frame.head(rows).collect()
    return raw, head.drop(SOURCE_ROW, RAW_ERROR, strict=False)


def _stage_values(head: pl.DataFrame, header: str) -> list[str]:
    """Distinct values of a column, most frequent first (ties: first seen)."""
    counts = (
        head.select(pl.col(header).cast(pl.String)).drop_nulls()
        .group_by(header, maintain_order=True).len()
        .sort("len", descending=True, maintain_order=True)
    )
    return counts[header].head(MAX_STAGE_VALUES).to_list()


def _profile_name(path: Path) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_") or "my_crm"


def suggest_profile(path: Path, source: str = "leads", rows: int = SUGGEST_ROWS) -> str:
    """A draft profile (TOML) for ``path`` as the export of ``source``.

    Reads the header and the first ``rows`` rows; proposes ``[<source>.columns]`` (synonyms,
    then near matches with their score), flags required canonical columns left unmapped, lists
    the export columns that pass through, and, for leads, proposes ``[leads.values.crm_stage]``
    from the values seen in the column mapped to ``crm_stage``.
    """
    if source not in SOURCES:
        raise ConfigError(f"unknown source '{source}' (one of: {', '.join(SOURCES)})")
    raw, head = _read_head(path, rows)
    headers = head.columns
    matches = match_headers(headers, source)
    used = {m.header for m in matches}
    dialect = raw.dialect
    lines = [
        f"# Drafted by `leadscore profile suggest {path.name} --source {source}` from the header",
        f"# and the first {head.height} rows. Check every line, then pass it with --profile FILE.",
        f"name = {_toml(_profile_name(path))}",
        f"description = {_toml(f'Drafted from {path.name}')}",
        "",
        f"[{source}]",
        f"file = {_toml(path.name)}",
    ]
    if dialect.get("format") == "csv":
        lines += [f"# encoding = {_toml(dialect['encoding'])}   (detected)",
                  f"# delimiter = {_toml(dialect['delimiter'])}   (detected)"]
    lines += ["", f"[{source}.columns]", *_column_lines(matches, source)]
    passing = [h for h in headers if h not in used]
    if passing:
        lines += ["# These export columns pass through to the outputs unchanged:",
                  *(f"#   {_toml(h)}" for h in passing)]
    stage = next((m.header for m in matches if m.canonical == "crm_stage"), None)
    if stage is not None:
        lines += _stage_lines(source, stage, _stage_values(head, stage))
    return "\n".join(lines) + "\n"
