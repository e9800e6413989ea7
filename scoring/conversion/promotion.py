"""The promotion gate: does a newly trained model replace the current one?

Both are judged by log-loss on validation snapshots the current model was not fitted on; the
new kind is judged as fitted on the training part only (the refit model has seen the
validation window). Pure: the caller hands in the current model's card and a way to load it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from scoring.conversion.estimators import TrainedModel
from scoring.conversion.train import TARGET, TrainingOutcome, validation_log_loss
from scoring.records import ModelCard, PromotionDecision

# The fewest converted leads the no-worse comparison needs to mean anything.
MIN_COMPARISON_CONVERSIONS = 10


def converted_leads(rows: pl.DataFrame) -> int:
    """Distinct leads with a positive label (one lead converts once, but is positive in every
    snapshot within the horizon before it). Needs: lead_id, converted."""
    return rows.filter(pl.col(TARGET))["lead_id"].n_unique() if rows.height else 0


def comparison_window(
    validation: pl.DataFrame, card: ModelCard
) -> tuple[pl.DataFrame, str] | None:
    """The validation snapshots on which the current model can be judged, and what they are.

    Best: snapshots on or after the current model's training date, whose outcomes it never
    saw. With too few of those (a retrain sooner than a horizon after the last): snapshots
    after its last training snapshot. The current model never saw their features, but may
    have seen some of their leads' conversions as labels of earlier snapshots, which favours
    keeping it: a new model then has to be clearly better, never the other way round.
    None when neither window holds MIN_COMPARISON_CONVERSIONS converted leads.
    """
    last_snapshot: date = card.data_window.last_snapshot
    windows = [(pl.col("as_of") > last_snapshot,
                f"snapshots after the current model's last training snapshot {last_snapshot} "
                "(it may have seen some of their conversions, which favours it)")]
    if card.trained_as_of is not None:
        trained = card.trained_as_of
        windows.insert(0, (pl.col("as_of") >= trained,
                           f"snapshots from {trained} on, whose outcomes the current model "
                           "never saw"))
    for window, described in windows:
        rows = validation.filter(window)
        if converted_leads(rows) >= MIN_COMPARISON_CONVERSIONS:
            return rows, described
    return None


def decide_promotion(
    outcome: TrainingOutcome, version: str, *, force: bool,
    current: str | None, current_card: Callable[[], ModelCard],
    current_model: Callable[[], TrainedModel],
) -> PromotionDecision:
    """Whether the model ``version`` trained in ``outcome`` replaces ``current``.

    Without snapshots to compare on (see `comparison_window`) the current model stays;
    ``force`` promotes regardless. The current model's card and model are loaded (the two
    callables) only when they are needed.
    """
    if current is None:
        return PromotionDecision(promote=True, why="no current model")
    if current == version:
        return PromotionDecision(promote=True,
                                 why="the same model (same inputs, config and code)")
    if force:
        return PromotionDecision(promote=True, why="--force", replaces=current)
    assert outcome.candidate_model is not None and outcome.validation_rows is not None
    card = current_card()
    if card.features != list(outcome.candidate_model.encoding.names):
        return PromotionDecision(
            promote=True, why="the current model's features no longer match the config",
            replaces=current)
    window = comparison_window(outcome.validation_rows, card)
    if window is None:
        last_snapshot = card.data_window.last_snapshot
        return PromotionDecision(
            promote=False, current=current,
            why="cannot compare on data the current model was not fitted on: the "
                f"validation snapshots after its last training snapshot {last_snapshot} "
                f"hold fewer than {MIN_COMPARISON_CONVERSIONS} converted leads; "
                "use --force to promote anyway")
    rows, described = window
    old = validation_log_loss(current_model(), rows)
    new = validation_log_loss(outcome.candidate_model, rows)
    why = (f"no worse than the current model on {described}" if new <= old else
           f"worse than the current model on {described} (use --force to promote anyway)")
    return PromotionDecision(
        promote=new <= old, why=why, current=current, compared_on=described,
        compared_rows=rows.height, compared_conversions=converted_leads(rows),
        current_log_loss=old, new_log_loss=new)
