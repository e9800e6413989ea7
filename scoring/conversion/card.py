"""The model card: what a trained model is, built from the training outcome, and its Markdown."""

from __future__ import annotations

from datetime import date

from features.config import Config
from scoring.conversion.train import TrainingOutcome
from scoring.records import (
    DataWindow,
    Drift,
    Label,
    ModelCard,
    RankingMetrics,
    TrainingCounts,
    TrainingMetrics,
)


def training_metrics(outcome: TrainingOutcome) -> TrainingMetrics:
    """The candidates' validation metrics and the rules-only baseline, as recorded."""
    return TrainingMetrics.model_validate({
        "validation_by_candidate": outcome.candidates,
        "rules_only_baseline": outcome.baseline,
    })


def model_card(
    outcome: TrainingOutcome, version: str, as_of: date, dates: list[date], *,
    config_hash: str, code_hash: str, libraries: dict[str, str], cfg: Config,
) -> ModelCard:
    """The card of a trained outcome (``outcome.model`` set), trained on snapshots ``dates``."""
    assert outcome.model is not None and outcome.chosen is not None
    calibration = outcome.model.calibration
    return ModelCard(
        version=version,
        trained_as_of=as_of,
        kind=outcome.chosen,
        label=Label(event=cfg.model.label, horizon_days=cfg.model.horizon_days),
        data_window=DataWindow(
            first_snapshot=dates[0],
            last_snapshot=dates[-1],
            snapshot_every_days=cfg.model.snapshot_every_days,
            validation_window=list(outcome.validation_window or ()),
        ),
        counts=TrainingCounts.model_validate(outcome.counts),
        features=list(outcome.model.encoding.names),
        calibration=calibration.method,
        calibration_log_loss_out_of_fold=calibration.oof_log_loss,
        intercept_shift=calibration.shift,
        numeric_transform=outcome.model.transform,
        transform_log_loss_out_of_fold=outcome.model.transform_log_loss,
        selection=outcome.message,
        metrics=training_metrics(outcome),
        drift=Drift.model_validate(outcome.drift) if outcome.drift else None,
        libraries=libraries,
        config_sha256=config_hash,
        code_sha256=code_hash,
    )


def _metric_row(name: str, metrics: RankingMetrics) -> str:
    shown = metrics.model_dump()
    cells = [shown.get(k, "") for k in ("roc_auc", "pr_auc", "brier", "log_loss",
                                        "lift_top_decile")]
    return f"| {name} | " + " | ".join("" if c == "" else f"{c}" for c in cells) + " |"


def card_markdown(card: ModelCard) -> str:
    """The card for people (``card.md``)."""
    metrics = card.metrics
    window = card.data_window
    counts = card.counts
    lines = [
        f"# Model {card.version}",
        "",
        f"- Kind: {card.kind} (numbers: {card.numeric_transform}), calibration: "
        f"{card.calibration} (intercept shift {card.intercept_shift:.3f})",
        f"- Predicts: {card.label.event} within {card.label.horizon_days} days",
        f"- Snapshots: {window.first_snapshot.isoformat()} to "
        f"{window.last_snapshot.isoformat()}, every {window.snapshot_every_days} days",
        f"- Validation window (later than training): {' to '.join(window.validation_window)}",
        f"- Rows {counts.rows}, leads {counts.leads}, converted leads {counts.converted_leads}",
        f"- Libraries: {', '.join(f'{k} {v}' for k, v in card.libraries.items())}",
        "",
        "## Validation metrics (trained on earlier snapshots only)",
        "",
        "| model | ROC-AUC | PR-AUC | Brier | log-loss | top-decile lift |",
        "|---|---|---|---|---|---|",
        *[_metric_row(k, v) for k, v in metrics.validation_by_candidate.items()],
        *[_metric_row(f"{k} (rules only)", v) for k, v in metrics.rules_only_baseline.items()],
        "",
        "## Calibration of the chosen model (validation)",
        "",
        "| bin | rows | mean predicted | observed |",
        "|---|---|---|---|",
        *[f"| {r.bin} | {r.rows} | {r.mean_predicted} | {r.observed_rate} |"
          for r in metrics.validation_by_candidate[card.kind].calibration],
        "",
        *_drift_lines(card.drift),
        f"Features ({len(card.features)}): {', '.join(card.features)}",
        "",
    ]
    return "\n".join(lines)


def _drift_lines(drift: Drift | None) -> list[str]:
    """The drift section: rates of the training and validation parts, mean prediction per
    validation snapshot date (the chosen kind fitted on the training part), warnings."""
    if drift is None:
        return []
    return [
        "## Drift (chosen model fitted on the training part, on the validation snapshots)",
        "",
        f"Conversion rate: training {drift.train_positive_rate}, validation "
        f"{drift.test_positive_rate}; mean predicted on validation "
        f"{drift.test_mean_predicted} (warning margin {drift.margin})",
        "",
        *[f"- **Warning**: {w}" for w in drift.warnings],
        *([""] if drift.warnings else []),
        "| snapshot date | rows | observed | mean predicted |",
        "|---|---|---|---|",
        *[f"| {p.period} | {p.rows} | {p.positive_rate} | {p.mean_predicted}"
          f"{' (beyond margin)' if p.beyond_margin else ''} |" for p in drift.periods],
        "",
    ]
