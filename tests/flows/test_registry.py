"""The model registry: versioned folders, a current pointer, and refusal of unusable models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from features.errors import ModelError
from flows.registry import (
    check_compatible,
    current_version,
    load_model,
    save_model,
    set_current,
)
from scoring.conversion.encoding import FeatureSpec, fit_encoding
from scoring.conversion.estimators import TrainedModel, fit_model
from tests.cards import a_card

LIBRARIES = {"scikit-learn": "1.9.1", "numpy": "2.4.6", "skops": "0.16.0"}


def _tiny_model(kind: str, transform: str = "standard") -> tuple[TrainedModel, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 600
    frame = pl.DataFrame({
        "a": rng.normal(size=n),
        "c": rng.choice(["x", "y"], size=n),
        "lead_id": [f"L{i % 200}" for i in range(n)],
    })
    y = (frame["a"].to_numpy() + (frame["c"] == "x").to_numpy() + rng.normal(size=n) > 0.5)
    frame = frame.with_columns(converted=pl.Series(y))
    encoding = fit_encoding(frame, FeatureSpec(numeric=("a",), categorical=("c",)), "converted")
    x = encoding.matrix(frame)
    model = fit_model(kind, encoding, x, y.astype(int), frame["lead_id"].to_numpy(), seed=1,
                      isotonic_min_rows=100, transforms=(transform,))
    return model, x


@pytest.mark.parametrize(("kind", "transform"), [
    ("logistic", "standard"), ("logistic", "symlog"), ("logistic", "spline"),
    ("gradient_boosting", "level_share"),
])
def test_saved_model_loads_and_predicts_the_same(tmp_path: Path, kind: str,
                                                  transform: str) -> None:
    model, x = _tiny_model(kind, transform)
    save_model(tmp_path, "v1", model, a_card("v1"), "# v1\n")
    loaded = load_model(tmp_path, "v1")
    np.testing.assert_array_equal(loaded.probability(x), model.probability(x))
    bias, contributions = loaded.contributions(x)
    np.testing.assert_allclose(contributions, model.contributions(x)[1])
    # the reasons stay faithful after loading: bias plus contributions is the raw score
    np.testing.assert_allclose(bias + contributions.sum(axis=1), loaded.raw_score(x),
                               rtol=0, atol=1e-9)
    assert loaded.encoding == model.encoding
    assert loaded.calibration == model.calibration
    assert loaded.transform == model.transform
    assert len(loaded.seed_models) == len(model.seed_models)


def test_model_saved_by_an_older_leadscore_is_refused_with_a_way_out(tmp_path: Path) -> None:
    import skops.io as sio

    model, _ = _tiny_model("logistic")
    save_model(tmp_path, "v1", model, a_card("v1"), "# v1\n")
    sio.dump({"kind": "logistic", "estimator": model.estimator, "calibrator": None,
              "linear_baseline": model.linear_baseline}, tmp_path / "v1" / "model.skops")
    with pytest.raises(ModelError, match=r"older leadscore.*run `leadscore train` again"):
        load_model(tmp_path, "v1")


def test_current_pointer_round_trip(tmp_path: Path) -> None:
    assert current_version(tmp_path) is None
    set_current(tmp_path, "20260101-abc")
    assert current_version(tmp_path) == "20260101-abc"


def test_model_with_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    import skops.io as sio

    class Sneaky:
        pass

    folder = tmp_path / "v2"
    folder.mkdir()
    sio.dump({"kind": "logistic", "estimator": Sneaky()}, folder / "model.skops")
    with pytest.raises(ModelError, match="refusing to load unexpected types"):
        load_model(tmp_path, "v2")


def test_model_with_other_features_is_refused() -> None:
    card = a_card("v1", features=("a", "b"), libraries=LIBRARIES)
    with pytest.raises(ModelError, match="different feature set"):
        check_compatible(card, ["a", "c"], LIBRARIES)


def test_model_from_another_major_library_version_is_refused() -> None:
    card = a_card("v1", features=("a",), libraries={**LIBRARIES, "numpy": "1.26.4"})
    with pytest.raises(ModelError, match=r"numpy 1\.26\.4"):
        check_compatible(card, ["a"], LIBRARIES)


def test_minor_library_differences_are_accepted() -> None:
    card = a_card("v1", features=("a",), libraries={**LIBRARIES, "numpy": "2.0.0"})
    check_compatible(card, ["a"], LIBRARIES)


@pytest.mark.parametrize("version", ["../elsewhere", "/tmp/elsewhere", "a/b", "..", ".", ""])
def test_model_pointer_outside_the_registry_is_refused(tmp_path: Path, version: str) -> None:
    import json

    (tmp_path / "current.json").write_text(json.dumps({"version": version}), encoding="utf-8")
    with pytest.raises(ModelError, match=r"current\.json.*not a model version"):
        current_version(tmp_path)


def _saved(tmp_path: Path) -> Path:
    model, _ = _tiny_model("logistic")
    save_model(tmp_path, "v1", model, a_card("v1"), "# v1\n")
    return tmp_path / "v1" / "model.skops"


def _pickle_in_place(path: Path) -> None:
    import pickle

    path.write_bytes(pickle.dumps({"kind": "logistic"}))


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_payload(path: Path) -> None:
    import skops.io as sio

    sio.dump([1, 2, 3], path)


def _object_array(path: Path) -> None:
    import skops.io as sio

    sio.dump({"kind": "logistic", "estimator": np.array([object()], dtype=object)}, path)


@pytest.mark.parametrize("tamper", [_pickle_in_place, _truncated, _empty, _wrong_payload,
                                    _object_array])
def test_tampered_model_file_is_a_model_error_naming_the_file(tmp_path: Path, tamper) -> None:  # type: ignore[no-untyped-def]
    path = _saved(tmp_path)
    tamper(path)
    with pytest.raises(ModelError, match=r"model\.skops"):
        load_model(tmp_path, "v1")


def test_tampered_encoding_file_is_a_model_error_naming_the_file(tmp_path: Path) -> None:
    path = _saved(tmp_path).with_name("encoding.json")
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"encoding\.json"):
        load_model(tmp_path, "v1")


def test_unreadable_card_is_a_model_error_naming_the_file(tmp_path: Path) -> None:
    from flows.registry import read_card

    _saved(tmp_path).with_name("card.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(ModelError, match=r"card\.json"):
        read_card(tmp_path, "v1")


def _killed_train_writing(models: Path, version: str) -> Path:
    """What a `train` killed inside save_model leaves: a temporary folder and its lock file,
    with no process holding the lock."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "import flows.registry as r\n"
        "def die(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "r._write_model_folder = die\n"
        "r.save_model(Path(sys.argv[1]), sys.argv[2], None, {}, '')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(models), version], check=False)
    left = sorted(p for p in models.glob(f".{version}.*.tmp") if p.is_dir())
    assert len(left) == 1
    return left[0]


def test_temporary_folder_of_a_killed_train_is_removed_by_the_next(tmp_path: Path) -> None:
    from flows.registry import remove_abandoned_model_folders

    left = _killed_train_writing(tmp_path, "v9")
    removed = remove_abandoned_model_folders(tmp_path)
    assert not left.exists()
    assert not list(tmp_path.glob(".*.lock"))
    assert len(removed) == 1 and left.name in removed[0]


def test_temporary_folder_of_a_live_train_is_left_alone(tmp_path: Path) -> None:
    from flows.registry import _model_staging, remove_abandoned_model_folders

    with _model_staging(tmp_path, "v9") as staging:
        assert remove_abandoned_model_folders(tmp_path) == []
        assert staging.is_dir()
    assert not list(tmp_path.iterdir())

