"""Atomic publishing of a run's outputs, and recovery from a run that died while publishing.

A run writes its outputs into a private staging folder under the output root (the same
filesystem, so a rename is atomic), then `publish` swaps each as_of folder in:

1. Every existing folder of this as_of moves into the staging folder, the run manifest first:
   from then on the date reads as incomplete (no manifest), never as a mix of two runs.
2. The new folders move in, the manifest last: its arrival completes the run.

Each step is written to a journal (`PUBLISHING` in the staging folder, fsynced) before it
happens. A failure rolls the swap back; when the process died instead, the date reads as
incomplete (no manifest) until the next run rolls it back (`recover_interrupted`). Undo steps
are journaled too, so a rollback cut short can be resumed without touching what it already
restored, and a placed folder is only removed if it is still the one this run placed (same
inode): a later run's output is never deleted by an earlier run's recovery.

Two locks, both `flock` (the kernel drops them when their process dies, whatever its pid):

- each staging folder `<id>` has a lock file `<id>.lock` its run holds while it lives; recovery
  treats a folder as abandoned only when it can take that lock;
- `.staging/.publish.lock` serializes publishing and recovery under one output root, so two runs
  of the same as_of (an overlapping nightly run and a backfill, say) publish one after the
  other, each whole, and never interleave.

The output root must be on a local filesystem (or one whose `flock` works across its clients).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flows.catalog import MANIFEST, OUTPUT_KINDS, partition, writing

STAGING = ".staging"
JOURNAL = "PUBLISHING"
_PUBLISH_LOCK = ".publish.lock"
# The manifest's folder is retired first and placed last: its presence marks a complete run.
_RETIRE_ORDER = ("runs", *[k for k in OUTPUT_KINDS if k != "runs"])
_PLACE_ORDER = (*[k for k in OUTPUT_KINDS if k != "runs"], "runs")
_FINISHED = ("done", "rolled back")
# A staging folder recovery could not handle is renamed with this prefix and left alone.
BROKEN_PREFIX = "broken-"


# ---- locks -------------------------------------------------------------------------------------


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def publish_lock(root: Path) -> Iterator[None]:
    """Exclusive, blocking: one publish or recovery at a time under this output root. Readers
    of a published date that must not see it swapped mid-read take it too."""
    base = root / STAGING
    base.mkdir(parents=True, exist_ok=True)
    fd = os.open(base / _PUBLISH_LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _lock_file(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}.lock")


def new_owned_lock(base: Path, prefix: str = "", suffix: str = "") -> tuple[int, Path]:
    """A fresh `<prefix><id><suffix>.lock`, created and locked by us (retried if recovery
    removed it between our open and our lock: the file we hold must still be the one at the
    path)."""
    while True:
        path = base / f"{prefix}{uuid.uuid4().hex}{suffix}.lock"
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd, path
        os.close(fd)


@contextmanager
def staging_folder(root: Path) -> Iterator[Path]:
    """A private folder for one run under `root/.staging`, owned (locked) while the run lives.

    On exit the folder is deleted, unless it holds an unfinished publish (a rollback that
    itself failed): then the previous output is inside it, and the next run's
    `recover_interrupted` puts it back.
    """
    base = root / STAGING
    with writing(base):
        base.mkdir(parents=True, exist_ok=True)
        fd, lock_path = new_owned_lock(base)
    staging = base / lock_path.name.removesuffix(".lock")
    try:
        with writing(staging):
            staging.mkdir()
        yield staging
    finally:
        try:
            if not publish_unfinished(staging):
                shutil.rmtree(staging, ignore_errors=True)
                lock_path.unlink(missing_ok=True)
        finally:
            os.close(fd)


@contextmanager
def if_abandoned(folder: Path) -> Iterator[bool]:
    """True (and the owner's lock held for the block) when no live run owns `folder`."""
    try:
        fd = os.open(_lock_file(folder), os.O_RDWR)
    except FileNotFoundError:
        yield True  # no owner file: left by a run that could not create one, or by old code
        return
    try:
        yield _try_lock(fd)
    finally:
        os.close(fd)


# ---- the journal -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    action: str  # as_of, retire, place, unplaced, restored, done, rolled back
    argument: str = ""
    inode: int | None = None


def _journal(staging: Path, *words: object) -> None:
    """Append a step to the journal, durably, before the step happens."""
    with (staging / JOURNAL).open("a", encoding="utf-8") as handle:
        handle.write(" ".join(str(w) for w in words) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class BrokenJournal(Exception):
    """A journal with a bad line before its last: not a torn write, so not safe to act on."""


def _parse_step(line: str) -> _Step | None:
    words = line.split(" ")
    if line in _FINISHED:
        return _Step(line)
    if len(words) == 2 and words[0] == "as_of":
        try:
            date.fromisoformat(words[1])
        except ValueError:
            return None
        return _Step("as_of", words[1])
    if len(words) == 2 and words[0] in ("retire", "unplaced", "restored", "place") \
            and words[1] in OUTPUT_KINDS:
        return _Step(words[0], words[1])  # "place" without an inode: the first journal format
    if len(words) == 3 and words[0] == "place" and words[1] in OUTPUT_KINDS \
            and words[2].isdigit():
        return _Step("place", words[1], int(words[2]))
    return None


def _read_journal(staging: Path) -> list[_Step]:
    """The journal's steps.

    Every line is fsynced before its step happens, so a last line that does not parse is a
    write torn by a crash, and its step never happened: it is ignored. A bad line anywhere
    else is corruption (or a format this code does not know): BrokenJournal, so that nothing
    acts on a partial picture.
    """
    path = staging / JOURNAL
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last complete line
    steps: list[_Step] = []
    for number, line in enumerate(lines, 1):
        step = _parse_step(line)
        if step is None and number == len(lines):
            break
        if step is None or (number == 1) != (step.action == "as_of"):
            raise BrokenJournal(f"{path}: line {number} {line!r} is not a publish step")
        steps.append(step)
    return steps


def publish_unfinished(staging: Path) -> bool:
    """Whether `staging` holds a publish that neither finished nor was rolled back (or one
    whose journal cannot be read: then it must be kept too)."""
    try:
        steps = _read_journal(staging)
    except BrokenJournal:
        return True
    return bool(steps) and steps[-1].action not in _FINISHED


# ---- publish, roll back, recover ---------------------------------------------------------------


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_outputs(staging: Path, as_of: date) -> None:
    """Flush the staged output files (not the run's scratch files) before they are published."""
    for kind in OUTPUT_KINDS:
        folder = partition(staging, kind, as_of)
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    _fsync_path(path)


def publish(staging: Path, root: Path, as_of: date) -> None:
    """Swap the staged as_of folders into place as one unit (see the module docstring)."""
    if (staging / JOURNAL).exists():
        raise ValueError(f"{staging} has published before: one staging folder, one publish")
    if not (partition(staging, "runs", as_of) / MANIFEST).is_file():
        raise ValueError(f"{staging} holds no manifest for {as_of}: nothing complete to publish")
    _fsync_outputs(staging, as_of)
    with publish_lock(root):
        _recover_locked(root)
        _journal(staging, "as_of", as_of.isoformat())
        try:
            for kind in _RETIRE_ORDER:
                target = partition(root, kind, as_of)
                if target.exists():
                    (staging / "retired").mkdir(exist_ok=True)
                    _journal(staging, "retire", kind)
                    target.rename(staging / "retired" / kind)
                    _fsync_path(target.parent)
            for kind in _PLACE_ORDER:
                staged = partition(staging, kind, as_of)
                if staged.exists():
                    target = partition(root, kind, as_of)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _journal(staging, "place", kind, staged.stat().st_ino)
                    staged.rename(target)
                    _fsync_path(target.parent)
        except BaseException:
            _roll_back(staging, root)
            raise
        _journal(staging, "done")
    shutil.rmtree(staging / "retired", ignore_errors=True)


def _roll_back(staging: Path, root: Path) -> None:
    """Undo a publish from its journal: remove what it placed (only if still its own folder),
    put back what it retired (unless a later run's folder is there now). Resumable."""
    steps = _read_journal(staging)
    if not steps or steps[-1].action in _FINISHED:
        return
    as_of = date.fromisoformat(steps[0].argument)
    undone = {(s.action, s.argument) for s in steps}
    for step in reversed(steps[1:]):
        target = partition(root, step.argument, as_of)
        if step.action == "place" and ("unplaced", step.argument) not in undone:
            if target.exists() and step.inode in (None, target.stat().st_ino):
                shutil.rmtree(target)
            _journal(staging, "unplaced", step.argument)
        elif step.action == "retire" and ("restored", step.argument) not in undone:
            retired = staging / "retired" / step.argument
            if retired.exists() and not target.exists():
                retired.rename(target)
            _journal(staging, "restored", step.argument)
    _journal(staging, "rolled back")


def _recover_locked(root: Path) -> list[str]:
    """`recover_interrupted`, with the publish lock already held."""
    base = root / STAGING
    done: list[str] = []
    for staging in sorted(p for p in base.iterdir() if p.is_dir()):
        if staging.name.startswith(BROKEN_PREFIX):
            continue
        with if_abandoned(staging) as abandoned:
            if not abandoned:
                continue
            try:
                done.extend(_recover_one(staging, root))
            except (BrokenJournal, OSError) as error:
                # Set it aside whole (it may hold the previous output) rather than fail every
                # later run on it; ops decide what to do with it.
                kept = staging.with_name(f"{BROKEN_PREFIX}{staging.name}")
                staging.rename(kept)
                done.append(f"could not recover {staging.name} ({error}); kept as {kept}")
            _lock_file(staging).unlink(missing_ok=True)
    for lock in sorted(base.glob("*.lock")):
        if lock.name != _PUBLISH_LOCK and not lock.with_suffix("").exists():
            with if_abandoned(lock.with_suffix("")) as abandoned:
                if abandoned:
                    lock.unlink(missing_ok=True)
    return done


def _recover_one(staging: Path, root: Path) -> list[str]:
    done = []
    if publish_unfinished(staging):
        _roll_back(staging, root)
        done.append(f"rolled back an interrupted publish ({staging.name})")
    shutil.rmtree(staging)
    done.append(f"removed abandoned staging folder {staging.name}")
    return done


def recover_interrupted(root: Path) -> list[str]:
    """Roll back publishes a dead run left half done and delete abandoned staging folders.

    Only folders no live run owns are touched. Returns what was done, for the log."""
    if not (root / STAGING).is_dir():
        return []
    with publish_lock(root):
        return _recover_locked(root)
