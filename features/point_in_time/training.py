"""The point-in-time training set: leads at many past dates, labelled by what happened next."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from features.config import Config
from features.point_in_time.assemble import PreparedInputs, build_features
from features.point_in_time.pipeline import conversion_labels
from features.point_in_time.snapshots import SNAPSHOT_KEY, many_snapshots, snapshot_dates


def labelled_snapshot_dates(cfg: Config, train_as_of: date) -> list[date]:
    """Snapshot dates whose whole horizon lies before `train_as_of` (so labels are complete)."""
    last = train_as_of - timedelta(days=cfg.model.horizon_days)
    return snapshot_dates(last, cfg.model.snapshot_every_days, cfg.model.training_window_days)


def training_leads(leads: pl.LazyFrame, cfg: Config) -> pl.LazyFrame:
    """At most `model.max_training_leads` leads, the same ones on every run with the same seed.

    Leads are ranked by a hash of lead_id and the seed; the lowest ranks are kept. Uniform over
    leads, so conversion rates (and so calibration) are not distorted.
    """
    rank = pl.col("lead_id").hash(cfg.model.seed).rank("ordinal")
    return leads.filter(rank <= cfg.model.max_training_leads)


def training_set(inputs: PreparedInputs, cfg: Config, dates: list[date]) -> pl.LazyFrame:
    """Features as of each date for the leads still open then, with the `converted` label.

    Needs PreparedInputs prepared at the training as_of (so nothing after it is known).
    Leaves out snapshots where the lead already had an open opportunity or a won deal, or
    its company was already a customer: they are past the stage being predicted.
    Returns: every feature column, `converted` (bool), sorted by (lead_id, as_of).
    """
    snapshots = many_snapshots(training_leads(inputs.leads, cfg), dates)
    features = build_features(snapshots, inputs, cfg)
    labels = conversion_labels(snapshots, inputs.opportunities, cfg.model.horizon_days,
                               cfg.model.label)
    still_open = ~(pl.col("open_opportunity") | pl.col("won_deal") | pl.col("company_won_deal"))
    return (
        features.filter(still_open)
        .join(labels, on=list(SNAPSHOT_KEY), how="left")
        .sort(SNAPSHOT_KEY)
    )
