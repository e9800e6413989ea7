"""The `score` flow's per-lead steps in partitions: the same output, memory bounded by the
partition, and the partitions run as Prefect tasks (one after another here, or in parallel on
a Dask cluster through prefect-dask's task runner).

Steps (files under the run's staging folder, `<staging>/partitions/`, which every Dask worker
must be able to read and write: the output folder on shared storage):

1. `split_inputs` (once): the company side of `prepare` (identities, the identified company
   snapshots, company events, their quarantine and counts) and the `MatchMemo` of the leads
   and companies (each distinct business ID and domain checked once for every partition and
   the companies) written to `shared/`; the validated leads, activities and opportunities
   written to `inputs/<source>/_partition=P/` as `features.resolve.partition` routes them (so
   duplicates and everything linked to a lead meet in one partition).
2. `prepare_partition` (per partition): `prepare_leads` on the partition's files, against
   the companies' `CompanyIndex` and `CompanyReferences` built once per process
   (`shared_company_index`, `shared_company_references`).
3. `score_partition` (per partition): features, ICP fit and the model's probability, with the
   opportunities of every partition (a company's deals count for all its leads).
4. `finish_partition` (per partition, once the previous run can be read): stage, reasons and
   output columns (`scoring.score.finish`).
5. Back in the flow: the partitions' files as one `Prepared` (counts summed) for the report
   frames and the manifest, and the finished rows as `PartitionedScores`: the priority ranked
   over all leads from three columns, and the rows in pieces of lead ids for the writers
   (`flows.scored_pieces`), so that no step holds every scored row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from features.config import Config
from features.point_in_time.assemble import PreparedInputs, build_features
from features.point_in_time.snapshots import scoring_snapshots
from features.resolve.enrich import CompanyIndex, MatchMemo, company_index, match_memo
from features.resolve.partition import (
    PARTITION,
    activity_partitions,
    lead_partitions,
    route_opportunities,
)
from features.resolve.prepare import (
    CompanyReferences,
    Prepared,
    company_references,
    prepare_companies,
    prepare_leads,
)
from flows.catalog import STAGING_COMPRESSION, SourceInput, read_errors_named
from flows.scored_pieces import ScoredPiece, lead_range
from scoring.rules.stage import priority_rank
from scoring.score import ModelVerdict, finish, with_icp, with_probabilities

# The sources split by lead; companies and company events are shared by every partition.
PARTITIONED_SOURCES = ("leads", "activities", "opportunities")
# What `prepare_partition` writes per partition (PreparedLeads' fields).
PREPARED_FRAMES = ("survivors", "matches", "activities", "opportunities", "duplicates",
                   "quarantine", "buckets")
SHARED_FRAMES = ("identities", "companies", "events", "quarantine", "buckets",
                 "quarantined_lead_ids", "memo_business_ids", "memo_domains")


@dataclass(frozen=True)
class PartitionLayout:
    """Where a partitioned run keeps its intermediate files (paths only: what is handed to a
    Dask worker is this, never a frame)."""

    root: Path
    partitions: int

    def source_folder(self, source: str, partition: int) -> Path:
        return self.root / "inputs" / source / f"{PARTITION}={partition}"

    def shared(self, name: str) -> Path:
        return self.root / "shared" / f"{name}.parquet"

    def prepared(self, partition: int, name: str) -> Path:
        return self.root / f"partition={partition}" / f"{name}.parquet"

    def every_partition(self, name: str) -> list[Path]:
        return [self.prepared(p, name) for p in range(self.partitions)]


def _collected(frames: Sequence[pl.LazyFrame]) -> list[pl.LazyFrame]:
    """The checkpoint the unpartitioned flow uses too: collect, hand back as lazy."""
    return [frame.lazy() for frame in pl.collect_all(frames)]


# Rows per row group of the files read by ranges of lead ids (a partition's survivors and
# finished rows): a piece reads the groups whose lead ids overlap its range, from every
# partition.
_RANGE_ROW_GROUP = 20_000


def _write_all(frames: dict[str, pl.LazyFrame | pl.DataFrame], path: Callable[[str], Path]
               ) -> None:
    names = list(frames)
    lazy = [frames[n].lazy() for n in names]
    for name, frame in zip(names, pl.collect_all(lazy), strict=True):
        target = path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(target, row_group_size=_RANGE_ROW_GROUP,
                            compression=STAGING_COMPRESSION)


def _sink_partitioned(frame: pl.LazyFrame, layout: PartitionLayout, source: str) -> None:
    """Write `frame` (with PARTITION) as one folder per partition, without PARTITION; a
    partition without rows gets an empty file, so that every partition reads the same way."""
    base = layout.root / "inputs" / source
    frame.sink_parquet(pl.PartitionBy(base, key=PARTITION, include_key=False,
                                      approximate_bytes_per_file=None), mkdir=True,
                       compression=STAGING_COMPRESSION)
    schema = frame.drop(PARTITION).collect_schema()
    for p in range(layout.partitions):
        folder = layout.source_folder(source, p)
        if not folder.is_dir():
            folder.mkdir(parents=True)
            pl.DataFrame(schema=schema).write_parquet(folder / "empty.parquet")


def _scan_source(layout: PartitionLayout, source: str, partition: int) -> pl.LazyFrame:
    return pl.scan_parquet(layout.source_folder(source, partition) / "*.parquet")


@task(cache_policy=NO_CACHE)
def split_inputs(sources: dict[str, SourceInput], as_of: date, layout: PartitionLayout) -> None:
    """Step 1: the shared company side, and the lead-side sources routed to partitions."""
    frames = {name: s.validated.valid for name, s in sources.items()}
    files = {name: s.file_label for name, s in sources.items()}
    quarantined = sources["leads"].validated.quarantine.select(
        pl.col("record").str.json_path_match("$.lead_id").str.strip_chars().alias("lead_id")
    )
    n = layout.partitions
    with read_errors_named(sources), ThreadPoolExecutor(1) as beside:
        # The memo is mostly python-stdnum and tldextract on one core, holding the GIL; the
        # routing below is polars, which releases it: the two overlap (10 million leads: the
        # memo about 30 s, the routing about 45 s).
        pending = beside.submit(match_memo, frames["leads"], frames["companies"])
        # Each lead's partition first (in their order), then the rows with it.
        assigned = lead_partitions(frames["leads"], as_of, n).collect()
        _sink_partitioned(frames["leads"].with_columns(assigned.get_column(PARTITION)),
                          layout, "leads")
        # Each activity's partition first (in their order), then the rows with it.
        routed = activity_partitions(frames["activities"], assigned.lazy(), n).collect()
        _sink_partitioned(frames["activities"].with_columns(routed.to_series()), layout,
                          "activities")
        del routed
        _sink_partitioned(route_opportunities(frames["opportunities"], assigned.lazy(), n),
                          layout, "opportunities")
        memo = pending.result()
        shared = prepare_companies(frames, files, as_of, checkpoint=_collected, memo=memo)
        _write_all({"identities": shared.identities, "companies": shared.companies,
                    "events": shared.events, "quarantine": shared.quarantine,
                    "buckets": shared.buckets, "quarantined_lead_ids": quarantined,
                    "memo_business_ids": memo.business_ids, "memo_domains": memo.domains},
                   layout.shared)


@lru_cache(maxsize=1)
def _index_of_file(path: Path, mtime_ns: int, size: int) -> CompanyIndex:
    return company_index(pl.read_parquet(path))


_INDEX_LOCK = threading.Lock()
_Built = TypeVar("_Built")


def _built_once_per_file(build: Callable[[Path, int, int], _Built], path: Path) -> _Built:
    """`build` (an lru_cache of one) for `path` as it is now: keyed by its modification time
    and size too, so a later run (or a rewritten file) never gets an earlier one's result;
    the lock makes partitions that start together (Dask worker threads) wait for one build
    rather than each build their own."""
    stat = path.stat()
    with _INDEX_LOCK:
        return build(path, stat.st_mtime_ns, stat.st_size)


def shared_company_index(layout: PartitionLayout) -> CompanyIndex:
    """The `CompanyIndex` of the run's shared identities, built once per process and reused
    by every partition prepared in it (15.1 to 15.8 s at 1,966,456 companies, a quarter of
    a partition's `prepare` of about a million leads); one is kept at a time."""
    return _built_once_per_file(_index_of_file, layout.shared("identities"))


@lru_cache(maxsize=1)
def _references_of_file(path: Path, mtime_ns: int, size: int) -> CompanyReferences:
    return company_references(pl.scan_parquet(path)).collected()


def shared_company_references(layout: PartitionLayout) -> CompanyReferences:
    """The `CompanyReferences` of the run's shared companies (what each partition's
    opportunities are keyed by), built once per process as `shared_company_index` is."""
    return _built_once_per_file(_references_of_file, layout.shared("companies"))


@task(cache_policy=NO_CACHE)
def prepare_partition(layout: PartitionLayout, partition: int, files: dict[str, str],
                      cfg: Config, as_of: date) -> int:
    """Step 2: `prepare_leads` on one partition; returns its surviving leads."""
    sources = {name: _scan_source(layout, name, partition) for name in PARTITIONED_SOURCES}
    part = prepare_leads(
        sources, files, cfg, as_of,
        identities=shared_company_index(layout),
        references=shared_company_references(layout),
        quarantined_lead_ids=pl.scan_parquet(layout.shared("quarantined_lead_ids")),
        checkpoint=_collected,
        memo=MatchMemo(business_ids=pl.read_parquet(layout.shared("memo_business_ids")),
                       domains=pl.read_parquet(layout.shared("memo_domains"))),
    )
    # The survivors in lead_id order, in small row groups: a piece of lead ids (the CRM
    # files' emails) then reads only the groups of its range.
    frames = {name: getattr(part, name) for name in PREPARED_FRAMES}
    _write_all({**frames, "survivors": frames["survivors"].sort("lead_id")},
               lambda name: layout.prepared(partition, name))
    survivors = pl.scan_parquet(layout.prepared(partition, "survivors"))
    return int(survivors.select(pl.len()).collect().item())


def _inputs_of(layout: PartitionLayout, partition: int | None) -> PreparedInputs:
    """The prepared inputs of one partition (the opportunities of all: company deals count for
    every lead of the company), or of all partitions (None)."""
    parts = range(layout.partitions) if partition is None else [partition]

    def scan(name: str) -> pl.LazyFrame:
        return pl.scan_parquet([layout.prepared(p, name) for p in parts])

    return PreparedInputs(
        leads=scan("survivors"), lead_companies=scan("matches"), activities=scan("activities"),
        opportunities=pl.scan_parquet(layout.every_partition("opportunities")),
        companies=pl.scan_parquet(layout.shared("companies")),
        events=pl.scan_parquet(layout.shared("events")),
    )


@task(cache_policy=NO_CACHE)
def score_partition(layout: PartitionLayout, partition: int, cfg: Config, as_of: date,
                    verdict: ModelVerdict) -> int:
    """Step 3: features, ICP fit and probabilities of one partition's leads (what the flow's
    score_features and predict do for all); returns its rows."""
    inputs = _inputs_of(layout, partition)
    features = with_icp(build_features(scoring_snapshots(inputs.leads, as_of), inputs, cfg),
                        cfg).collect()
    scored = with_probabilities(features, verdict)
    scored.write_parquet(layout.prepared(partition, "scored"), compression=STAGING_COMPRESSION)
    return scored.height


def _in_parallel() -> bool:
    """Submit the partitions to the flow's task runner only when it is not the default thread
    pool: each partition already uses every core of this machine through polars, and one at a
    time keeps the memory at one partition's."""
    context = FlowRunContext.get()
    runner = context.task_runner if context is not None else None
    return runner is not None and not isinstance(runner, ThreadPoolTaskRunner)


def _run_each(step: Any, calls: list[dict[str, Any]]) -> list[Any]:
    if not _in_parallel():
        return [step(**call) for call in calls]
    futures = [step.submit(**call) for call in calls]
    return [future.result() for future in futures]


def prepare_partitions(sources: dict[str, SourceInput], cfg: Config, as_of: date,
                       layout: PartitionLayout) -> Prepared:
    """Steps 1 and 2; the partitions' prepared files as one lazy `Prepared` for the flow."""
    split_inputs(sources, as_of, layout)
    files = {name: s.file_label for name, s in sources.items()}
    _run_each(prepare_partition, [dict(layout=layout, partition=p, files=files, cfg=cfg,
                                       as_of=as_of) for p in range(layout.partitions)])
    # The flow's process needs them no more (a worker's keeps one of each).
    _index_of_file.cache_clear()
    _references_of_file.cache_clear()
    every = layout.every_partition
    buckets = pl.concat([pl.scan_parquet(every("buckets")),
                         pl.scan_parquet(layout.shared("buckets"))])
    return Prepared(
        inputs=_inputs_of(layout, None),
        duplicates=pl.scan_parquet(every("duplicates")),
        matches=pl.scan_parquet(every("matches")),
        company_identities=pl.read_parquet(layout.shared("identities")),
        quarantine=pl.concat([pl.scan_parquet(every("quarantine")),
                              pl.scan_parquet(layout.shared("quarantine"))]),
        # A bucket's rows from every partition, summed (the accounting sees one row each).
        buckets=buckets.group_by("source", "bucket", maintain_order=True)
        .agg(pl.col("rows").sum()),
    )


def score_partitions(layout: PartitionLayout, cfg: Config, as_of: date,
                     verdict: ModelVerdict) -> int:
    """Step 3 for every partition; returns the rows scored."""
    rows = _run_each(score_partition, [dict(layout=layout, partition=p, cfg=cfg, as_of=as_of,
                                            verdict=verdict) for p in range(layout.partitions)])
    return sum(rows)


def scored_features(layout: PartitionLayout) -> pl.LazyFrame:
    """Every partition's scored rows (features and predictions), for the report's segments
    and history."""
    return pl.scan_parquet(layout.every_partition("scored"))


@task(cache_policy=NO_CACHE)
def finish_partition(layout: PartitionLayout, partition: int, cfg: Config, as_of: date,
                     previous: pl.LazyFrame | None) -> None:
    """Step 4: stage, reasons and the output columns of one partition's scored rows
    (`scoring.score.finish`); its priority ranks only this partition's leads, and
    `PartitionedScores` replaces it with the rank over all of them."""
    finished = finish(pl.scan_parquet(layout.prepared(partition, "scored")),
                      pl.scan_parquet(layout.prepared(partition, "survivors")), cfg, as_of,
                      previous).collect()
    finished.write_parquet(layout.prepared(partition, "finished"), statistics=True,
                           compression=STAGING_COMPRESSION,
                           row_group_size=_RANGE_ROW_GROUP)


# Leads per piece at most (a piece's rows, their CRM files and feed are in memory at once).
PIECE_ROWS = 250_000


@dataclass(frozen=True)
class PartitionedScores:
    """Every partition's finished rows, as pieces of lead ids in order (as many as the
    partitions, and at most PIECE_ROWS leads each), each with the priority ranked over all
    leads (`scoring.rules.stage.priority_rank` on three columns of every lead: the one step
    that needs them all)."""

    layout: PartitionLayout
    ranks: pl.DataFrame  # lead_id, priority: every lead, sorted by lead_id

    @property
    def rows(self) -> int:
        return self.ranks.height

    def _bounds(self) -> list[str | None]:
        wanted = max(self.layout.partitions, -(-self.rows // PIECE_ROWS))
        pieces = max(1, min(wanted, self.rows))
        starts = [self.rows * k // pieces for k in range(1, pieces)]
        inner = self.ranks.get_column("lead_id").gather(starts).unique(maintain_order=True)
        return [None, *inner.to_list(), None]

    def pieces(self) -> Iterator[ScoredPiece]:
        finished = pl.scan_parquet(self.layout.every_partition("finished"))
        for first, end in pairwise(self._bounds()):
            rows = finished.filter(lead_range(first, end)).collect().sort("lead_id")
            ranks = self.ranks.filter(lead_range(first, end))
            if not rows.get_column("lead_id").equals(ranks.get_column("lead_id")):
                raise RuntimeError("a partitioned run's finished rows and ranks disagree")
            yield ScoredPiece(rows.with_columns(ranks.get_column("priority")), first, end)


def finish_partitions(layout: PartitionLayout, cfg: Config, as_of: date,
                      previous: pl.LazyFrame | None) -> PartitionedScores:
    """Step 4 for every partition, then the priority over all leads."""
    _run_each(finish_partition, [dict(layout=layout, partition=p, cfg=cfg, as_of=as_of,
                                      previous=previous) for p in range(layout.partitions)])
    ranks = (pl.scan_parquet(layout.every_partition("finished"))
             .select("lead_id", "recommended_stage", "priority_score")
             .sort("lead_id").select("lead_id", priority_rank()).collect())
    return PartitionedScores(layout, ranks)


def dask_task_runner(workers: int | None, address: str | None) -> TaskRunner[Any] | None:
    """prefect-dask's task runner: on an existing cluster (`address`, tcp://host:8786), or on
    a local cluster of `workers` worker threads of this process (None for neither).

    Threads, not processes, locally: polars and scikit-learn release the GIL, so partitions
    do run in parallel, and a worker process would first import the whole project (tens of
    seconds on a loaded two-core machine). Workers started with `dask worker` are processes.
    """
    if address is None and (workers is None or workers < 2):
        return None
    from prefect_dask.task_runners import DaskTaskRunner

    if address is not None:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                          "processes": False, "dashboard_address": None})
