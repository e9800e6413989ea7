"""A partitioned `score` run writes what the unpartitioned run writes, for several numbers of
partitions, one after another in this process or on a Dask LocalCluster; on the bundled sample
with a trained model, and on a generated export with duplicates."""

from __future__ import annotations

import importlib.util
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import psutil
import pytest
from polars.testing import assert_frame_equal

from flows.catalog import dataset_path
from scoring.records import RunManifest

pytestmark = pytest.mark.slow

BENCH_GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "generate.py"
# What must be the same; the rest of the manifest is when, where and how fast.
SAME_IN_MANIFEST = ("counts", "enrichment", "quarantine", "value_issues", "funnel", "model",
                    "duplicates", "warnings")
FRAMES = ("scores", "changes", "quarantine", "value_issues", "duplicates")


def _generated(folder: Path, leads: int) -> Path:
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH_GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(leads, 5, folder)
    return folder


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, default_config: Path) -> Path:
    """The bundled config, training the logistic candidate only (minutes faster on a loaded
    machine; scoring with a model is what these tests need, not the best model)."""
    text = default_config.read_text(encoding="utf-8")
    assert "\n[model]\n" in text
    path = tmp_path_factory.mktemp("partitioned-config") / "leadscore.toml"
    path.write_text(text.replace("\n[model]\n", '\n[model]\ncandidates = ["logistic"]\n'),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def models(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory, sample_dir: Path,
           config: Path, sample_export_date: date) -> Path:
    from flows.train import train_flow

    out = tmp_path_factory.mktemp("partitioned-train")
    result = train_flow(as_of=sample_export_date, inputs=sample_dir, config=config, out=out)
    assert result.status == "trained", result.message
    return out / "models"


def _score(out: Path, inputs: Path, as_of: date, config: Path, models: Path,
           partitions: int | None, task_runner: Any = None) -> RunManifest:
    from flows.score import score_flow

    run = score_flow if task_runner is None else score_flow.with_options(task_runner=task_runner)
    return run(as_of=as_of, inputs=inputs, config=config, out=out, models=models,
               partitions=partitions)


def assert_same_run(a: tuple[Path, RunManifest], b: tuple[Path, RunManifest],
                    as_of: date) -> None:
    (out_a, manifest_a), (out_b, manifest_b) = a, b
    for name in FRAMES:
        assert_frame_equal(pl.read_parquet(dataset_path(out_a, name, as_of)),
                           pl.read_parquet(dataset_path(out_b, name, as_of)))
    exports = [dataset_path(out, "exports", as_of).read_bytes() for out in (out_a, out_b)]
    assert exports[0] == exports[1]
    for section in SAME_IN_MANIFEST:
        assert getattr(manifest_a, section) == getattr(manifest_b, section), section
    assert manifest_a.outputs["scores"].rows == manifest_b.outputs["scores"].rows


@pytest.fixture(scope="module")
def sample_runs(models: Path, tmp_path_factory: pytest.TempPathFactory, sample_dir: Path,
                config: Path, sample_export_date: date
                ) -> dict[int, tuple[Path, RunManifest]]:
    # A week before the export: some leads are not created yet, some activities later.
    as_of = sample_export_date - timedelta(days=7)
    runs = {}
    for n in (1, 2, 7):
        out = tmp_path_factory.mktemp(f"sample-p{n}")
        runs[n] = (out, _score(out, sample_dir, as_of, config, models, n))
    return runs


@pytest.mark.parametrize("partitions", [2, 7])
def test_partitioned_sample_run_writes_what_the_whole_run_writes(
    sample_runs: dict[int, tuple[Path, RunManifest]], partitions: int, sample_export_date: date,
) -> None:
    as_of = sample_export_date - timedelta(days=7)
    assert sample_runs[1][1].model.status == "model"
    assert_same_run(sample_runs[1], sample_runs[partitions], as_of)


def test_a_partitioned_run_says_so_in_its_timings(
    sample_runs: dict[int, tuple[Path, RunManifest]],
) -> None:
    assert "features_and_predict" in sample_runs[2][1].timings_seconds
    assert "features" in sample_runs[1][1].timings_seconds


def test_partitioned_run_of_a_generated_export_with_duplicates_is_the_same(
    models: Path, tmp_path: Path, config: Path,
) -> None:
    inputs = _generated(tmp_path / "inputs", 4000)
    as_of = date(2026, 10, 31)
    whole = (tmp_path / "p1", _score(tmp_path / "p1", inputs, as_of, config, models, 1))
    assert whole[1].duplicates.merged > 50  # the generator's 3% duplicates
    for n in (3, 16):
        out = tmp_path / f"p{n}"
        assert_same_run(whole, (out, _score(out, inputs, as_of, config, models, n)),
                        as_of)


def test_against_a_previous_run_the_partitioned_run_is_the_same(
    models: Path, tmp_path: Path, sample_dir: Path, config: Path, sample_export_date: date,
) -> None:
    """The change feed (with leads gone since the previous run), the change columns and
    the report's changes section, compared after a previous run in the same output folder."""
    earlier, as_of = sample_export_date - timedelta(days=21), sample_export_date - timedelta(days=7)
    runs = {}
    for n in (1, 4):
        out = tmp_path / f"p{n}"
        _score(out, sample_dir, earlier, config, models, n)
        runs[n] = (out, _score(out, sample_dir, as_of, config, models, n))
    assert runs[1][1].changes.counts["upgraded"] > 0
    assert_same_run(runs[1], runs[4], as_of)
    # The page between its header (the run id) and footer.
    reports = [dataset_path(out, "report_html", as_of).read_text(encoding="utf-8")
               .split("</header>")[1].split("<footer")[0] for out, _ in runs.values()]
    assert reports[0] == reports[1]


def _descendants() -> set[int]:
    return {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}


def test_partitions_on_a_dask_local_cluster_write_what_the_single_process_run_writes(
    sample_runs: dict[int, tuple[Path, RunManifest]], models: Path, tmp_path: Path,
    sample_dir: Path, config: Path, sample_export_date: date,
) -> None:
    from distributed import LocalCluster
    from prefect_dask.task_runners import DaskTaskRunner

    as_of = sample_export_date - timedelta(days=7)
    before = _descendants()
    # Worker threads of this process: a worker process would import the whole project
    # (tens of seconds on this loaded machine); the tasks see only paths either way.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        runner = DaskTaskRunner(address=cluster.scheduler_address)
        manifest = _score(tmp_path, sample_dir, as_of, config, models, 3, runner)
        assert len(cluster.workers) == 2
        # The partitions ran as tasks on the cluster, not in the flow's own thread.
        ran = set(cluster.scheduler.task_prefixes)
        assert {"prepare_partition", "score_partition", "finish_partition"} <= ran, ran
    assert_same_run(sample_runs[1], (tmp_path, manifest), as_of)
    assert _descendants() <= before


def test_the_company_index_is_built_once_per_identities_file(tmp_path: Path) -> None:
    """Every partition of a run matches against one CompanyIndex; a rewritten identities file
    (a later run in the same process, a Dask worker kept between runs) gets its own."""
    from features.resolve.enrich import identities_of_snapshots, keyed_company_snapshots
    from flows.partitioned import PartitionLayout, shared_company_index

    def companies(*names: str) -> pl.DataFrame:
        raw = pl.LazyFrame({"business_id": [None] * len(names), "company_name": list(names),
                            "domain": [None] * len(names), "country": ["SE"] * len(names)})
        return identities_of_snapshots(keyed_company_snapshots(raw)).collect()

    layout = PartitionLayout(tmp_path, partitions=3)
    path = layout.shared("identities")
    path.parent.mkdir(parents=True)
    companies("Acme AB", "Nordic Tools").write_parquet(path)
    first = shared_company_index(layout)
    assert shared_company_index(layout) is first
    assert first.identities.height == 2
    companies("Acme AB", "Nordic Tools", "Bygg Partner").write_parquet(path)
    second = shared_company_index(layout)
    assert second is not first
    assert second.identities.height == 3
    assert sorted(second.fuzzy.table.get_column("_sort")) == ["acme", "bygg partner",
                                                              "nordic tools"]
