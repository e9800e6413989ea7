"""One Prefect test harness for the whole session: starting its server costs several seconds."""

from __future__ import annotations

from collections.abc import Iterator

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
