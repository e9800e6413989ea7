"""How flows run here: Prefect without a server, its temporary server tied to this process,
and the heartbeat thread switched off."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flows  # noqa: F401  (sets Prefect's environment defaults before Prefect is imported)

# Write ends of the pipes that tie each temporary server to this process (`flows.tether`):
# held open, never written, for as long as this process lives.
_TETHERS: list[int] = []


def _run_tethered_uvicorn(server: Any) -> subprocess.Popen[Any]:
    """Prefect 3.8.8's `SubprocessASGIServer._run_uvicorn_command`, started under
    `flows.tether` so the server ends when this process does, however it ends."""
    import prefect
    from prefect.settings import get_current_settings

    read_end, write_end = os.pipe()  # both non-inheritable; the child gets read_end only
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
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    _TETHERS.append(write_end)
    return process


def tether_temporary_servers() -> None:
    """Start every temporary Prefect server of this process under `flows.tether`."""
    from prefect.server.api.server import SubprocessASGIServer

    SubprocessASGIServer._run_uvicorn_command = _run_tethered_uvicorn  # type: ignore[method-assign,assignment]


@contextmanager
def prefect_runtime() -> Iterator[None]:
    """Run flows with their temporary server tethered to this process and no heartbeat
    thread: with no server watching, a heartbeat only costs about a second per flow run to
    join its thread."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    tether_temporary_servers()
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
