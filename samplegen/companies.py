"""Companies, their snapshots and events: the firmographics provider's export."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from samplegen.business_ids import _compact_ids, _format_business_id
from samplegen.records import _Clock, _Companies
from samplegen.tables import (
    _COUNTRY_WEIGHTS,
    _FAR_FUTURE,
    _INDUSTRY_WORDS,
    _IS_IT,
    _LEGAL_FORMS,
    _NAME_GROUP,
    _PLACE_WORDS,
    _SYLLABLES,
    _TECH_BASE,
    _TECH_IT_BOOST,
    _TECH_LOCAL,
    _TLD,
    COUNTRIES,
    DAY,
    INDUSTRIES,
    TECHNOLOGIES,
    Rng,
)
from samplegen.vectorized import (
    _ascii_fold,
    _choice,
    _datetimes,
    _occurrence,
    _pick_in_groups,
    _take,
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
