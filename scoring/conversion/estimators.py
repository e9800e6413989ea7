"""The conversion model: candidates, their input transforms, probabilities and contributions.

Two candidates, compared on a later time window than they were trained on (see `select_model`):
- `logistic`: L2-regularized logistic regression (C=0.1) with a missing-value indicator per
  number, true/false features as they are and categories one-hot. How numbers enter is chosen
  per fit, on out-of-fold predictions of the training rows (`model.numeric_transforms`):
  `standard` (median-imputed and standardized), `symlog` (the same on sign(x) * log1p(|x|),
  for heavy-tailed counts and amounts) or `spline` (cubic B-splines with knots at quantiles,
  so a number can matter most in the middle of its range);
- `gradient_boosting`: scikit-learn's HistGradientBoostingClassifier on the numbers as they are
  (trees split on order only) and each category as its code (levels in conversion-rate order)
  and, in a column of its own, its level's share of the training rows (transform
  `level_share`: a tree can then set the rare ways in apart from the common ones whatever
  their rates), each split choosing among a random half of the columns, with
  the number of boosting rounds chosen per fit on the same grouped out-of-fold predictions
  (`_boosting_variant`) and the final model fitted on all rows with that many rounds, as
  `boosting_seeds` models (five; fewer on large data) that differ only in their seed (so in
  which columns each split may look at) and whose raw scores are averaged: less of the score
  is the luck of one draw.
Probabilities are calibrated on out-of-fold raw scores grouped by lead, so that one lead's
snapshots never sit on both sides of a fold (`scoring.conversion.calibration`: none, sigmoid or
order-keeping isotonic, whichever has the lowest out-of-fold log-loss).

Contributions ("why this probability") are exact decompositions of the raw log-odds score:
bias + sum(contributions) == raw score, for every candidate and transform (tests pin this).
- logistic: coef * (z - training mean of z), summed over the columns z each feature expands
  into (its scaled value or spline basis, and its missing indicator);
- gradient boosting: the tree-path method (Saabas): walking each tree from the root, the change
  in the node's expected value at each split is credited to the split's feature (a split on a
  level's share to that category's feature); averaged over the seeds' models, as the score is.
  Each row's leaf comes from scikit-learn's own prediction routine (so the same routing of
  missing values as the score), and each leaf's credits from a table built once per tree.
Calibration is strictly increasing, so a factor that raises the raw score raises the probability.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.interpolate import BSpline
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from scoring.conversion.calibration import (
    METHODS,
    PROBABILITY_FLOOR,
    Calibration,
    CalibrationMethod,
    choose_calibration,
)
from scoring.conversion.encoding import FeatureEncoding

__all__ = ["PROBABILITY_FLOOR", "TrainedModel", "fit_model", "make_estimator"]

CALIBRATION_FOLDS = 3
NumericTransform = Literal["standard", "symlog", "spline"]
NUMERIC_TRANSFORMS: tuple[NumericTransform, ...] = ("standard", "symlog", "spline")
# Gradient boosting's input: the matrix plus each categorical column's level share
# (`FeatureEncoding.level_shares`). Models saved before it was added have "none".
LEVEL_SHARE = "level_share"
SPLINE_KNOTS = 5


def signed_log(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.sign(x) * np.log1p(np.abs(x)), dtype=np.float64)


def _numbers(transform: str) -> Pipeline:
    impute = ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
    if transform == "spline":
        # Quantile knots follow the data (counts pile up at 0); constant beyond the ends.
        return Pipeline([impute, ("scale", StandardScaler()),
                         ("spline", SplineTransformer(n_knots=SPLINE_KNOTS, degree=3,
                                                      knots="quantile"))])
    return Pipeline([impute, ("scale", StandardScaler())])


# At most this many boosting rounds; how many of them is chosen per fit (`_boosting_variant`).
MAX_BOOSTING_ROUNDS = 400
# The fewest rounds considered (with fewer, out-of-fold noise could pick a model that has
# hardly left the base rate), the step between the numbers of rounds compared, and how many
# rounds without improvement end the search.
MIN_BOOSTING_ROUNDS = 10
BOOSTING_STEP = 10
BOOSTING_PATIENCE = 50
# How many gradient boosting models (seeds seed, seed + 1, ...) the final score averages at
# most, and the budget of rows fitted across them (`boosting_seeds`): averaging evens out the
# luck of one draw of columns per split (max_features), which matters on a few thousand rows;
# on hundreds of thousands, one model averages over far more splits already, and every extra
# model would cost a full fit and a full prediction of each scored lead.
BOOSTING_SEEDS = 5
BOOSTING_SEED_ROWS = 1_000_000


def boosting_seeds(rows: int) -> int:
    """How many seeds' models a final gradient boosting fit on `rows` rows averages:
    BOOSTING_SEEDS, fewer once they would fit more than BOOSTING_SEED_ROWS rows in all, at
    least one."""
    return max(1, min(BOOSTING_SEEDS, BOOSTING_SEED_ROWS // max(rows, 1)))


def make_estimator(kind: str, encoding: FeatureEncoding, seed: int,
                   transform: str = "standard", rounds: int = MAX_BOOSTING_ROUNDS) -> Any:
    """An unfitted scikit-learn estimator for candidate `kind` (logistic: numbers `transform`;
    gradient boosting: `rounds` boosting rounds)."""
    numeric = encoding.indexes("numeric")
    boolean = encoding.indexes("boolean")
    categorical = encoding.indexes("categorical")
    if kind == "logistic":
        prep = ColumnTransformer(
            [
                ("num", _numbers(transform), numeric),
                ("missing", MissingIndicator(features="all"), numeric),
                ("flag", SimpleImputer(strategy="constant", fill_value=0.0,
                                       keep_empty_features=True), boolean),
                ("cat", Pipeline([
                    ("impute", SimpleImputer(strategy="constant", fill_value=-1.0,
                                             keep_empty_features=True)),
                    ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                ]), categorical),
            ],
            sparse_threshold=0.0,
        )
        return Pipeline([("prep", prep), ("model", LogisticRegression(C=0.1, max_iter=3000))])
    if kind == "gradient_boosting":
        # No early stopping on a held-back share of the rows: that share (15% before) is then
        # lost to the final model, and the stopping round is noisy on one small split. The
        # number of rounds is chosen on the out-of-fold predictions calibration needs anyway.
        # max_features: each split looks at a random half of the features (as a random forest
        # does), so successive trees do not all lean on the same strongest columns; a standard
        # regulariser of boosted trees (LightGBM's feature_fraction, XGBoost's colsample).
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=rounds, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, max_features=0.5, early_stopping=False, random_state=seed,
        )
    raise ValueError(f"unknown model kind {kind!r}")


def model_input(x: np.ndarray, encoding: FeatureEncoding, transform: str) -> np.ndarray:
    """The matrix the estimator sees: `x` with the numeric columns signed-logged for symlog;
    for level_share, `x` followed by one level-share column per categorical column."""
    if transform == LEVEL_SHARE:
        return np.hstack([x, encoding.level_shares(x)])
    if transform != "symlog":
        return x
    out = x.copy()
    numeric = encoding.indexes("numeric")
    out[:, numeric] = signed_log(x[:, numeric])
    return out


@dataclass
class TrainedModel:
    """A fitted estimator, its calibration and the encoding and transform of its inputs."""

    kind: str
    encoding: FeatureEncoding
    estimator: Any
    calibration: Calibration
    # logistic only: mean of the transformed training matrix, the reference for contributions.
    linear_baseline: np.ndarray | None = None
    # How features enter (logistic: one of NUMERIC_TRANSFORMS; gradient boosting: LEVEL_SHARE,
    # or "none" in models saved before it).
    transform: str = "none"
    # Out-of-fold log-loss on the training rows of each transform tried (the inner validation
    # the transform, and in `evaluate` the candidate, were chosen by).
    transform_log_loss: dict[str, float] = field(default_factory=dict)
    # gradient boosting only: the same model fitted with the other seeds (`boosting_seeds`); the
    # raw score is the mean of `estimator`'s and theirs. Empty in models saved before.
    seed_models: list[Any] = field(default_factory=list)

    @property
    def oof_log_loss(self) -> float:
        return self.transform_log_loss[self.transform]

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "logistic":
            bias, contributions = _linear_terms(self, x)
            return bias + contributions.sum(axis=1)
        z = model_input(x, self.encoding, self.transform)
        scores = [np.asarray(m.decision_function(z), dtype=np.float64).ravel()
                  for m in [self.estimator, *self.seed_models]]
        return np.asarray(np.mean(scores, axis=0), dtype=np.float64)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.calibration.probability(self.raw_score(x))

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bias per row, contribution matrix rows x features) decomposing the raw score."""
        if self.kind == "logistic":
            bias, contributions = _linear_terms(self, x)
            return np.full(len(x), bias), contributions
        return self._tree_contributions(x)

    def _tree_contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tree-path contributions per model-input column averaged over the seeds' models
        (as the raw score is), each level-share column's added to its categorical feature:
        the sum, and so the decomposition, is unchanged."""
        z = model_input(x, self.encoding, self.transform)
        models = [self.estimator, *self.seed_models]
        parts = [_tree_path_contributions(m, z) for m in models]
        bias = np.mean([b for b, _ in parts], axis=0)
        per_column = np.mean([c for _, c in parts], axis=0)
        contributions = per_column[:, : x.shape[1]].copy()
        if self.transform == LEVEL_SHARE:
            contributions[:, self.encoding.indexes("categorical")] += per_column[:, x.shape[1]:]
        return bias, contributions

    def explained(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probability, contribution matrix) of each row: what `probability` and
        `contributions` give, with the model evaluated once for both."""
        if self.kind != "logistic":
            return self.probability(x), self._tree_contributions(x)[1]
        bias, contributions = _linear_terms(self, x)
        return self.calibration.probability(bias + contributions.sum(axis=1)), contributions


