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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from features.schema import ACTIVITY_TYPES, UTC_DATETIME

GENERATOR = "leadscore.sample"
VERSION = 1
HISTORY_DAYS = 730
MIN_LEADS = 50
SOURCE_FILES: dict[str, str] = {
    "leads": "leads.csv",
    "companies": "companies.csv",
    "activities": "activities.parquet",
    "opportunities": "opportunities.csv",
    "company_events": "company_events.csv",
}
DAY = 86_400
_FAR_FUTURE = np.iinfo(np.int64).max // 4

Rng = np.random.Generator

# ---- reference tables --------------------------------------------------------------------------

COUNTRIES = ("FI", "SE", "NO", "DK", "EE", "DE", "GB", "US")
_COUNTRY_WEIGHTS = (0.38, 0.27, 0.15, 0.13, 0.04, 0.01, 0.01, 0.01)
_NORDIC = 4  # FI, SE, NO, DK are the first four; EE is in territory; the rest are outside it
_TLD = ("fi", "se", "no", "dk", "ee", "com", "com", "com")
COUNTRY_NAMES = (
    ("Finland", "Suomi"), ("Sweden", "Sverige"), ("Norway", "Norge"), ("Denmark", "Danmark"),
    ("Estonia", "Eesti"), ("Germany", "Deutschland"), ("United Kingdom", "Great Britain"),
    ("United States", "USA"),
)
_LEGAL_FORMS = (
    (("Oy", 0.85), ("Oyj", 0.07), ("Ab", 0.08)),
    (("AB", 1.0),),
    (("AS", 0.88), ("ASA", 0.12)),
    (("A/S", 0.5), ("ApS", 0.5)),
    (("OÜ", 0.7), ("AS", 0.3)),
    (("GmbH", 1.0),),
    (("Ltd", 1.0),),
    (("Inc.", 1.0),),
)
# The form a lead's CRM record sometimes carries instead of the registered one.
_FORM_SWAPS = {"Oyj": "Oy", "ASA": "AS", "ApS": "A/S", "AB": "Ab", "Ab": "Oy Ab"}

# (NACE code, label, share of companies, relative size, software/IT)
INDUSTRIES = (
    ("62.01", "Computer programming activities", 0.12, 1.0, True),
    ("62.02", "Computer consultancy activities", 0.10, 1.0, True),
    ("63.11", "Data processing, hosting and related activities", 0.05, 1.2, True),
    ("58.29", "Other software publishing", 0.05, 1.0, False),
    ("46.51", "Wholesale of computers, computer peripheral equipment and software", 0.06, 1.3,
     False),
    ("25.62", "Machining", 0.08, 1.5, False),
    ("47.91", "Retail sale via mail order houses or via Internet", 0.08, 0.8, False),
    ("64.19", "Other monetary intermediation", 0.04, 4.0, False),
    ("70.22", "Business and other management consultancy activities", 0.12, 0.6, False),
    ("86.10", "Hospital activities", 0.06, 6.0, False),
    ("41.20", "Construction of residential and non-residential buildings", 0.14, 1.4, False),
    ("49.41", "Freight transport by road", 0.10, 1.2, False),
)
_IS_IT = np.array([row[4] for row in INDUSTRIES])
_INDUSTRY_WORDS = (
    ("Software", "Code", "Ohjelmistot", "Apps", "Dev"),
    ("IT", "Tech", "Solutions", "Systems", "Digital"),
    ("Data", "Cloud", "Hosting", "Analytics"),
    ("Software", "Labs", "Publishing"),
    ("Tukku", "Distribution", "Trading", "Grossist"),
    ("Konepaja", "Mekaniska", "Mekanikk", "Metal"),
    ("Verkkokauppa", "Shop", "Handel", "Store"),
    ("Pankki", "Bank", "Sparebank", "Capital"),
    ("Consulting", "Konsult", "Rådgivning", "Advisory", "Partners"),
    ("Terveys", "Vård", "Helse", "Klinik", "Health"),
    ("Rakennus", "Bygg", "Byg", "Construction"),
    ("Kuljetus", "Transport", "Frakt", "Logistik", "Logistiikka"),
)
_PLACE_WORDS = (
    ("Pohjolan", "Suomen", "Järvi", "Mäki", "Kärki", "Länsi", "Itä", "Hämeen", "Savon", "Lapin",
     "Väre", "Tähti", "Kivi", "Metsä", "Äänekosken", "Pääkaupungin"),
    ("Nordström", "Göta", "Åkers", "Svea", "Väst", "Öst", "Norr", "Söder", "Fjäll", "Älv",
     "Skärgårds", "Malmö", "Björk", "Lind"),
    ("Fjørd", "Bjørn", "Nord", "Vest", "Øst", "Sør", "Bergens", "Trønder", "Hav", "Fjell", "Løve",
     "Ålesund", "Stavanger"),
    ("Søndergård", "Ærø", "Høj", "Nørre", "Vester", "Øster", "Fyns", "Jysk", "Kjær", "Møller",
     "Aarhus", "Ålborg", "Bækgaard"),
    ("Tallinna", "Tartu", "Balti", "Põhja", "Läänemere", "Viru", "Saare"),
    ("Atlantic", "Bavaria", "Thames", "Pioneer", "Summit", "Rhein", "Liberty", "Crown"),
)
_SYLLABLES = (
    "ka", "lo", "vi", "nor", "sun", "tek", "mar", "ri", "sa", "vo", "ne", "lin", "ber", "dal", "ta",
    "ki", "ro", "ven", "as", "el", "ko", "mi", "ra", "tu", "va", "ol", "ny", "ar", "is", "fin",
    "sol", "dan", "sve", "bal", "lu", "po", "gan", "ek", "ul", "ha",
)
TECHNOLOGIES = (
    "salesforce", "hubspot", "pipedrive", "microsoft_dynamics", "aws", "azure", "gcp",
    "microsoft365", "google_workspace", "slack", "jira", "sap", "netvisor", "procountor", "visma",
    "fortnox", "tripletex", "e-conomic", "shopify", "wordpress",
)
_TECH_BASE = (0.10, 0.12, 0.06, 0.05, 0.15, 0.20, 0.06, 0.55, 0.25, 0.15, 0.10, 0.04, 0.0, 0.0,
              0.20, 0.0, 0.0, 0.0, 0.05, 0.30)
_TECH_LOCAL = {12: 0, 13: 0, 15: 1, 16: 2, 17: 3}  # accounting tools used in one country only
_TECH_IT_BOOST = (1.5, 1.8, 1.2, 1.0, 3.0, 1.8, 3.0, 1.2, 1.8, 3.0, 4.0, 0.5, 1, 1, 1, 1, 1, 1, 0.5,
                  1.0)

FIRST_NAMES = (
    ("Mikko", "Matti", "Juha", "Jukka", "Antti", "Ville", "Sami", "Timo", "Jyrki", "Väinö", "Päivi",
     "Anna", "Aino", "Sanna", "Tiina", "Minna", "Heidi", "Kaisa", "Elina", "Pekka"),
    ("Åsa", "Anders", "Björn", "Göran", "Ingrid", "Lars", "Karin", "Erik", "Maria", "Johan",
     "Sofia", "Mikael", "Linnéa", "Per", "Ulla", "Örjan", "Märta"),
    ("Jørgen", "Ingrid", "Ole", "Kari", "Bjørn", "Sigrid", "Håkon", "Lars", "Kristin", "Øystein",
     "Marit", "Eirik", "Solveig", "Tor", "Åse"),
    ("Søren", "Mette", "Lars", "Anders", "Jens", "Pernille", "Mads", "Camilla", "Rasmus",
     "Birgitte", "Kasper", "Henrik", "Lærke", "Jørn"),
    ("Mart", "Kadri", "Tõnu", "Liis", "Jüri", "Kristjan", "Triin", "Andres", "Mari", "Priit"),
    ("John", "Sarah", "Michael", "Emma", "Thomas", "Laura", "David", "Julia", "James", "Stefan",
     "Claire"),
)
LAST_NAMES = (
    ("Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
     "Koskinen", "Järvinen", "Lehtonen", "Äijälä", "Kärkkäinen", "Salonen", "Heinonen", "Öhman",
     "Lindholm", "Väisänen"),
    ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Öberg", "Ström", "Åberg",
     "Lindqvist", "Berglund", "Sjögren", "Håkansson", "Bergström", "Löfgren"),
    ("Hansen", "Johansen", "Olsen", "Larsen", "Berg", "Bråten", "Sørensen", "Dahl", "Løvås",
     "Haugen", "Bakken", "Strøm", "Nygård", "Ødegård"),
    ("Nielsen", "Jensen", "Hansen", "Pedersen", "Møller", "Søndergaard", "Kjær", "Christensen",
     "Rasmussen", "Thomsen", "Bæk", "Holm", "Østergaard", "Lund"),
    ("Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel"),
    ("Smith", "Müller", "Schmidt", "Brown", "Johnson", "Williams", "Schneider", "Taylor", "Fischer",
     "Jones", "Weber", "Miller"),
)
_NAME_GROUP = np.array([0, 1, 2, 3, 4, 5, 5, 5])
_ASCII_FOLD = (("ä", "a"), ("ö", "o"), ("å", "a"), ("ø", "o"), ("æ", "ae"), ("ü", "u"),
               ("õ", "o"), ("é", "e"))

