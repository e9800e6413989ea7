"""Canonical Parquet inputs of any size for the benchmark, generated with numpy and polars only.

    uv run python bench/generate.py --leads 1000000          # -> bench/out/data-1000000/

The five sources in the canonical contract (``features/schema.py``), already typed (no CSV dialect
work: the benchmark measures scoring, not parsing):

- companies: a fifth of the leads, FI and SE business IDs with valid check digits, NO/DK/US/DE
  without; 10% carry an older second snapshot; a few dissolved or bankrupt.
- leads: 3% duplicates of another lead (same email, often re-cased; the rest by name + phone),
  20% free-mail addresses, 3% malformed ones; 12% work at a company the firmographics do not know
  (unmatched); company names as registered, without the legal suffix, or with a typo (fuzzy).
- activities: about ten per lead (Poisson), 1% keyed by email only, 0.5% for unknown leads.
- opportunities: about 12% of the leads, some closed won or lost.
- company_events: about 0.6 per company with a business ID.

Same size and seed, same bytes. Leads are generated in chunks of ``CHUNK`` (each with its own
seed), so memory stays bounded and ten million leads take a couple of minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

GENERATOR_VERSION = 1
CHUNK = 1_000_000
EXPORT_DATE = date(2026, 11, 1)
HISTORY_DAYS = 3 * 365
ACTIVITIES_PER_LEAD = 10.0
OUT = Path(__file__).resolve().parent / "out"

COUNTRIES = np.array(["FI", "SE", "NO", "DK", "US", "DE"])
COUNTRY_WEIGHTS = np.array([0.32, 0.30, 0.12, 0.10, 0.10, 0.06])
LEGAL_SUFFIX = {"FI": "Oy", "SE": "AB", "NO": "AS", "DK": "ApS", "US": "Inc.", "DE": "GmbH"}
TLD = {"FI": "fi", "SE": "se", "NO": "no", "DK": "dk", "US": "com", "DE": "de"}
INDUSTRIES = (
    ("62.01", "Computer programming activities"),
    ("62.02", "Computer consultancy activities"),
    ("63.11", "Data processing, hosting and related activities"),
    ("41.20", "Construction of residential and non-residential buildings"),
    ("47.11", "Retail sale in non-specialised stores"),
    ("70.22", "Business and other management consultancy activities"),
    ("25.11", "Manufacture of metal structures"),
    ("64.19", "Other monetary intermediation"),
    ("86.10", "Hospital activities"),
    ("49.41", "Freight transport by road"),
)
TECHNOLOGIES = ("salesforce", "hubspot", "aws", "azure", "gcp", "wordpress", "sap", "shopify")
FREE_MAIL = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "telia.com")
FIRST = (
    "Anna", "Mikko", "Sofia", "Lars", "Emma", "Jonas", "Ida", "Oskar", "Maria", "Erik", "Laura",
    "Johan", "Sara", "Ville", "Nora", "Henrik", "Elin", "Timo", "Kaisa", "Magnus", "Hanna", "Pekka",
    "Astrid", "Mads", "Liisa", "Anders", "Freja", "Juha", "Ingrid", "Peter", "Julia", "Thomas",
    "Aino", "Karl", "Sanna", "Nils", "Eva", "Antti", "Linnea", "Rasmus",
)
LAST = (
    "Virtanen", "Andersson", "Hansen", "Nielsen", "Korhonen", "Johansson", "Olsen", "Jensen",
    "Nieminen", "Karlsson", "Larsen", "Pedersen", "Makinen", "Nilsson", "Berg", "Christensen",
    "Hamalainen", "Eriksson", "Haugen", "Rasmussen", "Laine", "Larsson", "Dahl", "Sorensen",
    "Heikkinen", "Persson", "Lund", "Madsen", "Koskinen", "Svensson", "Bakken", "Kristensen",
    "Jarvinen", "Gustafsson", "Moen", "Poulsen", "Lehtonen", "Pettersson", "Strand", "Holm",
    "Smith", "Miller", "Schmidt", "Fischer", "Weber", "Meyer", "Wagner", "Brown",
)
TITLES = (
    "CEO", "CTO", "CFO", "VP Sales", "VP Engineering", "Head of IT", "IT Director",
    "Marketing Manager", "Sales Manager", "Software Engineer", "Developer", "Operations Manager",
    "Toimitusjohtaja", "IT-chef", "Daglig leder", "Projektleder", "Analyst", "Consultant",
    "Office Assistant", "Student", "HR Manager", "Controller",
)
ACTIVITY_TYPES = (
    ("email_open", 0.30), ("email_click", 0.12), ("page_view", 0.30), ("pricing_page_view", 0.04),
    ("content_download", 0.06), ("form_submit", 0.04), ("webinar_attended", 0.03),
    ("demo_request", 0.01), ("pricing_request", 0.01), ("contact_sales", 0.01),
    ("meeting", 0.02), ("call", 0.03), ("reply", 0.02), ("unsubscribe", 0.005), ("bounce", 0.005),
)
CAMPAIGNS = tuple(f"{q}-{y}-{k}" for y in (2024, 2025, 2026) for q in ("Q1", "Q2", "Q3", "Q4")
                  for k in ("newsletter", "webinar", "ebook"))
URLS = tuple(f"https://vendor.example/{p}" for p in (
    "", "pricing", "product", "blog/a", "blog/b", "blog/c", "customers", "docs", "about", "demo"))
EVENT_TYPES = ("funding", "hiring", "leadership_change", "expansion", "bankruptcy")
EVENT_WEIGHTS = (0.2, 0.5, 0.15, 0.13, 0.02)
SYLLABLES = (
    "ka", "lo", "ne", "ri", "ta", "so", "mi", "va", "ur", "ex", "no", "vi", "sa", "te", "lu", "ko",
    "ra", "in", "or", "da", "fi", "ge", "ha", "jo", "ly", "ma", "pe", "qu", "si", "tu", "ve", "yl",
    "za", "bo", "ce", "du", "el", "fo", "gu", "hi",
)
MODIFIERS = ("", "", "", "Data", "Solutions", "Group", "Systems", "Consulting", "Tech", "Bygg")


def _gather(values: tuple[str, ...] | list[str] | pl.Series, idx: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(idx)


def _weighted(rng: np.random.Generator, n: int, weights: tuple[float, ...] | np.ndarray,
              ) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _words(rng: np.random.Generator, n: int) -> list[str]:
    """A vocabulary of ``n`` distinct made-up words (two or three syllables), capitalized."""
    picked = rng.integers(0, len(SYLLABLES), size=(n * 2, 3))
    three = rng.random(n * 2) < 0.5
    seen: dict[str, None] = {}
    for row, long in zip(picked.tolist(), three.tolist(), strict=True):
        word = "".join(SYLLABLES[i] for i in (row if long else row[:2]))
        seen.setdefault(word.capitalize(), None)
        if len(seen) == n:
            break
    return list(seen)


def _timestamps(seconds: np.ndarray) -> pl.Series:
    return pl.Series(seconds.astype("int64") * 1_000_000, dtype=pl.Int64).cast(
        pl.Datetime("us", "UTC"))


def _fi_ids(rng: np.random.Generator, n: int, start: int) -> pl.Series:
    """Y-tunnus ``NNNNNNN-C`` (mod 11, weights 7 9 10 5 8 4 2); bodies unique by construction."""
    body = 1_000_000 + start * 3 + np.arange(n) * 3 + rng.integers(0, 3, n)
    digits = (body[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    rest = (digits * np.array([7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11
    check = np.where(rest == 0, 0, 11 - rest)
    text = pl.Series(body).cast(pl.String) + "-" + pl.Series(check).cast(pl.String)
    return text.set(pl.Series(rest == 1), None)  # remainder 1 has no valid check digit


def _se_ids(rng: np.random.Generator, n: int, start: int) -> pl.Series:
    """Organisationsnummer ``NNNNNN-NNNC`` (Luhn), third digit 2 or more as issued."""
    body = 552_000_000 + start * 5 + np.arange(n) * 5 + rng.integers(0, 5, n)
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    doubled = digits * np.array([2, 1, 2, 1, 2, 1, 2, 1, 2])
    total = (doubled // 10 + doubled % 10).sum(axis=1)
    check = (10 - total % 10) % 10
    full = pl.Series(body * 10 + check).cast(pl.String)
    return full.str.slice(0, 6) + "-" + full.str.slice(6)


@dataclass(frozen=True)
class Companies:
    frame: pl.DataFrame          # one row per company (the latest snapshot)
    names: pl.Series             # registered name, e.g. "Kalone Data Oy"
    bare_names: pl.Series        # without the legal suffix
    domains: pl.Series
    business_ids: pl.Series      # null for countries without a validated ID
    countries: np.ndarray


def make_companies(rng: np.random.Generator, n: int, words: list[str]) -> Companies:
    country = COUNTRIES[_weighted(rng, n, COUNTRY_WEIGHTS)]
    first = _gather(words, rng.integers(0, len(words), n))
    second = _gather(words, rng.integers(0, len(words), n))
    second = second.set(pl.Series(rng.random(n) < 0.15), "")
    modifier = _gather(MODIFIERS, rng.integers(0, len(MODIFIERS), n))
    frame = pl.DataFrame({"first": first, "second": second, "modifier": modifier,
                          "country": country})
    bare = frame.select(pl.concat_str("first", "second", "modifier", separator=" ")
                        .str.replace_all(r"\s+", " ").str.strip_chars()).to_series()
    suffix = pl.Series(country).replace_strict(LEGAL_SUFFIX)
    names = bare + " " + suffix
    domain = (frame.select((pl.col("first") + pl.col("second")).str.to_lowercase()).to_series()
              + "." + pl.Series(country).replace_strict(TLD))
    ids = pl.Series([None] * n, dtype=pl.String)
    for cc, make in (("FI", _fi_ids), ("SE", _se_ids)):
        where = np.flatnonzero(country == cc)
        ids = ids.scatter(where, make(rng, len(where), 0))
    industry = rng.integers(0, len(INDUSTRIES), n)
    employees = np.maximum(1, rng.lognormal(3.5, 1.6, n)).astype(np.int64)
    tech_bits = rng.integers(0, 2 ** len(TECHNOLOGIES), n)
    export_s = int(datetime(*EXPORT_DATE.timetuple()[:3], tzinfo=UTC).timestamp())
    updated = export_s - rng.integers(0, 500 * 86400, n)
    status = _gather(("active", "dissolved", "bankrupt"), _weighted(rng, n, (0.97, 0.02, 0.01)))
    latest = pl.DataFrame({
        "business_id": ids,
        "company_name": names,
        "domain": domain,
        "country": country,
        "industry_code": _gather([c for c, _ in INDUSTRIES], industry),
        "industry": _gather([t for _, t in INDUSTRIES], industry),
        "employees": employees,
        "revenue": np.round(employees * rng.lognormal(11.5, 0.6, n), 2),
        "founded_year": rng.integers(1950, 2026, n),
        "_tech": tech_bits,
        "open_jobs": rng.poisson(np.minimum(employees / 40, 30)),
        "status": status,
        "updated_at": _timestamps(updated),
    }).with_columns(
        pl.concat_list(
            pl.when((pl.col("_tech") // (2 ** i)) % 2 == 1).then(pl.lit(t)) for i, t in
            enumerate(TECHNOLOGIES)
        ).list.drop_nulls().alias("technologies")
    ).drop("_tech")
    return Companies(latest, names, bare, domain, ids, country)


def companies_file(rng: np.random.Generator, companies: Companies) -> pl.DataFrame:
    """The firmographics export: every company's latest snapshot, a tenth with an older one."""
    latest = companies.frame
    older = latest.filter(pl.Series(rng.random(latest.height) < 0.10)).with_columns(
        (pl.col("updated_at") - pl.duration(days=400)).alias("updated_at"),
        (pl.col("employees") * 0.8).cast(pl.Int64).alias("employees"),
    )
    columns = ["business_id", "company_name", "domain", "country", "industry_code", "industry",
               "employees", "revenue", "founded_year", "technologies", "open_jobs", "status",
               "updated_at"]
    return pl.concat([latest, older]).select(columns)


