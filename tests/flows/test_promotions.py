"""The promotion history: which model served a past date."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from features.errors import ModelError
from flows.promotions import (
    PROMOTIONS,
    Promotion,
    model_current_on,
    promotion_history,
    record_promotion,
)
from flows.registry import set_current


def _model_folder(models: Path, version: str, trained_as_of: str) -> None:
    (models / version).mkdir(parents=True)
    (models / version / "card.json").write_text(
        json.dumps({"version": version, "trained_as_of": trained_as_of}), encoding="utf-8")


def _promotion(version: str, trained: date, at: int) -> Promotion:
    return Promotion(version=version, trained_as_of=trained,
                     promoted_at=datetime(2026, 12, 1, at, tzinfo=UTC))


def test_a_date_uses_the_latest_model_trained_on_or_before_it() -> None:
    history = [_promotion("A", date(2026, 6, 1), 1), _promotion("B", date(2026, 9, 1), 2)]
    assert model_current_on(history, date(2026, 8, 31)).version == "A"
    assert model_current_on(history, date(2026, 9, 1)).version == "B"
    assert model_current_on(history, date(2026, 11, 1)).version == "B"


def test_a_date_before_every_model_runs_on_rules_and_says_why() -> None:
    history = [_promotion("A", date(2026, 6, 1), 1)]
    choice = model_current_on(history, date(2026, 5, 31))
    assert choice.kind == "none" and choice.version is None
    assert "2026-06-01" in choice.why and "rules alone" in choice.why
    assert model_current_on([], date(2026, 5, 31)).kind == "none"


def test_of_two_models_trained_as_of_the_same_date_the_later_promotion_wins() -> None:
    history = [_promotion("A", date(2026, 6, 1), 1), _promotion("B", date(2026, 6, 1), 2)]
    assert model_current_on(history, date(2026, 7, 1)).version == "B"


def test_set_current_records_each_promotion_with_its_training_date(tmp_path: Path) -> None:
    _model_folder(tmp_path, "20260601-a", "2026-06-01")
    _model_folder(tmp_path, "20260901-b", "2026-09-01")
    set_current(tmp_path, "20260601-a")
    set_current(tmp_path, "20260901-b")
    history = promotion_history(tmp_path)
    assert [(p.version, p.trained_as_of) for p in history] == [
        ("20260601-a", date(2026, 6, 1)), ("20260901-b", date(2026, 9, 1))]
    assert json.loads((tmp_path / "current.json").read_text())["version"] == "20260901-b"


def test_a_registry_from_before_the_history_reads_its_current_model_as_the_history(
    tmp_path: Path,
) -> None:
    _model_folder(tmp_path, "20260601-a", "2026-06-01")
    (tmp_path / "current.json").write_text(json.dumps({"version": "20260601-a"}))
    assert [p.version for p in promotion_history(tmp_path)] == ["20260601-a"]
    record_promotion(tmp_path, "20260601-a")  # the next promotion keeps the old one
    assert (tmp_path / PROMOTIONS).is_file()
    assert len(promotion_history(tmp_path)) == 2


def test_a_damaged_history_names_the_file(tmp_path: Path) -> None:
    (tmp_path / PROMOTIONS).write_text("[{\"version\": 3}]")
    with pytest.raises(ModelError, match=PROMOTIONS):
        promotion_history(tmp_path)