@dataclass(frozen=True)
class _Variant:
    transform: str
    out_of_fold: np.ndarray
    calibration: Calibration

    @property
    def log_loss(self) -> float:
        return self.calibration.oof_log_loss.get(self.calibration.method, float("inf"))


def _variant(
    kind: str, transform: str, encoding: FeatureEncoding, x: np.ndarray, y: np.ndarray,
    groups: np.ndarray, seed: int, calibration: tuple[CalibrationMethod, ...],
    isotonic_min_rows: int,
) -> _Variant:
    z = model_input(x, encoding, transform)
    out_of_fold = np.zeros(len(y), dtype=np.float64)
    for train_index, test_index in GroupKFold(n_splits=CALIBRATION_FOLDS).split(z, y, groups):
        fold_model = make_estimator(kind, encoding, seed, transform).fit(z[train_index],
                                                                         y[train_index])
        out_of_fold[test_index] = fold_model.decision_function(z[test_index])
    chosen = choose_calibration(out_of_fold, y, groups, methods=calibration,
                                isotonic_min_rows=isotonic_min_rows, folds=CALIBRATION_FOLDS)
    return _Variant(transform, out_of_fold, chosen)


def _log_loss_sum(raw: np.ndarray, y: np.ndarray) -> float:
    """Summed log-loss of raw scores (log-odds): log(1 + e^-z) for positives, log(1 + e^z)
    for negatives, without overflow."""
    return float(np.logaddexp(0.0, np.where(y == 1, -raw, raw)).sum())


