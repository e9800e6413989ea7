"""Where a profiled run spent its time: a py-spy raw profile summed by project call site.

    uv run py-spy record --idle --threads -r 25 -f raw -o bench/out/profile-1m.raw -- \\
        .venv/bin/python bench/run.py --child score --inputs bench/out/data-1000000-s11 \\
        --out bench/out/profile-run --models bench/out/models-sample
    uv run python bench/profile_summary.py bench/out/profile-1m.raw --rate 25 --within score_date

Each sample is charged to its innermost frames of the project (`flows/`, `features/`,
`scoring/`), three of them, callee first: the line of the project that was waiting (on
polars, numpy or scikit-learn, which run beside it on every core) or running. `--idle` makes
a wait count as much as work, so the seconds are wall seconds of the thread. Threads are kept
apart: polars calls a Python function of a plan (python-stdnum, tldextract, rapidfuzz) on its
own threads, whose samples have no project frame above it and are listed by their innermost
project frame alone.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# A frame of the project's code: its path is relative when py-spy ran in the project's folder,
# else absolute (the folders above the package are dropped).
PROJECT_FRAME = re.compile(r"^(?P<name>.+) \((?:/\S*?/)?(?P<file>(?:flows|features|scoring)/"
                           r"[^:]+):(?P<line>\d+)\)$")


def project_frames(stack: str) -> list[str]:
    """"name (file:line)" of each project frame of a `;`-joined py-spy stack, outermost
    first."""
    matches = (PROJECT_FRAME.match(frame.strip()) for frame in stack.split(";"))
    return [f"{m['name']} ({m['file']}:{m['line']})" for m in matches if m]


def summary(lines: list[str], rate: float, depth: int = 3, top: int = 40,
            within: str | None = None) -> list[str]:
    """The report: total sampled seconds with project frames, then the `top` call sites.
    `within`: only the samples of the main thread under a project function of that name (as
    `score_date`: the run without Prefect's start-up), and every other thread's."""
    sites: Counter[tuple[str, str]] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, _, rest = stack.partition(";")
        frames = project_frames(rest)
        if not frames:
            continue
        kind = "main" if "MainThread" in thread else "other thread"
        if within and kind == "main" and not any(f.startswith(f"{within} (") for f in frames):
            continue
        sites[(kind, " <- ".join(reversed(frames[-depth:])))] += int(count)
    total = sum(sites.values())
    scope = f" under {within} (main thread)" if within else ""
    report = [f"{total / rate:.1f} s sampled in project code{scope} ({rate:g} samples per second, "
              "waits included), by call site (innermost first):"]
    for (kind, site), count in sites.most_common(top):
        report.append(f"{count / total:6.1%} {count / rate:7.1f}s  [{kind}] {site}")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--rate", type=float, required=True, help="py-spy's -r")
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--within", help="only the main thread's samples under this function")
    args = parser.parse_args()
    lines = args.profile.read_text().splitlines()
    print("\n".join(summary(lines, args.rate, args.depth, args.top, args.within)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
