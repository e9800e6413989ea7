"""Match each lead to at most one company from the firmographic data.

Precedence, strongest evidence first (the first that finds exactly one company wins):

1. ``business_id``: the lead's validated business ID is a company's key (confidence 1.0).
2. ``domain``: the registrable domain of the lead's website, else of its email address when that
   is not free mail, is exactly one company's domain (0.95). Social-network and hosting domains in
   ``NON_IDENTIFYING_DOMAINS`` never identify a company.
3. ``exact_name``: the normalized company name (legal forms stripped) and country equal exactly one
   company's (0.9). When either side has no country, the name must belong to a single company in
   the whole data set.
4. ``fuzzy_name``: rapidfuzz ``token_sort_ratio`` (word order does not matter, "nordea bank" ==
   "bank nordea") of the normalized names at or above ``MatchingConfig.fuzzy_threshold`` against
   companies of the same country (a null country on either side is compatible with any), whose
   name holds the same numbers ("company 87978" never matches "company 87979"). The
   confidence is ``score / 100 * FUZZY_CONFIDENCE_SCALE`` (0.85 for a perfect score, about 0.78
   at the default threshold of 92), so any fuzzy match ranks below an exact one.

Ambiguity is never resolved by guessing: a domain or a (name, country) shared by two companies is
not used (``company_identities`` flags it and ``match_report`` counts it), and a fuzzy best score
reached by two companies leaves the lead unmatched as ``"ambiguous fuzzy match"``.

The company data is small next to the leads, so its identities are collected once, by the caller
(the rapidfuzz boundary), and serve both the matching and the run's report; the lead side stays
one lazy plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from features.config import MatchingConfig
from features.errors import InputError
from features.resolve.identity import (
    business_id_checks,
    email_domain,
    email_quality,
    is_free_mail,
    normalize_business_ids,
    normalize_company_name,
    registrable_domain_table,
    registrable_domains_of,
    website_domain,
)
from features.schema import UTC_DATETIME

LEAD_COLUMNS: tuple[str, ...] = (
    "lead_id", "email", "website", "business_id", "company_name", "country",
)
COMPANY_COLUMNS: tuple[str, ...] = ("business_id", "company_name", "domain", "country")

MATCH_METHODS: tuple[str, ...] = ("business_id", "domain", "exact_name", "fuzzy_name", "none")
MATCH_CONFIDENCE: dict[str, float] = {"business_id": 1.0, "domain": 0.95, "exact_name": 0.9}
FUZZY_CONFIDENCE_SCALE = 0.85

# Why a lead is unmatched, in the order they are tested: ambiguity first (there was a candidate
# but more than one), then what the user can fix, then plain absence.
UNMATCHED_REASONS: tuple[str, ...] = (
    "no company data",
    "ambiguous domain",
    "ambiguous name",
    "ambiguous fuzzy match",
    "business_id invalid",
    "nothing to match on",
    "no match",
)

# Pages on these domains belong to the platform, not to the lead's company (a CRM "website" is
# often a LinkedIn or Facebook page).
NON_IDENTIFYING_DOMAINS: tuple[str, ...] = (
    "facebook.com", "linkedin.com", "instagram.com", "twitter.com", "x.com", "youtube.com",
    "google.com", "wix.com", "wordpress.com", "blogspot.com",
)

MATCH_COLUMNS: tuple[str, ...] = (
    "lead_id", "company_key", "match_method", "match_confidence", "unmatched_reason",
    "lead_business_id", "lead_email_domain", "lead_website_domain", "email_quality",
)
# What `match_report` reads of the matches.
MATCH_REPORT_COLUMNS: tuple[str, ...] = ("match_method", "unmatched_reason")

# Fuzzy names: companies compared on either side of a query's place in each sorted order
# (`fuzzy_name_matches`), and how many pairs are scored at once (their names are referenced,
# not copied, so a chunk costs about 16 bytes a pair).
FUZZY_WINDOW = 25
_PAIRS_PER_CHUNK = 2_000_000

_FUZZY_SCHEMA = {
    "_name": pl.String(),
    "_country": pl.String(),
    "_key_fuzzy": pl.String(),
    "_fuzzy_score": pl.Float64(),
    "_fuzzy_ambiguous": pl.Boolean(),
}


def _require_columns(frame: pl.LazyFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [c for c in columns if c not in frame.collect_schema()]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)} (needed for matching)")


def _upper_country(col: str) -> pl.Expr:
    country = pl.col(col).str.strip_chars().str.to_uppercase()
    return pl.when(country.str.len_chars() > 0).then(country)


# ---- companies ---------------------------------------------------------------------------------


def _company_host() -> pl.Expr:
    return website_domain(pl.col("domain")).alias("_host")


def _company_rows(companies: pl.LazyFrame, memo: MatchMemo | None = None) -> pl.LazyFrame:
    """One row per input snapshot, adding ``_bid``, ``match_name`` and ``match_domain``
    (``country`` upper-cased)."""
    companies = companies.with_columns(pl.col(COMPANY_COLUMNS).cast(pl.String))
    rows = normalize_business_ids(
        companies, "business_id", "country", "_bid",
        known=None if memo is None else memo.business_ids,
    ).with_columns(
        normalize_company_name(pl.col("company_name")).alias("match_name"),
        _upper_country("country").alias("country"),
        _company_host(),
    )
    # Every input column is kept, so the same rows serve identities and point-in-time snapshots.
    return registrable_domains_of(rows, {"_host": "match_domain"},
                                  known=None if memo is None else memo.domains).drop("_host")


def _with_company_key(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Adds ``company_key``: the business-ID key; else that of the single business-ID company with
    the same name and country (a snapshot that lacks the ID is still that company); else
    ``"name:<name>|<country>"``; else ``"domain:<domain>"``; else null."""
    by_name = (
        rows.filter(pl.col("_bid").is_not_null() & pl.col("match_name").is_not_null())
        .group_by("match_name", "country")
        .agg(pl.col("_bid").unique())
        .filter(pl.col("_bid").list.len() == 1)
        .select("match_name", "country", pl.col("_bid").list.first().alias("_bid_by_name"))
    )
    name_key = pl.concat_str(
        pl.lit("name:"), pl.col("match_name"), pl.lit("|"), pl.col("country").fill_null("")
    )
    return rows.join(
        by_name, on=["match_name", "country"], how="left", nulls_equal=True, validate="m:1"
    ).with_columns(
        pl.coalesce(
            "_bid", "_bid_by_name", name_key, pl.lit("domain:") + pl.col("match_domain")
        ).alias("company_key")
    )


