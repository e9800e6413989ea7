"""The registry's no-worse rule: compared on snapshots the current model was not fitted on."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from flows.registry import current_version, save_model, set_current
from flows.train import _promotion, model_version
from scoring.conversion.encoding import FeatureSpec, fit_encoding
from scoring.conversion.estimators import TrainedModel, fit_model
from scoring.conversion.train import TARGET, TrainingOutcome

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


TRAINED_AS_OF = LAST_SNAPSHOT + timedelta(days=90)  # its labels saw outcomes up to here


def _registry(tmp_path: Path, current: TrainedModel) -> Path:
    card = {"version": "old", "features": ["a", "c"], "trained_as_of": TRAINED_AS_OF.isoformat(),
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
    assert "favours it" in verdict["compared_on"], "all 1500 are before its training date"


def test_snapshots_whose_outcomes_the_current_model_never_saw_are_preferred(
    tmp_path: Path,
) -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    before = _rows(600, LAST_SNAPSHOT + timedelta(days=14), seed=2)  # up to 84 days after
    after = _rows(1500, TRAINED_AS_OF, seed=3)
    models = _registry(tmp_path, _model(history, useful=False))
    verdict = _promotion(models, _outcome(_model(history, useful=True),
                                          pl.concat([before, after])), "new", False)
    assert verdict["promote"], verdict
    assert verdict["compared_rows"] == 1500
    assert "never saw" in verdict["compared_on"]


def test_the_comparison_counts_converted_leads_not_positive_rows(tmp_path: Path) -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    # Nine leads, each positive in all five of its snapshots: 45 positive rows, 9 conversions.
    later = _rows(1500, LAST_SNAPSHOT + timedelta(days=14), seed=2).with_columns(
        pl.col("lead_id").str.slice(1).cast(pl.Int64).is_in(range(9)).alias(TARGET))
    models = _registry(tmp_path, _model(history, useful=False))
    verdict = _promotion(models, _outcome(_model(history, useful=True), later), "new", False)
    assert later[TARGET].sum() == 9 * 5
    assert not verdict["promote"]
    assert "fewer than 10 converted leads" in verdict["why"]


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
    assert "cannot compare on data the current model was not fitted on" in verdict["why"]
    assert current_version(models) == "old"


def test_model_version_changes_with_anything_in_the_fingerprint() -> None:
    base = ["config", "profile", "0.1.0", "code", "libs", "logistic", "input"]
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


def test_the_fingerprint_holds_the_code_of_the_transforms() -> None:
    from flows.train import _fingerprint, code_hash

    assert len(code_hash()) == 64 and code_hash() == code_hash()
    assert code_hash() in _fingerprint("config", None, ["input"], "logistic")