def _staged_scores(model: HistGradientBoostingClassifier, x: np.ndarray,
                   wanted: Sequence[int]) -> dict[int, np.ndarray]:
    """The model's raw scores of `x` after each number of rounds in `wanted` (one pass over
    its trees, the same sums in the same order as `decision_function` at that many rounds)."""
    keep = set(wanted)
    return {rounds: np.ravel(scores)
            for rounds, scores in enumerate(model.staged_decision_function(x), start=1)
            if rounds in keep}


def _boosting_variant(
    encoding: FeatureEncoding, x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int,
    calibration: tuple[CalibrationMethod, ...], isotonic_min_rows: int,
) -> tuple[_Variant, int]:
    """Gradient boosting's out-of-fold scores at the number of rounds with the lowest pooled
    out-of-fold log-loss, their calibration, and that number of rounds.

    The round counts compared are MIN_BOOSTING_ROUNDS, then every BOOSTING_STEP rounds, and the
    search ends once BOOSTING_PATIENCE more rounds have not lowered the pooled log-loss: early
    stopping judged on every training row (out of fold) rather than on a held-back share.
    The fold models grow, per fit, up to the first count at which the search could stop given
    the best count so far (warm start keeps their trees and random state, so the trees are
    those of one long fit), and each growth is scored in one staged pass: a fit per compared
    count would bin the rows again and predict every earlier tree again each time, a cost that
    grows with the square of the rounds.
    """
    splits = list(GroupKFold(n_splits=CALIBRATION_FOLDS).split(x, y, groups))
    fold_models = [make_estimator("gradient_boosting", encoding, seed, rounds=0)
                   .set_params(warm_start=True) for _ in splits]
    staged: dict[int, np.ndarray] = {}
    grown = 0
    best_rounds, best_loss = 0, np.inf
    out_of_fold = np.zeros(len(y), dtype=np.float64)
    rounds = MIN_BOOSTING_ROUNDS
    while rounds <= MAX_BOOSTING_ROUNDS and rounds - best_rounds <= BOOSTING_PATIENCE:
        if rounds > grown:
            # Grow to the first count at which the search could stop, given the best so far:
            # as many trees as a fit per compared count would grow, in a few fits.
            grown = min(MAX_BOOSTING_ROUNDS,
                        max(rounds, best_rounds + BOOSTING_PATIENCE + BOOSTING_STEP))
            compared = range(rounds, grown + 1, BOOSTING_STEP)
            staged = {r: np.zeros(len(y), dtype=np.float64) for r in compared}
            for model, (train, test) in zip(fold_models, splits, strict=True):
                model.set_params(max_iter=grown).fit(x[train], y[train])
                for r, scores in _staged_scores(model, x[test], compared).items():
                    staged[r][test] = scores
        scores = staged[rounds]
        loss = _log_loss_sum(scores, y)
        if loss < best_loss:
            best_rounds, best_loss, out_of_fold = rounds, loss, scores
        rounds += BOOSTING_STEP
    chosen = choose_calibration(out_of_fold, y, groups, methods=calibration,
                                isotonic_min_rows=isotonic_min_rows, folds=CALIBRATION_FOLDS)
    return _Variant(LEVEL_SHARE, out_of_fold, chosen), best_rounds