def _latest(col: str) -> pl.Expr:
    return pl.col(col).sort_by("updated_at", maintain_order=True).drop_nulls().last()


def company_identities(companies: pl.LazyFrame) -> pl.LazyFrame:
    """One row per distinct company, whatever the number of snapshots.

    Needs ``business_id, company_name, domain, country`` (``updated_at`` optional). Returns
    what ``identities_of_snapshots`` returns, for raw company rows.
    """
    _require_columns(companies, COMPANY_COLUMNS, "companies")
    return identities_of_snapshots(_with_company_key(_company_rows(companies)))


def identities_of_snapshots(snapshots: pl.LazyFrame) -> pl.LazyFrame:
    """One row per distinct company of keyed snapshots (``keyed_company_snapshots``).

    Needs ``company_key``, ``match_domain``, ``match_name``, ``country`` (``updated_at``
    optional). Returns ``company_key`` (see ``_with_company_key``), ``match_domain``
    (registrable domain), ``match_name`` (normalized), ``country`` (upper case), each the latest
    non-null value by ``updated_at``, and two flags: ``domain_ambiguous`` (another company has
    the same ``match_domain``) and ``name_ambiguous`` (another company has the same
    ``match_name`` and ``country``). Matching never uses an ambiguous value. Snapshots with
    neither a valid business ID, nor a usable name, nor a domain identify nothing and are
    dropped. Sorted by key.
    """
    if "updated_at" not in snapshots.collect_schema():
        snapshots = snapshots.with_columns(pl.lit(None, dtype=UTC_DATETIME).alias("updated_at"))
    identities = (
        snapshots.filter(pl.col("company_key").is_not_null())
        .group_by("company_key")
        .agg(_latest("match_domain"), _latest("match_name"), _latest("country"))
    )
    return identities.with_columns(
        (
            pl.col("match_domain").is_not_null()
            & (pl.col("company_key").n_unique().over("match_domain") > 1)
        ).alias("domain_ambiguous"),
        (
            pl.col("match_name").is_not_null()
            & (pl.col("company_key").n_unique().over("match_name", "country") > 1)
        ).alias("name_ambiguous"),
    ).sort("company_key")


