"""From validated sources to PreparedInputs at one as_of date, accounting for every row.

Each source's validated rows end up in exactly one named bucket:
- leads: `created_after_as_of` (quarantined: not known yet), `merged` (into a named survivor),
  `survivor` (scored);
- activities, opportunities, company_events: `after_as_of` (not yet known, unused), `unlinked`
  (quarantined: refers to nothing we know) or `used`;
- companies: `after_as_of`, `unidentified` (quarantined: no business ID, name or domain) or `used`.
Rows quarantined by validation are counted by the flow before this step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from features.config import Config
from features.point_in_time.assemble import PreparedInputs
from features.point_in_time.snapshots import as_of_start
from features.resolve.dedupe import duplicate_groups, merge_duplicates, review_merges
from features.resolve.enrich import (
    CompanyIndex,
    MatchMemo,
    identities_of_snapshots,
    keyed_company_snapshots,
    match_leads_to_companies,
)
from features.resolve.identity import (
    email_is_well_formed,
    normalize_business_ids,
    normalize_company_name,
)

QUARANTINE_COLUMNS = ("source", "source_file", "source_row", "reason", "record")


def known_before(column: str, as_of: date) -> pl.Expr:
    """Known before the as_of date began (a null moment is never "before")."""
    return pl.col(column) < as_of_start(pl.lit(as_of, dtype=pl.Date))


def quarantine_rows(
    frame: pl.LazyFrame, source: str, file_label: str, reason: pl.Expr, columns: Sequence[str]
) -> pl.LazyFrame:
    """Validated rows turned into quarantine records: `record` is the row as JSON, with exactly
    the source's own `columns` (nothing this job added while linking it)."""
    data_columns = [c for c in columns if c != "source_row"]
    return frame.select(
        pl.lit(source).alias("source"),
        pl.lit(file_label).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
        reason.alias("reason"),
        pl.struct(data_columns).struct.json_encode().alias("record"),
    )


# The quarantine reason of leads created on or after as_of: not known yet, not bad data.
NOT_YET_CREATED = "created_at is on or after as_of: the lead did not exist yet"


@dataclass(frozen=True)
class Prepared:
    """PreparedInputs plus what the run reports: merges, matches, and rows set aside."""

    inputs: PreparedInputs
    # lead_id, survivor_id, duplicate_rule, needs_review, review_reason (merged rows only)
    duplicates: pl.LazyFrame
    matches: pl.LazyFrame  # enrichment result per surviving lead
    company_identities: pl.DataFrame  # one row per company known at as_of (identities_of_snapshots)
    quarantine: pl.LazyFrame  # QUARANTINE_COLUMNS, rows set aside by this step
    buckets: pl.LazyFrame  # source, bucket, rows


def _bucket_counts(source: str, frame: pl.LazyFrame, bucket: pl.Expr) -> pl.LazyFrame:
    return frame.group_by(bucket.alias("bucket")).agg(pl.len().cast(pl.Int64).alias("rows")).select(
        pl.lit(source).alias("source"), "bucket", "rows"
    )


