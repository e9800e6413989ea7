"""The model registry: versioned model folders and a pointer to the current one.

    models/<version>/model.skops     estimator, calibration, transform (skops: loading runs no code)
    models/<version>/encoding.json   the feature spec and category order
    models/<version>/card.json       the model card (data window, counts, metrics, versions)
    models/<version>/card.md         the same card for people
    models/current.json              {"version": ...}: the model `score` uses
    models/promotions.json           every promotion: version, trained_as_of, promoted_at
    models/status.json               the last training's outcome (e.g. too little history)

Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import skops.io as sio
from pydantic import ValidationError

from features.errors import ModelError
from flows.promotions import record_promotion
from flows.publish import if_abandoned, new_owned_lock
from scoring.conversion.calibration import Calibration
from scoring.conversion.encoding import FeatureEncoding
from scoring.conversion.estimators import TrainedModel
from scoring.records import ModelCard, Record, TrainingResult

# Types skops does not trust by default that a leadscore model legitimately contains.
_ALLOWED_TYPES = frozenset({
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    # the logistic candidate's spline transform: SplineTransformer keeps one scipy BSpline
    # (knots and coefficients) per number, and each BSpline a reference to scipy's numpy
    # `asarray` alias (a plain array conversion, no code of the file's own)
    "scipy.interpolate._bsplines.BSpline",
    "scipy._lib.array_api_compat.numpy._aliases.asarray",
})
_CHECKED_LIBRARIES = ("scikit-learn", "numpy", "skops")
R = TypeVar("R", bound=Record)
# A version names a folder directly inside the registry: no separators, no "." or "..".
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_text(text, encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(path)


def current_version(models: Path) -> str | None:
    pointer = models / "current.json"
    if not pointer.is_file():
        return None
    try:
        version = json.loads(pointer.read_text(encoding="utf-8"))["version"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise ModelError(f"{pointer}: not a model pointer ({{\"version\": ...}}); "
                         "run `leadscore train` again or fix the file") from None
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise ModelError(f"{pointer}: {version!r} is not a model version (the plain name of a "
                         f"folder inside {models}); run `leadscore train` again or fix the file")
    return version


def set_current(models: Path, version: str) -> None:
    """Make `version` (a saved model folder) the current model and record the promotion."""
    record_promotion(models, version)
    _atomic_write_text(models / "current.json", json.dumps({"version": version}) + "\n")


def _read_record(path: Path, record: type[R], what: str) -> R:
    """A record read from its JSON file; ModelError naming the file when it does not parse."""
    try:
        return record.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(f"{path}: not a valid {what} ({first}); "
                         "run `leadscore train` again or fix the file") from None


def _json_text(record: Record) -> str:
    return json.dumps(record.to_json(), indent=2, default=str)


def training_status(models: Path) -> TrainingResult | None:
    """The last training's outcome (``status.json``), None before the first training."""
    path = models / "status.json"
    return _read_record(path, TrainingResult, "training status") if path.is_file() else None


def write_training_status(models: Path, status: TrainingResult) -> None:
    models.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(models / "status.json", _json_text(status) + "\n")


def save_model(models: Path, version: str, model: TrainedModel, card: ModelCard,
               card_markdown: str) -> Path:
    """Write a model folder atomically (a staging folder renamed into place).

    A version that is already registered is never overwritten: the same version means the same
    inputs, config, profile and code, so the folder already holds this model."""
    final = models / version
    if (final / "model.skops").is_file() and (final / "card.json").is_file():
        return final
    with _model_staging(models, version) as staging:
        _write_model_folder(staging, model, card, card_markdown)
        if final.exists():  # a folder left incomplete by a crash (no model or no card)
            shutil.rmtree(final)
        staging.rename(final)
    return final


@contextmanager
def _model_staging(models: Path, version: str) -> Iterator[Path]:
    """`models/.<version>.<id>.tmp`, locked (`<name>.lock`, flock) while this process writes
    it, and removed on the way out unless it was renamed into place. A folder left by a
    killed `train` is removed by the next one (`remove_abandoned_model_folders`)."""
    models.mkdir(parents=True, exist_ok=True)
    fd, lock = new_owned_lock(models, prefix=f".{version}.", suffix=".tmp")
    staging = lock.with_suffix("")
    try:
        staging.mkdir()
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        lock.unlink(missing_ok=True)
        os.close(fd)


