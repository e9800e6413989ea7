"""bench/profile_summary.py: a py-spy raw profile summed by project call site."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "profile_summary.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_profile_summary", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Three stacks as py-spy writes them (`-f raw --threads`): thread, then frames outermost first,
# then the sample count. Paths are absolute when py-spy ran outside the project's folder.
RAW = [
    "thread (1): MainThread;<module> (bench/run.py:290);score_flow (flows/score.py:585);"
    "score_date (flows/score.py:499);score_features (flows/score.py:299);"
    "collect (polars/lazyframe/frame.py:2227) 50",
    "thread (1): MainThread;<module> (/srv/app/flows/runtime.py:10);"
    "start_prefect (/srv/app/flows/runtime.py:39);sleep (threading.py:320) 25",
    "thread (7);_registrable_batch (features/resolve/identity.py:239);"
    "registrable_domain (features/resolve/identity.py:235);__call__ (tldextract.py:420) 10",
]


def test_samples_are_charged_to_their_innermost_project_frames_callee_first() -> None:
    report = _module().summary(RAW, rate=10.0)
    assert report[0].startswith("8.5 s sampled in project code")
    assert report[1].split() == [
        "58.8%", "5.0s", "[main]", "score_features", "(flows/score.py:299)", "<-",
        "score_date", "(flows/score.py:499)", "<-", "score_flow", "(flows/score.py:585)"]
    assert "[main] start_prefect (flows/runtime.py:39) <- <module> (flows/runtime.py:10)" in (
        report[2])
    assert report[3].endswith("[other thread] registrable_domain (features/resolve/identity.py"
                              ":235) <- _registrable_batch (features/resolve/identity.py:239)")


def test_within_keeps_the_main_thread_under_that_function_and_every_other_thread() -> None:
    report = _module().summary(RAW, rate=10.0, within="score_date")
    assert report[0].startswith("6.0 s sampled in project code under score_date")
    assert len(report) == 3
    assert "start_prefect" not in "\n".join(report)
