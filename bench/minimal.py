"""The yardstick: the least a lead-scoring job must do, written as one plain polars pipeline.

Read the five Parquet sources, enrich each lead with its company by business ID and then by
domain (website or email), count engagement in three windows, score a few ICP rules, predict with
a gradient-boosting model, write the result. No validation, no dedupe, no fuzzy names, no
quarantine, no point-in-time snapshots, no reasons: what `score` does beyond this is its overhead
or its value, and the benchmark reports the ratio.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier

WINDOWS = (7, 30, 90)
FEATURES = ["employees", "open_jobs", "activity_count_7d", "activity_count_30d",
            "activity_count_90d", "intent_90d", "icp_fit"]


def _domain(col: str) -> pl.Expr:
    return (pl.col(col).str.to_lowercase().str.replace(r"^https?://", "")
            .str.replace(r"^www\.", "").str.replace(r"/.*$", ""))


def minimal_pipeline(inputs: Path, out: Path, as_of: date) -> int:
    """Score every lead in ``inputs`` into ``out``/scores.parquet; return the rows written."""
    cutoff = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    leads = pl.scan_parquet(inputs / "leads.parquet")
    companies = (pl.scan_parquet(inputs / "companies.parquet")
                 .sort("updated_at").group_by("business_id", "domain").last())
    by_id = companies.filter(pl.col("business_id").is_not_null()).unique("business_id",
                                                                         keep="last")
    by_domain = companies.filter(pl.col("domain").is_not_null()).unique("domain", keep="last")
    firm = ["employees", "open_jobs", "industry_code"]
    enriched = (
        leads.with_columns(
            pl.coalesce(_domain("website"), pl.col("email").str.split("@").list.last())
            .alias("_domain"))
        .join(by_id.select("business_id", *firm), on="business_id", how="left")
        .join(by_domain.select(pl.col("domain").alias("_domain"),
                               *[pl.col(c).alias(f"{c}_d") for c in firm]),
              on="_domain", how="left")
        .with_columns(pl.coalesce(c, f"{c}_d").alias(c) for c in firm)
    )
    age = (pl.lit(cutoff) - pl.col("occurred_at")).dt.total_days()
    engagement = (
        pl.scan_parquet(inputs / "activities.parquet")
        .filter(pl.col("lead_id").is_not_null() & (pl.col("occurred_at") < cutoff))
        .group_by("lead_id")
        .agg(*[(age <= w).sum().alias(f"activity_count_{w}d") for w in WINDOWS],
             ((age <= 90) & pl.col("activity_type").is_in(
                 ["demo_request", "pricing_request", "contact_sales"])).sum().alias("intent_90d"))
    )
    features = (
        enriched.join(engagement, on="lead_id", how="left")
        .with_columns(pl.col(f"activity_count_{w}d").fill_null(0) for w in WINDOWS)
        .with_columns(pl.col("intent_90d").fill_null(0))
        .with_columns(
            (pl.col("industry_code").str.starts_with("62").fill_null(False).cast(pl.Int32) * 30
             + pl.col("employees").is_between(50, 5000).fill_null(False).cast(pl.Int32) * 25
             + pl.col("title").str.contains("(?i)chief|ceo|cto|vp|director|head")
             .fill_null(False).cast(pl.Int32) * 20).alias("icp_fit"))
        .collect()
    )
    labels = (pl.scan_parquet(inputs / "opportunities.parquet").select("lead_id").unique()
              .with_columns(pl.lit(1).alias("label")))
    train = (features.lazy().join(labels, on="lead_id", how="left")
             .select(*FEATURES, pl.col("label").fill_null(0)).head(50_000).collect())
    model = HistGradientBoostingClassifier(max_iter=50, random_state=0)
    model.fit(train.select(FEATURES).to_numpy(), train.get_column("label").to_numpy())
    matrix = features.select(FEATURES).to_numpy().astype(np.float64)
    scores = features.select("lead_id", "icp_fit").with_columns(
        pl.Series("conversion_probability", model.predict_proba(matrix)[:, 1]),
        pl.lit(as_of).alias("as_of"))
    out.mkdir(parents=True, exist_ok=True)
    scores.write_parquet(out / "scores.parquet")
    return scores.height