def fit_model(
    kind: str,
    encoding: FeatureEncoding,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    seed: int,
    isotonic_min_rows: int,
    transforms: tuple[str, ...] = NUMERIC_TRANSFORMS,
    calibration: tuple[CalibrationMethod, ...] = METHODS,
) -> TrainedModel:
    """Fit `kind` on all rows (gradient boosting: `boosting_seeds` models, averaged); choose its
    numeric transform (logistic) or number of boosting rounds (gradient boosting), and its
    calibration, by log-loss on out-of-fold raw scores grouped by `groups`; calibrate on those
    scores."""
    if kind == "gradient_boosting":
        z = model_input(x, encoding, LEVEL_SHARE)
        best, rounds = _boosting_variant(encoding, z, y, groups, seed, calibration,
                                         isotonic_min_rows)
        first, *others = [make_estimator(kind, encoding, seed + offset, rounds=rounds).fit(z, y)
                          for offset in range(boosting_seeds(len(y)))]
        return TrainedModel(kind, encoding, first, best.calibration,
                            transform=LEVEL_SHARE,
                            transform_log_loss={LEVEL_SHARE: best.log_loss},
                            seed_models=others)
    tried = transforms if kind == "logistic" else ("none",)
    variants = [_variant(kind, t, encoding, x, y, groups, seed, calibration, isotonic_min_rows)
                for t in tried]
    best = min(variants, key=lambda v: (v.log_loss, tried.index(v.transform)))
    z = model_input(x, encoding, best.transform)
    estimator = make_estimator(kind, encoding, seed, best.transform).fit(z, y)
    baseline = None
    if kind == "logistic":
        transformed = estimator.named_steps["prep"].transform(z)
        baseline = np.asarray(transformed, dtype=np.float64).mean(axis=0)
    return TrainedModel(kind, encoding, estimator, best.calibration, baseline, best.transform,
                        {v.transform: v.log_loss for v in variants})