def company_events(rng: np.random.Generator, companies: Companies) -> pl.DataFrame:
    with_id = np.flatnonzero(companies.business_ids.is_not_null().to_numpy())
    n = int(len(with_id) * 0.6)
    who = rng.choice(with_id, size=n)
    export_s = int(datetime(*EXPORT_DATE.timetuple()[:3], tzinfo=UTC).timestamp())
    return pl.DataFrame({
        "business_id": companies.business_ids.gather(who),
        "event_type": _gather(EVENT_TYPES, _weighted(rng, n, EVENT_WEIGHTS)),
        "occurred_at": _timestamps(export_s - rng.integers(1, 720 * 86400, n)),
    }).sort("occurred_at", "business_id")


def _typo(name: pl.Expr, rng: np.random.Generator, n: int) -> pl.Expr:
    """Swap two adjacent letters after the first word's first three (a fuzzy, not exact, match)."""
    at = pl.Series(rng.integers(3, 9, n))
    length = name.str.len_chars()
    k = pl.min_horizontal(pl.lit(at), length - 2)
    return (pl.when(length > 5)
            .then(name.str.slice(0, k) + name.str.slice(k + 1, 1) + name.str.slice(k, 1)
                  + name.str.slice(k + 2))
            .otherwise(name))


def _lead_chunk(rng: np.random.Generator, n: int, first_id: int, companies: Companies,
                ghosts: Companies) -> pl.DataFrame:
    """``n`` persons (lead ids from ``first_id``), 3% of them duplicates of others in the chunk."""
    export_s = int(datetime(*EXPORT_DATE.timetuple()[:3], tzinfo=UTC).timestamp())
    n_dup = n * 3 // 100
    n_people = n - n_dup
    known = rng.random(n_people) >= 0.12
    company = np.where(known, rng.integers(0, companies.frame.height, n_people),
                       rng.integers(0, ghosts.frame.height, n_people))
    known_s = pl.Series(known)

    def pick(attr: str) -> pl.Series:
        a = getattr(companies, attr)
        b = getattr(ghosts, attr)
        a_vals = a if isinstance(a, pl.Series) else pl.Series(a)
        b_vals = b if isinstance(b, pl.Series) else pl.Series(b)
        idx = pl.Series(company)
        return pl.select(pl.when(known_s).then(a_vals.gather(idx.clip(0, len(a_vals) - 1)))
                         .otherwise(b_vals.gather(idx.clip(0, len(b_vals) - 1)))).to_series()

    first = _gather(FIRST, rng.integers(0, len(FIRST), n_people))
    last = _gather(LAST, rng.integers(0, len(LAST), n_people))
    country = pick("countries")
    domain = pick("domains")
    mail_kind = _weighted(rng, n_people, (0.64, 0.20, 0.03, 0.13))  # business free bad none
    local = (first + "." + last).str.to_lowercase()
    free = _gather(FREE_MAIL, rng.integers(0, len(FREE_MAIL), n_people))
    number = pl.Series(rng.integers(1, 100_000, n_people)).cast(pl.String)
    name_kind = _weighted(rng, n_people, (0.55, 0.15, 0.20, 0.10))  # registered bare typo none
    website_kind = _weighted(rng, n_people, (0.35, 0.20, 0.45))
    bid_kind = _weighted(rng, n_people, (0.25, 0.08, 0.03, 0.64))  # as is, VAT, broken, none
    created = export_s - rng.integers(86400, HISTORY_DAYS * 86400, n_people)
    people = pl.DataFrame({
        "first_name": first, "last_name": last, "country": country, "_domain": domain,
        "_local": local, "_free": free, "_number": number, "_mail": mail_kind,
        "_registered": pick("names"), "_bare": pick("bare_names"), "_name_kind": name_kind,
        "_web": website_kind, "_bid": pick("business_ids"), "_bid_kind": bid_kind,
        "created_at": _timestamps(created),
        "title": _gather(TITLES, rng.integers(0, len(TITLES), n_people)),
        "_phone": pl.Series(rng.integers(10_000_000, 99_999_999, n_people)).cast(pl.String),
        "lead_source": _gather(("web_form", "event", "import", "referral", "paid_search"),
                               rng.integers(0, 5, n_people)),
        "owner": _gather(("Anna Berg", "Mikko Laine", "Lars Holm", "Emma Dahl"),
                         rng.integers(0, 4, n_people)),
        "crm_stage": _gather(("lead", "prospect", "opportunity", "customer", "lead"),
                             _weighted(rng, n_people, (0.6, 0.2, 0.08, 0.05, 0.07))),
        "budget": pl.Series(np.round(rng.lognormal(9.5, 1.0, n_people), -2)).set(
            pl.Series(rng.random(n_people) < 0.7), None),
        "_timeline_days": rng.integers(-200, 300, n_people),
        "_has_timeline": rng.random(n_people) < 0.2,
        "need": _gather(("CRM integration", "Reporting", "Automation", "Sales analytics"),
                        rng.integers(0, 4, n_people)).set(pl.Series(rng.random(n_people) < 0.6),
                                                           None),
        "opted_out": rng.random(n_people) < 0.02,
        "bounced": rng.random(n_people) < 0.02,
    })
    people = people.with_columns(_typo(pl.col("_registered"), rng, n_people).alias("_typo"))
    leads = people.select(
        "created_at",
        pl.when(pl.col("_mail") == 0).then(pl.col("_local") + "@" + pl.col("_domain"))
        .when(pl.col("_mail") == 1).then(pl.col("_local") + pl.col("_number") + "@"
                                         + pl.col("_free"))
        .when(pl.col("_mail") == 2).then(pl.col("_local") + "@@" + pl.col("_domain"))
        .alias("email"),
        "first_name", "last_name", "title",
        ("+" + pl.col("_phone")).alias("phone"),
        pl.when(pl.col("_name_kind") == 0).then("_registered")
        .when(pl.col("_name_kind") == 1).then("_bare")
        .when(pl.col("_name_kind") == 2).then("_typo").alias("company_name"),
        pl.when(pl.col("_web") == 0).then("https://www." + pl.col("_domain"))
        .when(pl.col("_web") == 1).then(pl.col("_domain")).alias("website"),
        pl.when(pl.col("_bid_kind") == 0).then("_bid")
        .when(pl.col("_bid_kind") == 1).then(pl.col("country") + pl.col("_bid").str.replace_all(
            "-", ""))
        .when(pl.col("_bid_kind") == 2).then(pl.col("_bid").str.slice(0, 6) + "99")
        .alias("business_id"),
        pl.when(pl.lit(pl.Series(rng.random(n_people) < 0.05))).then(None)
        .otherwise("country").alias("country"),
        "lead_source", "owner", "crm_stage", "budget",
        pl.when("_has_timeline").then(
            (pl.col("created_at") + pl.duration(days="_timeline_days")).dt.date()
        ).alias("timeline"),
        "need", "opted_out", "bounced",
    )
    # Duplicates: a later record of the same person; half re-case the email, a third lose it
    # (then the name and phone still tie them).
    source = rng.integers(0, n_people, n_dup)
    dups = leads[source].with_columns(
        pl.when(pl.lit(pl.Series(rng.random(n_dup) < 0.5))).then(pl.col("email").str.to_uppercase())
        .when(pl.lit(pl.Series(rng.random(n_dup) < 0.3))).then(None)
        .otherwise("email").alias("email"),
        (pl.col("created_at") + pl.duration(days=pl.lit(pl.Series(rng.integers(1, 60, n_dup)))))
        .alias("created_at"),
        _gather(TITLES, rng.integers(0, len(TITLES), n_dup)).alias("title"),
    )
    rows = pl.concat([leads, dups])
    return rows.with_row_index("_i").select(
        pl.format("L{}", (pl.col("_i").cast(pl.Int64) + first_id).cast(pl.String).str.zfill(9))
        .alias("lead_id"),
        pl.exclude("_i"),
        pl.format("00Q{}", (pl.col("_i").cast(pl.Int64) + first_id).cast(pl.String).str.zfill(12))
        .alias("crm_record_id"),
    )


