"""Which conversion model a scoring run uses, or why it uses none."""

from __future__ import annotations

from importlib.metadata import version as package_version
from pathlib import Path

from features.config import Config
from flows.promotions import CURRENT, ModelChoice
from flows.registry import check_compatible, current_version, load_model, read_card, training_status
from scoring.conversion.encoding import canonical_feature_spec
from scoring.score import ModelVerdict

NO_MODEL = ("no trained model yet (run `leadscore train`); "
            "stage recommended from ICP rules and signals alone")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on, for the card and the check."""
    return {name: package_version(name) for name in ("scikit-learn", "numpy", "skops", "polars")}


def model_verdict(models: Path, cfg: Config, choice: ModelChoice = CURRENT) -> ModelVerdict:
    """The chosen registered model (default: the current one), checked against this config and
    these libraries.

    No current model: status "insufficient_history" when the last training found too little
    history, else "no_model"; a "none" choice: "no_model" with its reason. Raises ModelError
    when the model does not fit or a named version is not registered.
    """
    if choice.kind == "none":
        return ModelVerdict("no_model", note=choice.why)
    version = current_version(models) if choice.kind == "current" else choice.version
    if version is None:
        status = training_status(models)
        if status and status.status == "insufficient_history":
            return ModelVerdict("insufficient_history",
                                note=f"too little history to train a model: {status.message}")
        return ModelVerdict("no_model", note=NO_MODEL)
    card = read_card(models, version)
    check_compatible(card, list(canonical_feature_spec(cfg).columns), library_versions())
    return ModelVerdict("model", model=load_model(models, version), version=version)
