"""The hidden truth the generator draws, one array per attribute: the clock, companies, people
and deals (the exported frames are made from these)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


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
