"""From features to scored rows: ICP fit, probability and factors, stage, reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from features.config import Config
from features.ingest.profile import free_names
from features.schema import LEADS, SCORED_COLUMNS
from scoring.changes import with_change
from scoring.conversion.encoding import add_derived_columns
from scoring.conversion.estimators import TrainedModel
from scoring.conversion.explain import top_factors
from scoring.records import ModelStatusName
from scoring.rules.icp import icp_fit
from scoring.rules.stage import recommend_stage, with_reasons

NO_MODEL_NOTE = "no trained model yet; stage recommended from rules alone"


@dataclass(frozen=True)
class ModelVerdict:
    """What the conversion model contributes to this run, or why it contributes nothing.

    status: "model" (probabilities from `model`), "no_model" (none registered) or
    "insufficient_history" (training found too few labelled leads or conversions).
    """

    status: ModelStatusName
    note: str | None = None
    model: TrainedModel | None = None
    version: str | None = None


def with_icp(features: pl.LazyFrame, cfg: Config) -> pl.LazyFrame:
    """Derived model columns and ICP fit on top of the features."""
    return icp_fit(add_derived_columns(features), cfg.icp)


# Rows scored at a time: the model's dense matrices (features, contributions) of one batch are
# what scoring holds beside the features.
PREDICT_BATCH_ROWS = 100_000


def with_probabilities(frame: pl.DataFrame, verdict: ModelVerdict) -> pl.DataFrame:
    """Adds conversion_probability, probability_status, probability_note, model_version,
    factors_up and factors_down. Without a model the probability is null and every row says why.
    """
    if verdict.model is None:
        empty = pl.lit([], dtype=pl.List(pl.String))
        return frame.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("conversion_probability"),
            pl.lit(verdict.status).alias("probability_status"),
            pl.lit(verdict.note or NO_MODEL_NOTE).alias("probability_note"),
            pl.lit(None, dtype=pl.String).alias("model_version"),
            empty.alias("factors_up"),
            empty.alias("factors_down"),
        )
    if frame.height <= PREDICT_BATCH_ROWS:
        return _predicted(frame, verdict)
    # Every row's probability and factors depend on that row alone, so batches give the same
    # result as one pass, with the dense matrices of one batch in memory instead of all rows'.
    return pl.concat([_predicted(frame.slice(start, PREDICT_BATCH_ROWS), verdict)
                      for start in range(0, frame.height, PREDICT_BATCH_ROWS)])


def _predicted(frame: pl.DataFrame, verdict: ModelVerdict) -> pl.DataFrame:
    model = verdict.model
    assert model is not None
    if frame.height == 0:  # scikit-learn refuses zero rows; zero leads is a normal run
        empty = pl.lit([], dtype=pl.List(pl.String))
        return frame.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("conversion_probability"),
            pl.lit("model").alias("probability_status"),
            pl.lit(None, dtype=pl.String).alias("probability_note"),
            pl.lit(verdict.version, dtype=pl.String).alias("model_version"),
            empty.alias("factors_up"),
            empty.alias("factors_down"),
        )
    matrix = model.encoding.matrix(frame)
    probability, contributions = model.explained(matrix)
    factors = top_factors(frame, contributions, model.encoding)
    return frame.with_columns(
        pl.Series("conversion_probability", probability).round(4),
        pl.lit("model").alias("probability_status"),
        pl.lit(None, dtype=pl.String).alias("probability_note"),
        pl.lit(verdict.version).alias("model_version"),
        factors["factors_up"],
        factors["factors_down"],
    )


def _business_id() -> pl.Expr:
    from_company = pl.when(pl.col("company_key").str.contains(r"^[A-Z]{2}:")).then(
        pl.col("company_key"))
    return pl.coalesce(from_company, pl.col("lead_business_id")).alias("business_id")


def finish(
    scored: pl.LazyFrame,
    leads: pl.LazyFrame,
    cfg: Config,
    as_of: date,
    previous: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """Stage, next action, priority, change and reasons; then the output columns.

    Needs the ICP, probability and factor columns from the steps above, plus `leads` (the
    surviving lead rows, for company_name, merged_ids and pass-through columns).
    Returns SCORED_COLUMNS followed by the export's own extra columns, sorted by lead_id.
    """
    staged = recommend_stage(scored, cfg.stages, cfg.icp.prospect_min_fit)
    compared = with_reasons(with_change(staged, previous), cfg.stages).with_columns(
        _business_id())
    canonical = {c.name for c in LEADS.columns} | {"source_row", "merged_ids"}
    extras = [c for c in leads.collect_schema().names() if c not in canonical]
    # An export column named like an output column (its own "priority", say) keeps its value
    # under a suffixed name; one named like a feature we do not output ("industry") keeps its
    # name, since only the output columns are kept from our side.
    from_leads = ("company_name", "merged_ids")
    renamed = free_names(extras, set(SCORED_COLUMNS))
    lead_part = leads.select("lead_id", *from_leads, *extras).rename(renamed)
    extras = [renamed.get(c, c) for c in extras]
    return (
        compared.select(c for c in SCORED_COLUMNS if c not in from_leads)
        # In the scores' order: when that is lead_id's already (flagged sorted), the sort
        # below is free; after a join in no set order it sorted every column again (1 s at 1M).
        .join(lead_part, on="lead_id", how="left", maintain_order="left")
        .with_columns(pl.col("merged_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .select(*SCORED_COLUMNS, *extras)
        .sort("lead_id")
    )
