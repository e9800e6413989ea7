"""One Prefect test harness for the whole session (starting its server costs several seconds),
and the demo run (train, then score twice) that the end-to-end tests read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.catalog import ALWAYS_WRITTEN, OUTPUTS, crm_dataset, dataset_path
from scoring.records import RunManifest, TrainingResult


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    from flows.runtime import prefect_runtime, tether_temporary_servers

    tether_temporary_servers()  # the harness's server too: a killed pytest leaves no server
    # None: wait as long as PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (set in
    # flows/__init__), not the harness's fixed 30 s, which a loaded two-core machine can exceed.
    with prefect_test_harness(server_startup_timeout=None), prefect_runtime():
        yield


@pytest.fixture(scope="session")
def trained_registry(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory, sample_dir: Path,
    default_config: Path, sample_export_date: date,
) -> Path:
    """A model registry holding one model trained on the sample as of its export date
    (copy it before a test changes it)."""
    from flows.train import train_flow

    out = tmp_path_factory.mktemp("registry")
    trained = train_flow(as_of=sample_export_date, inputs=sample_dir, config=default_config,
                         out=out)
    assert trained.status == "trained", trained.message
    return out / "models"
@dataclass(frozen=True)
class DemoRun:
    out: Path
    as_of: date
    earlier: date
    trained: TrainingResult
    manifest: RunManifest


def run_paths(out: Path, as_of: date) -> dict[str, Path]:
    """Where every output of the run for as_of is, by catalog name (written or not)."""
    return {name: dataset_path(out, name, as_of) for name in OUTPUTS}


def written_by(config: Path, changes_only: bool = False) -> set[str]:
    """The outputs a run with this config writes: every run's, plus the CRM import files
    its [export] crm names (and their changes-only twins with `changes_only`)."""
    from flows.catalog import load_config

    crm = load_config(config)[0].export.crm
    return {*ALWAYS_WRITTEN, *(crm_dataset(c) for c in crm),
            *(crm_dataset(c, changes_only=True) for c in crm if changes_only)}


@pytest.fixture(scope="session")
def demo(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory, sample_dir: Path,
    default_config: Path, sample_export_date: date,
) -> DemoRun:
    from flows.score import score_flow
    from flows.train import train_flow

    out = tmp_path_factory.mktemp("demo")
    common = {"inputs": sample_dir, "config": default_config, "out": out}
    trained = train_flow(as_of=sample_export_date, **common)
    earlier = sample_export_date - timedelta(days=7)
    score_flow(as_of=earlier, **common)
    manifest = score_flow(as_of=sample_export_date, **common)
    return DemoRun(out, sample_export_date, earlier, trained, manifest)