def keyed_company_snapshots(companies: pl.LazyFrame, memo: MatchMemo | None = None
                            ) -> pl.LazyFrame:
    """Every company snapshot row with its ``company_key``, ``match_domain`` and ``match_name``.

    Needs the ``COMPANY_COLUMNS``. Rows that identify no company (``company_key`` null: no valid
    business ID, no usable name, no domain) are kept with a null key; the caller quarantines them.
    ``memo`` (a ``match_memo`` that saw these companies) spares their business-ID checks and
    registrable domains.
    """
    _require_columns(companies, COMPANY_COLUMNS, "companies")
    return _with_company_key(_company_rows(companies, memo)).drop("_bid", "_bid_by_name")


# ---- leads -------------------------------------------------------------------------------------


def _lead_hosts() -> tuple[pl.Expr, pl.Expr]:
    """``_web_host`` and ``_mail_host``: the hosts of a lead's website and email address."""
    return (website_domain(pl.col("website")).alias("_web_host"),
            email_domain(pl.col("email")).alias("_mail_host"))


@dataclass(frozen=True)
class MatchMemo:
    """The per-value Python results of matching already computed for a set of leads and
    companies (``match_memo``): business-ID checks (``business_id_checks``) and registrable
    domains (``registrable_domain_table``). Matching a subset of those leads (a partition of a
    run) looks its values up here and computes only the others, and so does keying the
    companies: at 10 million leads and 2 million companies a partition's leads hold about a
    million distinct domains and business IDs, most of them in every other partition and
    among the companies too, and tldextract and python-stdnum cost about 20 s a partition on
    them."""

    business_ids: pl.DataFrame
    domains: pl.DataFrame


def match_memo(leads: pl.LazyFrame, companies: pl.LazyFrame | None = None) -> MatchMemo:
    """The ``MatchMemo`` of every distinct value of ``leads`` (the lead columns of
    ``LEAD_COLUMNS``) and of ``companies`` (``COMPANY_COLUMNS``), each computed once. The
    survivors of deduplication take each field from one of their duplicates, so their hosts are
    all here; a business ID and a country taken from two different duplicates may not be, and
    is then checked when it is matched."""
    leads = leads.with_columns(pl.col(LEAD_COLUMNS[1:]).cast(pl.String))
    ids = [leads.select("business_id", "country")]
    hosts = [leads.select(host) for host in _lead_hosts()]
    if companies is not None:
        companies = companies.with_columns(pl.col(COMPANY_COLUMNS).cast(pl.String))
        ids.append(companies.select("business_id", "country"))
        hosts.append(companies.select(_company_host()))
    checks = business_id_checks(pl.concat(ids), "business_id", "country")
    business_ids, domains = pl.collect_all([checks, registrable_domain_table(hosts)])
    return MatchMemo(business_ids, domains)


def _prepare_leads(leads: pl.LazyFrame, free_mail_extra: tuple[str, ...],
                   memo: MatchMemo | None = None) -> pl.LazyFrame:
    """Adds ``lead_business_id`` (+ ``_status``/``_reason``), ``lead_website_domain``,
    ``lead_email_domain``, ``email_quality``, ``_name``, ``_country`` and the two domains usable
    for matching, ``_web_domain`` and ``_mail_domain``."""
    leads = leads.with_columns(pl.col(LEAD_COLUMNS[1:]).cast(pl.String))
    prepared = normalize_business_ids(leads, "business_id", "country", "lead_business_id",
                                      known=None if memo is None else memo.business_ids)
    prepared = prepared.with_columns(
        *_lead_hosts(),
        email_quality(pl.col("email"), free_mail_extra).alias("email_quality"),
        normalize_company_name(pl.col("company_name")).alias("_name"),
        _upper_country("country").alias("_country"),
    )
    prepared = registrable_domains_of(
        prepared, {"_web_host": "lead_website_domain", "_mail_host": "lead_email_domain"},
        known=None if memo is None else memo.domains,
    )

    def identifying(col: str) -> pl.Expr:
        return (
            pl.when(
                ~is_free_mail(pl.col(col), free_mail_extra)
                & ~pl.col(col).is_in(NON_IDENTIFYING_DOMAINS)
            )
            .then(pl.col(col))
        )

    return prepared.with_columns(
        identifying("lead_website_domain").alias("_web_domain"),
        identifying("lead_email_domain").alias("_mail_domain"),
    )


def _match_business_id(leads: pl.LazyFrame, identities: pl.DataFrame) -> pl.LazyFrame:
    """Adds ``_key_bid``: the lead's business-ID key when a company has it."""
    keys = identities.get_column("company_key")
    return leads.with_columns(
        pl.when(pl.col("lead_business_id").is_in(keys.implode()))
        .then(pl.col("lead_business_id"))
        .alias("_key_bid")
    )


