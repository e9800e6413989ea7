"""Reading sources and configs, and finding completed runs (publishing: test_publish.py)."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import Config
from features.errors import ConfigError, InputError
from features.schema import OPPORTUNITIES
from flows.catalog import (
    DATASETS,
    OUTPUT_KINDS,
    OUTPUTS,
    LocalStorage,
    completed_runs,
    dataset_path,
    load_config,
    previous_scores,
    read_source,
    write_json,
    write_parquet,
)
from flows.publish import publish, staging_folder

AS_OF = date(2026, 3, 1)


def _stage_run(root: Path, as_of: date, stage: str) -> None:
    """Publish a minimal run (scores and manifest) for `as_of`."""
    with staging_folder(root) as staging:
        scores = pl.DataFrame({"lead_id": ["L1"], "recommended_stage": [stage],
                               "conversion_probability": [0.5]})
        write_parquet(scores, dataset_path(staging, "scores", as_of))
        write_json({"as_of": as_of.isoformat()}, dataset_path(staging, "manifest", as_of))
        publish(staging, root, as_of)


def test_a_run_without_manifest_is_not_complete(tmp_path: Path) -> None:
    frame = pl.DataFrame({"lead_id": ["L1"], "recommended_stage": ["lead"]})
    write_parquet(frame, dataset_path(tmp_path, "scores", AS_OF))
    assert completed_runs(tmp_path) == []
    assert previous_scores(tmp_path, date(2026, 4, 1)) == (None, None)


def test_previous_scores_is_the_latest_complete_run_before_as_of(tmp_path: Path) -> None:
    for day, stage in ((date(2026, 1, 1), "lead"), (date(2026, 2, 1), "prospect"),
                       (date(2026, 3, 1), "customer")):
        _stage_run(tmp_path, day, stage)
    when, frame = previous_scores(tmp_path, date(2026, 3, 1))
    assert when == date(2026, 2, 1)
    assert frame is not None
    assert frame.collect()["recommended_stage"].to_list() == ["prospect"]


def test_the_catalog_names_every_input_source_and_output_once() -> None:
    from features.schema import SOURCES

    assert [d.name for d in DATASETS.values() if d.is_input] == list(SOURCES)
    paths = [dataset_path(Path("out"), name, AS_OF) for name in OUTPUTS]
    assert len(set(paths)) == len(paths)
    assert OUTPUT_KINDS[-1] == "runs", "the manifest's folder is placed last when publishing"
    assert dataset_path(Path("out"), "exports", AS_OF) == Path(
        "out/exports/as_of=2026-03-01/leads_for_crm.csv")


def test_local_storage_writes_each_output_in_its_catalog_format(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    frame = pl.DataFrame({"lead_id": ["L1", "L2"], "recommended_stage": ["lead", "prospect"]})
    exported = storage.write("exports", AS_OF, frame)
    assert exported.rows == 2 and exported.sha256 is not None
    # Text cells are quoted (and formula-safe): `flows.catalog.write_csv`.
    assert (tmp_path / exported.path).read_text().startswith('"lead_id","recommended_stage"\n')
    storage.write("scores", AS_OF, frame)
    assert_frame_equal(pl.read_parquet(dataset_path(tmp_path, "scores", AS_OF)), frame)
    assert storage.read_frame("scores", AS_OF, ["lead_id"]) is not None
    assert storage.read_frame("scores", date(2026, 1, 1), ["lead_id"]) is None
    assert storage.write("report", AS_OF, "# report\n").rows is None
    with pytest.raises(TypeError, match="'report' is markdown"):
        storage.write("report", AS_OF, frame)
    with pytest.raises(KeyError, match="no output dataset 'nope'"):
        storage.write("nope", AS_OF, frame)


def test_config_hash_ignores_comments_and_key_order(tmp_path: Path) -> None:
    one = tmp_path / "one.toml"
    two = tmp_path / "two.toml"
    one.write_text("[stages]\nsignal_window_days = 20\nopportunity_min_fit = 30\n")
    two.write_text("# same meaning\n[stages]\nopportunity_min_fit = 30\nsignal_window_days = 20\n")
    assert load_config(one)[1] == load_config(two)[1]
    three = tmp_path / "three.toml"
    three.write_text("[stages]\nsignal_window_days = 21\n")
    assert load_config(three)[1] != load_config(one)[1]


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_absent_optional_source_reads_as_an_empty_typed_frame(tmp_path: Path) -> None:
    source = read_source(tmp_path, OPPORTUNITIES, Config(), tmp_path / "work")
    frame = source.validated.valid.collect()
    assert frame.height == 0
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    assert source.file_info.to_json() == {"present": False, "rows": 0}


def test_absent_required_source_names_the_expected_file(tmp_path: Path) -> None:
    from features.schema import LEADS

    with pytest.raises(InputError, match=r"no 'leads' file \(expected leads.csv"):
        read_source(tmp_path, LEADS, Config(), tmp_path / "work")


def test_manifest_json_is_readable(tmp_path: Path) -> None:
    write_json({"when": date(2026, 1, 2)}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"when": "2026-01-02"}


def test_stray_quote_in_a_csv_is_an_input_error_naming_file_and_line(tmp_path: Path) -> None:
    from flows.catalog import read_sources
    from flows.score import materialize, prepare_inputs

    (tmp_path / "leads.csv").write_text(
        "lead_id,created_at,title\nL1,2025-01-01,TV 32\" screen\nL2,2025-01-02,CEO\n",
        encoding="utf-8",
    )
    (tmp_path / "activities.csv").write_text(
        "lead_id,activity_type,occurred_at\nL1,email_open,2025-01-03\n", encoding="utf-8"
    )
    sources = read_sources(tmp_path, Config(), tmp_path / "work")
    with pytest.raises(InputError, match=r"^leads.csv: cannot be read .*line 2 has an unbalanced"):
        materialize.fn(sources, prepare_inputs.fn(sources, Config(), date(2026, 1, 1)))




@pytest.mark.parametrize("write", ["parquet", "csv", "json", "text"])
def test_a_full_disk_is_one_output_error_naming_the_path(write: str) -> None:
    from features.errors import OutputError
    from flows.catalog import write_csv, write_text

    full = Path("/dev/full")  # every write to it fails with ENOSPC
    if not full.exists():
        pytest.skip("needs /dev/full")
    frame = pl.DataFrame({"a": list(range(50_000))})
    writers = {"parquet": lambda: write_parquet(frame, full), "csv": lambda: write_csv(frame, full),
               "json": lambda: write_json({"a": "x" * 100_000}, full),
               "text": lambda: write_text("x" * 100_000, full)}
    with pytest.raises(OutputError, match=r"cannot write /dev/full: No space left on device; "
                                          r"free some space"):
        writers[write]()


def test_a_read_only_output_is_one_output_error_naming_the_path(tmp_path: Path) -> None:
    import errno

    from features.errors import OutputError
    from flows.catalog import writing

    target = tmp_path / "out" / "scores"
    with pytest.raises(OutputError, match=r"cannot write .*/out/scores: Read-only file system; "
                                          r"choose a writable --out"), writing(target):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(target))


def test_other_os_errors_are_not_mistaken_for_output_errors(tmp_path: Path) -> None:
    import errno

    from flows.catalog import writing

    with pytest.raises(FileNotFoundError), writing(tmp_path):
        raise FileNotFoundError(errno.ENOENT, "gone", "x")
