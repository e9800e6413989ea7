"""Preparing the partitions apart gives what preparing the whole export gives, whatever the
number of partitions; and the comparison notices a partitioning that separates duplicates."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.resolve.partition import (
    PARTITION,
    activity_partitions,
    lead_partition,
    lead_partitions,
    route_activities,
    route_opportunities,
)
from features.resolve.prepare import prepare_companies, prepare_leads
from tests.features.resolve.test_prepare import (
    ACTIVITY_CASES,
    AS_OF,
    CFG,
    COMPANIES,
    FILES,
    LEADS,
    OPPORTUNITY_CASES,
    QUARANTINED_BY_VALIDATION,
    collect_checkpoint,
    namesake,
    prepare,
    source,
    utc,
)

# Duplicates by email (re-cased) and by name + company + phone, namesakes that are not
# duplicates, and every activity and opportunity case of test_prepare, plus an activity that
# names a lead created after as_of by id and a known lead by email (the email links it).
MORE_LEADS = (
    namesake("R1", 1, "Rasmus", "12345"), namesake("R2", 2, "Rasmus", "0 12345"),
    namesake("S1", 1, "Sari", "040 123 4567"), namesake("S2", 2, "Sari", "040-1234567"),
    namesake("S3", 3, "Sari", "040 1234 567"), namesake("P1", 1, "Pia", "1234"),
    namesake("P2", 2, "Pia", "1234"),
    {"lead_id": "L7", "created_at": utc(2024, 5, 1), "email": "Anna@ACME.fi"},
    {"lead_id": "L8", "created_at": utc(2024, 1, 2), "email": "dan@beta.se",
     "company_name": "Beta AB", "country": "SE"},
)
ACTIVITIES = tuple(
    {"occurred_at": utc(2024, 5, 1), **row, "activity_type": case}
    for case, row, _, _ in [*ACTIVITY_CASES,
                            ("future id, known email", {"lead_id": "L4",
                                                        "email": "dan@beta.se"}, "", None),
                            ("to a namesake duplicate", {"lead_id": "S3"}, "", None)]
)
OPPORTUNITIES = tuple(
    {"created_at": utc(2024, 4, 1), **row, "opportunity_id": case}
    for case, row, _, _ in [*OPPORTUNITY_CASES,
                            ("to a namesake duplicate", {"lead_id": "S2"}, "", None),
                            ("to the other Beta lead", {"lead_id": "L8"}, "", None)]
)


def sources() -> dict[str, pl.LazyFrame]:
    return {
        "leads": source("leads", *LEADS, *MORE_LEADS),
        "activities": source("activities", *ACTIVITIES),
        "opportunities": source("opportunities", *OPPORTUNITIES),
        "companies": source("companies", *COMPANIES),
        "company_events": source("company_events"),
    }


SORT = {"survivors": "lead_id", "matches": "lead_id", "duplicates": "lead_id",
        "activities": ["lead_id", "activity_type"], "opportunities": "opportunity_id",
        "quarantine": ["source", "source_row", "reason"], "buckets": ["source", "bucket"]}


def _canonical(frames: dict[str, pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    """Each frame in one order, bucket rows summed over partitions."""
    frames = {**frames, "buckets": frames["buckets"].group_by("source", "bucket")
              .agg(pl.col("rows").sum())}
    return {name: frame.collect().sort(SORT[name]) for name, frame in frames.items()}


def whole() -> dict[str, pl.DataFrame]:
    prepared = prepare(sources(), FILES, CFG, AS_OF, QUARANTINED_BY_VALIDATION,
                       collect_checkpoint)
    inputs = prepared.inputs
    return _canonical({"survivors": inputs.leads, "matches": prepared.matches,
                       "duplicates": prepared.duplicates, "activities": inputs.activities,
                       "opportunities": inputs.opportunities,
                       "quarantine": prepared.quarantine, "buckets": prepared.buckets})


def in_partitions(n: int, partition_of_lead: pl.Expr | None = None) -> dict[str, pl.DataFrame]:
    """What flows.partitioned does, in memory: the company side once, the lead side per
    partition, the parts together. `partition_of_lead` replaces the lead's partition."""
    given = sources()
    shared = prepare_companies(given, FILES, AS_OF, collect_checkpoint)
    rule = lead_partition(n) if partition_of_lead is None else partition_of_lead.alias(PARTITION)
    leads = given["leads"].with_columns(rule).collect()
    assigned = lead_partitions(given["leads"], AS_OF, n).drop(PARTITION).join(
        leads.lazy().select("lead_id", PARTITION), on="lead_id")
    routed = {"leads": leads,
              "activities": route_activities(given["activities"], assigned, n).collect(),
              "opportunities": route_opportunities(given["opportunities"], assigned, n)
              .collect()}
    parts: dict[str, list[pl.LazyFrame]] = {name: [] for name in SORT}
    for p in range(n):
        part = prepare_leads(
            {name: frame.filter(pl.col(PARTITION) == p).drop(PARTITION).lazy()
             for name, frame in routed.items()},
            FILES, CFG, AS_OF, shared.identities, shared.references,
            QUARANTINED_BY_VALIDATION, collect_checkpoint,
        )
        for name, frame in {"survivors": part.survivors, "matches": part.matches,
                            "duplicates": part.duplicates, "activities": part.activities,
                            "opportunities": part.opportunities, "quarantine": part.quarantine,
                            "buckets": part.buckets}.items():
            parts[name].append(frame)
    together = {name: pl.concat(frames) for name, frames in parts.items()}
    together["quarantine"] = pl.concat([together["quarantine"], shared.quarantine])
    together["buckets"] = pl.concat([together["buckets"], shared.buckets])
    return _canonical(together)