def _activities(rng: np.random.Generator, leads: pl.DataFrame) -> pl.DataFrame:
    n_leads = leads.height
    export_s = int(datetime(*EXPORT_DATE.timetuple()[:3], tzinfo=UTC).timestamp())
    counts = rng.poisson(ACTIVITIES_PER_LEAD, n_leads)
    who = np.repeat(np.arange(n_leads), counts)
    n = len(who)
    created = (leads.get_column("created_at").dt.epoch("s").to_numpy())[who]
    occurred = created + (rng.random(n) * (export_s - created)).astype(np.int64)
    types = [t for t, _ in ACTIVITY_TYPES]
    type_idx = _weighted(rng, n, tuple(w for _, w in ACTIVITY_TYPES))
    by_email = rng.random(n) < 0.01
    unknown = rng.random(n) < 0.005
    lead_id = leads.get_column("lead_id").gather(who)
    email = leads.get_column("email").gather(who)
    frame = pl.DataFrame({
        "lead_id": lead_id, "email": email,
        "activity_type": _gather(types, type_idx),
        "occurred_at": _timestamps(occurred),
        "campaign": _gather(CAMPAIGNS, rng.integers(0, len(CAMPAIGNS), n)).set(
            pl.Series(rng.random(n) < 0.7), None),
        "url": _gather(URLS, rng.integers(0, len(URLS), n)).set(
            pl.Series(rng.random(n) < 0.6), None),
        "_by_email": by_email, "_unknown": unknown,
    })
    return frame.select(
        pl.when("_unknown").then(pl.lit("X") + pl.col("lead_id"))
        .when(pl.col("_by_email") & pl.col("email").is_not_null()).then(None)
        .otherwise("lead_id").alias("lead_id"),
        pl.when(pl.col("_by_email") & ~pl.col("_unknown")).then("email").alias("email"),
        "activity_type", "occurred_at", "campaign", "url",
    )