def _source_feature_of_columns(prep: ColumnTransformer) -> np.ndarray:
    """For each transformed column, the index of the input feature it came from."""
    names = prep.get_feature_names_out()
    return np.array([int(re.search(r"x(\d+)", n).group(1)) for n in names])  # type: ignore[union-attr]


def _spline_terms(spline: SplineTransformer, scaled: np.ndarray, coef: np.ndarray
                  ) -> np.ndarray:
    """Per feature, coef . basis(x): the spline whose coefficients are the basis columns'
    coefficients, evaluated once per value (the basis, 7 columns a feature, is never built).
    Constant beyond the knots, as the transformer's extrapolation: the value at the end."""
    assert spline.extrapolation == "constant"
    terms = np.empty_like(scaled, order="F")
    per_feature = spline.bsplines_[0].c.shape[1]
    for i, basis in enumerate(spline.bsplines_):
        low, high = basis.t[basis.k], basis.t[-basis.k - 1]
        curve = BSpline(basis.t, coef[i * per_feature:(i + 1) * per_feature], basis.k,
                        extrapolate=False)
        terms[:, i] = curve(np.clip(scaled[:, i], low, high))
    return terms


def _one_hot_terms(encoder: OneHotEncoder, codes: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Per feature, the coefficient of the row's level (0 for a level training never saw,
    whose one-hot row is all zeros: handle_unknown="ignore")."""
    assert encoder.drop_idx_ is None
    terms = np.zeros_like(codes, order="F")
    start = 0
    for i, levels in enumerate(encoder.categories_):
        at = np.minimum(np.searchsorted(levels, codes[:, i]), len(levels) - 1)
        known = levels[at] == codes[:, i]
        terms[known, i] = coef[start:start + len(levels)][at[known]]
        start += len(levels)
    return terms


def _block_terms(name: str, transformer: Any, block: np.ndarray, coef: np.ndarray
                 ) -> np.ndarray:
    """Rows x the block's features: each feature's coef . z over its design columns in the
    block `name` of `make_estimator`'s ColumnTransformer (every step in it is per feature)."""
    if name == "num" and "spline" in transformer.named_steps:
        return _spline_terms(transformer.named_steps["spline"],
                             transformer[:-1].transform(block), coef)
    if name == "cat":
        return _one_hot_terms(transformer.named_steps["onehot"],
                              transformer.named_steps["impute"].transform(block), coef)
    # One design column per feature: the scaled number, the missing flag, the true/false.
    return np.asarray(transformer.transform(block), dtype=np.float64) * coef


def _linear_terms(model: TrainedModel, x: np.ndarray) -> tuple[float, np.ndarray]:
    """(bias, contribution matrix rows x features) of the logistic candidate: each feature's
    contribution is the sum over the design columns it became of (value - training mean) x
    coefficient, and bias + their sum is the linear model's decision function.

    Computed block by block of the design (numbers, missing flags, true/false, categories)
    straight from the fitted steps: no design matrix (305 columns on the sample's features,
    2.4 GB on a million rows) and no spline basis are built."""
    prep = model.estimator.named_steps["prep"]
    linear = model.estimator.named_steps["model"]
    coef = linear.coef_.ravel()
    assert model.linear_baseline is not None
    # Column by column below: a column of a Fortran-ordered matrix is contiguous.
    z = np.asfortranarray(model_input(x, model.encoding, model.transform))
    # What the training mean of each design column contributes, per feature.
    at_mean = coef * model.linear_baseline
    at_mean_of_feature = np.bincount(_source_feature_of_columns(prep), weights=at_mean,
                                     minlength=len(model.encoding.names))
    contributions = np.zeros((len(x), len(model.encoding.names)), dtype=np.float64, order="F")
    for name, transformer, features in prep.transformers_:
        if len(features) and name != "remainder":
            terms = _block_terms(name, transformer, z[:, features],
                                 coef[prep.output_indices_[name]])
            for i, feature in enumerate(features):
                contributions[:, feature] += terms[:, i]
    contributions -= at_mean_of_feature
    return float(linear.intercept_[0] + at_mean.sum()), contributions


