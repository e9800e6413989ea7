"""How flows run here: Prefect without a server, and the heartbeat thread switched off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import flows  # noqa: F401  (sets Prefect's environment defaults before Prefect is imported)


@contextmanager
def prefect_runtime() -> Iterator[None]:
    """Run flows with no heartbeat thread: with no server watching, a heartbeat only costs
    about a second per flow run to join its thread."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
