"""`leadscore serve`: the nightly `score` deployment (and an unscheduled `backfill` one for ops)
served against a Prefect server, with the cron line and time zone from `[schedule]`.

Prefect's temporary local server cannot hold a schedule (it lives as long as one process), so
serving needs a real one: `prefect server start`, and PREFECT_API_URL pointing at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from features.config import ScheduleConfig
from features.errors import ConfigError, LeadscoreError

NIGHTLY = "nightly"
BACKFILL = "backfill"


class NoServer(LeadscoreError):
    """`serve` without a Prefect server to serve against."""


def check_schedule(schedule: ScheduleConfig) -> None:
    """ConfigError naming the key when the cron line or the time zone is not valid."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    except ValidationError as exc:
        key = "timezone" if any("timezone" in str(e["loc"]) or "time zone" in str(e["msg"])
                                for e in exc.errors()) else "cron"
        value = getattr(schedule, key)
        raise ConfigError(f"schedule.{key}: not a valid {key} ({value!r})") from None


def _absolute(arguments: dict[str, Any]) -> dict[str, Any]:
    """The run's paths made absolute and JSON-ready: a served run starts in its own process."""
    return {key: str(Path(value).resolve()) if isinstance(value, Path) else value
            for key, value in arguments.items()}


def deployments(arguments: dict[str, Any], schedule: ScheduleConfig) -> list[Any]:
    """The nightly `score` deployment on the schedule, and `backfill` (triggered with dates)."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from flows.backfill import backfill_flow
    from flows.score import score_flow

    check_schedule(schedule)
    parameters = _absolute(arguments)
    nightly = score_flow.to_deployment(
        name=NIGHTLY, schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters={k: v for k, v in parameters.items() if k != "as_of"},
        description="Score every lead as of today; the nightly run.",
        entrypoint_type=EntrypointType.MODULE_PATH)
    backfill = backfill_flow.to_deployment(
        name=BACKFILL,
        parameters={k: v for k, v in parameters.items()
                    if k != "as_of"},
        description="Re-run a range of past dates (give start and end).",
        entrypoint_type=EntrypointType.MODULE_PATH)
    return [nightly, backfill]


def serve_nightly(arguments: dict[str, Any], schedule: ScheduleConfig) -> None:
    """Serve the deployments until interrupted; runs execute in this machine's processes."""
    from prefect import serve
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise NoServer("needs a Prefect server to hold the schedule: run `prefect server start` "
                       "and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)")
    serve(*deployments(arguments, schedule))