def differences(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> list[str]:
    found = []
    for name in a:
        try:
            assert_frame_equal(a[name], b[name])
        except AssertionError:
            found.append(name)
    return found


@pytest.mark.parametrize("partitions", [1, 2, 3, 5, 8, 13])
def test_partitions_prepared_apart_give_the_whole_exports_result(partitions: int) -> None:
    assert differences(whole(), in_partitions(partitions)) == []


def test_the_cases_spread_over_several_partitions() -> None:
    # Otherwise the equality above would hold trivially.
    leads = sources()["leads"].with_columns(lead_partition(5)).collect()
    assert leads[PARTITION].n_unique() >= 3


def test_duplicates_share_a_partition_whatever_their_email_case_or_phone_format() -> None:
    leads = sources()["leads"].with_columns(lead_partition(64)).collect()
    by_id = dict(leads.select("lead_id", PARTITION).iter_rows())
    assert by_id["L1"] == by_id["L2"] == by_id["L7"]
    assert by_id["S1"] == by_id["S2"] == by_id["S3"]
    assert by_id["R1"] == by_id["R2"]


def test_lead_partitions_are_lead_partition_in_the_leads_order() -> None:
    # The split adds lead_partitions' column to the leads by position.
    given = sources()["leads"]
    extra = pl.LazyFrame({"lead_id": ["N1", "N2", "N3"], "email": [None, "", "x@y.fi"],
                          "first_name": ["Ann", "Ann", None], "last_name": ["Lee", "Lee", None],
                          "company_name": ["Acme", "Acme", None],
                          "phone": ["040 123 4567", "+358 40 123 4567", None]})
    leads = pl.concat([extra, given, extra.with_columns(pl.lit("N9").alias("lead_id"))],
                      how="diagonal_relaxed")
    for n in (1, 3, 64):
        expected = leads.select("lead_id", lead_partition(n)).collect()
        got = lead_partitions(leads, AS_OF, n).select("lead_id", PARTITION).collect()
        assert_frame_equal(got, expected)


def test_activities_follow_their_lead_by_id_then_email_then_a_future_lead() -> None:
    n = 64
    given = sources()
    leads = given["leads"].with_columns(lead_partition(n)).collect()
    of_lead = dict(leads.select("lead_id", PARTITION).iter_rows())
    assigned = lead_partitions(given["leads"], AS_OF, n)
    routed = route_activities(given["activities"], assigned, n).collect()
    where = dict(routed.select("activity_type", PARTITION).iter_rows())
    assert where["by lead_id"] == of_lead["L1"]
    assert where["merged lead_id goes to the survivor"] == of_lead["L1"]
    assert where["no lead_id: by email"] == of_lead["L3"]
    assert where["unknown lead_id, known email"] == of_lead["L3"]
    assert where["lead created after as_of"] == of_lead["L4"]
    assert where["future id, known email"] == of_lead["L8"]
    assert routed.height == len(ACTIVITIES)
    # What the split writes: the partition computed on the routing columns alone, in order.
    alone = activity_partitions(given["activities"], assigned, n).collect()
    assert alone.columns == [PARTITION]
    assert alone.to_series().equals(routed.get_column(PARTITION))


def _lead_id_hash(n: int) -> pl.Expr:
    return (pl.col("lead_id").hash(seed=1) % n).cast(pl.UInt32)


def test_the_comparison_fails_when_partitions_separate_duplicates() -> None:
    # Partitioning by lead_id alone (not by the key duplicates share) splits some duplicate
    # group for some number of partitions; the comparison must see it.
    failing: dict[int, list[str]] = {}
    expected = whole()
    for n in range(2, 9):
        found = differences(expected, in_partitions(n, _lead_id_hash(n)))
        if found:
            failing[n] = found
    assert failing, "partitioning by lead_id went unnoticed"
    assert any("duplicates" in names for names in failing.values())


def test_rows_keep_their_order_when_routed(  # sinks and filters rely on it
) -> None:
    given = sources()
    assigned = lead_partitions(given["leads"], AS_OF, 4)
    routed: Any = route_opportunities(given["opportunities"], assigned, 4).collect()
    assert routed["source_row"].to_list() == sorted(routed["source_row"].to_list())