def _match_domain(leads: pl.LazyFrame, identities: pl.DataFrame) -> pl.LazyFrame:
    """Adds ``_key_web`` and ``_key_mail`` (the company with that unambiguous domain) and
    ``_amb_domain`` (either domain belongs to several companies)."""
    usable = identities.filter(
        pl.col("match_domain").is_not_null() & ~pl.col("domain_ambiguous")
    ).lazy()
    ambiguous = identities.filter(pl.col("domain_ambiguous")).get_column("match_domain").unique()
    for source, key in (("_web_domain", "_key_web"), ("_mail_domain", "_key_mail")):
        table = usable.select(
            pl.col("match_domain").alias(source), pl.col("company_key").alias(key)
        )
        leads = leads.join(table, on=source, how="left", validate="m:1", maintain_order="left")
    return leads.with_columns(
        (
            pl.col("_web_domain").is_in(ambiguous.implode())
            | pl.col("_mail_domain").is_in(ambiguous.implode())
        ).alias("_amb_domain")
    )


def _name_tables(identities: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per (name, country) and per name alone: how many companies, and the key if just one."""
    named = identities.filter(pl.col("match_name").is_not_null())
    only_key = pl.when(pl.len() == 1).then(pl.col("company_key").first())
    pairs = (
        named.filter(pl.col("country").is_not_null())
        .group_by(pl.col("match_name").alias("_name"), pl.col("country").alias("_country"))
        .agg(pl.len().alias("_pair_n"), only_key.alias("_pair_key"))
    )
    names = named.group_by(pl.col("match_name").alias("_name")).agg(
        pl.len().alias("_name_n"),
        pl.col("country").is_null().any().alias("_name_has_null_country"),
        only_key.alias("_name_key"),
        pl.when(pl.len() == 1).then(pl.col("country").first()).alias("_name_key_country"),
    )
    return pairs, names


def _match_exact_name(leads: pl.LazyFrame, index: CompanyIndex) -> pl.LazyFrame:
    """Adds ``_key_exact`` and ``_amb_name`` (companies with this name were compatible with the
    lead's country, but not exactly one)."""
    joined = leads.join(
        index.name_pairs.lazy(), on=["_name", "_country"], how="left", validate="m:1",
        maintain_order="left",
    ).join(index.names.lazy(), on="_name", how="left", validate="m:1", maintain_order="left")
    no_country = pl.col("_country").is_null()
    by_name_alone = pl.when(
        (pl.col("_name_n") == 1) & (no_country | pl.col("_name_key_country").is_null())
    ).then(pl.col("_name_key"))
    compatible = (pl.col("_pair_n") > 0) | (
        (pl.col("_name_n") > 0) & (no_country | pl.col("_name_has_null_country"))
    )
    key = pl.coalesce("_pair_key", by_name_alone)
    return joined.with_columns(
        key.alias("_key_exact"),
        (key.is_null() & compatible.fill_null(False)).alias("_amb_name"),
    )


# ---- fuzzy names -------------------------------------------------------------------------------


def _token_sorted(name: pl.Expr) -> pl.Expr:
    """The name with its words in sorted order: ``fuzz.token_sort_ratio(a, b)`` is
    ``fuzz.ratio`` of these, so each name's words are sorted once rather than per pair."""
    return name.str.extract_all(r"\S+").list.sort().list.join(" ")


def _numbers(name: pl.Expr) -> pl.Expr:
    # The numbers a name contains, sorted (token_sort_ratio ignores their order): names that
    # differ in a number ("Company 87978" / "Company 87979") are different companies however
    # close the spelling.
    return name.str.extract_all(r"\d+").list.sort().list.join(" ")


@dataclass(frozen=True)
class _PoolRule:
    """Which companies a group of queries is compared with: the companies that `companies`
    selects, grouped by `company_pool`, meet the queries that `queries` selects, grouped by
    `query_pool`, where the two pool names are equal."""

    companies: pl.Expr
    company_pool: pl.Expr
    queries: pl.Expr
    query_pool: pl.Expr


_ANYWHERE = pl.lit("", pl.String())
# A query with a country meets the companies of that country and those without one; a query
# without a country meets every company (the rule the exact name match keeps too). Needs
# ``country`` (companies) and ``_country`` (queries).
_POOL_RULES: tuple[_PoolRule, ...] = (
    _PoolRule(pl.col("country").is_not_null(), pl.col("country"),
              pl.col("_country").is_not_null(), pl.col("_country")),
    _PoolRule(pl.col("country").is_null(), _ANYWHERE, pl.col("_country").is_not_null(), _ANYWHERE),
    _PoolRule(pl.lit(True), _ANYWHERE, pl.col("_country").is_null(), _ANYWHERE),
)

# The two sorted orders of the token-sorted names: forwards, and each name spelt backwards.
_ORDERS = (pl.col("_sort"), pl.col("_sort").str.reverse())

# A pool's companies (``_c``, ``_order``), sorted by each of ``_ORDERS``, by pool name.
_SortedPools = dict[str, tuple[pl.DataFrame, ...]]


@dataclass(frozen=True)
class FuzzyCompanies:
    """The company side of the fuzzy name search, built once per set of identities
    (``fuzzy_companies``) for every batch of queries: ``table`` (``_c``, ``company_key``,
    ``country``, ``_sort``, ``_numbers``: one row per named company) and, for each of
    ``_POOL_RULES``, its pools' companies sorted in each of ``_ORDERS``. At 2 million
    companies the sorting alone takes several seconds, which each partition of a run would
    otherwise pay again."""

    table: pl.DataFrame
    pools: tuple[_SortedPools, ...]


def _sorted_pools(table: pl.DataFrame, rule: _PoolRule) -> _SortedPools:
    chosen = table.filter(rule.companies).select("_c", "_sort", rule.company_pool.alias("_pool"))
    groups = chosen.partition_by("_pool", as_dict=True, include_key=False)
    # A stable sort: companies with the same name stay in `_c` order, so that the neighbours
    # found are the same in every run.
    return {str(name): tuple(group.select("_c", order.alias("_order"))
                             .sort("_order", maintain_order=True) for order in _ORDERS)
            for (name,), group in groups.items()}


def fuzzy_companies(identities: pl.DataFrame) -> FuzzyCompanies:
    """The named companies of ``identities`` (``company_key``, ``match_name``, ``country``)
    ready for ``fuzzy_name_matches``."""
    table = identities.filter(pl.col("match_name").is_not_null()).select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_c"), "company_key", "country",
        _token_sorted(pl.col("match_name")).alias("_sort"),
        _numbers(pl.col("match_name")).alias("_numbers"))
    return FuzzyCompanies(table, tuple(_sorted_pools(table, rule) for rule in _POOL_RULES))


def _nearest(companies: pl.DataFrame, queries: pl.DataFrame, window: int) -> pl.DataFrame:
    """``_q``, ``_c``: each query with the ``window`` companies on either side of its place
    among ``companies`` sorted by ``_order`` (both frames carry ``_order``; ``companies`` is
    sorted by it)."""
    # A binary search per query in the companies sorted once: a sort of the companies and
    # queries together by (pool, name) cost several times more.
    place = companies.get_column("_order").search_sorted(queries.get_column("_order"))
    pairs = queries.select("_q", pl.int_ranges(
        (place.cast(pl.Int64) - window).clip(lower_bound=0),
        (place.cast(pl.Int64) + window).clip(upper_bound=companies.height),
        dtype=pl.UInt32).alias("_pos")).explode("_pos").drop_nulls()
    return pairs.select("_q", companies.get_column("_c").gather(pairs.get_column("_pos")))


def _neighbours(pools: _SortedPools, queries: pl.DataFrame, window: int) -> list[pl.DataFrame]:
    """``_q``, ``_c``: each query (``_q``, ``_sort``, ``_pool``) with its ``window`` nearest
    companies of its pool on either side, in each of ``_ORDERS``."""
    found: list[pl.DataFrame] = []
    for (name,), asked in queries.group_by("_pool"):
        orders = pools.get(str(name))
        if orders is None:
            continue
        found.extend(_nearest(companies, asked.select("_q", order.alias("_order")), window)
                     for companies, order in zip(orders, _ORDERS, strict=True))
    return found


def _candidate_pairs(companies: FuzzyCompanies, queries: pl.DataFrame, window: int
                     ) -> pl.DataFrame:
    """Every (query, company) pair that is scored: neighbours in two sorted orders of the
    token-sorted names, forward and reversed, so that a difference near the start of a name
    (which moves it far away in forward order) still meets in reversed order. A pair found in
    both orders is listed twice (scoring it twice costs less than finding the repeats).
    Needs ``_q``, ``_country`` and ``_sort`` of the queries."""
    found = [
        pairs
        for rule, pools in zip(_POOL_RULES, companies.pools, strict=True)
        if pools
        for pairs in _neighbours(
            pools, queries.filter(rule.queries).select("_q", "_sort",
                                                       rule.query_pool.alias("_pool")), window)
    ]
    if not found:
        return pl.DataFrame(schema={"_q": pl.UInt32(), "_c": pl.UInt32()})
    return pl.concat(found)


def _reachable(pairs: pl.DataFrame, queries: pl.DataFrame, companies: pl.DataFrame,
               threshold: float) -> pl.DataFrame:
    """The pairs whose lengths allow ``threshold``: ratio is 100 * (1 - d / (l1 + l2)) and the
    Indel distance d is at least |l1 - l2|, so the others would score below it anyway."""
    query_length = queries.get_column("_sort").str.len_chars().cast(pl.Int64).gather(
        pairs.get_column("_q"))
    company_length = companies.get_column("_sort").str.len_chars().cast(pl.Int64).gather(
        pairs.get_column("_c"))
    best_possible = 100 * (1 - (query_length - company_length).abs()
                           / (query_length + company_length))
    return pairs.filter(best_possible >= threshold - 1e-6)  # slack for float rounding


def _ratios(pairs: pl.DataFrame, query_names: pl.Series, company_names: pl.Series,
            threshold: float) -> pl.Series:
    """``_fuzzy_score``: fuzz.ratio of each pair's names (0 below ``threshold``), on all cores,
    ``_PAIRS_PER_CHUNK`` pairs at a time (the chunk's names are references into one list of
    each side's names, not copies)."""
    queries, names = query_names.to_list(), company_names.to_list()

    def picked(side: list[str], rows: pl.Series) -> list[str]:
        positions = rows.to_list()
        return [side[i] for i in positions] if len(positions) < 2 else list(
            itemgetter(*positions)(side))

    scores = [
        process.cpdist(picked(queries, chunk.get_column("_q")),
                       picked(names, chunk.get_column("_c")),
                       scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.float32, workers=-1)
        for chunk in pairs.iter_slices(_PAIRS_PER_CHUNK)
    ]
    return pl.Series("_fuzzy_score", np.concatenate(scores), dtype=pl.Float32)


def fuzzy_name_matches(
    queries: pl.DataFrame, fuzzy: FuzzyCompanies, threshold: float,
    window: int = FUZZY_WINDOW,
) -> pl.DataFrame:
    """The fuzzy match of each unique query (``_name``, ``_country``) among the companies of
    ``fuzzy`` (``fuzzy_companies``).

    A sorted-neighbourhood search: companies and queries are sorted by their token-sorted
    names, once forwards and once reversed, and each query is compared with the ``window``
    companies on either side of its place in each order (within its country, see
    ``_POOL_RULES``).
    So every query is scored against at most ``4 * window`` names per pool whatever the number
    of companies, and the work grows with the data, not with its square. The cost is recall:
    a company whose name sorts more than ``window`` places away in both orders (differences
    near both the start and the end of the name, among many similar names) is not found.
    Pairs are scored with rapidfuzz's ``cpdist`` (``fuzz.ratio`` of the token-sorted names,
    which is ``token_sort_ratio``) on all cores; only names with the same numbers can match.
    Returns ``_FUZZY_SCHEMA``: one row per query that reached ``threshold``; ``_key_fuzzy`` is
    null and ``_fuzzy_ambiguous`` true when two companies share the best score.
    """
    companies = fuzzy.table
    asked = queries.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_q"), "_name", "_country",
        _token_sorted(pl.col("_name")).alias("_sort"), _numbers(pl.col("_name")).alias("_numbers"))
    pairs = _reachable(_candidate_pairs(fuzzy, asked, window), asked, companies, threshold)
    if pairs.height == 0:
        return pl.DataFrame(schema=_FUZZY_SCHEMA)
    scored = (
        pairs.with_columns(_ratios(pairs, asked.get_column("_sort"),
                                   companies.get_column("_sort"), threshold))
        .filter(pl.col("_fuzzy_score") >= threshold)
        .join(asked.select("_q", pl.col("_numbers").alias("_query_numbers")), on="_q")
        .join(companies.select("_c", "_numbers", pl.col("company_key").alias("_key")), on="_c")
        .filter(pl.col("_numbers") == pl.col("_query_numbers"))
        .with_columns(pl.col("_fuzzy_score").cast(pl.Float64))
    )
    best = (
        scored.filter(pl.col("_fuzzy_score") == pl.col("_fuzzy_score").max().over("_q"))
        .group_by("_q")
        .agg(pl.col("_fuzzy_score").first(), (pl.col("_key").n_unique() > 1).alias(
            "_fuzzy_ambiguous"), pl.col("_key").min().alias("_best_key"))
    )
    return best.join(asked.select("_q", "_name", "_country"), on="_q").sort("_q").select(
        "_name", "_country",
        pl.when(~pl.col("_fuzzy_ambiguous")).then(pl.col("_best_key")).alias("_key_fuzzy"),
        "_fuzzy_score", "_fuzzy_ambiguous",
    )