def _split_leads(leads: pl.LazyFrame, as_of: date) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(leads known before as_of, leads created on or after it)."""
    known_now = known_before("created_at", as_of)
    return leads.filter(known_now), leads.filter(~known_now)


def _lead_buckets(
    future: pl.LazyFrame, groups: pl.LazyFrame, survivors: pl.LazyFrame
) -> pl.LazyFrame:
    return pl.concat([
        _bucket_counts("leads", future, pl.lit("created_after_as_of")),
        _bucket_counts("leads", _merged(groups), pl.lit("merged")),
        _bucket_counts("leads", survivors, pl.lit("survivor")),
    ])


def _merged(groups: pl.LazyFrame) -> pl.LazyFrame:
    return groups.filter(pl.col("lead_id") != pl.col("survivor_id"))


def _attribute_activities(
    activities: pl.LazyFrame,
    known_leads: pl.LazyFrame,
    groups: pl.LazyFrame,
    set_aside: pl.LazyFrame,
    as_of: date,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Map activities to surviving leads by lead_id, else by email.

    `set_aside` (lead_id, _set_aside) names leads not scored in this run and why:
    "future" (created after as_of) or "quarantined". Returns (every row tagged, used rows).
    """
    by_id = groups.select("lead_id", pl.col("survivor_id").alias("_by_id"))
    by_email = _unique_lookup(
        known_leads.join(groups, on="lead_id").select(
            well_formed_email("email").alias("_email"), pl.col("survivor_id").alias("_by_email")
        ),
        "_email", "_by_email",
    )
    tagged = (
        activities.with_columns(well_formed_email("email").alias("_email"))
        .join(by_id, on="lead_id", how="left")
        .join(by_email, on="_email", how="left")
        .join(set_aside, on="lead_id", how="left")
        .with_columns(
            pl.coalesce("_by_id", "_by_email").alias("_survivor"),
            known_before("occurred_at", as_of).alias("_known"),
        )
    )
    return tagged, tagged.filter(pl.col("_known") & pl.col("_survivor").is_not_null()).select(
        pl.col("_survivor").alias("lead_id"), "activity_type", "occurred_at"
    )


# Buckets whose rows go to the quarantine output (the others are used or simply not yet known).
QUARANTINED_BUCKETS = ("unlinked", "lead_quarantined")


def _linked_bucket(linked: pl.Expr) -> pl.Expr:
    """after_as_of, used, or why a row that names a lead cannot be used in this run.

    Needs `_known` (dated before as_of) and `_set_aside` (see `_set_aside_leads`).
    """
    return (
        pl.when(~pl.col("_known")).then(pl.lit("after_as_of"))
        .when(linked).then(pl.lit("used"))
        .when(pl.col("_set_aside") == "future").then(pl.lit("lead_created_after_as_of"))
        .when(pl.col("_set_aside") == "quarantined").then(pl.lit("lead_quarantined"))
        .otherwise(pl.lit("unlinked"))
    )


def well_formed_email(column: str) -> pl.Expr:
    """Trimmed, lower-cased, and null unless well formed: "unknown" identifies nobody."""
    email = pl.col(column).str.strip_chars().str.to_lowercase()
    return pl.when(email_is_well_formed(email)).then(email)


def _activity_bucket() -> pl.Expr:
    return _linked_bucket(pl.col("_survivor").is_not_null())


def _activity_quarantine(activities: pl.LazyFrame, tagged: pl.LazyFrame, file_label: str,
                         columns: Sequence[str]) -> pl.LazyFrame:
    """The quarantine records of the activities that name no lead of this run.

    The rows are found on `tagged` (`_attribute_activities`) by their source_row and reason
    alone, then joined back to their source rows by source_row (unique per source) for the
    record: the attribution's joins then carry three columns of the activities, not all of
    them (10 million activities: about a fifth of the step's time)."""
    reason = "__ls_reason"  # a name no column of an export can have
    flagged = tagged.filter(_activity_bucket().is_in(QUARANTINED_BUCKETS)).select(
        "source_row", _set_aside_reason("activity").alias(reason))
    return quarantine_rows(activities.join(flagged, on="source_row", how="inner"),
                           "activities", file_label, pl.col(reason), columns)


def _set_aside_reason(kind: str) -> pl.Expr:
    quoted = pl.lit("'") + pl.col("lead_id") + pl.lit("'")
    unknown = ("activity email matches no lead" if kind == "activity"
               else "opportunity refers to no lead or company known before as_of")
    return (
        pl.when(pl.col("_set_aside") == "quarantined")
        .then(pl.lit("its lead ") + quoted + pl.lit(" is quarantined (see the leads rows)"))
        .when(pl.col("lead_id").is_not_null())
        .then(pl.lit(f"{kind} for unknown lead_id ") + quoted)
        .otherwise(pl.lit(unknown))
    )


