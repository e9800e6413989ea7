"""Headless Chromium for the report tests: installed when missing, never left running.

Debian's `chromium` package is installed with apt-get when /usr/bin/chromium is missing and this
process may do so (root with apt-get); otherwise the caller skips with the reason returned.
Every launch runs in its own process group with its own profile folder, and the group is killed
when the call returns, so no chromium process outlives a test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0")


def ensure_chromium() -> str | None:
    """None when chromium is there (installing it if needed), else why it cannot be."""
    if CHROMIUM.is_file():
        return None
    if shutil.which("apt-get") is None:
        return "chromium is not installed and there is no apt-get to install it"
    if os.geteuid() != 0:
        return "chromium is not installed and installing it needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900,
                              check=False)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
    return None if CHROMIUM.is_file() else "apt-get installed no /usr/bin/chromium"


@dataclass(frozen=True)
class Rendered:
    dom: str
    log: str


def _processes_using(profile: Path) -> list[int]:
    """Processes whose command line names this profile folder (chromium and its helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(profile).encode() in cmdline:
            found.append(int(entry.name))
    return found


def run_chromium(url: str, *extra: str, timeout: float = 120) -> Rendered:
    """Run headless chromium once on `url` with `extra` flags; its DOM (stdout) and log."""
    with tempfile.TemporaryDirectory(prefix="leadscore-chromium-") as profile:
        command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *extra, url]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        try:
            out, err = process.communicate(timeout=timeout)
        finally:
            # The whole group: the browser, its zygote, renderer and GPU helpers.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        leftover = _processes_using(Path(profile))
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        assert not leftover, f"chromium processes left behind: {leftover}"
    return Rendered(dom=out, log=err)


def render(page: Path) -> Rendered:
    """The page's DOM after its scripts ran (2 s of virtual time)."""
    return run_chromium(page.resolve().as_uri(), "--virtual-time-budget=2000", "--dump-dom")


def screenshot(page: Path, target: Path, width: int = 1280, height: int = 2600) -> Rendered:
    target.parent.mkdir(parents=True, exist_ok=True)
    return run_chromium(page.resolve().as_uri(), f"--screenshot={target}",
                        f"--window-size={width},{height}", "--virtual-time-budget=2000")


def console_errors(log: str) -> list[str]:
    """Console messages and uncaught errors that chromium logged for the page."""
    return [line for line in log.splitlines()
            if "CONSOLE" in line or "Uncaught" in line]
