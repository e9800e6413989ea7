"""People, their hidden fit, and the duplicate rows they get in the CRM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from samplegen.records import _Clock, _Companies, _People
from samplegen.tables import (
    _COUNTRY_WEIGHTS,
    _IS_IT,
    _LOCAL_TITLE_LANGUAGE,
    _NORDIC,
    _SOURCE_WEIGHTS,
    _TITLE_LANGUAGES,
    _TITLE_TABLE,
    DAY,
    LEAD_SOURCES,
    SENIORITIES,
    Rng,
)
from samplegen.vectorized import _choice

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
