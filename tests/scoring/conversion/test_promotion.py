"""The no-worse rule: compared on snapshots the current model was not fitted on."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from scoring.conversion.encoding import FeatureSpec, fit_encoding
from scoring.conversion.estimators import TrainedModel, fit_model
from scoring.conversion.promotion import decide_promotion
from scoring.conversion.train import TARGET, TrainingOutcome
from scoring.records import ModelCard, PromotionDecision
from tests.cards import a_card

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



def _promotion(current: TrainedModel, outcome: TrainingOutcome, version: str,
               force: bool) -> PromotionDecision:
    def current_card() -> ModelCard:
        return a_card(trained_as_of=TRAINED_AS_OF, last_snapshot=LAST_SNAPSHOT)

    return decide_promotion(outcome, version, force=force, current="old",
                            current_card=current_card, current_model=lambda: current)


def _outcome(candidate: TrainedModel, validation: pl.DataFrame) -> TrainingOutcome:
    return TrainingOutcome("trained", "", {}, model=candidate, chosen="logistic",
                           validation_rows=validation, candidate_model=candidate)


def test_a_better_model_is_promoted_on_snapshots_the_current_one_never_saw() -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    later = _rows(1500, LAST_SNAPSHOT + timedelta(days=14), seed=2)
    current = _model(history, useful=False)
    verdict = _promotion(current, _outcome(_model(history, useful=True), later), "new", False)
    assert verdict.promote, verdict
    assert verdict.compared_rows == 1500
    assert verdict.new_log_loss < verdict.current_log_loss
    assert "favours it" in verdict.compared_on, "all 1500 are before its training date"


def test_snapshots_whose_outcomes_the_current_model_never_saw_are_preferred() -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    before = _rows(600, LAST_SNAPSHOT + timedelta(days=14), seed=2)  # up to 84 days after
    after = _rows(1500, TRAINED_AS_OF, seed=3)
    current = _model(history, useful=False)
    verdict = _promotion(current, _outcome(_model(history, useful=True),
                                          pl.concat([before, after])), "new", False)
    assert verdict.promote, verdict
    assert verdict.compared_rows == 1500
    assert "never saw" in verdict.compared_on


def test_the_comparison_counts_converted_leads_not_positive_rows() -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    # Nine leads, each positive in all five of its snapshots: 45 positive rows, 9 conversions.
    later = _rows(1500, LAST_SNAPSHOT + timedelta(days=14), seed=2).with_columns(
        pl.col("lead_id").str.slice(1).cast(pl.Int64).is_in(range(9)).alias(TARGET))
    current = _model(history, useful=False)
    verdict = _promotion(current, _outcome(_model(history, useful=True), later), "new", False)
    assert later[TARGET].sum() == 9 * 5
    assert not verdict.promote
    assert "fewer than 10 converted leads" in verdict.why


def test_a_worse_model_is_not_promoted() -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    later = _rows(1500, LAST_SNAPSHOT + timedelta(days=14), seed=2)
    current = _model(history, useful=True)
    verdict = _promotion(current, _outcome(_model(history, useful=False), later), "new", False)
    assert not verdict.promote
    assert "worse than the current model" in verdict.why
    assert _promotion(current, _outcome(_model(history, useful=False), later), "new",
                      True).promote, "--force overrides"


def test_without_unseen_snapshots_the_current_model_stays() -> None:
    history = _rows(1200, date(2025, 6, 1), seed=1)
    seen = _rows(600, LAST_SNAPSHOT - timedelta(days=100), seed=2)  # up to 30 days before
    current = _model(history, useful=False)
    verdict = _promotion(current, _outcome(_model(history, useful=True), seen), "new", False)
    assert not verdict.promote
    assert "cannot compare on data the current model was not fitted on" in verdict.why


def test_the_same_version_and_force_promote_without_a_comparison() -> None:
    def unused() -> ModelCard:
        raise AssertionError("no comparison needed")

    outcome = TrainingOutcome("trained", "", {})
    same = decide_promotion(outcome, "old", force=False, current="old", current_card=unused,
                            current_model=unused)  # type: ignore[arg-type]
    forced = decide_promotion(outcome, "new", force=True, current="old", current_card=unused,
                              current_model=unused)  # type: ignore[arg-type]
    assert same.promote and "same model" in same.why
    assert forced.promote and forced.replaces == "old"
    first = decide_promotion(outcome, "new", force=False, current=None, current_card=unused,
                             current_model=unused)  # type: ignore[arg-type]
    assert first == PromotionDecision(promote=True, why="no current model")