def _compact_id(column: str) -> pl.Expr:
    """A business ID as bare upper-case letters and digits: "556036-0793" -> "5560360793"."""
    return pl.col(column).str.replace_all(r"[^0-9A-Za-z]", "").str.to_uppercase()


def _unique_lookup(pairs: pl.LazyFrame, key: str, value: str) -> pl.LazyFrame:
    """key -> value where the key names exactly one value (ambiguous keys are dropped)."""
    return (
        pairs.drop_nulls().unique()
        .group_by(key).agg(pl.col(value).first(), pl.len().alias("_n"))
        .filter(pl.col("_n") == 1).drop("_n")
    )


@dataclass(frozen=True)
class CompanyReferences:
    """The lookups that key a row naming a company (`_company_reference_keys`), from the
    identified company snapshots: built once (`company_references`) for every set of rows
    that names companies, the company events and each partition's opportunities (at 2.2
    million companies, about 2 s a partition when each built its own)."""

    by_raw_id: pl.LazyFrame  # _raw_bid, _by_raw: the companies file's business_id text
    by_key: pl.LazyFrame  # _ref_bid, _by_bid: validated business IDs that are a company_key
    by_name: pl.LazyFrame  # _ref_name, _by_name: a normalized name of exactly one company

    def collected(self) -> CompanyReferences:
        """The same lookups computed (in one pass over the companies) and held in memory."""
        frames = pl.collect_all([self.by_raw_id, self.by_key, self.by_name])
        return CompanyReferences(*(frame.lazy() for frame in frames))


def company_references(companies: pl.LazyFrame) -> CompanyReferences:
    """Needs company_key, business_id and match_name of the identified snapshots."""
    return CompanyReferences(
        by_raw_id=_unique_lookup(
            companies.select(_compact_id("business_id").alias("_raw_bid"),
                             pl.col("company_key").alias("_by_raw")),
            "_raw_bid", "_by_raw",
        ),
        by_key=companies.select(pl.col("company_key").alias("_ref_bid")).unique()
        .with_columns(pl.col("_ref_bid").alias("_by_bid")),
        by_name=_unique_lookup(
            companies.select(pl.col("match_name").alias("_ref_name"),
                             pl.col("company_key").alias("_by_name")),
            "_ref_name", "_by_name",
        ),
    )


def _company_reference_keys(frame: pl.LazyFrame, references: CompanyReferences
                            ) -> pl.LazyFrame:
    """Adds `_ref_key`: the company a row names, by the same business_id text as in the
    companies file, else by its validated business ID, else by exact normalized name."""
    by_raw = frame.with_columns(_compact_id("business_id").alias("_raw_bid")).join(
        references.by_raw_id, on="_raw_bid", how="left", maintain_order="left")
    # python-stdnum (per distinct value, about 20 us each with no country to go by) only for
    # the IDs whose text names no company: a validated key is the fallback for those alone.
    by_id = normalize_business_ids(
        by_raw.with_columns(pl.lit(None, dtype=pl.String).alias("_no_country"),
                            pl.when(pl.col("_by_raw").is_null()).then(pl.col("business_id"))
                            .alias("_unmatched_bid")),
        "_unmatched_bid", "_no_country", "_ref_bid",
    ).drop("_no_country", "_unmatched_bid", "_ref_bid_status", "_ref_bid_reason")
    return (
        by_id.join(references.by_key, on="_ref_bid", how="left")
        .with_columns(normalize_company_name(pl.col("company_name")).alias("_ref_name"))
        .join(references.by_name, on="_ref_name", how="left")
        .with_columns(pl.coalesce("_by_raw", "_by_bid", "_by_name").alias("_ref_key"))
        .drop("_raw_bid", "_by_raw", "_ref_bid", "_by_bid", "_ref_name", "_by_name")
    )


Checkpoint = Callable[[Sequence[pl.LazyFrame]], list[pl.LazyFrame]]


