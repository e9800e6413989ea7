from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from threadpoolctl import threadpool_limits

from features.config import ModelConfig
from scoring.conversion.encoding import FeatureSpec, fit_encoding
from scoring.conversion.estimators import fit_model
from scoring.conversion.train import (
    GROUP,
    TARGET,
    TrainingOutcome,
    history_counts,
    split_by_time,
    train_conversion_model,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny fits run fastest on one thread; OpenMP threads crawl on a busy shared machine."""
    with threadpool_limits(limits=1):
        yield


SPEC = FeatureSpec(numeric=("signal", "visits"), boolean=("has_phone",), categorical=("source",))
LAST = date(2025, 6, 2)
# Small history thresholds, so a synthetic set of a few thousand rows can train.
CFG = ModelConfig(horizon_days=90, validation_days=90, min_labelled_rows=50, min_positives=20,
                  seed=3)


def snapshots(leads: int, dates: list[date]) -> pl.DataFrame:
    return pl.DataFrame(
        {"lead_id": [f"lead{i:04d}" for i in range(leads)]}
    ).join(pl.DataFrame({"as_of": dates}), how="cross").sort("lead_id", "as_of")


def dates_every(days: int, count: int, last: date = LAST) -> list[date]:
    return [last - timedelta(days=days * i) for i in reversed(range(count))]


def learnable(leads: int = 100, count: int = 30, seed: int = 0) -> pl.DataFrame:
    """Snapshots every 14 days whose label follows `signal` and `source`."""
    frame = snapshots(leads, dates_every(14, count))
    rng = np.random.default_rng(seed)
    rows = frame.height
    signal = rng.normal(size=rows)
    source = rng.choice(["ads", "event", "referral"], size=rows)
    effect = np.select([source == "referral", source == "ads"], [1.0, -1.0], 0.0)
    logit = -1.0 + 2.0 * signal + effect
    visits = rng.poisson(2, size=rows).astype(np.float64)
    visits[rng.random(rows) < 0.1] = np.nan
    return frame.with_columns(
        pl.Series("signal", signal),
        pl.Series("visits", visits, nan_to_null=True),
        pl.Series("has_phone", rng.random(rows) < 0.5),
        pl.Series("source", source),
        pl.Series("icp_fit", np.round(rng.uniform(0, 100, size=rows), 1)),
        pl.Series("converted", rng.random(rows) < 1 / (1 + np.exp(-logit))),
    )


# ---- split by time ------------------------------------------------------------------------------


def test_validation_is_the_last_validation_days_and_training_horizons_end_before_it() -> None:
    cfg = ModelConfig(horizon_days=30, validation_days=20)
    dates = dates_every(10, 10)  # LAST - 90 days .. LAST
    frame = snapshots(2, dates).with_columns(converted=pl.lit(False))
    training, validation, start = split_by_time(frame, cfg)
    assert start == LAST - timedelta(days=20)
    assert sorted(set(validation["as_of"])) == dates[-3:]
    # A snapshot's label looks at [as_of, as_of + horizon): none may reach past `start`.
    assert sorted(set(training["as_of"])) == dates[:5]  # the last one is LAST - 50 days
    assert (training["as_of"].max() + timedelta(days=30)) <= start
    assert training.height == 10
    assert validation.height == 6


def test_snapshots_whose_horizon_overlaps_validation_are_in_neither_part() -> None:
    cfg = ModelConfig(horizon_days=30, validation_days=20)
    frame = snapshots(1, dates_every(10, 10)).with_columns(converted=pl.lit(False))
    training, validation, start = split_by_time(frame, cfg)
    between = frame.filter(
        (pl.col("as_of") + pl.duration(days=30) > start) & (pl.col("as_of") < start)
    )
    assert between.height == 2
    assert not set(between["as_of"]) & (set(training["as_of"]) | set(validation["as_of"]))


def test_learnable_split_has_no_training_label_in_the_validation_period() -> None:
    frame = learnable()
    training, validation, start = split_by_time(frame, CFG)
    horizon_ends = training["as_of"] + timedelta(days=CFG.horizon_days)
    assert (horizon_ends <= start).all()
    assert (validation["as_of"] >= start).all()


# ---- too little history -------------------------------------------------------------------------


def test_history_counts_rows_leads_and_conversions() -> None:
    frame = pl.DataFrame({
        "lead_id": ["a", "a", "b", "c"],
        "converted": [True, True, False, True],
    })
    assert history_counts(frame) == {"rows": 4, "leads": 3, "positive_rows": 3,
                                     "converted_leads": 2}


def test_too_few_labelled_leads_trains_nothing_and_names_the_shortfall() -> None:
    frame = learnable(leads=40, count=5)
    outcome = train_conversion_model(frame, SPEC, CFG)
    assert outcome.status == "insufficient_history"
    assert outcome.message == (
        "only 40 labelled leads; at least 50 are needed (model.min_labelled_rows)"
    )
    assert outcome.model is None
    assert outcome.counts["leads"] == 40


def test_too_few_converted_leads_trains_nothing_and_names_the_shortfall() -> None:
    frame = learnable(leads=60, count=5).with_columns(
        converted=pl.col("lead_id").is_in([f"lead{i:04d}" for i in range(7)])
    )
    outcome = train_conversion_model(frame, SPEC, CFG)
    assert outcome.status == "insufficient_history"
    assert outcome.message == (
        "only 7 converted leads; at least 20 are needed (model.min_positives)"
    )
    assert outcome.model is None


def test_too_few_conversions_in_the_validation_period_trains_nothing() -> None:
    frame = learnable().with_columns(
        converted=pl.col("converted") & (pl.col("as_of") < LAST - timedelta(days=90))
    )
    outcome = train_conversion_model(frame, SPEC, CFG)
    assert outcome.status == "insufficient_history"
    assert "fewer than 10 converted leads" in outcome.message
    assert outcome.counts["validation"]["positive_rows"] == 0
    assert outcome.model is None


def test_validation_needs_ten_converted_leads_not_ten_positive_rows() -> None:
    in_validation = pl.col("as_of") >= LAST - timedelta(days=90)
    five_leads = pl.col("lead_id").is_in([f"lead{i:04d}" for i in range(5)])
    frame = learnable().with_columns(
        converted=pl.when(in_validation).then(five_leads).otherwise(pl.col("converted"))
    )
    outcome = train_conversion_model(frame, SPEC, CFG)
    assert outcome.counts["validation"]["positive_rows"] >= 10
    assert outcome.counts["validation"]["converted_leads"] == 5
    assert outcome.status == "insufficient_history"
    assert "fewer than 10 converted leads" in outcome.message


# ---- a learnable problem ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained() -> TrainingOutcome:
    return train_conversion_model(learnable(), SPEC, CFG)


def test_learnable_problem_trains(trained: TrainingOutcome) -> None:
    assert trained.status == "trained"
    assert trained.model is not None
    assert set(trained.candidates) == {"logistic", "gradient_boosting"}
    for metrics in trained.candidates.values():
        assert metrics["roc_auc"] > 0.75


def test_chosen_candidate_has_the_lowest_validation_log_loss(trained: TrainingOutcome) -> None:
    losses = {kind: m["log_loss"] for kind, m in trained.candidates.items()}
    assert trained.chosen == min(losses, key=lambda kind: losses[kind])
    assert trained.model is not None
    assert trained.model.kind == trained.chosen
    assert trained.message == f"chose {trained.chosen} by validation log-loss"


def test_rules_baseline_is_reported_with_ranking_metrics_only(trained: TrainingOutcome) -> None:
    assert set(trained.baseline["icp_fit"]) == {"roc_auc", "pr_auc", "lift_top_decile"}
    # icp_fit here is random, so it ranks no better than chance.
    assert abs(trained.baseline["icp_fit"]["roc_auc"] - 0.5) < 0.1


def test_validation_window_and_counts_are_reported(trained: TrainingOutcome) -> None:
    assert trained.validation_window == ((LAST - timedelta(days=90)).isoformat(), str(LAST))
    assert trained.counts["training"]["rows"] + trained.counts["validation"]["rows"] < \
        trained.counts["rows"]
    assert trained.validation_rows is not None
    assert trained.validation_rows.height == trained.counts["validation"]["rows"]


def test_final_model_is_refitted_on_all_labelled_rows() -> None:
    # A source seen only in the validation window: the candidate fitted on the training part
    # cannot know it; the registered model, refitted on every labelled row, must.
    in_validation = pl.col("as_of") > LAST - timedelta(days=90)
    frame = learnable().with_columns(
        source=pl.when(in_validation & (pl.col("source") == "event")).then(pl.lit("partner"))
        .otherwise(pl.col("source"))
    )
    outcome = train_conversion_model(frame, SPEC, CFG)
    assert outcome.model is not None and outcome.candidate_model is not None
    assert "partner" in outcome.model.encoding.categories["source"]
    assert "partner" not in outcome.candidate_model.encoding.categories["source"]
    # ... and it is the chosen kind fitted on all of them, not on a part.
    encoding = fit_encoding(frame, SPEC, TARGET)
    x = encoding.matrix(frame)
    y = frame[TARGET].cast(pl.Int8).to_numpy()
    on_all = fit_model(outcome.chosen, encoding, x, y, frame[GROUP].to_numpy(), seed=CFG.seed,
                       isotonic_min_rows=CFG.isotonic_min_rows)
    np.testing.assert_allclose(outcome.model.probability(x), on_all.probability(x))
    assert not np.allclose(outcome.candidate_model.probability(x), on_all.probability(x))


def test_a_single_candidate_is_chosen() -> None:
    cfg = CFG.model_copy(update={"candidates": ("logistic",)})
    outcome = train_conversion_model(learnable(), SPEC, cfg)
    assert outcome.chosen == "logistic"
    assert list(outcome.candidates) == ["logistic"]


def test_training_is_deterministic(trained: TrainingOutcome) -> None:
    again = train_conversion_model(learnable(), SPEC, CFG)
    assert again.chosen == trained.chosen
    assert again.candidates == trained.candidates
    assert again.model is not None
    assert trained.model is not None
    matrix = trained.model.encoding.matrix(learnable(seed=5))
    np.testing.assert_array_equal(again.model.probability(matrix),
                                  trained.model.probability(matrix))