def _match_fuzzy_name(
    leads: pl.LazyFrame, fuzzy: FuzzyCompanies, threshold: float
) -> pl.LazyFrame:
    """Adds ``_key_fuzzy``, ``_fuzzy_score`` and ``_fuzzy_ambiguous`` for leads no earlier method
    matched. rapidfuzz runs on their unique (name, country) pairs inside the lazy plan; the
    leads are cached, as they are read for those pairs and joined back (polars 2.1 computed
    them twice otherwise)."""
    unmatched = pl.all_horizontal(
        pl.col(k).is_null() for k in ("_key_bid", "_key_web", "_key_mail", "_key_exact")
    )
    leads = leads.cache()
    queries = (
        leads.filter(unmatched & pl.col("_name").is_not_null())
        .select("_name", "_country")
        .unique()
        .map_batches(
            lambda q: fuzzy_name_matches(q, fuzzy, threshold), schema=_FUZZY_SCHEMA
        )
    )
    return leads.join(
        queries, on=["_name", "_country"], how="left", nulls_equal=True,
        validate="m:1", maintain_order="left",
    )


# ---- the companies' side, built once -----------------------------------------------------------


@dataclass(frozen=True)
class CompanyIndex:
    """What matching needs of one set of company identities, built once (``company_index``)
    for every set of leads matched against them (each partition of a run): the identities
    themselves, the name tables of the exact name match and the fuzzy search's sorted names.
    The last two took 15.1 to 15.8 s at 1,966,456 companies."""

    identities: pl.DataFrame
    name_pairs: pl.DataFrame  # _name, _country, _pair_n, _pair_key
    names: pl.DataFrame  # _name, _name_n, _name_has_null_country, _name_key, _name_key_country
    fuzzy: FuzzyCompanies