def remove_abandoned_model_folders(models: Path) -> list[str]:
    """Delete the temporary model folders (and their locks) of `train` runs that died while
    writing them; folders a live run still writes are left alone. Returns what was removed."""
    if not models.is_dir():
        return []
    removed = []
    for folder in sorted(models.glob(".*.tmp")):
        if not folder.is_dir():
            continue
        with if_abandoned(folder) as abandoned:
            if abandoned:
                shutil.rmtree(folder, ignore_errors=True)
                folder.with_name(f"{folder.name}.lock").unlink(missing_ok=True)
                removed.append(f"removed the temporary model folder {folder.name} of a "
                               "training run that did not finish")
    for lock in sorted(models.glob(".*.tmp.lock")):
        if not lock.with_suffix("").exists():
            fd = os.open(lock, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            finally:
                os.close(fd)
            lock.unlink(missing_ok=True)
    return removed


def _write_model_folder(staging: Path, model: TrainedModel, card: ModelCard,
                        card_markdown: str) -> None:
    payload = {
        "kind": model.kind,
        "estimator": model.estimator,
        "calibration": model.calibration.to_payload(),
        "linear_baseline": model.linear_baseline,
        "transform": model.transform,
        "transform_log_loss": dict(model.transform_log_loss),
        "seed_models": list(model.seed_models),
    }
    sio.dump(payload, staging / "model.skops")
    (staging / "encoding.json").write_text(json.dumps(model.encoding.to_json(), indent=2),
                                           encoding="utf-8")
    (staging / "card.json").write_text(_json_text(card), encoding="utf-8")
    (staging / "card.md").write_text(card_markdown, encoding="utf-8")


def read_card(models: Path, version: str) -> ModelCard:
    path = models / version / "card.json"
    if not path.is_file():
        raise ModelError(f"model {version}: card.json missing in {path.parent}")
    return _read_record(path, ModelCard, "model card")


def _major(version: str) -> str:
    return version.split(".")[0]


def check_compatible(card: ModelCard, expected_features: list[str],
                     libraries: dict[str, str]) -> None:
    """Raise ModelError when the model's feature set or library major versions differ."""
    version = card.version
    trained_with = card.features
    if list(trained_with) != list(expected_features):
        missing = sorted(set(expected_features) - set(trained_with))
        extra = sorted(set(trained_with) - set(expected_features))
        raise ModelError(
            f"model {version} was trained on a different feature set (this config adds "
            f"{missing or 'nothing'}, drops {extra or 'nothing'}); run `leadscore train` again"
        )
    for library in _CHECKED_LIBRARIES:
        then = card.libraries.get(library)
        now = libraries.get(library)
        if then is None or now is None or _major(then) != _major(now):
            raise ModelError(
                f"model {version} was saved with {library} {then}, this is {now}: "
                "a different major version; run `leadscore train` again"
            )


def load_model(models: Path, version: str) -> TrainedModel:
    """Load a model folder, refusing any type outside the allow-list (no code runs on load)."""
    folder = models / version
    path = folder / "model.skops"
    if not path.is_file():
        raise ModelError(f"model {version}: model.skops missing in {folder}")
    payload = _read_payload(path, version)
    encoding = _read_encoding(folder / "encoding.json", version)
    if "calibration" not in payload:
        raise ModelError(f"model {version} was saved by an older leadscore (no calibration "
                         "map); run `leadscore train` again")
    baseline = payload.get("linear_baseline")
    try:
        return TrainedModel(
            kind=payload["kind"],
            encoding=encoding,
            estimator=payload["estimator"],
            calibration=Calibration.from_payload(payload["calibration"]),
            linear_baseline=None if baseline is None else np.asarray(baseline,
                                                                     dtype=np.float64),
            transform=str(payload["transform"]),
            transform_log_loss={k: float(v) for k, v in payload["transform_log_loss"].items()},
            seed_models=list(payload.get("seed_models", [])),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ModelError(f"model {version}: {path} does not hold a leadscore model; "
                         "run `leadscore train` again") from None


def _read_payload(path: Path, version: str) -> dict[str, Any]:
    """The skops payload, refusing any type outside the allow-list. Anything that is not a
    whole skops file (a pickle, a truncated or empty file) is a ModelError naming the file."""
    try:
        untrusted = sio.get_untrusted_types(file=path)
        unexpected = sorted(set(untrusted) - _ALLOWED_TYPES)
        if unexpected:
            raise ModelError(f"model {version}: {path}: refusing to load unexpected types "
                             f"{unexpected}")
        payload = sio.load(path, trusted=list(untrusted))
    except ModelError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, AttributeError,
            json.JSONDecodeError, EOFError) as exc:
        raise ModelError(f"model {version}: {path} is not a readable skops model "
                         f"({type(exc).__name__}); run `leadscore train` again") from None
    if not isinstance(payload, dict) or not {"kind", "estimator"} <= set(payload):
        raise ModelError(f"model {version}: {path} does not hold a leadscore model; "
                         "run `leadscore train` again")
    return payload


def _read_encoding(path: Path, version: str) -> FeatureEncoding:
    try:
        return FeatureEncoding.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            ValueError, AttributeError) as exc:
        raise ModelError(f"model {version}: {path} is not a readable feature encoding "
                         f"({type(exc).__name__}); run `leadscore train` again") from None
