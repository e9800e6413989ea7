"""Shared fixtures: where the bundled sample and the real data sets are."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import flows  # noqa: F401  (sets Prefect's environment defaults before any test imports Prefect)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = PROJECT_ROOT / "data" / "sample"
CONFIG = PROJECT_ROOT / "data" / "leadscore.toml"
DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_export_date() -> date:
    info = json.loads((SAMPLE / "sample.json").read_text(encoding="utf-8"))
    return date.fromisoformat(info["export_date"])


@pytest.fixture(scope="session")
def default_config() -> Path:
    return CONFIG


def dataset(*parts: str) -> Path:
    """A file under ../shared/datasets, or skip the test with the reason."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data set not available: {path} (../shared/datasets is absent)")
    return path
