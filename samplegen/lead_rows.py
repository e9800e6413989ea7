"""Lead rows as a CRM exports them: emails, phones, name variants, BANT, planted dirt."""

from __future__ import annotations

import numpy as np
import polars as pl

from samplegen.business_ids import _format_business_id
from samplegen.people import _Roles
from samplegen.records import _Clock, _Companies, _Deals, _People
from samplegen.tables import (
    _COMPETITOR_NAMES,
    _FAR_FUTURE,
    _FORM_SWAPS,
    _NAME_GROUP,
    _NEEDS,
    _NORDIC,
    _OWNERS,
    _ROLE_LOCALS,
    _SOURCE_WEIGHTS,
    _TITLE_TABLE,
    COMPETITOR_DOMAIN,
    COUNTRIES,
    COUNTRY_NAMES,
    DAY,
    FIRST_NAMES,
    FREE_MAIL_DOMAINS,
    LAST_NAMES,
    LEAD_SOURCES,
    PLACEHOLDERS,
    UNPARSEABLE_DATES,
    Rng,
)
from samplegen.vectorized import (
    _ascii_fold,
    _choice,
    _datetimes,
    _keep,
    _occurrence,
    _pick_in_groups,
    _take,
)

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