def company_index(identities: pl.DataFrame) -> CompanyIndex:
    """The ``CompanyIndex`` of collected ``company_identities`` (or ``identities_of_snapshots``)."""
    name_pairs, names = _name_tables(identities)
    return CompanyIndex(identities, name_pairs, names, fuzzy_companies(identities))


# ---- result ------------------------------------------------------------------------------------


def _method() -> pl.Expr:
    return (
        pl.when(pl.col("_key_bid").is_not_null()).then(pl.lit("business_id"))
        .when(pl.col("_key_web").is_not_null() | pl.col("_key_mail").is_not_null())
        .then(pl.lit("domain"))
        .when(pl.col("_key_exact").is_not_null()).then(pl.lit("exact_name"))
        .when(pl.col("_key_fuzzy").is_not_null()).then(pl.lit("fuzzy_name"))
        .otherwise(pl.lit("none"))
    )


def _confidence() -> pl.Expr:
    method = pl.col("match_method")
    fixed = method.replace_strict(MATCH_CONFIDENCE, default=None, return_dtype=pl.Float64())
    fuzzy = pl.col("_fuzzy_score") / 100 * FUZZY_CONFIDENCE_SCALE
    return pl.when(method == "fuzzy_name").then(fuzzy).otherwise(fixed)


def _unmatched_reason() -> pl.Expr:
    nothing = pl.all_horizontal(
        pl.col(c).is_null() for c in ("lead_business_id", "_web_domain", "_mail_domain", "_name")
    )
    return (
        pl.when(pl.col("match_method") != "none").then(pl.lit(None, pl.String()))
        .when(pl.col("_amb_domain")).then(pl.lit("ambiguous domain"))
        .when(pl.col("_amb_name")).then(pl.lit("ambiguous name"))
        .when(pl.col("_fuzzy_ambiguous")).then(pl.lit("ambiguous fuzzy match"))
        .when(pl.col("lead_business_id_status") == "invalid").then(pl.lit("business_id invalid"))
        .when(nothing).then(pl.lit("nothing to match on"))
        .otherwise(pl.lit("no match"))
    )