def _opportunities(rng: np.random.Generator, leads: pl.DataFrame, first_opp: int) -> pl.DataFrame:
    export_s = int(datetime(*EXPORT_DATE.timetuple()[:3], tzinfo=UTC).timestamp())
    who = np.flatnonzero(rng.random(leads.height) < 0.12)
    n = len(who)
    chosen = leads[who]
    created = chosen.get_column("created_at").dt.epoch("s").to_numpy()
    opened = created + (rng.random(n) * (export_s - created) * 0.8).astype(np.int64)
    closed = opened + rng.integers(5 * 86400, 200 * 86400, n)
    is_closed = closed < export_s
    won = rng.random(n) < 0.35
    stage = np.where(is_closed, np.where(won, "Closed Won", "Closed Lost"),
                     np.array(("Qualification", "Proposal", "Negotiation"))[rng.integers(0, 3, n)])
    return pl.DataFrame({
        "opportunity_id": "OPP-" + pl.Series(np.arange(first_opp, first_opp + n))
        .cast(pl.String).str.zfill(9),
        "lead_id": chosen.get_column("lead_id"),
        "business_id": chosen.get_column("business_id"),
        "company_name": chosen.get_column("company_name"),
        "created_at": _timestamps(opened),
        "stage": stage,
        "closed_at": _timestamps(closed).set(pl.Series(~is_closed), None),
        "won": pl.Series(is_closed & won).set(pl.Series(~is_closed), None),
        "amount": np.round(rng.lognormal(9.8, 0.8, n), 2),
    })