def stay_lazy(frames: Sequence[pl.LazyFrame]) -> list[pl.LazyFrame]:
    """The default checkpoint: keep everything as one lazy plan."""
    return list(frames)


@dataclass(frozen=True)
class SharedCompanies:
    """The company side of `prepare`: computed once and shared by every partition of leads.

    keyed: company snapshots known before as_of with company_key and match_name (checkpointed);
    identities: one row per company (identities_of_snapshots), what leads are matched against;
    companies: the identified snapshots; references: their `company_references`, what the
    opportunities and events that name a company are keyed by; events: company events linked
    to a company_key;
    quarantine (QUARANTINE_COLUMNS) and buckets (source, bucket, rows) of companies and events.
    """

    keyed: pl.LazyFrame
    identities: pl.DataFrame
    companies: pl.LazyFrame
    references: CompanyReferences
    events: pl.LazyFrame
    quarantine: pl.LazyFrame
    buckets: pl.LazyFrame


@dataclass(frozen=True)
class PreparedLeads:
    """The lead side of `prepare` for a set of leads whose duplicates are all among them.

    survivors, matches, activities and opportunities as in PreparedInputs; duplicates as in
    Prepared; quarantine and buckets of leads, activities and opportunities.
    """

    survivors: pl.LazyFrame
    matches: pl.LazyFrame
    activities: pl.LazyFrame
    opportunities: pl.LazyFrame
    duplicates: pl.LazyFrame
    quarantine: pl.LazyFrame
    buckets: pl.LazyFrame


def prepare_companies(
    sources: dict[str, pl.LazyFrame], files: dict[str, str], as_of: date,
    checkpoint: Checkpoint = stay_lazy, memo: MatchMemo | None = None,
) -> SharedCompanies:
    """Key the company snapshots known before as_of, their identities, and the company events.

    Needs `sources["companies"]` and `sources["company_events"]` (validated; may be empty
    frames with the canonical columns) and their file labels in `files`. `memo` (a
    `match_memo` that saw the companies) spares the companies' per-value checks.
    """
    (keyed,) = checkpoint([keyed_company_snapshots(_known_companies(sources["companies"], as_of),
                                                   memo)])
    identities = identities_of_snapshots(keyed).collect()
    companies, company_quarantine, company_buckets = _prepare_companies(
        keyed, sources["companies"], files["companies"], as_of,
        sources["companies"].collect_schema().names(),
    )
    references = company_references(companies)
    events, event_quarantine, event_buckets = _prepare_events(
        sources["company_events"], files["company_events"], references, as_of,
        sources["company_events"].collect_schema().names(),
    )
    return SharedCompanies(
        keyed=keyed, identities=identities, companies=companies, references=references,
        events=events,
        quarantine=pl.concat([company_quarantine, event_quarantine]),
        buckets=pl.concat([company_buckets, event_buckets]),
    )


