"""The activities and opportunities frames, from the planned activities and deals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from features.schema import ACTIVITY_TYPES
from samplegen.lead_rows import _lead_id_width
from samplegen.process import _Acts
from samplegen.records import _Clock, _Companies, _Deals, _People
from samplegen.tables import (
    _A,
    _EMAIL_TYPES,
    _FAR_FUTURE,
    _URL_PATHS,
    _VALID_EMAIL,
    DAY,
    VENDOR_SITE,
    Rng,
)
from samplegen.vectorized import _datetimes, _keep, _take

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
