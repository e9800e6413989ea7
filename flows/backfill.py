"""The `backfill` flow: re-run a range of past dates, each exactly as `score` would have run it.

Each date gets the features as of that date and the model that was current on it (from the
registry's promotion history, `flows.promotions`), unless a version is named. Dates with a
complete run (a manifest) are skipped unless forced. Dates run in parallel, up to `workers`,
as tasks of one flow run in one process (so Prefect starts once), each through the same
`score_date` path as the nightly run. A date compares its leads with the latest run before it
only once every earlier date of the backfill has finished, so the change feed is the same
whatever order the workers finish in. A failing date is reported; the others go on.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, ConfigDict

from features.errors import LeadscoreError
from flows.catalog import read_manifest
from flows.promotions import CURRENT, ModelChoice, model_current_on, promotion_history
from flows.score import DEFAULT_CONFIG, SAMPLE_INPUTS, score_date
from scoring.records import RunManifest

BACKFILL_KEY = "leadscore-backfill"


class DateOutcome(BaseModel):
    """One date of a backfill: what happened to it, for the summary table."""

    model_config = ConfigDict(frozen=True)

    as_of: date
    status: Literal["scored", "skipped", "failed"]
    leads: int | None = None
    stage_changes: int | None = None
    seconds: float = 0.0
    model: str = ""
    note: str = ""


class BackfillResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    dates: list[DateOutcome]

    @property
    def failed(self) -> list[DateOutcome]:
        return [d for d in self.dates if d.status == "failed"]


def backfill_dates(start: date, end: date, every: int = 1) -> list[date]:
    """start, start + every days, ... up to end (inclusive)."""
    if end < start:
        raise LeadscoreError(f"backfill: --end {end} is before --start {start}")
    if every < 1:
        raise LeadscoreError(f"backfill: --every must be at least 1 day, got {every}")
    count = (end - start).days // every + 1
    return [start + timedelta(days=every * i) for i in range(count)]


def model_for(day: date, models: Path, named: str | None) -> ModelChoice:
    if named is not None:
        return ModelChoice("version", named, "named with --model")
    history = promotion_history(models)
    # No model ever promoted: the current-model path says why (never trained, or too little
    # history), exactly as `score` would.
    return model_current_on(history, day) if history else CURRENT


def _model_label(choice: ModelChoice) -> str:
    return choice.version if choice.version else "rules only"


def _stage_changes(manifest: RunManifest) -> int:
    counts = manifest.changes.counts if manifest.changes else {}
    return counts.get("upgraded", 0) + counts.get("downgraded", 0)


@task(cache_policy=NO_CACHE, task_run_name="score as_of {as_of}")
def score_one_date(
    as_of: date, run: dict[str, Any], model: ModelChoice,
    previous_ready: Callable[[], None], finished: threading.Event, seconds: dict[date, float],
) -> DateOutcome:
    """One date of the backfill through the nightly scoring path. Sets `finished` however it
    ends, so later dates never wait for it forever, and records its time in `seconds`."""
    started = time.perf_counter()
    try:
        manifest = score_date(as_of, **run, model=model, previous_ready=previous_ready)
    finally:
        seconds[as_of] = round(time.perf_counter() - started, 1)
        finished.set()
    return DateOutcome(as_of=as_of, status="scored", leads=manifest.funnel.leads,
                       stage_changes=_stage_changes(manifest), seconds=seconds[as_of],
                       model=_model_label(model), note=model.why)


def _waiter(earlier: list[threading.Event]) -> Callable[[], None]:
    def wait_for_earlier_dates() -> None:
        for event in earlier:
            event.wait()
    return wait_for_earlier_dates


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Callable[[DateOutcome], None]]:
    """A progress bar on stderr (when asked: the CLI), and a log line per finished date."""
    logger = get_run_logger()
    if not show:
        yield lambda outcome: logger.info("%s %s", outcome.as_of, outcome.status)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(file=sys.stderr)
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        dates = bar.add_task("backfill", total=total)

        def advance(outcome: DateOutcome) -> None:
            logger.info("%s %s", outcome.as_of, outcome.status)
            bar.console.print(f"  {outcome.as_of} {outcome.status} {outcome.note}".rstrip())
            bar.advance(dates)

        yield advance


def _failure(as_of: date, error: BaseException | None, choice: ModelChoice,
             seconds: float, state_message: str | None) -> DateOutcome:
    message = (f"{type(error).__name__}: {error}" if error is not None
               else state_message or "failed")
    return DateOutcome(as_of=as_of, status="failed", seconds=seconds,
                       model=_model_label(choice), note=message.splitlines()[0])


@flow(name="backfill")
def backfill_flow(
    start: date,
    end: date,
    every: int = 1,
    force: bool = False,
    workers: int = 2,
    model: str | None = None,
    inputs: Path = SAMPLE_INPUTS,
    config: Path = DEFAULT_CONFIG,
    out: Path = Path("out"),
    models: Path | None = None,
    profile: str | None = None,
    changes_only: bool = False,
    crm: tuple[str, ...] | None = None,
    hash_pii: bool | None = None,
    show_progress: bool = False,
) -> BackfillResult:
    """Score every `every`-th date from `start` to `end` as the nightly run would have; skip
    dates already complete unless `force`; `model` names a version for all dates (default:
    each date's current model from the promotion history, rules only before the first)."""
    logger = get_run_logger()
    if workers < 1:
        raise LeadscoreError(f"backfill: --workers must be at least 1, got {workers}")
    dates = backfill_dates(start, end, every)
    registry = models or out / "models"
    run = {"inputs": inputs, "config": config, "out": out, "models": models,
           "profile": profile, "with_changes_only": changes_only, "crm": crm,
           "hash_pii": hash_pii}
    finished = {d: threading.Event() for d in dates}
    outcomes: dict[date, DateOutcome] = {}
    submitted: dict[PrefectFuture[DateOutcome], tuple[date, ModelChoice]] = {}
    seconds: dict[date, float] = {}
    runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=workers)
    with _progress(len(dates), show_progress) as advance, runner:
        for index, day in enumerate(dates):
            choice = model_for(day, registry, model)
            if not force and read_manifest(out, day) is not None:
                finished[day].set()
                outcomes[day] = DateOutcome(as_of=day, status="skipped",
                                            note="complete run already published")
                advance(outcomes[day])
                continue
            # Submitted in date order to a first-in-first-out pool: every date a worker waits
            # for (an earlier one) has already been taken by a worker, so the wait always ends.
            earlier = [finished[d] for d in dates[:index]]
            future: PrefectFuture[DateOutcome] = runner.submit(score_one_date, parameters={
                "as_of": day, "run": run, "model": choice, "previous_ready": _waiter(earlier),
                "finished": finished[day], "seconds": seconds})
            submitted[future] = (day, choice)
        for future in as_completed(list(submitted)):
            day, choice = submitted[future]
            future.wait()  # done already; this makes the future take its final state
            state = future.state
            if state.is_completed():
                outcomes[day] = future.result()
            else:
                error = state.result(raise_on_failure=False)
                outcomes[day] = _failure(day, error if isinstance(error, BaseException)
                                         else None, choice, seconds.get(day, 0.0),
                                         state.message)
                logger.error("Backfill of %s failed: %s", day, outcomes[day].note)
            advance(outcomes[day])
    result = BackfillResult(dates=[outcomes[d] for d in dates])
    create_table_artifact([d.model_dump(mode="json") for d in result.dates], key=BACKFILL_KEY,
                          description=f"Backfill {start} to {end}")
    return result


def summary_table(result: BackfillResult) -> str:
    """The table the CLI prints: date, status, leads, stage changes, seconds, model, note."""
    header = ("date", "status", "leads", "stage changes", "seconds", "model", "note")
    rows = [(str(d.as_of), d.status, "" if d.leads is None else str(d.leads),
             "" if d.stage_changes is None else str(d.stage_changes), f"{d.seconds:.1f}",
             d.model, d.note) for d in result.dates]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
             for r in (header, *rows)]
    return "\n".join(line.rstrip() for line in lines)