class _Writer:
    """Appends row groups to one Parquet file (zstd), so a source never sits whole in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table, row_group_size=1_000_000)
        self.rows += frame.height

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def generate(leads: int, seed: int, folder: Path) -> dict[str, object]:
    """Write the five sources for ``leads`` leads into ``folder`` (atomically); return the info."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    words = _words(rng, 8000)
    n_companies = max(10, leads // 5)
    companies = make_companies(rng, n_companies, words)
    ghosts = make_companies(np.random.default_rng(seed + 1), max(10, n_companies // 5),
                            _words(np.random.default_rng(seed + 2), 3000))
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    companies_file(rng, companies).write_parquet(tmp / "companies.parquet", compression="zstd")
    company_events(rng, companies).write_parquet(tmp / "company_events.parquet",
                                                 compression="zstd")
    writers = {s: _Writer(tmp / f"{s}.parquet") for s in ("leads", "activities", "opportunities")}
    opportunities = 0
    for chunk, first in enumerate(range(0, leads, CHUNK)):
        chunk_rng = np.random.default_rng([seed, chunk])
        rows = _lead_chunk(chunk_rng, min(CHUNK, leads - first), first + 1, companies, ghosts)
        writers["leads"].write(rows)
        writers["activities"].write(_activities(chunk_rng, rows))
        opps = _opportunities(chunk_rng, rows, opportunities + 1)
        opportunities += opps.height
        writers["opportunities"].write(opps)
    for w in writers.values():
        w.close()
    info: dict[str, object] = {
        "generator": "bench", "version": GENERATOR_VERSION, "leads": leads, "seed": seed,
        "export_date": EXPORT_DATE.isoformat(),
        "rows": {name: pl.scan_parquet(tmp / f"{name}.parquet").select(pl.len()).collect().item()
                 for name in ("leads", "activities", "opportunities", "companies",
                              "company_events")},
        "generate_seconds": round(time.perf_counter() - start, 1),
    }
    (tmp / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return info


def ensure_inputs(leads: int, seed: int, base: Path = OUT) -> tuple[Path, dict[str, object]]:
    """The cached inputs for (leads, seed) under ``base``, generated on first use."""
    folder = base / f"data-{leads}-s{seed}"
    marker = folder / "bench.json"
    if marker.is_file():
        info = json.loads(marker.read_text())
        if info.get("version") == GENERATOR_VERSION:
            return folder, info
    return folder, generate(leads, seed, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    folder, info = ensure_inputs(args.leads, args.seed)
    print(json.dumps({"folder": str(folder), **info}))


if __name__ == "__main__":
    main()
