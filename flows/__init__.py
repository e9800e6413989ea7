"""Prefect flows, the CLI and every read and write of the job.

Importing this package sets Prefect's defaults for running without a server before Prefect is
imported anywhere: a project-local PREFECT_HOME (its SQLite database stays out of the user's home)
analytics off (offline telemetry would only log errors), and a longer wait for the temporary
server to come up (Prefect's 20 s default is not enough on a loaded two-core machine). A value
already set in the environment wins.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("PREFECT_HOME", str(PROJECT_ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
