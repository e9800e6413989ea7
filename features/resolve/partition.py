"""Which partition each lead, activity and opportunity goes to, so that preparing and scoring
the partitions apart gives the rows that preparing and scoring the whole export gives.

Preparing a lead needs every duplicate of it and every activity and opportunity linked to it.
Duplicates share exactly one key (`dedupe.person_key`: the normalized email, else name,
company and phone; a lead has at most one, so there are no chains of keys to follow), so a
lead's partition is a hash of that key (of its lead_id when it has none): a duplicate group
always lands in one partition, found by one pass over the identity columns.

An activity is linked the way `prepare` links it: by a known lead's lead_id, else by a known
lead's well-formed email, else (to be quarantined with the right reason) by a lead created
after as_of. An opportunity by lead_id (known, else created after as_of). Rows that name none
of these are unlinked wherever they go; they are spread by their source row.

Company identities and events are not partitioned: every partition shares them.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from features.resolve.dedupe import IDENTITY_COLUMNS, person_key, with_person_key
from features.resolve.prepare import known_before, well_formed_email

PARTITION = "_partition"

# A fixed seed: the assignment is the same in every process of a run (polars' hash is
# stable for one polars version; the output does not depend on the assignment at all).
_SEED = 20_111


def _bucket(key: pl.Expr, partitions: int) -> pl.Expr:
    return (key.hash(seed=_SEED) % partitions).cast(pl.UInt32)


def _partition_of(key: pl.Expr, partitions: int) -> pl.Expr:
    """The partition of a person key (of the lead_id when there is none)."""
    return _bucket(pl.coalesce(key, pl.lit("id:") + pl.col("lead_id").cast(pl.String)),
                   partitions).alias(PARTITION)


def lead_partition(partitions: int) -> pl.Expr:
    """A lead's partition (0 .. partitions - 1), named PARTITION: the hash of its person key,
    else of its lead_id. Needs: lead_id, email, first_name, last_name, company_name, phone."""
    return _partition_of(person_key(), partitions)


def lead_partitions(leads: pl.LazyFrame, as_of: date, partitions: int) -> pl.LazyFrame:
    """One row per lead, in their order: lead_id, `_known` (created before as_of), `_email`
    (well formed, or null) and PARTITION (`lead_partition`'s, by `with_person_key`, which
    spares the name key of the leads with an email).

    Needs: lead_id, created_at, email, first_name, last_name, company_name, phone.
    """
    key = "__partition_person_key"
    return with_person_key(leads.select(IDENTITY_COLUMNS), key).select(
        pl.col("lead_id"),
        known_before("created_at", as_of).fill_null(False).alias("_known"),
        well_formed_email("email").alias("_email"),
        _partition_of(pl.col(key), partitions),
    )


def _by_key(assigned: pl.LazyFrame, key: str, alias: str, known: bool) -> pl.LazyFrame:
    """key -> partition over the known (or the not yet created) leads; one row per key (every
    lead of one key is in one partition)."""
    return (
        assigned.filter(pl.col("_known") == known)
        .select(pl.col(key), pl.col(PARTITION).alias(alias))
        .drop_nulls(key)
        .unique(key, keep="first", maintain_order=True)
    )


def _spread(partitions: int) -> pl.Expr:
    return (pl.col("source_row").cast(pl.Int64) % partitions).cast(pl.UInt32)


def route_activities(
    activities: pl.LazyFrame, assigned: pl.LazyFrame, partitions: int
) -> pl.LazyFrame:
    """Activities with PARTITION added: the partition of the lead `prepare` will link them to.

    Needs: activities (lead_id, email, source_row); `assigned` from `lead_partitions`.
    Row order is kept.
    """
    return (
        activities.with_columns(well_formed_email("email").alias("_route_email"))
        .join(_by_key(assigned, "lead_id", "_by_known_id", known=True), on="lead_id",
              how="left", maintain_order="left")
        .join(_by_key(assigned, "_email", "_by_email", known=True).rename(
            {"_email": "_route_email"}), on="_route_email", how="left", maintain_order="left")
        .join(_by_key(assigned, "lead_id", "_by_future_id", known=False), on="lead_id",
              how="left", maintain_order="left")
        .with_columns(pl.coalesce("_by_known_id", "_by_email", "_by_future_id",
                                  _spread(partitions)).alias(PARTITION))
        .drop("_route_email", "_by_known_id", "_by_email", "_by_future_id")
    )


def activity_partitions(
    activities: pl.LazyFrame, assigned: pl.LazyFrame, partitions: int
) -> pl.LazyFrame:
    """PARTITION alone, one row per activity in their order: `route_activities` on the three
    columns it reads. Carrying the others through its joins cost more than the joins (100
    million activities: routed and written 40 s; this, then the rows written with it, 33 s).
    """
    return route_activities(activities.select("lead_id", "email", "source_row"), assigned,
                            partitions).select(PARTITION)


def route_opportunities(
    opportunities: pl.LazyFrame, assigned: pl.LazyFrame, partitions: int
) -> pl.LazyFrame:
    """Opportunities with PARTITION added: their lead's partition.

    Needs: opportunities (lead_id, source_row); `assigned` from `lead_partitions`.
    Row order is kept.
    """
    return (
        opportunities
        .join(_by_key(assigned, "lead_id", "_by_known_id", known=True), on="lead_id",
              how="left", maintain_order="left")
        .join(_by_key(assigned, "lead_id", "_by_future_id", known=False), on="lead_id",
              how="left", maintain_order="left")
        .with_columns(pl.coalesce("_by_known_id", "_by_future_id",
                                  _spread(partitions)).alias(PARTITION))
        .drop("_by_known_id", "_by_future_id")
    )
