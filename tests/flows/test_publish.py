"""Publishing swaps a run's folders in whole; a crash at any step leaves the previous good output
or the new one, never a mix, and never deletes a live run's work.

Crashes are real: a child process publishes and kills itself (`os._exit`) right after writing a
chosen journal step, so its locks are dropped by the kernel as they would be after a kill -9.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

import flows.publish as publishing
from flows.catalog import (
    completed_runs,
    dataset_path,
    partition,
    write_csv,
    write_json,
    write_parquet,
)
from flows.publish import JOURNAL, STAGING, publish, recover_interrupted, staging_folder

AS_OF = date(2026, 3, 1)
PROJECT = Path(__file__).resolve().parents[2]


def write_run(staging: Path, as_of: date, stage: str) -> None:
    """A minimal run: scores with one lead in `stage`, an export, and the manifest."""
    scores = pl.DataFrame({"lead_id": ["L1"], "recommended_stage": [stage]})
    write_parquet(scores, dataset_path(staging, "scores", as_of))
    write_csv(scores, dataset_path(staging, "exports", as_of))
    write_json({"stage": stage}, dataset_path(staging, "manifest", as_of))


def publish_run(root: Path, as_of: date, stage: str) -> None:
    with staging_folder(root) as staging:
        write_run(staging, as_of, stage)
        publish(staging, root, as_of)


def stages_of(root: Path, as_of: date = AS_OF) -> dict[str, str | None]:
    """What each published folder of the date says (None: the folder is missing)."""
    def read(name: str) -> str | None:
        path = dataset_path(root, name, as_of)
        if not path.is_file():
            return None
        if name == "manifest":
            return str(pl.read_json(path)["stage"][0])
        if name == "exports":
            return str(pl.read_csv(path)["recommended_stage"][0])
        return str(pl.read_parquet(path)["recommended_stage"][0])

    return {"scores": read("scores"), "exports": read("exports"), "runs": read("manifest")}


def whole(stage: str) -> dict[str, str | None]:
    return {"scores": stage, "exports": stage, "runs": stage}


def leftovers(root: Path) -> list[str]:
    """What is left under the staging root besides the publish lock."""
    return sorted(p.name for p in (root / STAGING).iterdir() if p.name != ".publish.lock")


CRASHING_RUN = """
import os, sys
from datetime import date
from pathlib import Path
import flows.publish as publishing
from tests.flows.test_publish import write_run

root, as_of, crash_at = Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), sys.argv[3]
fail_at = sys.argv[4] if len(sys.argv) > 4 else None
journal = publishing._journal

def journal_then_maybe_crash(staging, *words):
    journal(staging, *words)
    step = " ".join(str(w) for w in words)
    if step.startswith(crash_at):
        os._exit(9)
    if fail_at and step.startswith(fail_at):
        raise OSError("disk full")

publishing._journal = journal_then_maybe_crash
with publishing.staging_folder(root) as staging:
    write_run(staging, as_of, "crashed")
    publishing.publish(staging, root, as_of)
