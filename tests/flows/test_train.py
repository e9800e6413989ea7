"""The train flow's I/O side: model versions, the registry's folders and records."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from features.errors import ModelError
from flows.registry import read_card, save_model, training_status, write_training_status
from flows.train import model_version
from scoring.conversion.encoding import FeatureSpec, fit_encoding
from scoring.conversion.estimators import TrainedModel, fit_model
from scoring.conversion.train import TARGET
from scoring.records import ModelCard, TrainingCounts, TrainingResult
from tests.cards import a_card


def _model(seed: int) -> TrainedModel:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=600)
    rows = pl.DataFrame({
        "lead_id": [f"L{i % 300}" for i in range(600)],
        "as_of": [date(2025, 6, 1) + timedelta(days=14 * (i % 6)) for i in range(600)],
        "a": a, "c": rng.choice(["x", "y"], size=600), TARGET: a + rng.normal(size=600) > 1.0,
    })
    encoding = fit_encoding(rows, FeatureSpec(numeric=("a",), categorical=("c",)), TARGET)
    return fit_model("logistic", encoding, encoding.matrix(rows),
                     rows[TARGET].cast(pl.Int8).to_numpy(), rows["lead_id"].to_numpy(),
                     seed=1, isotonic_min_rows=100)


def test_model_version_changes_with_anything_in_the_fingerprint() -> None:
    base = ["config", "profile", "0.1.0", "code", "libs", "logistic", "input"]
    as_of = date(2026, 11, 1)
    assert model_version(as_of, base) == model_version(as_of, list(base))
    for i in range(len(base)):
        changed = [*base[:i], base[i] + "x", *base[i + 1:]]
        assert model_version(as_of, changed) != model_version(as_of, base)


def test_a_registered_version_is_never_overwritten(tmp_path: Path) -> None:
    first = a_card("v1").model_copy(update={"selection": "first"})
    second = a_card("v1").model_copy(update={"selection": "second"})
    save_model(tmp_path, "v1", _model(1), first, "# v1\n")
    save_model(tmp_path, "v1", _model(2), second, "# v1 again\n")
    assert read_card(tmp_path, "v1") == first


def test_a_card_written_before_trained_as_of_was_recorded_still_reads(tmp_path: Path) -> None:
    old = a_card("v0").to_json()
    del old["trained_as_of"]
    save_model(tmp_path, "v0", _model(1), ModelCard.from_json(old), "# v0\n")
    assert read_card(tmp_path, "v0").trained_as_of is None


def test_a_card_that_is_not_a_card_is_a_model_error_naming_the_file(tmp_path: Path) -> None:
    save_model(tmp_path, "v1", _model(1), a_card("v1"), "# v1\n")
    (tmp_path / "v1" / "card.json").write_text('{"version": "v1"}', encoding="utf-8")
    with pytest.raises(ModelError, match=r"v1/card.json: not a valid model card"):
        read_card(tmp_path, "v1")


def test_an_untrained_status_round_trips_without_the_trained_fields(tmp_path: Path) -> None:
    status = TrainingResult(
        as_of=date(2026, 11, 1), status="insufficient_history", message="too few",
        counts=TrainingCounts(rows=3, leads=2, positive_rows=0, converted_leads=0))
    write_training_status(tmp_path, status)
    assert '"version"' not in (tmp_path / "status.json").read_text(encoding="utf-8")
    assert training_status(tmp_path) == status


def test_the_fingerprint_holds_the_code_of_the_transforms() -> None:
    from flows.train import _fingerprint, code_hash

    assert len(code_hash()) == 64 and code_hash() == code_hash()
    assert code_hash() in _fingerprint("config", None, ["input"], "logistic")