def _expected_node_values(nodes: np.ndarray) -> np.ndarray:
    """Each node's mean leaf value over the training rows that reached it (leaves first)."""
    expected = nodes["value"].astype(np.float64).copy()
    # depth is unsigned: negated as it is, the root's 0 would stay 0 and sort first, before
    # its children have their expected values (the credit of the root's split would then be
    # measured from the root's own raw value, and the bias be that value)
    for index in np.argsort(-nodes["depth"].astype(np.int64), kind="stable"):
        if not nodes["is_leaf"][index]:
            left, right = nodes["left"][index], nodes["right"][index]
            n_left, n_right = nodes["count"][left], nodes["count"][right]
            expected[index] = (expected[left] * n_left + expected[right] * n_right) / max(
                n_left + n_right, 1
            )
    return expected


def _path_table(nodes: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the features the tree splits on, a node x those features table): row n holds what
    the splits on the way from the root to node n credit to each feature."""
    internal = np.flatnonzero(nodes["is_leaf"] == 0)
    features, column = np.unique(nodes["feature_idx"][internal], return_inverse=True)
    table = np.zeros((len(nodes), len(features)), dtype=np.float64)
    for at in np.argsort(nodes["depth"][internal], kind="stable"):  # parents before children
        index = internal[at]
        for child in (nodes["left"][index], nodes["right"][index]):
            table[child] = table[index]
            table[child, column[at]] += expected[child] - expected[index]
    return features, table


def _leaf_of_rows(predictor: TreePredictor, x: np.ndarray, known_categories: np.ndarray,
                  feature_map: np.ndarray) -> np.ndarray:
    """The index of the leaf each row of `x` reaches: the tree's own prediction routine (so the
    same splits, missing-value and category handling as the score) run on a copy of the tree
    whose leaves hold their own index as their value."""
    numbered = predictor.nodes.copy()
    numbered["value"] = np.arange(len(numbered))
    leaf = TreePredictor(numbered, predictor.binned_left_cat_bitsets,
                         predictor.raw_left_cat_bitsets).predict(
        x, known_categories, feature_map, _openmp_effective_n_threads())
    return leaf.astype(np.intp)


def _tree_path_contributions(
    estimator: HistGradientBoostingClassifier, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(bias per row, contributions rows x columns of `x`) of a fitted gradient boosting
    model: per tree, each row's leaf, then the path table's row of that leaf (`_path_table`)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    n_rows, n_features = x.shape
    # column by column below: a column of a Fortran-ordered matrix is contiguous
    contributions = np.zeros((n_rows, n_features), dtype=np.float64, order="F")
    bias = np.full(n_rows, float(np.ravel(estimator._baseline_prediction)[0]))
    known_categories, feature_map = estimator._bin_mapper.make_known_categories_bitsets()
    for (predictor,) in estimator._predictors:
        expected = _expected_node_values(predictor.nodes)
        bias += expected[0]
        features, table = _path_table(predictor.nodes, expected)
        if len(features) == 0:
            continue  # a single leaf: all of it is bias
        leaf = _leaf_of_rows(predictor, x, known_categories, feature_map)
        for column, feature in enumerate(features):
            contributions[:, feature] += table[:, column].take(leaf)
    return bias, np.ascontiguousarray(contributions)