"""


def crash_while_publishing(root: Path, crash_at: str, fail_at: str | None = None) -> None:
    """Publish a run "crashed" in a child process that dies right after journaling `crash_at`
    (after first failing at `fail_at`, so that a rollback is under way)."""
    args = [sys.executable, "-c", CRASHING_RUN, str(root), AS_OF.isoformat(), crash_at]
    result = subprocess.run([*args, *([fail_at] if fail_at else [])], cwd=PROJECT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 9, result.stderr


# ---- a normal publish ---------------------------------------------------------------------------


def test_publish_replaces_the_previous_output_and_leaves_no_staging(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    publish_run(tmp_path, AS_OF, "prospect")
    assert stages_of(tmp_path) == whole("prospect")
    assert leftovers(tmp_path) == []


def test_a_run_that_fails_before_publishing_leaves_the_previous_output(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    with pytest.raises(RuntimeError), staging_folder(tmp_path) as staging:
        write_run(staging, AS_OF, "customer")
        raise RuntimeError("the run failed before publishing")
    assert stages_of(tmp_path) == whole("lead")
    assert leftovers(tmp_path) == []


def test_a_failure_while_publishing_rolls_back_to_the_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    real_rename = Path.rename

    def failing_rename(self: Path, target: Path) -> Path:
        if Path(target) == partition(tmp_path, "runs", AS_OF) and "retired" not in str(self):
            raise OSError("disk full")  # placing the new manifest fails; the rollback works
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        publish_run(tmp_path, AS_OF, "customer")
    assert stages_of(tmp_path) == whole("lead")
    assert leftovers(tmp_path) == []


def test_a_rollback_that_fails_keeps_the_previous_output_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    real_rename = Path.rename

    def failing_rename(self: Path, target: Path) -> Path:
        if Path(target) == partition(tmp_path, "runs", AS_OF):
            raise OSError("disk full")  # placing the manifest and putting the old one back fail
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        publish_run(tmp_path, AS_OF, "customer")
    monkeypatch.undo()
    assert stages_of(tmp_path)["runs"] is None, "the date reads as incomplete"
    assert len(leftovers(tmp_path)) == 2, "the staging folder (with the old output) is kept"
    steps = recover_interrupted(tmp_path)
    assert any("rolled back" in step for step in steps)
    assert stages_of(tmp_path) == whole("lead")
    assert leftovers(tmp_path) == []


# ---- crashes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("crash_at", ["as_of", "retire runs", "retire scores", "place scores",
                                      "place exports", "place runs"])
def test_a_publish_killed_at_any_step_is_rolled_back_by_the_next_run(
    tmp_path: Path, crash_at: str
) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, crash_at)
    if crash_at not in ("as_of", "retire runs"):  # before those, nothing has moved yet
        assert completed_runs(tmp_path) == [], "a half-published date must not read as complete"
    recover_interrupted(tmp_path)
    assert stages_of(tmp_path) == whole("lead")
    assert leftovers(tmp_path) == []


def test_a_publish_killed_after_it_finished_keeps_the_new_output(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, "done")
    recover_interrupted(tmp_path)
    assert stages_of(tmp_path) == whole("crashed")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("crash_at", ["unplaced scores", "restored scores", "rolled back"])
def test_a_rollback_killed_part_way_is_resumed_without_undoing_it_twice(
    tmp_path: Path, crash_at: str
) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, crash_at, fail_at="place runs")
    recover_interrupted(tmp_path)
    assert stages_of(tmp_path) == whole("lead")
    recover_interrupted(tmp_path)  # and again: nothing left to do, nothing deleted
    assert stages_of(tmp_path) == whole("lead")
    assert leftovers(tmp_path) == []


def test_recovery_never_removes_a_later_run_placed_over_a_dead_one(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, "place runs")
    # A later run publishes first (its publish recovers the dead one under the lock, then swaps
    # in whole); a further recovery finds nothing of the dead run to undo.
    publish_run(tmp_path, AS_OF, "later")
    recover_interrupted(tmp_path)
    assert stages_of(tmp_path) == whole("later")
    assert leftovers(tmp_path) == []


def test_a_torn_last_journal_line_is_a_step_that_never_happened(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, "retire scores")
    (staging,) = [p for p in (tmp_path / STAGING).iterdir() if p.is_dir()]
    with (staging / JOURNAL).open("a") as journal:
        journal.write("place expo")  # a write cut short
    recover_interrupted(tmp_path)
    assert stages_of(tmp_path) == whole("lead")


# ---- runs going on at the same time -------------------------------------------------------------


def test_recovery_leaves_a_live_run_alone_even_in_the_same_process(tmp_path: Path) -> None:
    with staging_folder(tmp_path) as staging:
        write_run(staging, AS_OF, "live")
        assert recover_interrupted(tmp_path) == []
        assert staging.is_dir()
        assert partition(staging, "scores", AS_OF).is_dir()


def test_two_publishes_of_one_date_never_interleave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    journal = publishing._journal
    other: list[threading.Thread] = []

    def start_the_other_run_mid_publish(staging: Path, *words: object) -> None:
        journal(staging, *words)
        if words[:2] == ("place", "scores") and not other:
            other.append(threading.Thread(target=publish_run, args=(tmp_path, AS_OF, "B")))
            other[0].start()
            time.sleep(0.3)
            assert other[0].is_alive(), "the other publish must wait for this one"

    monkeypatch.setattr(publishing, "_journal", start_the_other_run_mid_publish)
    publish_run(tmp_path, AS_OF, "A")
    other[0].join(timeout=30)
    assert stages_of(tmp_path) == whole("B")
    assert leftovers(tmp_path) == []


def test_abandoned_lock_files_are_cleaned_up(tmp_path: Path) -> None:
    (tmp_path / STAGING).mkdir()
    orphan = tmp_path / STAGING / "0123abcd.lock"
    orphan.write_text("")
    recover_interrupted(tmp_path)
    assert not orphan.exists()
    assert os.listdir(tmp_path / STAGING) == [".publish.lock"]


def test_a_torn_first_journal_line_means_nothing_happened(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, "as_of")
    (staging,) = [p for p in (tmp_path / STAGING).iterdir() if p.is_dir()]
    (staging / JOURNAL).write_text("as_of 2026-0")
    assert recover_interrupted(tmp_path)
    assert stages_of(tmp_path) == whole("lead")
    assert leftovers(tmp_path) == []


def test_a_journal_bad_before_its_last_line_is_set_aside_not_acted_on(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, "place exports")
    (staging,) = [p for p in (tmp_path / STAGING).iterdir() if p.is_dir()]
    journal = (staging / JOURNAL).read_text().splitlines()
    journal[1] = "retire scroes"
    (staging / JOURNAL).write_text("\n".join(journal) + "\n")
    steps = recover_interrupted(tmp_path)
    assert any("could not recover" in step for step in steps)
    assert leftovers(tmp_path) == [f"broken-{staging.name}"]
    assert (tmp_path / STAGING / f"broken-{staging.name}" / "retired" / "runs").is_dir(), (
        "the previous output is kept for ops")
    publish_run(tmp_path, AS_OF, "next")  # and later runs go on
    assert stages_of(tmp_path) == whole("next")


def test_a_journal_of_the_first_format_without_inodes_is_still_rolled_back(
    tmp_path: Path,
) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    crash_while_publishing(tmp_path, "place runs")
    (staging,) = [p for p in (tmp_path / STAGING).iterdir() if p.is_dir()]
    journal = (staging / JOURNAL).read_text()
    (staging / JOURNAL).write_text(re.sub(r"^(place \w+) \d+$", r"\1", journal, flags=re.M))
    recover_interrupted(tmp_path)
    assert stages_of(tmp_path) == whole("lead")


def test_publish_refuses_a_run_without_manifest_and_a_second_publish(tmp_path: Path) -> None:
    publish_run(tmp_path, AS_OF, "lead")
    with staging_folder(tmp_path) as staging:
        write_parquet(pl.DataFrame({"lead_id": ["L1"], "recommended_stage": ["x"]}),
                      dataset_path(staging, "scores", AS_OF))
        with pytest.raises(ValueError, match="no manifest"):
            publish(staging, tmp_path, AS_OF)
        write_run(staging, AS_OF, "once")
        publish(staging, tmp_path, AS_OF)
        with pytest.raises(ValueError, match="published before"):
            publish(staging, tmp_path, AS_OF)
    assert stages_of(tmp_path) == whole("once")
