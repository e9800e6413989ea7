"""`leadscore serve` against a real Prefect server: the nightly deployment exists with the
config's schedule, a run triggered through Prefect's own CLI completes and publishes its outputs,
and everything the test started is stopped afterwards (no process left behind).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

import httpx
import pytest

from features.errors import ConfigError

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks) of every live (not zombie) process.

    The start time makes a process's identity: pids are reused (pid_max may be 32768), so a
    pid alone could name someone else's process by the time the test cleans up."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[19]))
    return found


def _descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of `root` and every live process below it."""
    processes = _processes()
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, (parent, _) in processes.items() if parent == pid and p not in found]
        found.update(kids)
        frontier.extend(kids)
    return {(pid, processes[pid][1]) for pid in found if pid in processes}


def _alive(identities: set[tuple[int, int]]) -> set[tuple[int, int]]:
    processes = _processes()
    return {(pid, start) for pid, start in identities
            if pid in processes and processes[pid][1] == start}


@contextmanager
def _started(command: list[str], env: dict[str, str], log: Path, cwd: Path,
             seen: set[tuple[int, int]]) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process in its own group; on exit stop the group (TERM, then KILL)."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        seen.update(_descendants(process.pid))
        for sig, grace in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if process.poll() is not None:
                break
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        for pid, _ in _alive(seen):  # what it left in other sessions, if still the same process
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def test_a_bad_cron_line_or_time_zone_names_the_key() -> None:
    from features.config import ScheduleConfig
    from flows.serve import check_schedule

    with pytest.raises(ConfigError, match=r"schedule\.cron"):
        check_schedule(ScheduleConfig(cron="every night"))
    with pytest.raises(ConfigError, match=r"schedule\.timezone"):
        check_schedule(ScheduleConfig(timezone="Mars/Olympus"))


@pytest.mark.slow
def test_the_served_nightly_deployment_runs_on_a_real_server_and_publishes(
    tmp_path: Path, sample_dir: Path, default_config: Path, sample_export_date: date,
) -> None:
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base.update({"PREFECT_HOME": str(tmp_path / "prefect-home"),
                 "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                 "PREFECT_SERVER_UI_ENABLED": "false",
                 "PREFECT_LOGGING_LEVEL": "WARNING"})
    client_env = {**base, "PREFECT_API_URL": api}
    out = tmp_path / "out"
    seen: set[tuple[int, int]] = set()

    def healthy() -> bool:
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def deployment() -> dict[str, object] | None:
        response = httpx.get(f"{api}/deployments/name/score/nightly", timeout=5)
        return dict(response.json()) if response.status_code == 200 else None

    with _started([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                   "--port", str(port)], base, tmp_path / "server.log", tmp_path, seen):
        _wait(healthy, 240, "the Prefect server")
        with _started([str(BIN / "leadscore"), "serve", "--inputs", str(sample_dir),
                       "--config", str(default_config), "--out", str(out)],
                      client_env, tmp_path / "serve.log", tmp_path, seen) as serve:
            _wait(lambda: deployment() is not None or serve.poll() is not None, 240,
                  "the nightly deployment")
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()
            served = deployment()
            assert served is not None
            schedule = served["schedules"][0]["schedule"]  # type: ignore[index]
            assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Europe/Helsinki")
            # An explicit as_of: the nightly default (today) would be refused, since the sample
            # ends on its export date and an as_of more than ingest.max_days_after_newest_record
            # days after the newest record is an input error.
            run = subprocess.run(
                [str(BIN / "prefect"), "deployment", "run", "score/nightly",
                 "--param", f"as_of={sample_export_date}", "--watch", "--watch-timeout", "600"],
                env=client_env, cwd=tmp_path, capture_output=True, text=True, timeout=700)
            assert run.returncode == 0, run.stdout + run.stderr + (
                tmp_path / "serve.log").read_text()
            seen.update(_descendants(serve.pid))
    manifest = out / "runs" / f"as_of={sample_export_date}" / "manifest.json"
    assert manifest.is_file(), run.stdout
    assert json.loads(manifest.read_text())["run"]["as_of"] == str(sample_export_date)
    assert (out / "exports" / f"as_of={sample_export_date}" / "leads_for_crm.csv").is_file()
    left = _alive(seen)
    assert not left, f"processes left behind: {sorted(left)}"
