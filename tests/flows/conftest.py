"""One Prefect test harness for the whole session: starting its server costs several seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    from flows.runtime import prefect_runtime

    with prefect_test_harness(), prefect_runtime():
        yield