# (title, seniority, department, language, relative frequency within its language)
_TITLE_TABLE: tuple[tuple[str, str, str, str, float], ...] = (
    ("CEO", "c_level", "executive", "en", 5),
    ("Chief Executive Officer", "c_level", "executive", "en", 1),
    ("Founder", "c_level", "executive", "en", 1),
    ("Managing Director", "c_level", "executive", "en", 1),
    ("CTO", "c_level", "engineering", "en", 3),
    ("CIO", "c_level", "it", "en", 2),
    ("CFO", "c_level", "finance", "en", 3),
    ("COO", "c_level", "operations", "en", 2),
    ("CMO", "c_level", "marketing", "en", 2),
    ("VP of Sales", "vp", "sales", "en", 2),
    ("VP Engineering", "vp", "engineering", "en", 2),
    ("Vice President, Marketing", "vp", "marketing", "en", 1),
    ("Head of IT", "director", "it", "en", 4),
    ("IT Director", "director", "it", "en", 3),
    ("Head of Sales", "director", "sales", "en", 3),
    ("Sales Director", "director", "sales", "en", 3),
    ("Head of Marketing", "director", "marketing", "en", 2),
    ("Engineering Manager", "manager", "engineering", "en", 3),
    ("IT Manager", "manager", "it", "en", 4),
    ("Sales Manager", "manager", "sales", "en", 5),
    ("Marketing Manager", "manager", "marketing", "en", 5),
    ("Operations Manager", "manager", "operations", "en", 3),
    ("HR Manager", "manager", "hr", "en", 3),
    ("Finance Manager", "manager", "finance", "en", 2),
    ("Software Engineer", "individual", "engineering", "en", 8),
    ("Developer", "individual", "engineering", "en", 5),
    ("DevOps Engineer", "individual", "engineering", "en", 2),
    ("System Administrator", "individual", "it", "en", 3),
    ("Account Executive", "individual", "sales", "en", 4),
    ("Marketing Coordinator", "individual", "marketing", "en", 4),
    ("Accountant", "individual", "finance", "en", 3),
    ("Consultant", "individual", "other", "en", 3),
    ("Student", "individual", "other", "en", 3),
    ("Toimitusjohtaja", "c_level", "executive", "fi", 6),
    ("Talousjohtaja", "c_level", "finance", "fi", 2),
    ("Teknologiajohtaja", "c_level", "engineering", "fi", 1),
    ("Tietohallintojohtaja", "c_level", "it", "fi", 2),
    ("Varatoimitusjohtaja", "vp", "executive", "fi", 1),
    ("IT-johtaja", "director", "it", "fi", 2),
    ("Myyntijohtaja", "director", "sales", "fi", 3),
    ("IT-päällikkö", "manager", "it", "fi", 4),
    ("Myyntipäällikkö", "manager", "sales", "fi", 5),
    ("Markkinointipäällikkö", "manager", "marketing", "fi", 4),
    ("Henkilöstöpäällikkö", "manager", "hr", "fi", 2),
    ("Tuotantopäällikkö", "manager", "operations", "fi", 3),
    ("Ohjelmistokehittäjä", "individual", "engineering", "fi", 6),
    ("Markkinointikoordinaattori", "individual", "marketing", "fi", 3),
    ("Kirjanpitäjä", "individual", "finance", "fi", 3),
    ("Opiskelija", "individual", "other", "fi", 2),
    ("VD", "c_level", "executive", "sv", 6),
    ("Verkställande direktör", "c_level", "executive", "sv", 1),
    ("Vice VD", "vp", "executive", "sv", 1),
    ("Försäljningsdirektör", "director", "sales", "sv", 2),
    ("IT-chef", "manager", "it", "sv", 4),
    ("Försäljningschef", "manager", "sales", "sv", 5),
    ("Marknadschef", "manager", "marketing", "sv", 4),
    ("Ekonomichef", "manager", "finance", "sv", 3),
    ("Personalchef", "manager", "hr", "sv", 2),
    ("Driftchef", "manager", "operations", "sv", 2),
    ("Utvecklare", "individual", "engineering", "sv", 5),
    ("Systemutvecklare", "individual", "engineering", "sv", 3),
    ("Ekonomiassistent", "individual", "finance", "sv", 3),
    ("Säljare", "individual", "sales", "sv", 3),
    ("Daglig leder", "c_level", "executive", "no", 6),
    ("Administrerende direktør", "c_level", "executive", "no", 3),
    ("Salgsdirektør", "director", "sales", "no", 2),
    ("IT-sjef", "manager", "it", "no", 4),
    ("Salgssjef", "manager", "sales", "no", 5),
    ("Markedssjef", "manager", "marketing", "no", 3),
    ("Økonomisjef", "manager", "finance", "no", 3),
    ("HR-sjef", "manager", "hr", "no", 2),
    ("Driftssjef", "manager", "operations", "no", 2),
    ("Utvikler", "individual", "engineering", "no", 5),
    ("Systemutvikler", "individual", "engineering", "no", 2),
    ("Regnskapsmedarbeider", "individual", "finance", "no", 2),
    ("Adm. direktør", "c_level", "executive", "da", 4),
    ("IT-direktør", "director", "it", "da", 2),
    ("Salgschef", "manager", "sales", "da", 5),
    ("Marketingchef", "manager", "marketing", "da", 3),
    ("Økonomichef", "manager", "finance", "da", 3),
    ("HR-chef", "manager", "hr", "da", 2),
    ("Driftschef", "manager", "operations", "da", 2),
    ("Softwareudvikler", "individual", "engineering", "da", 5),
    ("Bogholder", "individual", "finance", "da", 3),
    ("Studerende", "individual", "other", "da", 2),
)
TITLES: tuple[tuple[str, str, str], ...] = tuple(row[:3] for row in _TITLE_TABLE)
"""(title, seniority, department) for every title the generator writes, before case dirt."""
SENIORITIES = ("c_level", "vp", "director", "manager", "individual")
DEPARTMENTS = ("it", "engineering", "sales", "marketing", "finance", "operations", "hr",
               "executive", "other")
_TITLE_LANGUAGES = ("en", "fi", "sv", "no", "da")
_LOCAL_TITLE_LANGUAGE = (1, 2, 3, 4, 0, 0, 0, 0)  # per country: which language is local

FREE_MAIL_DOMAINS = (
    ("gmail.com", "hotmail.fi", "luukku.com", "outlook.com", "hotmail.com"),
    ("gmail.com", "live.se", "yahoo.se", "hotmail.se", "outlook.com"),
    ("gmail.com", "online.no", "hotmail.no", "outlook.com"),
    ("gmail.com", "hotmail.dk", "outlook.dk", "live.dk"),
    ("gmail.com", "hot.ee", "outlook.com"),
    ("gmail.com", "outlook.com", "yahoo.com"),
)
_ROLE_LOCALS = (("info", "myynti"), ("info", "kontakt"), ("post", "salg"), ("info", "salg"),
                ("info",), ("info", "sales"))
COMPETITOR_DOMAIN = "rival.example"
_COMPETITOR_NAMES = ("Rival Oy", "Rival", "RIVAL OY", "Rival Oy (kilpailija)")
PLACEHOLDERS = ("Select", "N/A", "-")
LEAD_SOURCES = ("web_form", "webinar", "event", "referral", "paid_search", "organic", "partner",
                "cold_list")
_SOURCE_WEIGHTS = (0.25, 0.12, 0.10, 0.06, 0.14, 0.15, 0.05, 0.13)
_SOURCE_BUYING = np.array([1.2, 1.1, 1.0, 1.6, 1.0, 1.0, 1.4, 0.5])
_SOURCE_ACTIVITY = np.array([1.1, 1.2, 0.9, 0.9, 1.0, 1.0, 0.9, 0.5])
_OWNERS = (
    ("Anna Korhonen", "Jukka Mäkelä", "Sanna Laine"), ("Erik Lindqvist", "Karin Åberg"),
    ("Sofie Hansen", "Håkon Dahl"), ("Mikkel Sørensen", "Mette Holm"), ("Anna Korhonen",),
    ("Export Desk",),
)
_NEEDS = ("CRM integration", "Sales reporting", "Lead routing", "Replace spreadsheets",
          "Marketing automation", "Data quality", "Raportointi", "Integration mot ERP")
UNPARSEABLE_DATES = ("yesterday", "2025-13-45 10:00:00", "30/02/2025", "0000-00-00 00:00:00",
                     "#VALUE!")
VENDOR_SITE = "https://www.leadscore-demo.example"

_A = {name: i for i, name in enumerate(ACTIVITY_TYPES)}
_EMAIL_TYPES = np.array([_A["email_open"], _A["email_click"]])
_VALID_EMAIL = r"(?i)^\s*[^@\s]+@[^@\s]+\.[a-z]+\s*$"


def _type_mix(**weights: float) -> np.ndarray:
    """Probability vector over ACTIVITY_TYPES from keyword weights (missing types get 0)."""
    mix = np.array([weights.get(t, 0.0) for t in ACTIVITY_TYPES])
    return mix / mix.sum()


_BASELINE_MIX = _type_mix(
    email_open=36, email_click=10, page_view=30, pricing_page_view=1.5, content_download=6,
    form_submit=2, webinar_attended=3, demo_request=0.15, pricing_request=0.15,
    contact_sales=0.1, meeting=0.5, call=1.5, reply=1.5,
)
_ENGAGED_MIX = _type_mix(
    email_open=25, email_click=12, page_view=33, pricing_page_view=3, content_download=12,
    form_submit=3, webinar_attended=7, reply=2, call=1, meeting=1,
)
_BUYING_MIX = _type_mix(
    page_view=25, pricing_page_view=20, content_download=8, email_open=10, email_click=8,
    demo_request=5, pricing_request=4, contact_sales=3, form_submit=4, webinar_attended=2,
    reply=5, call=2, meeting=1,
)
_SIGNAL_MIX = _type_mix(demo_request=45, pricing_request=30, contact_sales=25)
_SALES_MIX = _type_mix(meeting=35, call=35, reply=30)
# Nordic office hours, in UTC: most activity 06-15 UTC, a little in the evening.
_HOUR_WEIGHTS = np.array([1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 9, 10, 10, 8, 6, 4, 3, 3, 3, 2, 2,
                          1, 1], dtype=float)
_HOUR_WEIGHTS /= _HOUR_WEIGHTS.sum()

_URL_PATHS: dict[str, tuple[str, ...]] = {
    "page_view": ("/", "/product", "/customers", "/integrations", "/blog/lead-scoring-101",
                  "/blog/crm-data-quality", "/about", "/careers"),
    "email_click": ("/blog/lead-scoring-101", "/webinars", "/resources/guide-crm-data-quality"),
    "pricing_page_view": ("/pricing", "/pricing/enterprise"),
    "content_download": ("/resources/guide-crm-data-quality", "/resources/ebook-lead-scoring",
                         "/resources/whitepaper-gdpr"),
    "form_submit": ("/contact", "/newsletter"),
    "demo_request": ("/demo",),
    "pricing_request": ("/pricing/quote",),
    "contact_sales": ("/contact-sales",),
}


@dataclass(frozen=True)
class _Clock:
    """History runs from ``start`` (inclusive) to ``end`` = export_date 00:00 UTC (exclusive)."""

    start: int
    end: int

    @property
    def span(self) -> int:
        return self.end - self.start


@dataclass
class _Companies:
    """One row per company (the truth); ``frame`` holds its text attributes."""

    frame: pl.DataFrame  # company_name, base_name, legal_form, domain, business_id, country_code
    country: np.ndarray
    industry: np.ndarray
    employees: np.ndarray
    covered: np.ndarray  # in companies.csv; the rest are unknown to the firmographics provider
    death: np.ndarray  # when it went bankrupt or was dissolved; _FAR_FUTURE if alive
    status: np.ndarray  # 0 active, 1 dissolved, 2 liquidation (newest snapshot)


@dataclass
class _People:
    """One entry per real person (duplicates are added later as extra lead rows)."""

    company: np.ndarray  # -1 for competitors
    country: np.ndarray
    created: np.ndarray
    source: np.ndarray
    title: np.ndarray  # index into _TITLE_TABLE
    email_kind: np.ndarray  # 0 business, 1 free mail, 2 role address, 3 none
    fit: np.ndarray
    opted_out: np.ndarray
    bounced: np.ndarray
    silent: np.ndarray  # rows with no lead_id: nothing can reference them

    @property
    def n(self) -> int:
        return len(self.company)


