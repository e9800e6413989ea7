"""One Prefect test harness for the whole session: starting its server costs several seconds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest


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
