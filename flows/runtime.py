"""How flows run here: one temporary Prefect server per process, started up front (timed) and
tied to this process, no heartbeat thread, and which failures are worth a retry."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flows  # noqa: F401  (sets Prefect's environment defaults before Prefect is imported)
from features.errors import LeadscoreError

# Delays between the attempts of an I/O step: 1 s, 2 s, 4 s (Prefect's exponential backoff).
IO_RETRIES = 3
IO_BACKOFF_SECONDS = 1.0

_startup: dict[str, float] = {}


def start_prefect() -> float | None:
    """Start Prefect's temporary local server now (once per process) and return how long it
    took; None when a server is configured (PREFECT_API_URL) or it was already running.

    Prefect would start it lazily at the first flow run; starting it here lets the run's log
    and manifest show Prefect's start-up apart from the job's own steps.
    """
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or "seconds" in _startup:
        return None
    from prefect.server.api.server import SubprocessASGIServer

    started = time.perf_counter()
    SubprocessASGIServer().start()
    _startup["seconds"] = round(time.perf_counter() - started, 3)
    return _startup["seconds"]


def prefect_startup_seconds() -> float | None:
    """How long this process waited for Prefect's temporary server (None: it did not start one
    through `start_prefect`, e.g. a served deployment's run against a real server)."""
    return _startup.get("seconds")


# Write ends of the pipes that tie each temporary server to this process (`flows.tether`):
# held open, never written, for as long as this process lives.
_TETHERS: list[int] = []


def temporary_server_log() -> Path:
    """Where a temporary Prefect server's own output goes: `PREFECT_HOME`/temporary-server.log."""
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / "temporary-server.log"


def _run_tethered_uvicorn(server: Any) -> subprocess.Popen[Any]:
    """Prefect 3.8.8's `SubprocessASGIServer._run_uvicorn_command`, started under
    `flows.tether` so the server ends when this process does, however it ends.

    The server's own output goes to `temporary_server_log()`, not to the user's terminal: a
    server stopped while a request is in flight logs a database traceback, which would
    otherwise end up under a user error's clean message."""
    import prefect
    from prefect.settings import get_current_settings

    log_path = temporary_server_log()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()  # both non-inheritable; the child gets read_end only
    log = log_path.open("ab")  # the child keeps its own copy; ours closes below
    try:
        process = subprocess.Popen(
            args=[
                sys.executable, "-m", "flows.tether", str(read_end),
                "--app-dir", str(prefect.__module_path__.parent),
                "--factory", "prefect.server.api.server:create_app",
                "--host", "127.0.0.1", "--port", str(server.port),
                "--log-level", "error", "--lifespan", "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            pass_fds=(read_end,),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
        log.close()
    _TETHERS.append(write_end)
    return process


def tether_temporary_servers() -> None:
    """Start every temporary Prefect server of this process under `flows.tether`."""
    from prefect.server.api.server import SubprocessASGIServer

    SubprocessASGIServer._run_uvicorn_command = _run_tethered_uvicorn  # type: ignore[method-assign,assignment]


@contextmanager
def prefect_runtime() -> Iterator[None]:
    """Run flows with their temporary server tethered to this process, started up front, and
    no heartbeat thread: with no server watching, a heartbeat only costs about a second per
    flow run to join its thread."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    tether_temporary_servers()
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        start_prefect()
        yield


def io_retry_condition(task: Any, task_run: Any, state: Any) -> bool:
    """Retry an I/O step only on an operating-system error (a file briefly unavailable, a
    full or flaky disk); a user error or a bug fails at once."""
    try:
        state.result()
    except LeadscoreError:
        return False
    except OSError:
        return True
    except Exception:
        return False
    return False