@dataclass
class _Deals:
    """At most one opportunity per person."""

    person: np.ndarray
    created: np.ndarray
    closed: np.ndarray  # _FAR_FUTURE when still open at export
    won: np.ndarray


# ---- small vectorized helpers ------------------------------------------------------------------


def _take(values: Sequence[str | None], idx: np.ndarray) -> pl.Series:
    """values[idx] as a String series (fast: gathers from a small series)."""
    return pl.Series(values=list(values), dtype=pl.String).gather(idx)


_QUANTUM = 1 << 13


def _choice(rng: Rng, n: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """n draws of an index with the given relative weights.

    For short weight lists, a lookup table of 8192 slots (weights rounded to 1/8192) makes tens
    of millions of draws several times faster than ``rng.choice(p=...)``."""
    p = np.asarray(weights, dtype=float)
    p = p / p.sum()
    if len(p) > 256:
        return np.searchsorted(np.cumsum(p), rng.random(n) * p.sum(), side="right").clip(
            0, len(p) - 1)
    slots = np.floor(p * _QUANTUM).astype(np.int64)
    short = _QUANTUM - slots.sum()
    slots[np.argsort(slots - p * _QUANTUM, kind="stable")[:short]] += 1
    table = np.repeat(np.arange(len(p)), slots)
    return table[rng.integers(0, _QUANTUM, n)]


def _pick_in_groups(rng: Rng, groups: np.ndarray, tables: Sequence[Sequence[str]]) -> pl.Series:
    """For each row, a uniform pick from ``tables[group]``."""
    lengths = np.array([len(t) for t in tables])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = [v for t in tables for v in t]
    idx = offsets[groups] + (rng.random(len(groups)) * lengths[groups]).astype(np.int64)
    return _take(flat, idx)


def _keep(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """values where mask, else null."""
    return values.to_frame("v").select(pl.when(pl.Series(mask)).then(pl.col("v"))).to_series()


def _datetimes(seconds: np.ndarray) -> pl.Series:
    return pl.Series(seconds.astype(np.int64) * 1_000_000).cast(UTC_DATETIME)


def _office_hours(rng: Rng, t: np.ndarray) -> np.ndarray:
    """Move each time to a random office-hours moment of the same UTC day."""
    hours = _choice(rng, len(t), _HOUR_WEIGHTS)
    return (t // DAY) * DAY + hours * 3600 + rng.integers(0, 3600, size=len(t))


def _ascii_fold(expr: pl.Expr) -> pl.Expr:
    src, dst = zip(*_ASCII_FOLD, strict=True)
    return expr.str.to_lowercase().str.replace_many(list(src), list(dst))


def _occurrence(keys: pl.Series) -> pl.Series:
    """0 for the first row with each key (in order), 1 for the second, and so on. Numbers only
    the repeated keys: a window over millions of distinct strings is slow."""
    repeated = keys.is_duplicated()
    dups = keys.to_frame("k").with_row_index("i").filter(repeated).with_columns(
        nth=pl.int_range(pl.len()).over("k"))
    out = np.zeros(len(keys), dtype=np.int64)
    out[dups["i"].to_numpy()] = dups["nth"].to_numpy()
    return pl.Series(out)


# ---- business identifiers (check digits verified against python-stdnum in the tests) ----------


def _digits(body: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (body[:, None] // powers) % 10


def _unique_bodies(rng: Rng, n: int, low: int, high: int) -> np.ndarray:
    """Distinct random integers in [low, high), more than n so invalid ones can be dropped."""
    m = min(high - low, int(n * 1.3) + 50)
    return low + rng.choice(high - low, size=m, replace=False)


def _weighted_check(body: np.ndarray, width: int, weights: Sequence[int]) -> np.ndarray:
    """Mod-11 check digit making the weighted sum 0 mod 11 (10 means no valid digit)."""
    total = _digits(body, width) @ np.asarray(weights)
    return (-total) % 11


def _fi_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 1_000_000, 3_400_000)
    check = _weighted_check(body, 7, (7, 9, 10, 5, 8, 4, 2))
    ok = check < 10
    return (body[ok] * 10 + check[ok])[:n]


def _se_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 556_000_000, 559_999_999)
    d = _digits(body, 9)
    doubled = d[:, 0::2] * 2
    total = (doubled // 10 + doubled % 10).sum(axis=1) + d[:, 1::2].sum(axis=1)
    return (body * 10 + (10 - total % 10) % 10)[:n]


def _no_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 81_000_000, 99_999_999)
    total = _digits(body, 8) @ np.array([3, 2, 7, 6, 5, 4, 3, 2])
    check = (11 - total % 11) % 11
    ok = check < 10
    return (body[ok] * 10 + check[ok])[:n]


def _dk_ids(rng: Rng, n: int) -> np.ndarray:
    # No leading 1, so a CVR is never mistaken for an Estonian registry code by its shape.
    body = _unique_bodies(rng, n, 2_000_000, 9_999_999)
    check = _weighted_check(body, 7, (2, 7, 6, 5, 4, 3, 2))
    ok = check < 10
    return (body[ok] * 10 + check[ok])[:n]


def _ee_ids(rng: Rng, n: int) -> np.ndarray:
    body = _unique_bodies(rng, n, 1_000_000, 1_699_999)
    d = _digits(body, 7)
    first = (d @ (np.arange(7) % 9 + 1)) % 11
    second = (d @ ((np.arange(7) + 2) % 9 + 1)) % 11
    check = np.where(first == 10, second, first) % 10
    return (body * 10 + check)[:n]


def _foreign_ids(rng: Rng, n: int) -> np.ndarray:
    return _unique_bodies(rng, n, 10_000_000, 99_999_999)[:n]


_ID_MAKERS = (_fi_ids, _se_ids, _no_ids, _dk_ids, _ee_ids, _foreign_ids, _foreign_ids,
              _foreign_ids)
_ID_WIDTH = (8, 10, 9, 8, 8, 8, 8, 9)  # digits, zero-padded: a US EIN has nine


def _compact_ids(rng: Rng, country: np.ndarray) -> pl.Series:
    """Unique, valid registry numbers (digits only, zero-padded) for each company's country."""
    numbers = np.zeros(len(country), dtype=np.int64)
    for code, make in enumerate(_ID_MAKERS):
        rows = np.flatnonzero(country == code)
        made = make(rng, len(rows))
        if len(made) < len(rows):
            raise ValueError(f"too many companies in {COUNTRIES[code]} for its id space")
        numbers[rows] = made
    width = np.asarray(_ID_WIDTH)[country]
    text = pl.Series(numbers).cast(pl.String)
    return pl.DataFrame({"t": text, "w": width}).select(
        pl.col("t").str.zfill(pl.col("w"))
    ).to_series()


def _format_business_id(compact: pl.Expr, country: pl.Expr) -> pl.Expr:
    """Each registry's own way of writing its number."""
    c = compact
    return (
        pl.when(country == "FI").then(pl.concat_str(c.str.slice(0, 7), pl.lit("-"), c.str.slice(7)))
        .when(country == "SE").then(pl.concat_str(c.str.slice(0, 6), pl.lit("-"), c.str.slice(6)))
        .when(country == "DE").then(pl.concat_str(pl.lit("HRB "), c.str.slice(3)))
        .when(country == "US").then(pl.concat_str(c.str.slice(0, 2), pl.lit("-"), c.str.slice(2)))
        .otherwise(c)
    )


# ---- companies ---------------------------------------------------------------------------------


def _company_names(rng: Rng, country: np.ndarray, industry: np.ndarray) -> pl.DataFrame:
    """Brand-like names (invented syllables, place words, industry words) plus a legal form."""
    n = len(country)
    syl = [_take(_SYLLABLES, rng.integers(0, len(_SYLLABLES), n)) for _ in range(3)]
    three = rng.random(n) < 0.4
    brand = pl.DataFrame({"a": syl[0], "b": syl[1], "c": syl[2], "three": three}).select(
        (pl.col("a") + pl.col("b") + pl.when("three").then(pl.col("c")).otherwise(pl.lit("")))
        .str.to_titlecase()
    ).to_series()
    place = _pick_in_groups(rng, _NAME_GROUP[country], _PLACE_WORDS)
    word = _pick_in_groups(rng, industry, _INDUSTRY_WORDS)
    forms = np.zeros(n, dtype=np.int64)
    flat_forms: list[str] = []
    for code, options in enumerate(_LEGAL_FORMS):
        rows = np.flatnonzero(country == code)
        forms[rows] = len(flat_forms) + _choice(rng, len(rows), [w for _, w in options])
        flat_forms.extend(f for f, _ in options)
    pattern = _choice(rng, n, (0.4, 0.3, 0.2, 0.1))
    frame = pl.DataFrame({"brand": brand, "place": place, "word": word, "p": pattern,
                          "legal_form": _take(flat_forms, forms)})
    base = (
        pl.when(pl.col("p") == 0).then(pl.concat_str("brand", "word", separator=" "))
        .when(pl.col("p") == 1).then(pl.concat_str("place", "word", separator=" "))
        .when(pl.col("p") == 2).then(pl.col("brand"))
        .otherwise(pl.concat_str("place", "brand", separator=" "))
    )
    return frame.select(
        base.alias("base_name"),
        pl.col("legal_form"),
        pl.concat_str(base, pl.col("legal_form"), separator=" ").alias("company_name"),
    )


def _domains(names: pl.DataFrame, country: np.ndarray, rng: Rng) -> pl.Series:
    """Distinct domains from the base name: ``kalevodata.fi``, ``kalevo-data.com``,
    ``kalevodata2.fi``."""
    tld = np.where(rng.random(len(country)) < 0.12, "com", np.asarray(_TLD)[country])
    hyphen = rng.random(len(country)) < 0.2
    slug = _ascii_fold(pl.col("base_name")).str.replace_all(r"[^a-z0-9 ]", "")
    slug = pl.when(pl.Series(hyphen)).then(slug.str.replace_all(" ", "-")).otherwise(
        slug.str.replace_all(" ", "")
    )
    frame = names.select(slug.alias("slug"), pl.Series("tld", tld))
    frame = frame.with_columns(nth=_occurrence(frame.select(
        pl.concat_str("slug", "tld", separator=".")).to_series()))
    nth = pl.col("nth")
    return frame.select(
        pl.concat_str(
            pl.col("slug"),
            pl.when(nth > 0).then((nth + 1).cast(pl.String)).otherwise(pl.lit("")),
            pl.lit("."),
            pl.col("tld"),
        )
    ).to_series()


def _make_companies(rng: Rng, n: int, clock: _Clock) -> _Companies:
    country = _choice(rng, n, _COUNTRY_WEIGHTS)
    industry = _choice(rng, n, [row[2] for row in INDUSTRIES])
    size = np.array([row[3] for row in INDUSTRIES])[industry]
    employees = np.clip(np.rint(rng.lognormal(np.log(22), 1.7, n) * size), 1, 20_000)
    names = _company_names(rng, country, industry)
    codes = pl.Series("country_code", np.asarray(COUNTRIES)[country])
    compact = _compact_ids(rng, country)
    frame = names.with_columns(
        domain=_domains(names, country, rng),
        country_code=codes,
        compact_id=compact,
        business_id=pl.DataFrame({"c": compact, "k": codes}).select(
            _format_business_id(pl.col("c"), pl.col("k"))).to_series(),
    )
    status = np.zeros(n, dtype=np.int64)
    status[rng.random(n) < 0.015] = 1
    death = np.full(n, _FAR_FUTURE, dtype=np.int64)
    dead = status == 1
    death[dead] = clock.start + (rng.random(dead.sum()) * (clock.span - 45 * DAY)).astype(np.int64)
    return _Companies(frame, country, industry, employees.astype(np.int64),
                      rng.random(n) < 0.9, death, status)


_EVENT_NAMES = ("funding", "hiring", "expansion", "leadership_change", "bankruptcy")


def _make_company_events(rng: Rng, companies: _Companies, clock: _Clock) -> pl.DataFrame:
    """(company, event index into _EVENT_NAMES, t) over the history and the months before it.

    A bankruptcy kills its company: this sets its ``death`` and ``status`` (liquidation), and no
    event follows a company's death."""
    n = len(companies.country)
    is_it = _IS_IT[companies.industry]
    small = companies.employees < 10
    per_company = (  # expected events per company over the history, in _EVENT_NAMES order
        0.12 * np.where(is_it, 2.5, 1.0) * np.where(small, 0.5, 1.0),
        0.6 * np.where(is_it, 1.6, 1.0) * np.where(small, 0.3, 1.0),
        np.full(n, 0.12),
        np.full(n, 0.15),
    )
    counts = [rng.poisson(rate) for rate in per_company]
    company = np.concatenate([np.repeat(np.arange(n), c) for c in counts])
    event = np.concatenate([np.full(c.sum(), code) for code, c in enumerate(counts)])
    when = clock.start - 120 * DAY + (rng.random(len(company)) * (clock.span + 120 * DAY))
    bankrupt = np.flatnonzero((rng.random(n) < 0.008) & (companies.status == 0))
    b_time = clock.start + 30 * DAY + rng.random(len(bankrupt)) * (clock.span - 75 * DAY)
    companies.status[bankrupt] = 2
    companies.death[bankrupt] = b_time.astype(np.int64)
    alive = when < companies.death[company]
    return pl.DataFrame({
        "company": np.concatenate([company[alive], bankrupt]),
        "event": np.concatenate([event[alive], np.full(len(bankrupt), 4)]),
        "t": np.concatenate([when[alive], b_time]).astype(np.int64),
    })


def _snapshot_times(rng: Rng, companies: _Companies, clock: _Clock) -> tuple[np.ndarray, ...]:
    """(first updated_at, second updated_at or -1). About half get a newer second snapshot;
    every dead company gets one after its death so its newest snapshot shows the status."""
    n = len(companies.country)
    dead = companies.death < _FAR_FUTURE
    second = (rng.random(n) < 0.5) | dead
    first = np.where(
        second,
        clock.start - 400 * DAY + rng.random(n) * 600 * DAY,
        clock.start - 300 * DAY + rng.random(n) * (clock.span + 270 * DAY),
    ).astype(np.int64)
    low = np.maximum(first + 60 * DAY, clock.start + 250 * DAY)
    later = (low + rng.random(n) * (clock.end - DAY - low)).astype(np.int64)
    after_death = companies.death + (rng.random(n) * 40 * DAY).astype(np.int64) + DAY
    later = np.where(dead, np.minimum(after_death, clock.end - DAY), later)
    first = np.where(dead, np.minimum(first, later - 30 * DAY), first)
    return first, np.where(second, later, -1)


def _technologies(rng: Rng, companies: _Companies) -> pl.Series:
    n = len(companies.country)
    p = np.tile(np.asarray(_TECH_BASE), (n, 1))
    for tech, code in _TECH_LOCAL.items():
        p[:, tech] = np.where(companies.country == code, 0.45, 0.0)
    is_it = _IS_IT[companies.industry]
    p = np.where(is_it[:, None], np.minimum(p * np.asarray(_TECH_IT_BOOST), 0.9), p)
    has = rng.random(p.shape) < p
    frame = pl.DataFrame({f"t{i}": has[:, i] for i in range(len(TECHNOLOGIES))})
    # concat_str of "name|" pieces is an order of magnitude faster than building lists.
    joined = pl.concat_str([pl.when(pl.col(f"t{i}")).then(pl.lit(f"{t}|")).otherwise(pl.lit(""))
                            for i, t in enumerate(TECHNOLOGIES)]).str.strip_chars_end("|")
    return frame.select(pl.when(joined != "").then(joined)).to_series()


def _companies_frame(rng: Rng, companies: _Companies, clock: _Clock) -> pl.DataFrame:
    """companies.csv rows: an old snapshot for every covered company, a newer one for about half."""
    n = len(companies.country)
    first, second = _snapshot_times(rng, companies, clock)
    industry = companies.industry
    revenue = np.rint(companies.employees * rng.lognormal(np.log(110_000), 0.5, n) / 100) * 100
    jobs_rate = companies.employees * 0.02 * rng.lognormal(0, 0.8, n)
    age = np.minimum(rng.lognormal(np.log(12), 0.8, n), 120)
    founded = datetime.fromtimestamp(clock.end, UTC).year - 1 - age
    base = companies.frame.select(
        "business_id", "company_name", "domain", pl.col("country_code").alias("country"),
    ).with_columns(
        industry_code=_take([r[0] for r in INDUSTRIES], industry),
        industry=_take([r[1] for r in INDUSTRIES], industry),
        founded_year=pl.Series(founded.astype(np.int64)),
        technologies=_technologies(rng, companies),
        company=pl.Series(np.arange(n)),
    )
    old = base.with_columns(
        employees=pl.Series(np.maximum(1, np.rint(companies.employees *
                                                  rng.lognormal(-0.06, 0.1, n)))),
        revenue=pl.Series(revenue * rng.lognormal(-0.05, 0.08, n)).round(0),
        open_jobs=pl.Series(rng.poisson(jobs_rate)),
        status=pl.lit("active"),
        t=pl.Series(first),
    )
    status_names = np.array(["active", "dissolved", "liquidation"])[companies.status]
    new = base.with_columns(
        employees=pl.Series(companies.employees.astype(float)),
        revenue=pl.Series(revenue),
        open_jobs=pl.Series(rng.poisson(jobs_rate)),
        status=pl.Series(status_names),
        t=pl.Series(second),
    ).filter(pl.col("t") >= 0)
    both = pl.concat([old, new])
    keep = pl.Series(companies.covered).gather(both["company"])
    revenue_known = pl.Series(rng.random(both.height) < 0.9)
    return (
        both.filter(keep)
        .with_columns(
            pl.col("employees").cast(pl.Int64),
            pl.when(revenue_known.filter(keep)).then(pl.col("revenue")).alias("revenue"),
            updated_at=_datetimes(both["t"].filter(keep).to_numpy()),
        )
        .sort("business_id", "updated_at")
        .select("business_id", "company_name", "domain", "country", "industry_code", "industry",
                "employees", "revenue", "founded_year", "technologies", "open_jobs", "status",
                "updated_at")
    )


def _company_events_frame(events: pl.DataFrame, companies: _Companies) -> pl.DataFrame:
    """company_events.csv rows for the companies the firmographics provider covers."""
    company = events["company"].to_numpy()
    keep = companies.covered[company]
    return pl.DataFrame({
        "business_id": companies.frame["business_id"].gather(company[keep]),
        "event_type": _take(_EVENT_NAMES, events["event"].to_numpy()[keep]),
        "occurred_at": _datetimes(events["t"].to_numpy()[keep]).dt.truncate("1d"),
    }).sort("occurred_at", "business_id", "event_type", maintain_order=True)


# ---- people and their hidden fit ---------------------------------------------------------------

_TITLE_SENIORITY = np.array([SENIORITIES.index(row[1]) for row in _TITLE_TABLE])
_TITLE_FIT_DEPARTMENT = np.array(
    [row[2] in ("it", "engineering", "operations", "executive") for row in _TITLE_TABLE]
)


def _created_times(rng: Rng, n: int, clock: _Clock) -> np.ndarray:
    """Creation times over the history, density rising 2.5x from oldest to newest."""
    u = rng.random(n)
    x = (-1 + np.sqrt(1 + 5.25 * u)) / 1.5  # inverse CDF of density 1 + 1.5x on [0, 1]
    return (clock.start + x * (clock.span - 3 * 3600)).astype(np.int64)


def _titles(rng: Rng, country: np.ndarray) -> np.ndarray:
    """Index into _TITLE_TABLE: half of Nordic people have a title in the local language."""
    local = (rng.random(len(country)) < 0.5) & (country < _NORDIC)
    language = np.where(local, np.asarray(_LOCAL_TITLE_LANGUAGE)[country], 0)
    out = np.zeros(len(country), dtype=np.int64)
    for code, name in enumerate(_TITLE_LANGUAGES):
        table = np.array([i for i, row in enumerate(_TITLE_TABLE) if row[3] == name])
        rows = np.flatnonzero(language == code)
        out[rows] = table[_choice(rng, len(rows), [_TITLE_TABLE[i][4] for i in table])]
    return out


def _hidden_fit(rng: Rng, companies: _Companies, company: np.ndarray, title: np.ndarray,
                email_kind: np.ndarray) -> np.ndarray:
    """The truth behind the ICP: industry, size, seniority, department, business email."""
    c = np.maximum(company, 0)
    employees = companies.employees[c]
    seniority = _TITLE_SENIORITY[title]
    fit = (
        0.30 * _IS_IT[companies.industry[c]]
        + 0.25 * ((employees >= 50) & (employees <= 5000))
        + 0.20 * np.select([seniority <= 2, seniority == 3], [1.0, 0.5], 0.0)
        + 0.10 * _TITLE_FIT_DEPARTMENT[title]
        + 0.10 * (email_kind == 0)
        + 0.05 * rng.random(len(company))
        - 0.20 * (employees < 10)
    )
    return np.clip(fit, 0.0, 1.0)


def _make_people(rng: Rng, n: int, companies: _Companies, clock: _Clock) -> _People:
    weight = companies.employees ** 0.45 * np.where(_IS_IT[companies.industry], 2.0, 1.0)
    company = _choice(rng, n, weight)
    company[rng.random(n) < 0.005] = -1
    country = np.where(company >= 0, companies.country[np.maximum(company, 0)], 0)
    moved = rng.random(n) < 0.05  # people abroad from their company's home country
    country[moved] = _choice(rng, int(moved.sum()), _COUNTRY_WEIGHTS[:5])
    source = _choice(rng, n, _SOURCE_WEIGHTS)
    title = _titles(rng, country)
    email_kind = _choice(rng, n, (0.79, 0.15, 0.03, 0.03))
    email_kind[company < 0] = 0
    fit = _hidden_fit(rng, companies, company, title, email_kind)
    has_email = email_kind != 3
    opted_out = (rng.random(n) < 0.04) & has_email
    cold = np.asarray(LEAD_SOURCES)[source] == "cold_list"
    bounced = (rng.random(n) < np.where(cold, 0.045, 0.012)) & has_email & ~opted_out
    return _People(company, country, _created_times(rng, n, clock), source, title, email_kind,
                   fit, opted_out, bounced, np.zeros(n, dtype=bool))


@dataclass
class _Roles:
    """Disjoint sets of person indices that carry row-level dirt, and the duplicates' originals."""

    dup_email: np.ndarray
    dup_phone: np.ndarray
    silent: np.ndarray
    unparseable: np.ndarray
    dotted: np.ndarray
    malformed: np.ndarray

    def dup_related(self, n: int) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        mask[self.dup_email] = mask[self.dup_phone] = True
        return mask


def _assign_roles(rng: Rng, people: _People, n_dup: int, clock: _Clock) -> _Roles:
    n = people.n
    order = rng.permutation(n)
    clean = (people.company >= 0) & ~people.opted_out & ~people.bounced
    dup_ok = clean & (people.email_kind <= 1) & (people.created < clock.end - 3 * DAY)
    candidates = order[dup_ok[order]]
    n_phone = n_dup // 4
    dup_phone, dup_email = candidates[:n_phone], candidates[n_phone:n_dup]
    rest = order[~np.isin(order, candidates[:n_dup])]
    rest = rest[people.company[rest] >= 0]
    k_empty, k_bad = max(2, n // 2000), max(3, n // 1000)
    k_dotted = int(n * 0.03)
    silent = rest[:k_empty]
    unparseable = rest[k_empty:k_empty + k_bad]
    dotted = rest[k_empty + k_bad:k_empty + k_bad + k_dotted]
    tail = rest[k_empty + k_bad + k_dotted:]
    malformed = tail[people.email_kind[tail] <= 1][: int(n * 0.01)]
    people.silent[silent] = True
    return _Roles(dup_email, dup_phone, silent, unparseable, dotted, malformed)


# ---- the hidden process: episodes of interest, signals, opportunities --------------------------


@dataclass
class _Acts:
    """Activities as parallel arrays: who (row index), when (epoch seconds), what (type index).
    Narrow dtypes keep tens of millions of rows small."""

    who: np.ndarray
    t: np.ndarray
    kind: np.ndarray

    def __post_init__(self) -> None:
        self.who = self.who.astype(np.int32, copy=False)
        self.t = self.t.astype(np.int64, copy=False)
        self.kind = self.kind.astype(np.int8, copy=False)

    @staticmethod
    def concat(parts: Sequence[_Acts]) -> _Acts:
        fields = ("who", "t", "kind")
        return _Acts(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))

    def where(self, keep: np.ndarray | slice) -> _Acts:
        return _Acts(self.who[keep], self.t[keep], self.kind[keep])


def _bursts(rng: Rng, who: np.ndarray, start: np.ndarray, size: np.ndarray, spread_days: float,
            mix: np.ndarray) -> _Acts:
    """``size`` activities per burst, after its start, mostly within ``spread_days``."""
    owner = np.repeat(np.arange(len(who), dtype=np.int32), size)
    t = start[owner] + rng.exponential(spread_days * DAY, len(owner))
    kind = _choice(rng, len(owner), mix)
    return _Acts(who[owner], _office_hours(rng, t.astype(np.int64)), kind)


def _uniform_in_life(rng: Rng, people: _People, per_year: np.ndarray,
                     clock: _Clock) -> tuple[np.ndarray, np.ndarray]:
    """Poisson many (who, time) pairs per person, uniform between creation and export."""
    life = clock.end - people.created
    counts = rng.poisson(per_year * life / (365 * DAY))
    who = np.repeat(np.arange(people.n, dtype=np.int32), counts)
    t = people.created[who] + rng.random(len(who)) * life[who]
    return who, t.astype(np.int64)


def _event_triggered(rng: Rng, people: _People, events: pl.DataFrame) -> pl.DataFrame:
    """(who, start) of interest raised by funding or hiring at the person's company."""
    staff = pl.DataFrame({"who": np.arange(people.n), "company": people.company})
    pairs = (
        staff.join(events.filter(pl.col("event") <= 1), on="company")
        .sort("who", "t", "event")
    )
    who, t = pairs["who"].to_numpy(), pairs["t"].to_numpy()
    fit = people.fit[who]
    keep = (t > people.created[who] - 30 * DAY) & (
        rng.random(len(who)) < (0.10 + 0.45 * fit) * np.where(pairs["event"] == 0, 1.4, 1.0)
    )
    start = np.maximum(t, people.created[who]) + rng.exponential(35 * DAY, len(who))
    return pl.DataFrame({"who": who[keep], "start": start[keep].astype(np.int64)})


def _buying_episodes(rng: Rng, people: _People, events: pl.DataFrame,
                     clock: _Clock) -> tuple[_Acts, np.ndarray, np.ndarray]:
    """Bursts of buying activity, each opening with an intent signal; returns the activities and
    the (who, time) of the opportunities they may lead to."""
    per_year = (0.04 + 1.2 * people.fit**2) * _SOURCE_BUYING[people.source]
    who, start = _uniform_in_life(rng, people, per_year, clock)
    triggered = _event_triggered(rng, people, events)
    who = np.concatenate([who, triggered["who"].to_numpy()])
    start = np.concatenate([start, triggered["start"].to_numpy()])
    signal_t = _office_hours(rng, start + (rng.random(len(who)) * 7 * DAY).astype(np.int64))
    signals = _Acts(who, signal_t, _choice(rng, len(who), _SIGNAL_MIX))
    size = 2 + rng.negative_binomial(2, 0.25, len(who))
    burst = _bursts(rng, who, start, size, 10, _BUYING_MIX)
    converts = rng.random(len(who)) < 0.04 + 0.65 * people.fit[who]
    opp_t = signal_t + rng.gamma(2.0, 9 * DAY, len(who)).astype(np.int64)
    return _Acts.concat([signals, burst]), who[converts], opp_t[converts]


def _background(rng: Rng, people: _People, clock: _Clock) -> _Acts:
    """Everyday marketing touches and engagement bursts that carry (almost) no intent."""
    rate = rng.lognormal(np.log(0.03), 0.9, people.n) * (0.6 + 0.8 * people.fit)
    who, t = _uniform_in_life(rng, people, 365 * rate * _SOURCE_ACTIVITY[people.source], clock)
    kind = _choice(rng, len(who), _BASELINE_MIX)
    daily = _Acts(who, _office_hours(rng, t), kind)
    e_who, e_start = _uniform_in_life(rng, people, 0.5 + 1.5 * people.fit, clock)
    size = 1 + rng.negative_binomial(1, 0.18, len(e_who))
    engaged = _bursts(rng, e_who, e_start, size, 6, _ENGAGED_MIX)
    return _Acts.concat([daily, engaged])


def _creation_touch(rng: Rng, people: _People) -> _Acts:
    """The form or webinar that created the lead, a few minutes after creation."""
    source = np.asarray(LEAD_SOURCES)[people.source]
    form = np.isin(source, ("web_form", "paid_search", "organic"))
    webinar = source == "webinar"
    who = np.flatnonzero(form | webinar)
    kind = np.where(webinar[who], _A["webinar_attended"], _A["form_submit"])
    t = people.created[who] + rng.integers(0, 300, len(who))
    return _Acts(who, t, kind)


def _make_deals(rng: Rng, people: _People, companies: _Companies, who: np.ndarray,
                t: np.ndarray, clock: _Clock) -> _Deals:
    """The first opportunity per person among candidates that happen before export."""
    death = companies.death[np.maximum(people.company, 0)]
    ok = (t < clock.end - DAY) & (t < death[who]) & (people.company[who] >= 0)
    ok &= ~people.silent[who]
    who, t = who[ok], t[ok]
    order = np.lexsort((t, who))
    who, t = who[order], t[order]
    first = np.unique(who, return_index=True)[1]
    who, created = who[first], t[first]
    created = np.clip(_office_hours(rng, created), people.created[who] + 3600, clock.end - 1)
    closed = created + (rng.uniform(20, 120, len(who)) * DAY).astype(np.int64)
    is_closed = closed < clock.end
    won = is_closed & (rng.random(len(who)) < 0.08 + 0.5 * people.fit[who])
    return _Deals(who, created, np.where(is_closed, closed, _FAR_FUTURE), won)


def _sales_touches(rng: Rng, deals: _Deals, clock: _Clock) -> _Acts:
    """Meetings, calls and replies from a week before an opportunity until it closes."""
    end = np.minimum(deals.closed, clock.end)
    size = 1 + rng.poisson(4, len(deals.person))
    owner = np.repeat(np.arange(len(deals.person)), size)
    start = deals.created[owner] - 7 * DAY
    t = start + rng.random(len(owner)) * (end[owner] - start)
    kind = _choice(rng, len(owner), _SALES_MIX)
    return _Acts(deals.person[owner], _office_hours(rng, t.astype(np.int64)), kind)


def _consent_events(rng: Rng, people: _People, clock: _Clock) -> tuple[_Acts, np.ndarray]:
    """Unsubscribe and bounce activities, and per person the moment email activity stops."""
    life = clock.end - people.created
    stop = np.full(people.n, _FAR_FUTURE, dtype=np.int64)
    unsub = np.flatnonzero(people.opted_out)
    stop[unsub] = people.created[unsub] + (rng.uniform(0.05, 1, len(unsub)) * life[unsub])
    bounce = np.flatnonzero(people.bounced)
    delay = np.minimum(rng.exponential(3 * DAY, len(bounce)), 0.5 * life[bounce])
    stop[bounce] = people.created[bounce] + delay.astype(np.int64)
    who = np.concatenate([unsub, bounce])
    kind = np.concatenate([np.full(len(unsub), _A["unsubscribe"]),
                           np.full(len(bounce), _A["bounce"])])
    return _Acts(who, np.minimum(stop[who], clock.end - 1), kind), stop


def _plan_activities(rng: Rng, people: _People, companies: _Companies, events: pl.DataFrame,
                     clock: _Clock) -> tuple[_Acts, _Deals]:
    """All activities of real people and their opportunities, inside each person's life."""
    buying, cand_who, cand_t = _buying_episodes(rng, people, events, clock)
    extra_who, extra_t = _uniform_in_life(rng, people, 0.02 * (0.4 + people.fit), clock)
    deals = _make_deals(rng, people, companies, np.concatenate([cand_who, extra_who]),
                        np.concatenate([cand_t, extra_t]), clock)
    consent, stop = _consent_events(rng, people, clock)
    acts = _Acts.concat([_creation_touch(rng, people), _background(rng, people, clock), buying,
                         _sales_touches(rng, deals, clock)])
    death = companies.death[np.maximum(people.company, 0)][acts.who]
    keep = (acts.t >= people.created[acts.who]) & (acts.t < clock.end)
    keep &= ~(np.isin(acts.kind, _EMAIL_TYPES) & (acts.t > stop[acts.who]))
    keep &= ~((acts.t >= death) & (rng.random(len(acts.t)) < 0.9))
    keep &= ~people.silent[acts.who]
    return _Acts.concat([acts.where(keep), consent.where(~people.silent[consent.who])]), deals


# ---- lead rows ---------------------------------------------------------------------------------

LEAD_COLUMNS = (
    "lead_id", "created_at", "email", "first_name", "last_name", "title", "phone", "company_name",
    "website", "business_id", "country", "lead_source", "owner", "crm_stage", "budget", "timeline",
    "need", "opted_out", "bounced", "crm_record_id",
)
_WEBSITE_FORMATS = ("https://www.{}", "www.{}", "{}", "https://www.{}/contact", "http://{}/",
                    "https://{}/en/")
_FORM_SOURCES = ("web_form", "paid_search", "organic")


def _email_local(first: pl.Expr, last: pl.Expr, pattern: pl.Expr) -> pl.Expr:
    return (
        pl.when(pattern == 0).then(pl.concat_str(first, pl.lit("."), last))
        .when(pattern == 1).then(first)
        .when(pattern == 2).then(pl.concat_str(first.str.slice(0, 1), pl.lit("."), last))
        .otherwise(pl.concat_str(first, last))
    )


def _emails(rng: Rng, people: _People, names: pl.DataFrame, domain: pl.Series) -> pl.Series:
    """Mostly firstname.lastname@company, some free mail or role addresses; all distinct."""
    n, group = people.n, _NAME_GROUP[people.country]
    plain = [_ascii_fold(pl.col(c)).str.replace_all("[^a-z]", "") for c in ("first", "last")]
    numbered = np.where(rng.random(n) < 0.3, rng.integers(1, 99, n).astype(str), "")
    parts = names.select(
        plain[0].alias("f"), plain[1].alias("l"),
        kind=pl.Series(people.email_kind),
        pattern=pl.Series(_choice(rng, n, (0.75, 0.10, 0.10, 0.05))),
        company_domain=domain,
        free_domain=_pick_in_groups(rng, group, FREE_MAIL_DOMAINS),
        role=_pick_in_groups(rng, group, _ROLE_LOCALS),
        numbered=pl.Series(numbered),
    )
    kind = pl.col("kind")
    local = (
        pl.when(kind == 0).then(_email_local(pl.col("f"), pl.col("l"), pl.col("pattern")))
        .when(kind == 1).then(pl.concat_str("f", pl.lit("."), "l", "numbered"))
        .when(kind == 2).then(pl.col("role"))
    )
    at = pl.when(kind == 1).then(pl.col("free_domain")).otherwise(pl.col("company_domain"))
    parts = parts.with_columns(local=local, at=at)
    parts = parts.with_columns(nth=_occurrence(parts.select(
        pl.concat_str("local", pl.lit("@"), "at")).to_series()))
    suffix = pl.when(pl.col("nth") > 0).then((pl.col("nth") + 1).cast(pl.String))
    return parts.select(
        pl.concat_str("local", suffix.otherwise(pl.lit("")), pl.lit("@"), "at").alias("email")
    ).to_series()


def _phones(rng: Rng, country: np.ndarray, always: np.ndarray) -> pl.Series:
    """Phone numbers as people type them: international or local format, per country. About 15%
    are unknown, except where ``always``."""
    n = len(country)
    s = pl.col("s")
    local = pl.col("intl").not_()
    op = pl.col("op").cast(pl.String)
    code = pl.col("code")
    nordic_se = pl.concat_str(s.str.slice(0, 3), pl.lit(" "), s.str.slice(3, 2), pl.lit(" "),
                              s.str.slice(5, 2))
    phone = (
        pl.when(code == 0).then(pl.concat_str(pl.when(local).then(pl.lit("04"))
                                              .otherwise(pl.lit("+358 4")), op, pl.lit(" "), s))
        .when(code == 1).then(pl.concat_str(pl.when(local).then(pl.lit("07"))
                                             .otherwise(pl.lit("+46 7")), op,
                                             pl.when(local).then(pl.lit("-"))
                                             .otherwise(pl.lit(" ")), nordic_se))
        .when(code == 2).then(pl.concat_str(pl.when(local).then(pl.lit("9"))
                                            .otherwise(pl.lit("+47 9")), s.str.slice(0, 2),
                                            pl.lit(" "), s.str.slice(2, 2), pl.lit(" "),
                                            s.str.slice(4, 3)))
        .when(code == 3).then(pl.concat_str(pl.when(local).then(pl.lit(""))
                                            .otherwise(pl.lit("+45 ")), op, s.str.slice(0, 1),
                                            pl.lit(" "), nordic_se))
        .when(code == 4).then(pl.concat_str(pl.lit("+372 5"), s.str.slice(0, 3), pl.lit(" "),
                                            s.str.slice(3, 4)))
        .when(code == 5).then(pl.concat_str(pl.lit("+49 30 "), s))
        .when(code == 6).then(pl.concat_str(pl.lit("+44 20 7"), s.str.slice(0, 3), pl.lit(" "),
                                            s.str.slice(3, 4)))
        .otherwise(pl.concat_str(pl.lit("+1 415 555 "), s.str.slice(3, 4)))
    )
    frame = pl.DataFrame({
        "s": pl.Series(rng.integers(0, 10**7, n)).cast(pl.String).str.zfill(7),
        "op": rng.integers(0, 10, n), "intl": rng.random(n) < 0.6, "code": country,
        "known": (rng.random(n) < 0.85) | always,
    })
    return frame.select(pl.when("known").then(phone)).to_series()


def _name_variant(rng: Rng, official: pl.DataFrame) -> pl.Series:
    """The company name as a CRM user typed it: form dropped or swapped, case changed, typos."""
    n = official.height
    variant = _choice(rng, n, (0.50, 0.20, 0.08, 0.08, 0.05, 0.09))
    base, form = pl.col("base_name"), pl.col("legal_form")
    length = base.str.len_chars()
    pos = (pl.Series(rng.random(n)) * (length - 2)).cast(pl.Int64) + 1
    typo_kind = pl.Series(rng.integers(0, 3, n))
    typo = (
        pl.when(typo_kind == 0).then(pl.concat_str(base.str.slice(0, pos), base.str.slice(pos + 1)))
        .when(typo_kind == 1).then(pl.concat_str(base.str.slice(0, pos + 1), base.str.slice(pos)))
        .otherwise(pl.concat_str(base.str.slice(0, pos), base.str.slice(pos + 1, 1),
                                 base.str.slice(pos, 1), base.str.slice(pos + 2)))
    )
    swapped = form.replace(_FORM_SWAPS)
    v = pl.Series(variant)
    return official.select(
        pl.when(v == 1).then(base)
        .when(v == 2).then(pl.concat_str(base, swapped, separator=" "))
        .when(v == 3).then(pl.col("company_name").str.to_uppercase())
        .when(v == 4).then(pl.col("company_name").str.to_lowercase())
        .when(v == 5).then(pl.concat_str(typo, form, separator=" "))
        .otherwise(pl.col("company_name"))
    ).to_series()


def _websites(rng: Rng, domain: pl.Series) -> pl.Series:
    n = len(domain)
    fmt = _choice(rng, n, (0.35, 0.25, 0.15, 0.10, 0.10, 0.05))
    known = pl.Series(rng.random(n) < 0.65)
    expr = pl.lit(None, dtype=pl.String)
    for code, template in enumerate(_WEBSITE_FORMATS):
        head, tail = template.split("{}")
        expr = pl.when(pl.Series(fmt) == code).then(
            pl.concat_str(pl.lit(head), pl.col("d"), pl.lit(tail))).otherwise(expr)
    return pl.DataFrame({"d": domain}).select(pl.when(known).then(expr)).to_series()


def _lead_business_ids(rng: Rng, compact: pl.Series, country: np.ndarray,
                       dirt: dict[str, int]) -> pl.Series:
    """For ~40% of (Nordic and Estonian) leads: canonical, VAT, spaced or wrong check digit."""
    n = len(country)
    given = (rng.random(n) < 0.4) & (country <= _NORDIC)
    form = np.where(given, _choice(rng, n, (0.62, 0.18, 0.12, 0.08)), -1)
    form[(form == 1) & (country == _NORDIC)] = 0  # an Estonian VAT number is another number
    dirt["business_id_vat"] = int((form == 1).sum())
    dirt["business_id_spaced"] = int((form == 2).sum())
    dirt["business_id_invalid"] = int((form == 3).sum())
    c, k, f = pl.col("c"), pl.col("k"), pl.col("f")
    last = c.str.slice(-1).cast(pl.Int64)
    wrong = pl.concat_str(c.str.slice(0, c.str.len_chars() - 1), ((last + 1) % 10).cast(pl.String))
    vat = (
        pl.when(k == "SE").then(pl.concat_str(pl.lit("SE"), c, pl.lit("01")))
        .when(k == "NO").then(pl.concat_str(pl.lit("NO"), c, pl.lit("MVA")))
        .otherwise(pl.concat_str(k, c))
    )
    spaced = (
        pl.when(k == "FI").then(pl.concat_str(c.str.slice(0, 7), pl.lit(" - "), c.str.slice(7)))
        .when(k == "SE").then(pl.concat_str(c.str.slice(0, 6), pl.lit(" "), c.str.slice(6)))
        .when(k == "NO").then(pl.concat_str(c.str.slice(0, 3), c.str.slice(3, 3), c.str.slice(6),
                                            separator=" "))
        .when(k == "DK").then(pl.concat_str(c.str.slice(0, 2), c.str.slice(2, 2),
                                            c.str.slice(4, 2), c.str.slice(6), separator=" "))
        .otherwise(pl.concat_str(pl.lit(" "), c, pl.lit(" ")))
    )
    frame = pl.DataFrame({"c": compact, "k": np.asarray(COUNTRIES)[country], "f": form})
    return frame.select(
        pl.when(f == 0).then(_format_business_id(c, k))
        .when(f == 1).then(vat)
        .when(f == 2).then(spaced)
        .when(f == 3).then(_format_business_id(wrong, k))
    ).to_series()


def _crm_stages(rng: Rng, people: _People, companies: _Companies, deals: _Deals,
                clock: _Clock) -> np.ndarray:
    """The CRM's current stage: consistent with deals and consent, with realistic staleness."""
    n = people.n
    stage = np.where(rng.random(n) < 0.04 + 0.4 * people.fit**2, "prospect", "lead").astype("<U12")
    r = rng.random(n)
    dead = (companies.death[np.maximum(people.company, 0)] < clock.end) & (people.company >= 0)
    disqualified = ((people.company < 0) & (r < 0.7)) | (people.opted_out & (r < 0.6))
    disqualified |= (people.bounced & (r < 0.5)) | (dead & (r < 0.3)) | (rng.random(n) < 0.02)
    stage[disqualified] = "disqualified"
    lost = deals.person[(deals.closed < _FAR_FUTURE) & ~deals.won]
    stage[lost] = np.array(["prospect", "lead", "opportunity", "disqualified"])[
        _choice(rng, len(lost), (0.45, 0.25, 0.15, 0.15))]
    open_ = deals.person[deals.closed == _FAR_FUTURE]
    stage[open_] = np.where(rng.random(len(open_)) < 0.9, "opportunity", "prospect")
    won = deals.person[deals.won]
    stage[won] = np.where(rng.random(len(won)) < 0.95, "customer", "opportunity")
    return stage


def _bant(rng: Rng, stage: np.ndarray, created: np.ndarray) -> pl.DataFrame:
    """Budget, timeline and need: mostly filled in by sales, so mostly for qualified leads."""
    n = len(stage)
    qualified = np.isin(stage, ("prospect", "opportunity", "customer"))
    budget = np.round(np.maximum(rng.lognormal(np.log(20_000), 0.8, n), 1000), -3)
    timeline = created + (rng.uniform(30, 365, n) * DAY).astype(np.int64)
    return pl.DataFrame({
        "budget": pl.Series(budget.astype(np.int64)).cast(pl.String),
        "timeline": _datetimes(timeline).dt.strftime("%Y-%m-%d"),
        "need": _take(_NEEDS, rng.integers(0, len(_NEEDS), n)),
    }).with_columns(
        pl.when(pl.Series(rng.random(n) < np.where(qualified, p, p / 10))).then(pl.col(c)).alias(c)
        for c, p in (("budget", 0.55), ("timeline", 0.4), ("need", 0.5))
    )


def _record_ids(rng: Rng, n: int, offset: int) -> pl.Series:
    """Salesforce-looking, unique ids: random high digits, row number in the low digits."""
    number = rng.integers(0, 10**5, n) * 10**8 + np.arange(offset, offset + n)
    return ("00Q" + pl.Series(number).cast(pl.String).str.zfill(13)).alias("crm_record_id")


def _person_rows(rng: Rng, people: _People, companies: _Companies, deals: _Deals,
                 roles: _Roles, clock: _Clock, dirt: dict[str, int]) -> pl.DataFrame:
    """Clean lead rows for real people (hidden helper columns start with ``_``)."""
    n = people.n
    c = np.maximum(people.company, 0)
    competitor = people.company < 0
    official = companies.frame.select("company_name", "base_name", "legal_form")[c]
    group = _NAME_GROUP[people.country]
    names = pl.DataFrame({"first": _pick_in_groups(rng, group, FIRST_NAMES),
                          "last": _pick_in_groups(rng, group, LAST_NAMES)})
    domain = pl.Series(np.where(competitor, COMPETITOR_DOMAIN,
                                companies.frame["domain"].gather(c).to_numpy()))
    rival = _take(_COMPETITOR_NAMES, rng.integers(0, len(_COMPETITOR_NAMES), n))
    stage = _crm_stages(rng, people, companies, deals, clock)
    owners = _pick_in_groups(rng, _NAME_GROUP[people.country], _OWNERS)
    rows = pl.DataFrame({
        "_who": np.arange(n), "_t": people.created,
        "email": _emails(rng, people, names, domain),
        "first_name": names["first"], "last_name": names["last"],
        "title": _take([r[0] for r in _TITLE_TABLE], people.title),
        "phone": _phones(rng, people.country, np.isin(np.arange(n), roles.dup_phone)),
        "company_name": _name_variant(rng, official),
        "website": _websites(rng, domain),
        "business_id": _lead_business_ids(rng, companies.frame["compact_id"].gather(c),
                                          np.where(competitor, _NORDIC + 1,
                                                   companies.country[c]),
                                          dirt),
        "country": np.asarray(COUNTRIES)[people.country],
        "lead_source": np.asarray(LEAD_SOURCES)[people.source],
        "owner": _keep(owners, rng.random(n) < 0.88),
        "crm_stage": stage,
    }).with_columns(
        pl.when(pl.Series(competitor)).then(rival).otherwise(pl.col("company_name"))
        .alias("company_name"),
        pl.when(pl.Series(competitor)).then(pl.lit(f"https://{COMPETITOR_DOMAIN}"))
        .otherwise(pl.col("website")).alias("website"),
    )
    return pl.concat(
        [rows, _bant(rng, stage, people.created),
         pl.DataFrame({"opted_out": people.opted_out, "bounced": people.bounced}).cast(pl.String),
         _record_ids(rng, n, 0).to_frame()],
        how="horizontal",
    )


def _duplicate_rows(rng: Rng, persons: pl.DataFrame, roles: _Roles, clock: _Clock) -> pl.DataFrame:
    """Later lead rows for people already in the CRM: the same email in other case or with
    stray whitespace, or no email but the same name, company and phone."""
    originals = np.concatenate([roles.dup_email, roles.dup_phone])
    n = len(originals)
    by_phone = np.arange(n) >= len(roles.dup_email)
    dup = persons[originals]
    t = dup["_t"].to_numpy()
    later = t + DAY + (rng.random(n) * (clock.end - 2 * DAY - t)).astype(np.int64)
    style = pl.Series(rng.integers(0, 4, n))
    email = pl.col("email")
    varied = (
        pl.when(style == 0).then(email.str.to_uppercase())
        .when(style == 1).then(email.str.to_titlecase())
        .when(style == 2).then(pl.concat_str(pl.lit(" "), email))
        .otherwise(pl.concat_str(email, pl.lit("  ")))
    )
    blank = [pl.lit(None, dtype=pl.String).alias(c) for c in
             ("business_id", "budget", "timeline", "need", "owner")]
    return dup.with_columns(
        *blank,
        _who=pl.Series(np.arange(persons.height, persons.height + n)),
        _t=pl.Series(later),
        email=pl.when(pl.Series(by_phone)).then(None).otherwise(varied),
        title=pl.when(pl.Series(rng.random(n) < 0.3)).then(None).otherwise(pl.col("title")),
        lead_source=_take(LEAD_SOURCES, _choice(rng, n, _SOURCE_WEIGHTS)),
        crm_stage=pl.lit("lead"),
        opted_out=pl.lit("false"),
        bounced=pl.lit("false"),
        crm_record_id=_record_ids(rng, n, persons.height),
    )


def _hit(rng: Rng, p: float, free: pl.Series) -> pl.Series:
    return pl.Series(rng.random(len(free)) < p) & free


def _field_dirt(rng: Rng, rows: pl.DataFrame, free: pl.Series) -> pl.DataFrame:
    """Country names for codes, case-mangled titles, missing values, then placeholders; rows
    that are part of a duplicate pair (``free`` false) stay clean so they stay matchable."""
    which = pl.Series(rng.integers(0, 2, rows.height))
    country_name = pl.when(which == 0).then(
        pl.col("country").replace_strict(COUNTRIES, [p[0] for p in COUNTRY_NAMES])
    ).otherwise(pl.col("country").replace_strict(COUNTRIES, [p[1] for p in COUNTRY_NAMES]))
    upper = pl.Series(rng.random(rows.height) < 0.5)
    rows = rows.with_columns(
        pl.when(_hit(rng, 0.04, free)).then(country_name).otherwise(pl.col("country"))
        .alias("country"),
        pl.when(_hit(rng, 0.05, free)).then(
            pl.when(upper).then(pl.col("title").str.to_uppercase())
            .otherwise(pl.col("title").str.to_lowercase())
        ).otherwise(pl.col("title")).alias("title"),
    )
    rows = rows.with_columns(
        pl.when(_hit(rng, p, free)).then(None).otherwise(pl.col(c)).alias(c)
        for c, p in (("title", 0.03), ("country", 0.02), ("company_name", 0.02))
    )
    placeholder_rates = (("title", 0.01), ("phone", 0.01), ("country", 0.005), ("website", 0.01),
                         ("lead_source", 0.01), ("budget", 0.04), ("timeline", 0.02),
                         ("need", 0.03))
    return rows.with_columns(
        pl.when(_hit(rng, p, free))
        .then(_take(PLACEHOLDERS, rng.integers(0, len(PLACEHOLDERS), rows.height)))
        .otherwise(pl.col(c)).alias(c)
        for c, p in placeholder_rates
    )


def _malformed(rng: Rng, rows: pl.DataFrame, who: np.ndarray) -> pl.DataFrame:
    """``x@``, ``a@@b.fi``, ``john doe@x.fi``, ``mikko.virtanen@firma`` for the chosen rows."""
    style = pl.Series(rng.integers(0, 4, rows.height))
    local = pl.col("email").str.split("@").list.first()
    domain = pl.col("email").str.split("@").list.last()
    spaced = _ascii_fold(pl.concat_str("first_name", "last_name", separator=" "))
    bad = (
        pl.when(style == 0).then(pl.concat_str(local, pl.lit("@")))
        .when(style == 1).then(pl.concat_str(local, pl.lit("@@"), domain))
        .when(style == 2).then(pl.concat_str(spaced, pl.lit("@"), domain))
        .otherwise(pl.concat_str(local, pl.lit("@"), domain.str.replace(r"\.[a-z]+$", "")))
    )
    return rows.with_columns(
        pl.when(pl.col("_who").is_in(who)).then(bad).otherwise(pl.col("email")).alias("email")
    )


def _created_at_text(rng: Rng, rows: pl.DataFrame, roles: _Roles) -> pl.DataFrame:
    """ISO timestamps, some day-first dotted dates, a handful that parse as nothing."""
    when = _datetimes(rows["_t"].to_numpy())
    junk = _take(UNPARSEABLE_DATES, rng.integers(0, len(UNPARSEABLE_DATES), rows.height))
    who = pl.col("_who")
    return rows.with_columns(
        pl.when(who.is_in(roles.unparseable)).then(junk)
        .when(who.is_in(roles.dotted)).then(when.dt.strftime("%d.%m.%Y"))
        .otherwise(when.dt.strftime("%Y-%m-%d %H:%M:%S"))
        .alias("created_at")
    )


def _lead_id_width(leads: int) -> int:
    return max(7, len(str(leads + 1000)))


def _assign_lead_ids(rows: pl.DataFrame, roles: _Roles, width: int) -> pl.DataFrame:
    """Ids in creation order, as a CRM hands them out; the chosen rows lose theirs."""
    rows = rows.sort("_t", "_who")
    number = pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(width)
    return rows.with_columns(
        pl.when(pl.col("_who").is_in(roles.silent)).then(None)
        .otherwise(pl.concat_str(pl.lit("L"), number)).alias("lead_id")
    )


def _lead_rows(rng: Rng, people: _People, companies: _Companies, deals: _Deals, roles: _Roles,
               clock: _Clock, dirt: dict[str, int]) -> pl.DataFrame:
    """Every leads.csv row (people, then their later duplicates), dirt applied, ids assigned.
    Keeps ``_who`` (row identity used by activities) and ``_t`` (true creation time)."""
    persons = _person_rows(rng, people, companies, deals, roles, clock, dirt)
    persons = _malformed(rng, persons, roles.malformed)
    rows = pl.concat([persons, _duplicate_rows(rng, persons, roles, clock)])
    free = ~pl.Series(np.concatenate([roles.dup_related(people.n),
                                      np.ones(rows.height - people.n, dtype=bool)]))
    rows = _field_dirt(rng, rows, free)
    rows = _created_at_text(rng, rows, roles)
    return _assign_lead_ids(rows, roles, _lead_id_width(rows.height))


def _lead_dirt(leads: pl.DataFrame, people: _People, roles: _Roles) -> dict[str, int]:
    """Counts of the lead-file dirt, as planted."""
    placeholder_cells = leads.select(
        pl.sum_horizontal(pl.col(c).is_in(PLACEHOLDERS).sum() for c in LEAD_COLUMNS)
    ).item()
    return {
        "duplicate_email": len(roles.dup_email),
        "duplicate_name_phone": len(roles.dup_phone),
        "malformed_email": len(roles.malformed),
        "missing_title": leads["title"].null_count(),
        "missing_country": leads["country"].null_count(),
        "missing_company_name": leads["company_name"].null_count(),
        "placeholder": int(placeholder_cells),
        "unparseable_created_at": len(roles.unparseable),
        "dotted_created_at": len(roles.dotted),
        "empty_lead_id": len(roles.silent),
        "country_name": int(leads["country"].is_in([n for p in COUNTRY_NAMES for n in p]).sum()),
        "competitor": int((people.company < 0).sum()),
    }


# ---- activities and opportunities frames -------------------------------------------------------


def _sorted_by_time(acts: _Acts, clock: _Clock) -> _Acts:
    """Export order: by time, then person, then type. The three fields pack losslessly into one
    int64 key, so a plain sort of the key is the whole sort (equal keys are equal rows)."""
    who_bits = max(1, int(acts.who.max(initial=0)).bit_length())
    assert (clock.span).bit_length() + who_bits + 4 < 63, "too many leads to pack the sort key"
    key = ((acts.t - clock.start) << (who_bits + 4)) | (acts.who.astype(np.int64) << 4)
    key |= acts.kind
    key = pl.Series(key).sort().to_numpy()
    return _Acts((key >> 4) & ((1 << who_bits) - 1), (key >> (who_bits + 4)) + clock.start,
                 key & 15)


_GUIDES = ("guide-crm-data-quality", "ebook-lead-scoring", "whitepaper-gdpr")
_CHUNK_ROWS = 2_000_000


@dataclass(frozen=True)
class _Lookups:
    """Small tables every activity row gathers its text from, by integer index."""

    ids: pl.Series  # lead ids by row identity, then made-up ids, then null
    emails: pl.Series  # emails by row identity, then null
    valid_email: np.ndarray  # by row identity
    ghosts: int
    month_starts: np.ndarray  # epoch seconds of each month's first moment
    campaigns: pl.Series  # newsletter per month, webinar per month, guides, null
    urls: pl.Series  # every URL path, then null
    url_offset: np.ndarray  # per activity type: first URL (or the null) ...
    url_count: np.ndarray  # ... and how many to pick from


def _lookups(leads: pl.DataFrame, clock: _Clock) -> _Lookups:
    by_who = leads.sort("_who")
    rows, ghosts = by_who.height, 500
    ghost_ids = [f"L{rows + 1 + k:0{_lead_id_width(rows)}d}" for k in range(ghosts)]
    first = np.datetime64(clock.start, "s").astype("datetime64[M]")
    months = np.arange(first, np.datetime64(clock.end, "s").astype("datetime64[M]") + 1)
    labels = months.astype(str)
    urls: list[str | None] = []
    offset = np.zeros(len(ACTIVITY_TYPES), dtype=np.int64)
    count = np.zeros(len(ACTIVITY_TYPES), dtype=np.int64)
    for name, paths in _URL_PATHS.items():
        offset[_A[name]], count[_A[name]] = len(urls), len(paths)
        urls.extend(VENDOR_SITE + path for path in paths)
    offset[count == 0] = len(urls)
    return _Lookups(
        ids=pl.concat([by_who["lead_id"], pl.Series([*ghost_ids, None], dtype=pl.String)]),
        emails=pl.concat([by_who["email"], pl.Series([None], dtype=pl.String)]),
        valid_email=by_who["email"].str.contains(_VALID_EMAIL).fill_null(False).to_numpy(),
        ghosts=ghosts,
        month_starts=months.astype("datetime64[s]").astype(np.int64),
        campaigns=pl.Series([*(f"newsletter-{m}" for m in labels),
                             *(f"webinar-{m}" for m in labels), *_GUIDES, None], dtype=pl.String),
        urls=pl.Series([*urls, None], dtype=pl.String),
        url_offset=offset,
        url_count=count,
    )


def _campaign_index(acts: _Acts, lookups: _Lookups) -> np.ndarray:
    """Newsletter/webinar of the activity's month, a guide for downloads, else null. Uses that
    ``acts`` is sorted by time: month boundaries are a handful of binary searches."""
    n_months = len(lookups.month_starts)
    bounds = np.searchsorted(acts.t, lookups.month_starts)
    month = np.repeat(np.arange(n_months), np.diff(np.append(bounds, len(acts.t))))
    base = np.full(len(ACTIVITY_TYPES), 2 * n_months + len(_GUIDES))  # the null
    per_month = np.zeros(len(ACTIVITY_TYPES), dtype=np.int64)
    per_guide = np.zeros(len(ACTIVITY_TYPES), dtype=np.int64)
    base[_EMAIL_TYPES], per_month[_EMAIL_TYPES] = 0, 1
    base[_A["webinar_attended"]], per_month[_A["webinar_attended"]] = n_months, 1
    base[_A["content_download"]], per_guide[_A["content_download"]] = 2 * n_months, 1
    k = acts.kind
    return base[k] + per_month[k] * month + per_guide[k] * (acts.t % len(_GUIDES))


def _activity_chunk(rng: Rng, acts: _Acts, lookups: _Lookups,
                    dirt: dict[str, int]) -> pl.DataFrame:
    n, rows = len(acts.who), len(lookups.valid_email)
    marketing = np.isin(acts.kind, [*_EMAIL_TYPES, _A["form_submit"], _A["webinar_attended"]])
    email_only = marketing & lookups.valid_email[acts.who] & (rng.random(n) < 0.004)
    unknown = ~email_only & (rng.random(n) < 0.0005)
    dirt["activity_email_only"] += int(email_only.sum())
    dirt["activity_unknown_lead"] += int(unknown.sum())
    id_idx = np.where(unknown, rows + rng.integers(0, lookups.ghosts, n), acts.who)
    url_idx = lookups.url_offset[acts.kind] + (
        rng.random(n) * lookups.url_count[acts.kind]).astype(np.int64)
    return pl.DataFrame({
        "lead_id": lookups.ids.gather(np.where(email_only, rows + lookups.ghosts, id_idx)),
        "email": lookups.emails.gather(np.where(email_only, acts.who, rows)),
        "activity_type": _take(ACTIVITY_TYPES, acts.kind),
        "occurred_at": _datetimes(acts.t),
        "campaign": lookups.campaigns.gather(_campaign_index(acts, lookups)),
        "url": lookups.urls.gather(url_idx),
    })


def _activities_frame(rng: Rng, acts: _Acts, leads: pl.DataFrame, clock: _Clock,
                      dirt: dict[str, int]) -> pl.DataFrame:
    """activities.parquet: typed, in time order; a few rows carry only the email, a few point at
    lead ids that do not exist. Built in chunks so temporaries stay small at any size."""
    acts = _sorted_by_time(acts, clock)
    lookups = _lookups(leads, clock)
    dirt["activity_email_only"] = dirt["activity_unknown_lead"] = 0
    chunks = [
        _activity_chunk(rng, acts.where(slice(i, i + _CHUNK_ROWS)), lookups, dirt)
        for i in range(0, max(len(acts.t), 1), _CHUNK_ROWS)
    ]
    return pl.concat(chunks, rechunk=False)


def _deal_stage(age_days: np.ndarray, closed: np.ndarray, won: np.ndarray) -> np.ndarray:
    open_stage = np.select([age_days < 14, age_days < 35, age_days < 60],
                           ["Qualification", "Demo", "Proposal"], "Negotiation")
    return np.where(closed, np.where(won, "Closed Won", "Closed Lost"), open_stage)


def _opportunities_frame(rng: Rng, deals: _Deals, people: _People, companies: _Companies,
                         leads: pl.DataFrame, clock: _Clock,
                         dirt: dict[str, int]) -> pl.DataFrame:
    """opportunities.csv: mostly linked by lead_id; a few only by business id and company name."""
    order = np.argsort(deals.created, kind="stable")
    who, created = deals.person[order], deals.created[order]
    closed, won = deals.closed[order], deals.won[order]
    m = len(who)
    c = people.company[who]
    by_lead = rng.random(m) >= 0.05
    dirt["opportunity_without_lead_id"] = int((~by_lead).sum())
    with_bid = companies.covered[c] & (~by_lead | (rng.random(m) < 0.5))
    is_closed = closed < _FAR_FUTURE
    amount = np.round(rng.lognormal(np.log(15_000), 0.6, m)
                      * (companies.employees[c] / 50) ** 0.25, -2)
    lead_id = leads.sort("_who")["lead_id"].gather(who)
    return pl.DataFrame({
        "opportunity_id": "OPP-" + pl.Series(np.arange(1, m + 1)).cast(pl.String).str.zfill(6),
        "lead_id": _keep(lead_id, by_lead),
        "business_id": _keep(companies.frame["business_id"].gather(c), with_bid),
        "company_name": companies.frame["company_name"].gather(c),
        "created_at": _datetimes(created),
        "stage": _deal_stage((clock.end - created) / DAY, is_closed, won),
        "closed_at": _datetimes(np.where(is_closed, closed, 0)),
        "won": np.where(won, "Yes", "No"),
        "amount": np.where(rng.random(m) < 0.92, amount, np.nan),
    }).with_columns(
        pl.when(pl.Series(is_closed)).then(pl.col(c)).alias(c) for c in ("closed_at", "won")
    ).with_columns(pl.col("amount").fill_nan(None))


# ---- public API --------------------------------------------------------------------------------


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


def write_sample(out_dir: Path, *, leads: int, seed: int, export_date: date) -> dict:
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
