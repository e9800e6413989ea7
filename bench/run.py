"""Benchmark: the nightly `score` flow (and `train`) on a generated export of N leads.

    uv run python bench/run.py --leads 1000000            # generate (cached), train, score
    uv run python bench/run.py --leads 200000 --skip-train

Prints and writes `bench/out/results-<N>.json`: wall time per flow and per step (from the run
manifest), peak memory of this process (the Prefect temporary server runs in a subprocess and is
not counted), the cost of the per-lead reasons against the whole scoring run, and whether each
target below is met. Targets are for a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flows  # noqa: E402,F401  (Prefect environment defaults before Prefect is imported)
from flows.catalog import load_config  # noqa: E402

EXPORT_DATE = date(2026, 11, 1)
CONFIG = ROOT / "data" / "leadscore.toml"
# The goal is a nightly run over ten million leads (about 240 million activities) on a 2-core,
# 24 GiB machine: within an hour (360 s per million leads), in at most 2.4 GiB per million
# leads; and per-lead reasons within a quarter of the scoring time.
TARGETS = {"score_seconds_per_million_leads": 360.0, "peak_gib_per_million_leads": 2.4,
           "reasons_share_of_score": 0.25}


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def ensure_sample(leads: int, seed: int, folder: Path) -> dict[str, Any]:
    from samplegen import write_sample

    marker = folder / "sample.json"
    if marker.is_file():
        info = json.loads(marker.read_text())
        if info.get("leads") == leads and info.get("seed") == seed:
            return dict(info)
    start = time.perf_counter()
    info = write_sample(folder, leads=leads, seed=seed, export_date=EXPORT_DATE)
    info["generate_seconds"] = round(time.perf_counter() - start, 1)
    return dict(info)


def reasons_cost(inputs: Path, out: Path) -> dict[str, float]:
    """Time probabilities alone, then contributions + phrases, on the scoring features."""
    from flows.models import model_verdict
    from flows.score import materialize, prepare_inputs, read_inputs, score_features
    from scoring.conversion.explain import top_factors

    cfg, _ = load_config(CONFIG)
    verdict = model_verdict(out / "models", cfg)
    if verdict.model is None:
        return {}
    work = out / ".bench-work"
    sources = read_inputs.fn(inputs, cfg, work)
    held = materialize.fn(sources, prepare_inputs.fn(sources, cfg, EXPORT_DATE))
    features = score_features.fn(held.inputs, cfg, EXPORT_DATE)
    model = verdict.model
    start = time.perf_counter()
    matrix = model.encoding.matrix(features)
    model.probability(matrix)
    probability_seconds = time.perf_counter() - start
    start = time.perf_counter()
    _, contributions = model.contributions(matrix)
    top_factors(features, contributions, model.encoding)
    return {"probability_seconds": round(probability_seconds, 3),
            "reasons_seconds": round(time.perf_counter() - start, 3),
            "model_kind": model.kind}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()

    base = ROOT / "bench" / "out"
    inputs = base / f"data-{args.leads}"
    out = base / f"run-{args.leads}"
    info = ensure_sample(args.leads, args.seed, inputs)
    results: dict[str, Any] = {"leads": args.leads, "rows": info["rows"],
                               "generate_seconds": info.get("generate_seconds")}

    from flows.runtime import prefect_runtime
    from flows.score import score_flow
    from flows.train import train_flow

    with prefect_runtime():
        if not args.skip_train:
            start = time.perf_counter()
            trained = train_flow(as_of=EXPORT_DATE, inputs=inputs, config=CONFIG, out=out)
            results["train_seconds"] = round(time.perf_counter() - start, 1)
            results["train_status"] = trained["status"]
        start = time.perf_counter()
        manifest = score_flow(as_of=EXPORT_DATE - timedelta(days=1), inputs=inputs,
                              config=CONFIG, out=out)
        results["score_seconds"] = round(time.perf_counter() - start, 1)
    results["score_steps_seconds"] = manifest["timings_seconds"]
    results["peak_gib"] = round(_peak_gib(), 2)
    results["reasons"] = reasons_cost(inputs, out)
    millions = args.leads / 1e6
    steps = sum(manifest["timings_seconds"].values())
    checks = {
        "score_seconds_per_million_leads": round(results["score_seconds"] / millions, 1),
        "peak_gib_per_million_leads": round(results["peak_gib"] / millions, 2),
    }
    if results["reasons"]:
        checks["reasons_share_of_score"] = round(results["reasons"]["reasons_seconds"] / steps, 3)
    results["targets"] = {k: {"measured": v, "target": TARGETS[k], "met": v <= TARGETS[k]}
                          for k, v in checks.items()}
    base.mkdir(parents=True, exist_ok=True)
    (base / f"results-{args.leads}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0 if all(t["met"] for t in results["targets"].values()) else 1


if __name__ == "__main__":
    pl.Config.set_tbl_rows(5)
    sys.exit(main())
