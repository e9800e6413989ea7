"""Prefect's temporary server never outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import PROJECT_ROOT

SERVER_APP = "prefect.server.api.server:create_app"


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing ")"
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_sigkilled_score_leaves_no_prefect_server_behind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    run = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "score", "--as-of", "2026-11-01",
         "--out", str(tmp_path / "out")],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    servers: list[int] = []
    try:
        def server_started() -> bool:
            servers[:] = [p for p in _children(run.pid) if SERVER_APP in _command_line(p)]
            return bool(servers) or run.poll() is not None

        assert _wait_for(server_started, 240), "no temporary server started"
        assert servers, f"score ended (status {run.returncode}) before its server was seen"
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert _wait_for(lambda: not any(_alive(p) for p in servers), 30), (
            f"temporary server {servers} still running after its parent was killed"
        )
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in servers:  # leave nothing behind, whatever the outcome
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
