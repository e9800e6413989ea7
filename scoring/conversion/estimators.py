"""The conversion model: candidates, calibration, probabilities and per-feature contributions.

Two candidates, compared on a later time window than they were trained on (see `select_model`):
- `logistic`: L2-regularized logistic regression (C=0.1) on numbers on the signed-log scale
  of `scoring.conversion.encoding`, median-imputed and standardized, each with a missing-value
  indicator; true/false features as they are; categories one-hot. (Cubic splines per number were
  tried: better on X Education, worse on the bundled sample; the boosted trees cover non-linearity.)
- `gradient_boosting`: scikit-learn's HistGradientBoostingClassifier on the same features.
Probabilities are calibrated on out-of-fold raw scores, grouped by lead so that one lead's
snapshots never sit on both sides of a fold: isotonic regression with enough rows, else a sigmoid.

Contributions ("why this probability") are exact decompositions of the raw log-odds score:
bias + sum(contributions) == raw score, for both candidates (tests pin this).
- logistic: coef * (x - training mean), summed over the columns each feature expands into;
- gradient boosting: the tree-path method (Saabas): walking each tree from the root, the change
  in the node's expected value at each split is credited to the split's feature.
Calibration is monotone, so a factor that raises the raw score raises the probability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scoring.conversion.encoding import FeatureEncoding

CALIBRATION_FOLDS = 3
# Calibrated probabilities are kept inside this band: a few hundred conversions cannot support
# a claim of certainty either way (isotonic regression would otherwise say exactly 0 or 1).
PROBABILITY_FLOOR = 0.001


def make_estimator(kind: str, encoding: FeatureEncoding, seed: int) -> Any:
    """An unfitted scikit-learn estimator for candidate `kind`."""
    numeric = encoding.indexes("numeric")
    boolean = encoding.indexes("boolean")
    categorical = encoding.indexes("categorical")
    if kind == "logistic":
        prep = ColumnTransformer(
            [
                ("num", Pipeline([
                    ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                    ("scale", StandardScaler()),
                ]), numeric),
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
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=400, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
            n_iter_no_change=25, random_state=seed,
        )
    raise ValueError(f"unknown model kind {kind!r}")


def _fit_calibrator(raw: np.ndarray, y: np.ndarray, isotonic_min_rows: int) -> Any:
    if len(y) >= isotonic_min_rows:
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    return LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)


def _apply_calibrator(calibrator: Any, raw: np.ndarray) -> np.ndarray:
    if isinstance(calibrator, IsotonicRegression):
        return np.asarray(calibrator.predict(raw), dtype=np.float64)
    return np.asarray(calibrator.predict_proba(raw.reshape(-1, 1))[:, 1], dtype=np.float64)


@dataclass
class TrainedModel:
    """A fitted estimator, its probability calibrator and the encoding of its inputs."""

    kind: str
    encoding: FeatureEncoding
    estimator: Any
    calibrator: Any
    # logistic only: mean of the transformed training matrix, the reference for contributions.
    linear_baseline: np.ndarray | None = None

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator.decision_function(x), dtype=np.float64).ravel()

    def probability(self, x: np.ndarray) -> np.ndarray:
        calibrated = _apply_calibrator(self.calibrator, self.raw_score(x))
        return np.clip(calibrated, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bias per row, contribution matrix rows x features) decomposing the raw score."""
        if self.kind == "logistic":
            return _linear_contributions(self, x)
        return _tree_path_contributions(self.estimator, x)


def fit_model(
    kind: str,
    encoding: FeatureEncoding,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    seed: int,
    isotonic_min_rows: int,
) -> TrainedModel:
    """Fit `kind` on all rows; calibrate on out-of-fold raw scores grouped by `groups`."""
    out_of_fold = np.zeros(len(y), dtype=np.float64)
    folds = GroupKFold(n_splits=CALIBRATION_FOLDS)
    for train_index, test_index in folds.split(x, y, groups):
        fold_model = make_estimator(kind, encoding, seed).fit(x[train_index], y[train_index])
        out_of_fold[test_index] = fold_model.decision_function(x[test_index])
    calibrator = _fit_calibrator(out_of_fold, y, isotonic_min_rows)
    estimator = make_estimator(kind, encoding, seed).fit(x, y)
    baseline = None
    if kind == "logistic":
        transformed = estimator.named_steps["prep"].transform(x)
        baseline = np.asarray(transformed, dtype=np.float64).mean(axis=0)
    return TrainedModel(kind, encoding, estimator, calibrator, baseline)


def _source_feature_of_columns(prep: ColumnTransformer) -> np.ndarray:
    """For each transformed column, the index of the input feature it came from."""
    names = prep.get_feature_names_out()
    return np.array([int(re.search(r"x(\d+)", n).group(1)) for n in names])  # type: ignore[union-attr]


def _linear_contributions(model: TrainedModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prep = model.estimator.named_steps["prep"]
    linear = model.estimator.named_steps["model"]
    z = np.asarray(prep.transform(x), dtype=np.float64)
    coef = linear.coef_.ravel()
    assert model.linear_baseline is not None
    per_column = (z - model.linear_baseline) * coef
    source = _source_feature_of_columns(prep)
    n_features = x.shape[1]
    contributions = np.zeros((x.shape[0], n_features), dtype=np.float64)
    for feature in range(n_features):
        contributions[:, feature] = per_column[:, source == feature].sum(axis=1)
    bias = float(linear.intercept_[0] + coef @ model.linear_baseline)
    return np.full(x.shape[0], bias), contributions


def _expected_node_values(nodes: np.ndarray) -> np.ndarray:
    """Each node's mean leaf value over the training rows that reached it (leaves first)."""
    expected = nodes["value"].astype(np.float64).copy()
    for index in np.argsort(-nodes["depth"], kind="stable"):
        if not nodes["is_leaf"][index]:
            left, right = nodes["left"][index], nodes["right"][index]
            n_left, n_right = nodes["count"][left], nodes["count"][right]
            expected[index] = (expected[left] * n_left + expected[right] * n_right) / max(
                n_left + n_right, 1
            )
    return expected


def _tree_path_contributions(
    estimator: HistGradientBoostingClassifier, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n_rows, n_features = x.shape
    contributions = np.zeros((n_rows, n_features), dtype=np.float64)
    bias = np.full(n_rows, float(np.ravel(estimator._baseline_prediction)[0]))
    rows = np.arange(n_rows)
    for (predictor,) in estimator._predictors:
        nodes = predictor.nodes
        expected = _expected_node_values(nodes)
        bias += expected[0]
        node = np.zeros(n_rows, dtype=np.int64)
        active = nodes["is_leaf"][node] == 0  # a uint8 field: `~` would be bitwise
        while active.any():
            at = node[active]
            feature = nodes["feature_idx"][at]
            value = x[rows[active], feature]
            go_left = np.where(
                np.isnan(value), nodes["missing_go_to_left"][at] == 1,
                value <= nodes["num_threshold"][at],
            )
            child = np.where(go_left, nodes["left"][at], nodes["right"][at])
            # each row appears once per step, so a plain fancy-index add is exact
            contributions[rows[active], feature] += expected[child] - expected[at]
            node[active] = child
            active = nodes["is_leaf"][node] == 0  # a uint8 field: `~` would be bitwise
    return bias, contributions
