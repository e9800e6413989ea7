"""features/ and scoring/ stay pure: no clock, no files, no environment.

The import contracts in pyproject.toml (run by `make lint`) forbid the modules (prefect, os,
pathlib, ...); this test catches what an import contract cannot see: builtins and methods that
read the clock or touch files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PURE_PACKAGES = ("features", "scoring")
# Each pattern names a call that reads the clock, the environment or a file.
FORBIDDEN_CALLS = {
    r"\bdate\.today\(": "the clock (the run date is a parameter)",
    r"\bdatetime\.(now|utcnow|today)\(": "the clock (the run date is a parameter)",
    r"\btime\.(time|monotonic|perf_counter)\(": "the clock",
    r"\bos\.(environ|getenv)\b": "the environment",
    r"(?<![\w.])open\(": "a file",
    r"\.(read_text|write_text|read_bytes|write_bytes)\(": "a file",
    r"\bpl\.(read|scan)_\w+\(": "a file (reads live in flows/)",
    r"\.(write|sink)_(csv|parquet|ipc|json|ndjson)\(": "a file (writes live in flows/)",
}


def _sources() -> list[Path]:
    return sorted(p for package in PURE_PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_there_are_sources_to_check() -> None:
    assert len(_sources()) > 20


@pytest.mark.parametrize("pattern", sorted(FORBIDDEN_CALLS))
def test_pure_packages_never_call(pattern: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(pattern, line.split("#", 1)[0])
    ]
    assert not found, f"{FORBIDDEN_CALLS[pattern]} is read below flows/:\n" + "\n".join(found)


def test_the_patterns_catch_what_they_name() -> None:
    samples = {
        r"\bdate\.today\(": "d = date.today()",
        r"\bdatetime\.(now|utcnow|today)\(": "t = datetime.now(UTC)",
        r"\btime\.(time|monotonic|perf_counter)\(": "t = time.time()",
        r"\bos\.(environ|getenv)\b": "x = os.environ['A']",
        r"(?<![\w.])open\(": "with open(path) as f:",
        r"\.(read_text|write_text|read_bytes|write_bytes)\(": "p.read_text()",
        r"\bpl\.(read|scan)_\w+\(": "pl.scan_parquet(p)",
        r"\.(write|sink)_(csv|parquet|ipc|json|ndjson)\(": "frame.write_parquet(p)",
    }
    assert set(samples) == set(FORBIDDEN_CALLS)
    for pattern, line in samples.items():
        assert re.search(pattern, line), pattern
