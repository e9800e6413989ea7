"""Model cards for tests: a valid card where only a few fields matter."""

from __future__ import annotations

from datetime import date, timedelta

from scoring.records import ModelCard


def a_card(
    version: str = "old", *, features: tuple[str, ...] = ("a", "c"),
    trained_as_of: date = date(2026, 5, 30), last_snapshot: date = date(2026, 3, 1),
    libraries: dict[str, str] | None = None,
) -> ModelCard:
    """A card with these features, dates and libraries; everything else a placeholder."""
    metrics = {"roc_auc": 0.5, "pr_auc": 0.5, "lift_top_decile": 1.0}
    return ModelCard.model_validate({
        "version": version, "trained_as_of": trained_as_of, "kind": "logistic",
        "label": {"event": "won", "horizon_days": 90},
        "data_window": {"first_snapshot": last_snapshot - timedelta(days=300),
                        "last_snapshot": last_snapshot, "snapshot_every_days": 14,
                        "validation_window": []},
        "counts": {"rows": 1, "leads": 1, "positive_rows": 0, "converted_leads": 0},
        "features": list(features), "calibration": "sigmoid", "selection": "",
        "metrics": {"validation_by_candidate": {}, "rules_only_baseline": {"icp_fit": metrics}},
        "libraries": libraries or {}, "config_sha256": "", "code_sha256": "",
    })