def prepare_leads(
    sources: dict[str, pl.LazyFrame],
    files: dict[str, str],
    cfg: Config,
    as_of: date,
    identities: pl.DataFrame | CompanyIndex,
    references: CompanyReferences,
    quarantined_lead_ids: pl.LazyFrame | None = None,
    checkpoint: Checkpoint = stay_lazy,
    memo: MatchMemo | None = None,
) -> PreparedLeads:
    """Dedupe, match, attribute and time-filter the leads, activities and opportunities.

    Needs `sources["leads"]`, `["activities"]`, `["opportunities"]` (validated) and their file
    labels; `identities` (or their `company_index`, built once for many sets of leads) and
    the companies' `references` from `prepare_companies`.
    `quarantined_lead_ids` as in `prepare`. Every duplicate of a lead must be in
    `sources["leads"]`, and every activity or opportunity that names one of these leads (or,
    for an activity, a well-formed email of one) must be in its source: the partitions of
    `features.resolve.partition` are such sets, and so is the whole export. `memo` (the
    `match_memo` of all the partitions' leads) spares the matching values already computed.
    """
    columns = {name: sources[name].collect_schema().names()
               for name in ("leads", "activities", "opportunities")}
    known, future = _split_leads(sources["leads"], as_of)
    # The groups first, on their own: collected with the survivors built from them, polars
    # computed them twice (1M leads: 4.2-5.1 s in all, 2.8-3.0 s in two steps).
    known_ids, future, groups = checkpoint(
        [known.select("lead_id", "email"), future, duplicate_groups(known)])
    survivors, reviewed = checkpoint([
        merge_duplicates(known, groups),
        review_merges(_merged(groups), known, cfg.matching.extra_free_mail_domains),
    ])
    (matches,) = checkpoint([match_leads_to_companies(survivors, identities, cfg.matching,
                                                      memo)])
    set_aside = _set_aside_leads(future, quarantined_lead_ids)
    tagged, activities = _attribute_activities(sources["activities"], known_ids, groups, set_aside,
                                               as_of)
    opportunities, opp_quarantine, opp_buckets = _prepare_opportunities(
        sources["opportunities"], files["opportunities"], groups, matches, references,
        set_aside, as_of, columns["opportunities"],
    )
    quarantine = pl.concat([
        quarantine_rows(future, "leads", files["leads"],
                        pl.lit(NOT_YET_CREATED),
                        columns["leads"]),
        _activity_quarantine(sources["activities"], tagged, files["activities"],
                             columns["activities"]),
        opp_quarantine,
    ])
    buckets = pl.concat([
        _lead_buckets(future, groups, survivors),
        _bucket_counts("activities", tagged, _activity_bucket()),
        opp_buckets,
    ])
    return PreparedLeads(survivors=survivors, matches=matches, activities=activities,
                         opportunities=opportunities, duplicates=reviewed,
                         quarantine=quarantine, buckets=buckets)


def prepare(
    sources: dict[str, pl.LazyFrame],
    files: dict[str, str],
    cfg: Config,
    as_of: date,
    quarantined_lead_ids: pl.LazyFrame | None = None,
    checkpoint: Checkpoint = stay_lazy,
    memo: MatchMemo | None = None,
) -> Prepared:
    """Dedupe, attribute, enrich and time-filter validated sources for one as_of date.

    `sources` holds the validated frames by source name (activities etc. may be empty frames
    with the canonical columns); `files` names each source's file for quarantine records;
    `quarantined_lead_ids` (lead_id) are leads validation set aside, so that their activities
    are quarantined with that reason rather than as unknown.
    `checkpoint` is called on the frames that later steps use many times (the leads and the
    companies, then the matches); the flow passes one that collects them, so the lead files
    are parsed and the companies matched once rather than at every use.
    `memo` (the `match_memo` of these leads and companies) checks each business ID and
    domain once for both (the leads' mostly name the companies'), rather than once in each.
    """
    shared = prepare_companies(sources, files, as_of, checkpoint, memo)
    leads = prepare_leads(sources, files, cfg, as_of, shared.identities, shared.references,
                          quarantined_lead_ids, checkpoint, memo)
    inputs = PreparedInputs(
        leads=leads.survivors, lead_companies=leads.matches, activities=leads.activities,
        opportunities=leads.opportunities, companies=shared.companies, events=shared.events,
    )
    return Prepared(inputs, leads.duplicates, leads.matches, shared.identities,
                    pl.concat([leads.quarantine, shared.quarantine]),
                    pl.concat([leads.buckets, shared.buckets]))


def _set_aside_leads(future: pl.LazyFrame, quarantined: pl.LazyFrame | None) -> pl.LazyFrame:
    """lead_id -> why it is not scored in this run ("future" or "quarantined"), one row each."""
    parts = [future.select("lead_id", pl.lit("future").alias("_set_aside"))]
    if quarantined is not None:
        parts.append(quarantined.select(pl.col("lead_id").cast(pl.String),
                                        pl.lit("quarantined").alias("_set_aside")))
    return pl.concat(parts).drop_nulls("lead_id").unique("lead_id", keep="first",
                                                         maintain_order=True)