def _finish(matched: pl.LazyFrame) -> pl.LazyFrame:
    return (
        matched.with_columns(
            pl.coalesce("_key_bid", "_key_web", "_key_mail", "_key_exact", "_key_fuzzy")
            .alias("company_key"),
            _method().alias("match_method"),
        )
        .with_columns(
            _confidence().alias("match_confidence"),
            _unmatched_reason().alias("unmatched_reason"),
        )
        .select(MATCH_COLUMNS)
    )


def _no_company_data(leads: pl.LazyFrame) -> pl.LazyFrame:
    return leads.with_columns(
        pl.lit(None, pl.String()).alias("company_key"),
        pl.lit("none").alias("match_method"),
        pl.lit(None, pl.Float64()).alias("match_confidence"),
        pl.lit("no company data").alias("unmatched_reason"),
    ).select(MATCH_COLUMNS)


def match_leads_to_companies(
    leads: pl.LazyFrame, identities: pl.DataFrame | CompanyIndex | None, cfg: MatchingConfig,
    memo: MatchMemo | None = None,
) -> pl.LazyFrame:
    """Match every lead to at most one company, in the order of the module docstring.

    Needs ``lead_id, email, website, business_id, company_name, country`` on ``leads`` and the
    collected ``company_identities`` (or ``identities_of_snapshots``), or their
    ``company_index`` when several sets of leads meet the same companies, and optionally the
    ``match_memo`` of a superset of the leads (the same result, sooner). Returns one row per
    lead, in input order, with ``MATCH_COLUMNS``: ``company_key`` (null if unmatched),
    ``match_method`` (``MATCH_METHODS``), ``match_confidence`` (null if unmatched),
    ``unmatched_reason`` (``UNMATCHED_REASONS``, null if matched), ``lead_business_id``
    (canonical key of the lead's own ID, or null), ``lead_email_domain`` and
    ``lead_website_domain`` (registrable domains, free mail included) and ``email_quality``.
    ``identities`` may be None or empty (the source is optional): every lead is then unmatched
    with ``"no company data"``.
    """
    _require_columns(leads, LEAD_COLUMNS, "leads")
    prepared = _prepare_leads(leads, cfg.extra_free_mail_domains, memo)
    index = identities if isinstance(identities, CompanyIndex | None) else company_index(
        identities)
    if index is None or index.identities.height == 0:
        return _no_company_data(prepared)
    staged = _match_exact_name(
        _match_domain(_match_business_id(prepared, index.identities), index.identities), index
    )
    return _finish(_match_fuzzy_name(staged, index.fuzzy, cfg.fuzzy_threshold))


