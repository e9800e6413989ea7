"""The registry's no-worse rule: compared on snapshots neither model was fitted on."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from flows.registry import current_version, save_model, set_current
from flows.train import _promotion, model_version
from scoring.encoding import FeatureSpec, fit_encoding
from scoring.model import TrainedModel, fit_model
from scoring.train import TARGET, TrainingOutcome

LAST_SNAPSHOT = date(2026, 3, 1)


def _rows(n: int, start: date, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pl.DataFrame({
        "lead_id": [f"L{i % 300}" for i in range(n)],
        "as_of": [start + timedelta(days=14 * (i % 6)) for i in range(n)],
        "a": a,
        "c": rng.choice(["x", "y"], size=n),
        TARGET: (a + rng.normal(size=n) > 1.0),
    })


def _model(rows: pl.DataFrame, *, useful: bool) -> TrainedModel:
    """A model that uses the signal (useful) or one fitted on shuffled labels (useless)."""
    spec = FeatureSpec(numeric=("a",), categorical=("c",))
    if not useful:
        rows = rows.with_columns(pl.col(TARGET).shuffle(seed=3))
    encoding = fit_encoding(rows, spec, TARGET)
    return fit_model("logistic", encoding, encoding.matrix(rows),
                     rows[TARGET].cast(pl.Int8).to_numpy(), rows["lead_id"].to_numpy(),
                     seed=1, isotonic_min_rows=100)


def _registry(tmp_path: Path, current: TrainedModel) -> Path:
    card = {"version": "old", "features": ["a", "c"],
            "data_window": {"last_snapshot": LAST_SNAPSHOT.isoformat()}}
    save_model(tmp_path, "old", current, card, "# old\n")
    set_current(tmp_path, "old")
    return tmp_path


def _outcome(candidate: TrainedModel, validation: pl.DataFrame) -> TrainingOutcome:
    return TrainingOutcome("trained", "", {}, model=candidate, chosen="logistic",
                           validation_rows=validation, candidate_model=candidate)


def test_a_better_model_is_promoted_on_snapshots_the_current_one_never_saw(
    tmp_path: Path,
) -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    later = _rows(1500, LAST_SNAPSHOT + timedelta(days=14), seed=2)
    models = _registry(tmp_path, _model(history, useful=False))
    verdict = _promotion(models, _outcome(_model(history, useful=True), later), "new", False)
    assert verdict["promote"], verdict
    assert verdict["compared_rows"] == 1500
    assert verdict["new_log_loss"] < verdict["current_log_loss"]


def test_a_worse_model_is_not_promoted(tmp_path: Path) -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    later = _rows(1500, LAST_SNAPSHOT + timedelta(days=14), seed=2)
    models = _registry(tmp_path, _model(history, useful=True))
    verdict = _promotion(models, _outcome(_model(history, useful=False), later), "new", False)
    assert not verdict["promote"]
    assert "worse than the current model" in verdict["why"]
    assert _promotion(models, _outcome(_model(history, useful=False), later), "new",
                      True)["promote"], "--force overrides"


def test_without_unseen_snapshots_the_current_model_stays(tmp_path: Path) -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    seen = _rows(600, LAST_SNAPSHOT - timedelta(days=100), seed=2)  # up to 30 days before
    models = _registry(tmp_path, _model(history, useful=False))
    verdict = _promotion(models, _outcome(_model(history, useful=True), seen), "new", False)
    assert not verdict["promote"]
    assert "cannot compare on data the current model has not seen" in verdict["why"]
    assert current_version(models) == "old"


def test_model_version_changes_with_anything_in_the_fingerprint() -> None:
    base = ["config", "profile", "0.1.0", "libs", "logistic", "input"]
    as_of = date(2026, 11, 1)
    assert model_version(as_of, base) == model_version(as_of, list(base))
    for i in range(len(base)):
        changed = [*base[:i], base[i] + "x", *base[i + 1:]]
        assert model_version(as_of, changed) != model_version(as_of, base)


def test_a_registered_version_is_never_overwritten(tmp_path: Path) -> None:
    history = _rows(600, date(2025, 6, 1), seed=1)
    first = _model(history, useful=True)
    save_model(tmp_path, "v1", first, {"version": "v1", "note": "first"}, "# v1\n")
    save_model(tmp_path, "v1", _model(history, useful=False), {"version": "v1", "note": "second"},
               "# v1 again\n")
    assert "first" in (tmp_path / "v1" / "card.json").read_text()
