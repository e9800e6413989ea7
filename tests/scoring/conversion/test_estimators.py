from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
from threadpoolctl import threadpool_limits

from scoring.conversion.calibration import METHODS, CalibrationMethod
from scoring.conversion.encoding import OTHER, FeatureEncoding, FeatureSpec, fit_encoding
from scoring.conversion.estimators import (
    BOOSTING_SEED_ROWS,
    BOOSTING_SEEDS,
    MAX_BOOSTING_ROUNDS,
    MIN_BOOSTING_ROUNDS,
    NUMERIC_TRANSFORMS,
    TrainedModel,
    _staged_scores,
    _tree_path_contributions,
    boosting_seeds,
    fit_model,
    make_estimator,
    model_input,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny fits run fastest on one thread; OpenMP threads crawl on a busy shared machine."""
    with threadpool_limits(limits=1):
        yield


KINDS = ("logistic", "gradient_boosting")
SPEC = FeatureSpec(
    numeric=("signal", "visits", "noise"), boolean=("coin",), categorical=("source",)
)
SIGNAL, VISITS, NOISE, COIN, SOURCE = range(5)
SOURCE_EFFECT = {"ads": -1.0, "event": 0.0, "webinar": 0.5, "referral": 1.5}


def synthetic(rows: int, seed: int) -> pl.DataFrame:
    """A learnable label: signal, visits and source matter; noise and coin do not.

    Numeric columns have about 10% missing values; three snapshots per lead.
    """
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    visits = rng.poisson(3, size=rows).astype(np.float64)
    source = rng.choice(list(SOURCE_EFFECT), size=rows)
    logit = -1.0 + 1.5 * signal + 0.3 * visits + np.array([SOURCE_EFFECT[s] for s in source])
    converted = rng.random(rows) < 1 / (1 + np.exp(-logit))
    signal[rng.random(rows) < 0.1] = np.nan
    visits[rng.random(rows) < 0.1] = np.nan
    noise = rng.normal(size=rows)
    noise[rng.random(rows) < 0.1] = np.nan
    return pl.DataFrame({
        "lead_id": (np.arange(rows) // 3).astype(str),
        "signal": signal,
        "visits": visits,
        "noise": noise,
        "coin": rng.random(rows) < 0.5,
        "source": source,
        "converted": converted,
    }, nan_to_null=True)


TRAINING = synthetic(3000, seed=0)
# Later rows, with a category training never saw and more missing visit counts.
SCORING = synthetic(400, seed=1).with_columns(
    pl.when(pl.int_range(pl.len()) % 5 == 0).then(pl.lit("podcast")).otherwise("source")
    .alias("source"),
    pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise("visits").alias("visits"),
)
ENCODING = fit_encoding(TRAINING, SPEC, "converted")


def fit(kind: str, *, seed: int = 7, isotonic_min_rows: int = 1000,
        transforms: tuple[str, ...] = NUMERIC_TRANSFORMS,
        calibration: tuple[CalibrationMethod, ...] = METHODS) -> TrainedModel:
    return fit_model(
        kind,
        ENCODING,
        ENCODING.matrix(TRAINING),
        TRAINING["converted"].cast(pl.Int8).to_numpy(),
        TRAINING["lead_id"].to_numpy(),
        seed=seed,
        isotonic_min_rows=isotonic_min_rows,
        transforms=transforms,
        calibration=calibration,
    )


_FITTED: dict[str, TrainedModel] = {}


def fitted(kind: str) -> TrainedModel:
    """The model of `kind` with default settings, fitted once per test session."""
    if kind not in _FITTED:
        _FITTED[kind] = fit(kind)
    return _FITTED[kind]


@pytest.fixture(params=KINDS)
def model(request: pytest.FixtureRequest) -> TrainedModel:
    return fitted(request.param)


def test_synthetic_data_has_missing_numbers_and_unseen_categories() -> None:
    matrix = ENCODING.matrix(SCORING)
    assert np.isnan(matrix[:, SIGNAL]).any()
    assert np.isnan(matrix[:, NOISE]).any()
    unseen = SCORING["source"].to_numpy() == "podcast"
    assert unseen.any()
    assert (matrix[unseen, SOURCE] == ENCODING.categories["source"].index(OTHER)).all()
    assert ENCODING.categories["source"][-1] == "referral"


@pytest.mark.parametrize("frame", [TRAINING, SCORING], ids=["training", "scoring"])
def test_bias_plus_contributions_equals_raw_score(model: TrainedModel, frame: pl.DataFrame) -> None:
    matrix = ENCODING.matrix(frame)
    bias, contributions = model.contributions(matrix)
    assert contributions.shape == matrix.shape
    np.testing.assert_allclose(bias + contributions.sum(axis=1), model.raw_score(matrix),
                               rtol=0, atol=1e-9)


def test_explained_gives_the_probability_and_contributions_of_the_separate_calls(
    model: TrainedModel,
) -> None:
    matrix = ENCODING.matrix(SCORING)
    probability, contributions = model.explained(matrix)
    np.testing.assert_array_equal(probability, model.probability(matrix))
    np.testing.assert_array_equal(contributions, model.contributions(matrix)[1])


@pytest.mark.parametrize("transform", NUMERIC_TRANSFORMS)
def test_logistic_terms_equal_the_design_matrix_times_the_coefficients(transform: str) -> None:
    """The logistic candidate's contributions, computed block by block without the design
    matrix, are what scikit-learn's transform and the coefficients give, column by column;
    numbers far outside the training range (where the spline is constant), missing values and
    an unseen category included."""
    model = fit("logistic", transforms=(transform,))
    matrix = ENCODING.matrix(SCORING)
    matrix[::11, SIGNAL] = 40.0
    matrix[1::11, VISITS] = -25.0
    prep = model.estimator.named_steps["prep"]
    coef = model.estimator.named_steps["model"].coef_.ravel()
    design = prep.transform(model_input(matrix, ENCODING, model.transform))
    # design column names: "num__x0_sp_3", "missing__missingindicator_x0", "cat__x4_2.0"
    columns = [int(re.search(r"x(\d+)", name).group(1))  # type: ignore[union-attr]
               for name in prep.get_feature_names_out()]
    expected = np.zeros_like(matrix)
    for column, feature in enumerate(columns):
        expected[:, feature] += (design[:, column] - model.linear_baseline[column]) * coef[column]
    bias, contributions = model.contributions(matrix)
    np.testing.assert_allclose(contributions, expected, rtol=0, atol=1e-12)
    decision = model.estimator.decision_function(model_input(matrix, ENCODING, model.transform))
    np.testing.assert_allclose(bias + contributions.sum(axis=1), decision, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.raw_score(matrix), bias + contributions.sum(axis=1))
    assert np.isfinite(contributions).all()


def test_contributions_are_not_all_on_one_feature(model: TrainedModel) -> None:
    _, contributions = model.contributions(ENCODING.matrix(SCORING))
    strength = np.abs(contributions).mean(axis=0)
    assert strength[SIGNAL] > 0.3
    assert strength[SOURCE] > 0.2
    assert strength[VISITS] > 0.1


@pytest.mark.parametrize("ignored", [NOISE, COIN], ids=["noise", "coin"])
def test_feature_without_influence_gets_contributions_near_zero(
    model: TrainedModel, ignored: int
) -> None:
    _, contributions = model.contributions(ENCODING.matrix(TRAINING))
    strength = np.abs(contributions).mean(axis=0)
    assert abs(contributions[:, ignored].mean()) < 0.02
    # Trees fit a little noise, so its typical size is small next to the real features, not 0.
    assert strength[ignored] < 0.25 * strength[SIGNAL]
    assert strength[ignored] < strength[VISITS]


def test_logistic_contribution_of_a_feature_depends_only_on_that_feature() -> None:
    model = fitted("logistic")
    matrix = ENCODING.matrix(SCORING.head(50))
    changed = matrix.copy()
    changed[:, SIGNAL] = np.where(np.isnan(changed[:, SIGNAL]), 1.0, np.nan)
    _, before = model.contributions(matrix)
    _, after = model.contributions(changed)
    others = [i for i in range(matrix.shape[1]) if i != SIGNAL]
    np.testing.assert_array_equal(before[:, others], after[:, others])
    assert (before[:, SIGNAL] != after[:, SIGNAL]).all()


def test_higher_signal_raises_its_contribution(model: TrainedModel) -> None:
    low = ENCODING.matrix(SCORING.head(1).with_columns(signal=pl.lit(-2.0)))
    high = ENCODING.matrix(SCORING.head(1).with_columns(signal=pl.lit(2.0)))
    assert model.contributions(high)[1][0, SIGNAL] > model.contributions(low)[1][0, SIGNAL]


@pytest.mark.parametrize("transform", NUMERIC_TRANSFORMS)
def test_bias_plus_contributions_equals_raw_score_for_every_transform(transform: str) -> None:
    model = fit("logistic", transforms=(transform,), calibration=("sigmoid",))
    assert model.transform == transform
    matrix = ENCODING.matrix(SCORING)
    bias, contributions = model.contributions(matrix)
    np.testing.assert_allclose(bias + contributions.sum(axis=1), model.raw_score(matrix),
                               rtol=0, atol=1e-9)


def test_logistic_transform_is_the_one_with_the_lowest_out_of_fold_log_loss() -> None:
    model = fitted("logistic")
    assert set(model.transform_log_loss) == set(NUMERIC_TRANSFORMS)
    assert model.oof_log_loss == min(model.transform_log_loss.values())
    assert fitted("gradient_boosting").transform == "level_share"


def test_calibration_is_the_one_with_the_lowest_out_of_fold_log_loss(
    model: TrainedModel,
) -> None:
    losses = model.calibration.oof_log_loss
    assert set(losses) == set(METHODS)
    assert losses[model.calibration.method] == min(losses.values())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", KINDS)
def test_calibrated_probability_keeps_the_order_of_the_raw_score(
    kind: str, method: CalibrationMethod
) -> None:
    model = fit(kind, calibration=(method,))
    assert model.calibration.method == method
    matrix = np.vstack([ENCODING.matrix(TRAINING), ENCODING.matrix(SCORING)])
    raw = model.raw_score(matrix)
    probability = model.probability(matrix)
    order = np.argsort(raw, kind="stable")
    steps = np.diff(probability[order])
    inside = (probability[order][1:] > 0.001) & (probability[order][:-1] < 0.999)
    # strictly increasing wherever the raw score is, except at the floor and ceiling
    assert (steps[(np.diff(raw[order]) > 0) & inside] > 0).all()
    assert ((probability >= 0.001) & (probability <= 0.999)).all()
    assert probability[order[-100:]].mean() > probability[order[:100]].mean() + 0.3


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_gives_the_same_model(kind: str) -> None:
    first, second = fitted(kind), fit(kind)
    matrix = ENCODING.matrix(SCORING)
    np.testing.assert_array_equal(first.probability(matrix), second.probability(matrix))
    np.testing.assert_array_equal(first.contributions(matrix)[1],
                                  second.contributions(matrix)[1])


def test_boosting_rounds_are_chosen_out_of_fold_fewer_for_a_label_it_cannot_learn() -> None:
    learnable = fitted("gradient_boosting").estimator.n_iter_
    assert MIN_BOOSTING_ROUNDS <= learnable < MAX_BOOSTING_ROUNDS
    coin_flips = np.random.default_rng(3).random(TRAINING.height) < 0.4
    noise = fit_model("gradient_boosting", ENCODING, ENCODING.matrix(TRAINING),
                      coin_flips.astype(np.int8), TRAINING["lead_id"].to_numpy(), seed=7,
                      isotonic_min_rows=1000)
    # nothing to learn: more rounds only fit noise, so out of fold the fewest rounds do best
    assert noise.estimator.n_iter_ < learnable
    assert noise.estimator.n_iter_ <= 3 * MIN_BOOSTING_ROUNDS


def test_boosting_score_is_the_mean_of_its_seeds_models() -> None:
    model = fitted("gradient_boosting")
    members = [model.estimator, *model.seed_models]
    assert len(members) == BOOSTING_SEEDS
    assert [m.random_state for m in members] == list(range(7, 7 + BOOSTING_SEEDS))
    assert {m.n_iter_ for m in members} == {model.estimator.n_iter_}
    matrix = ENCODING.matrix(SCORING)
    inputs = np.hstack([matrix, ENCODING.level_shares(matrix)])
    scores = np.array([m.decision_function(inputs) for m in members])
    # the seeds draw different columns for their splits, so their models differ
    assert not np.allclose(scores[0], scores[1])
    np.testing.assert_allclose(model.raw_score(matrix), scores.mean(axis=0), rtol=0, atol=1e-12)


def test_boosting_splits_on_a_level_share_are_credited_to_the_category() -> None:
    model = fitted("gradient_boosting")
    matrix = ENCODING.matrix(SCORING)
    inputs = np.hstack([matrix, ENCODING.level_shares(matrix)])
    per_column = np.mean([_tree_path_contributions(m, inputs)[1]
                          for m in [model.estimator, *model.seed_models]], axis=0)
    share_of_source = matrix.shape[1]  # the one categorical column's share comes last
    assert np.abs(per_column[:, share_of_source]).max() > 0  # the trees do split on it
    _, contributions = model.contributions(matrix)
    assert contributions.shape == matrix.shape
    np.testing.assert_allclose(contributions[:, SOURCE],
                               per_column[:, SOURCE] + per_column[:, share_of_source],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(contributions[:, :SOURCE], per_column[:, :SOURCE],
                               rtol=0, atol=1e-12)


def _walked_contributions(model: TrainedModel, row: np.ndarray) -> np.ndarray:
    """The tree-path credits of one row, walking every tree node by node (a plain reference)."""
    z = np.hstack([row, ENCODING.level_shares(row[None, :])[0]])
    credit = np.zeros(len(z))
    members = [model.estimator, *model.seed_models]
    for member in members:
        for (predictor,) in member._predictors:
            nodes = predictor.nodes
            counts = nodes["count"].astype(np.float64)

            def expected(n: int, nodes: np.ndarray = nodes, counts: np.ndarray = counts) -> float:
                if nodes["is_leaf"][n]:
                    return float(nodes["value"][n])
                left, right = nodes["left"][n], nodes["right"][n]
                return float((expected(left) * counts[left] + expected(right) * counts[right])
                             / (counts[left] + counts[right]))

            node = 0
            while not nodes["is_leaf"][node]:
                value = z[nodes["feature_idx"][node]]
                left = (bool(nodes["missing_go_to_left"][node]) if np.isnan(value)
                        else value <= nodes["num_threshold"][node])
                child = nodes["left"][node] if left else nodes["right"][node]
                credit[nodes["feature_idx"][node]] += expected(child) - expected(node)
                node = child
    credit /= len(members)
    credit[SOURCE] += credit[len(row):].sum()
    return credit[: len(row)]


def test_boosting_contributions_are_those_of_walking_each_tree() -> None:
    model = fitted("gradient_boosting")
    matrix = ENCODING.matrix(SCORING.head(5))
    _, contributions = model.contributions(matrix)
    for row, got in zip(matrix, contributions, strict=True):
        np.testing.assert_allclose(got, _walked_contributions(model, row), rtol=0, atol=1e-9)


def test_boosting_model_saved_before_level_shares_and_seeds_still_scores_exactly() -> None:
    # what older leadscore saved: one estimator fitted on the matrix itself (transform "none")
    # and an encoding without shares
    x = ENCODING.matrix(TRAINING)
    y = TRAINING["converted"].cast(pl.Int8).to_numpy()
    estimator = make_estimator("gradient_boosting", ENCODING, seed=7, rounds=30).fit(x, y)
    old = TrainedModel("gradient_boosting", FeatureEncoding(SPEC, ENCODING.categories),
                       estimator, fitted("gradient_boosting").calibration)
    matrix = ENCODING.matrix(SCORING)
    np.testing.assert_allclose(old.raw_score(matrix), estimator.decision_function(matrix),
                               rtol=0, atol=1e-12)
    bias, contributions = old.contributions(matrix)
    np.testing.assert_allclose(bias + contributions.sum(axis=1), old.raw_score(matrix),
                               rtol=0, atol=1e-9)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown model kind 'forest'"):
        make_estimator("forest", FeatureEncoding(SPEC), seed=0)


def test_round_search_scores_equal_a_fit_per_round_count() -> None:
    """The search grows its fold models several rounds per fit and reads every compared count
    from one staged pass; the scores must be those of a model fitted with exactly that many
    rounds (warm start keeps the trees and their random state)."""
    x = ENCODING.matrix(TRAINING)
    y = TRAINING["converted"].cast(pl.Int8).to_numpy()
    grown = make_estimator("gradient_boosting", ENCODING, seed=5, rounds=0).set_params(
        warm_start=True)
    grown.set_params(max_iter=30).fit(x, y)
    grown.set_params(max_iter=90).fit(x, y)
    staged = _staged_scores(grown, x, [20, 60, 90])
    for rounds in (20, 60, 90):
        once = make_estimator("gradient_boosting", ENCODING, seed=5, rounds=rounds).fit(x, y)
        np.testing.assert_array_equal(staged[rounds], once.decision_function(x))


def test_large_training_sets_average_fewer_seeds_models() -> None:
    assert boosting_seeds(9_000) == BOOSTING_SEEDS
    assert boosting_seeds(BOOSTING_SEED_ROWS // BOOSTING_SEEDS) == BOOSTING_SEEDS
    assert boosting_seeds(BOOSTING_SEED_ROWS // 3) == 3
    assert boosting_seeds(600_000) == 1
    assert boosting_seeds(50_000_000) == 1
    assert boosting_seeds(0) == BOOSTING_SEEDS