def _counts(frame: pl.DataFrame, col: str) -> dict[str, int]:
    counted = frame.get_column(col).drop_nulls().value_counts()
    return {row[col]: row["count"] for row in counted.iter_rows(named=True)}


def match_report(
    matches: pl.DataFrame, identities: pl.DataFrame | None = None
) -> dict[str, Any]:
    """Counts and rates for the run manifest.

    ``matches`` is the collected output of ``match_leads_to_companies`` (MATCH_REPORT_COLUMNS
    of it are enough; strings or categoricals). Returns ``leads``,
    ``matched``, ``match_rate``, ``by_method`` (``{method: {"count", "rate"}}`` for every
    method), ``unmatched_reasons`` (``{reason: count}``), ``ambiguous_leads`` (leads left
    unmatched because of an ambiguity) and, when ``identities`` (collected
    ``company_identities``) is given, ``ambiguous_company_domains`` / ``ambiguous_company_names``:
    the distinct values skipped for matching.
    """
    total = matches.height
    methods = _counts(matches, "match_method")
    reasons = _counts(matches, "unmatched_reason")

    def rate(count: int) -> float:
        return count / total if total else 0.0

    matched = total - methods.get("none", 0)
    report: dict[str, Any] = {
        "leads": total,
        "matched": matched,
        "match_rate": rate(matched),
        "by_method": {
            m: {"count": methods.get(m, 0), "rate": rate(methods.get(m, 0))} for m in MATCH_METHODS
        },
        "unmatched_reasons": {r: reasons[r] for r in UNMATCHED_REASONS if r in reasons},
        "ambiguous_leads": sum(n for r, n in reasons.items() if r.startswith("ambiguous")),
    }
    if identities is not None:
        domains = identities.filter(pl.col("domain_ambiguous")).get_column("match_domain")
        names = identities.filter(pl.col("name_ambiguous")).select("match_name", "country")
        report["ambiguous_company_domains"] = domains.n_unique()
        report["ambiguous_company_names"] = names.unique().height
    return report
