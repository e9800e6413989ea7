"""The X Education reference, measured the way ../shared/datasets/README.md describes it.

5-fold stratified cross-validation, leaky columns dropped, `Select` as missing; scikit-learn's
GradientBoostingClassifier and LogisticRegression with default settings on one-hot categories
(median-imputed numbers). Prints ROC-AUC and Brier score per model on pooled out-of-fold
predictions, to set beside `leadscore evaluate --input .../Leads.csv --profile x_education`
(same folds: shuffled with the config's seed).

    uv run python bench/x_education_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from features.config import Config  # noqa: E402
from flows.profiles import load_profile  # noqa: E402
from scoring.conversion.evaluate import TARGET, prepare_table  # noqa: E402

LEADS = ROOT.parent / "shared" / "datasets" / "x_education" / "Leads.csv"


def reference_metrics() -> dict[str, dict[str, float]]:
    """ROC-AUC and Brier score of the two reference models on pooled out-of-fold predictions."""
    cfg = Config()
    profile = load_profile("x_education")
    assert profile.evaluate is not None
    frame = pl.read_csv(LEADS, infer_schema=False).drop("", strict=False)
    table = prepare_table(frame, profile.evaluate.outcome, profile.evaluate.positive,
                          profile.evaluate.exclude, cfg.ingest.missing_values)
    numeric, categorical = list(table.spec.numeric), list(table.spec.categorical)
    x_num = table.frame.select(numeric).to_numpy().astype(float)
    x_cat = table.frame.select(pl.col(categorical).fill_null("missing")).to_numpy()
    x = np.concatenate([x_num, x_cat], axis=1).astype(object)
    y = table.frame[TARGET].cast(pl.Int8).to_numpy()
    n_num = len(numeric)
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), list(range(n_num))),
        ("cat", OneHotEncoder(handle_unknown="ignore"), list(range(n_num, x.shape[1]))),
    ])
    models = {
        "reference_logistic_regression": LogisticRegression(max_iter=2000),
        "reference_gradient_boosting": GradientBoostingClassifier(random_state=cfg.model.seed),
    }
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=cfg.model.seed)
    results: dict[str, dict[str, float]] = {}
    for name, estimator in models.items():
        predicted = np.zeros(len(y))
        for train, test in folds.split(x, y):
            pipeline = Pipeline([("prep", prep), ("model", estimator)]).fit(x[train], y[train])
            predicted[test] = pipeline.predict_proba(x[test])[:, 1]
        results[name] = {"roc_auc": round(float(roc_auc_score(y, predicted)), 4),
                         "brier": round(float(brier_score_loss(y, predicted)), 5)}
    return results


def main() -> int:
    print(json.dumps(reference_metrics(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