def _known_companies(companies: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Company snapshots known before as_of (a snapshot without updated_at is always known)."""
    return companies.filter(pl.col("updated_at").is_null() | known_before("updated_at", as_of))


def _prepare_companies(
    keyed: pl.LazyFrame, companies: pl.LazyFrame, file_label: str, as_of: date,
    columns: Sequence[str],
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Known, keyed snapshots (keys from known snapshots only, exactly as the lead matching
    saw them) split into used and unidentified; later snapshots counted as after_as_of."""
    future = companies.filter(pl.col("updated_at").is_not_null()
                              & ~known_before("updated_at", as_of))
    identified = pl.col("company_key").is_not_null()
    quarantine = quarantine_rows(
        keyed.filter(~identified), "companies", file_label,
        pl.lit("company has no valid business_id, usable name or domain"), columns,
    )
    buckets = pl.concat([
        _bucket_counts("companies", future, pl.lit("after_as_of")),
        _bucket_counts("companies", keyed, pl.when(identified).then(pl.lit("used"))
                       .otherwise(pl.lit("unidentified"))),
    ])
    return keyed.filter(identified), quarantine, buckets


def _prepare_opportunities(
    opportunities: pl.LazyFrame,
    file_label: str,
    groups: pl.LazyFrame,
    matches: pl.LazyFrame,
    references: CompanyReferences,
    set_aside: pl.LazyFrame,
    as_of: date,
    columns: Sequence[str],
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Opportunities with lead_id mapped to survivors and a company_key (the lead's company,
    else the company the row names)."""
    lead_map = groups.select("lead_id", pl.col("survivor_id").alias("_survivor"))
    lead_company = matches.select(pl.col("lead_id").alias("_survivor"),
                                  pl.col("company_key").alias("_lead_company"))
    linked = (
        _company_reference_keys(opportunities, references)
        .join(lead_map, on="lead_id", how="left")
        .join(lead_company, on="_survivor", how="left")
        .join(set_aside, on="lead_id", how="left")
        .with_columns(
            pl.coalesce("_lead_company", "_ref_key").alias("company_key"),
            known_before("created_at", as_of).alias("_known"),
        )
    )
    bucket = _linked_bucket(pl.col("_survivor").is_not_null() | pl.col("company_key").is_not_null())
    quarantine = quarantine_rows(
        linked.filter(bucket.is_in(QUARANTINED_BUCKETS)), "opportunities", file_label,
        _set_aside_reason("opportunity"), columns,
    )
    used = linked.filter(bucket == "used").select(
        "opportunity_id", pl.col("_survivor").alias("lead_id"), "company_key", "created_at",
        "closed_at", "won", "amount", "stage",
    )
    return used, quarantine, _bucket_counts("opportunities", linked, bucket)


def _prepare_events(
    events: pl.LazyFrame, file_label: str, references: CompanyReferences, as_of: date,
    columns: Sequence[str],
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    linked = _company_reference_keys(
        events.with_columns(pl.lit(None, dtype=pl.String).alias("company_name")), references
    ).drop("company_name").with_columns(known_before("occurred_at", as_of).alias("_known"))
    bucket = (
        pl.when(~pl.col("_known")).then(pl.lit("after_as_of"))
        .when(pl.col("_ref_key").is_null()).then(pl.lit("unlinked"))
        .otherwise(pl.lit("used"))
    )
    quarantine = quarantine_rows(
        linked.filter(bucket == "unlinked"), "company_events", file_label,
        pl.lit("business_id matches no company known before as_of"), columns,
    )
    used = linked.filter(bucket == "used").select(
        pl.col("_ref_key").alias("company_key"), "event_type", "occurred_at"
    )
    return used, quarantine, _bucket_counts("company_events", linked, bucket)
