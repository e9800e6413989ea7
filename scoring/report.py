"""The funnel summary (manifest and console) and the run report (Markdown) for sales and ops."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from features.schema import STAGES

_TOP_ROWS = 10


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    counted = frame.group_by(column).agg(pl.len().alias("n")).sort(column, nulls_last=True)
    return {str(row[column]): int(row["n"]) for row in counted.iter_rows(named=True)}


def funnel_summary(scores: pl.DataFrame, previous_as_of: date | None) -> dict[str, Any]:
    """Leads per stage, changes against the CRM and against the previous run."""
    stages = _counts(scores, "recommended_stage")
    changed = scores.filter(pl.col("changed_since_previous_run").fill_null(False))
    transitions = _counts(
        changed.with_columns(
            (pl.col("previous_stage") + pl.lit(" -> ") + pl.col("recommended_stage"))
            .alias("transition")
        ),
        "transition",
    )
    new_since = scores.filter(pl.col("previous_stage").is_null()).height if previous_as_of else 0
    return {
        "leads": scores.height,
        "stages": {s: stages.get(s, 0) for s in STAGES},
        "vs_crm": _counts(scores, "stage_change"),
        "vs_previous_run": {
            "previous_as_of": previous_as_of.isoformat() if previous_as_of else None,
            "changed": changed.height,
            "new_leads": new_since,
            "transitions": transitions,
        },
        "probability_status": _counts(scores, "probability_status"),
    }


def format_console(manifest: dict[str, Any], out_root: str) -> str:
    """The few lines `leadscore score` prints: the funnel, what changed, where outputs are."""
    funnel = manifest["funnel"]
    as_of = manifest["run"]["as_of"]
    lines = [f"leadscore: {funnel['leads']} leads scored as of {as_of}"]
    lines.append("  funnel: " + ", ".join(f"{n} {s}" for s, n in funnel["stages"].items()))
    vs_crm = funnel["vs_crm"]
    lines.append("  vs CRM stage: " + ", ".join(f"{n} {k}" for k, n in vs_crm.items()))
    previous = funnel["vs_previous_run"]
    if previous["previous_as_of"]:
        moves = ", ".join(f"{n} {t}" for t, n in list(previous["transitions"].items())[:6])
        lines.append(f"  since the run of {previous['previous_as_of']}: "
                     f"{previous['changed']} changed stage"
                     + (f" ({moves})" if moves else "") + f", {previous['new_leads']} new")
    else:
        lines.append("  since the previous run: no earlier run in this output folder")
    model = manifest["model"]
    if model["status"] == "model":
        lines.append(f"  model: {model['version']}")
    else:
        lines.append(f"  WARNING: {model['note']}; every row says so")
    counts = manifest["counts"]["leads"]
    lines.append(
        f"  leads in: {counts['read']} = {counts.get('scored', 0)} scored + "
        f"{counts.get('merged', 0)} merged duplicates + "
        f"{counts.get('quarantined_by_validation', 0) + counts.get('created_after_as_of', 0)}"
        " quarantined"
    )
    lines.append(f"  outputs: {out_root}/{{scores,exports,quarantine,duplicates,reports,runs}}"
                 f"/as_of={as_of}/")
    return "\n".join(lines)


def _table(frame: pl.DataFrame) -> str:
    if frame.height == 0:
        return "_none_\n"
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join("" if v is None else str(v).replace("|", "/") for v in row) + " |"
        for row in frame.iter_rows()
    ]
    return "\n".join([header, rule, *rows]) + "\n"


def _top(scores: pl.DataFrame, stage: str) -> pl.DataFrame:
    return (
        scores.filter(pl.col("recommended_stage") == stage)
        .sort("priority")
        .head(_TOP_ROWS)
        .select(
            "priority", "lead_id", "company_name", "icp_fit",
            pl.col("conversion_probability").alias("probability"),
            pl.col("reasons").list.head(3).list.join("; ").alias("top reasons"),
        )
    )


def render_report(scores: pl.DataFrame, manifest: dict[str, Any]) -> str:
    """A Markdown report: funnel, changes, who to call first, data quality."""
    funnel = manifest["funnel"]
    run = manifest["run"]
    parts = [
        f"# leadscore run report: as of {run['as_of']}\n",
        f"{funnel['leads']} leads scored. Model: "
        + (manifest["model"]["version"] if manifest["model"]["status"] == "model"
           else f"none ({manifest['model']['note']})") + ".\n",
        "## Funnel\n",
        _table(pl.DataFrame({"stage": list(funnel["stages"]),
                             "leads": list(funnel["stages"].values())})),
        "\n## Against the CRM's stage\n",
        _table(pl.DataFrame({"change": list(funnel["vs_crm"]),
                             "leads": list(funnel["vs_crm"].values())})),
        "\n## Call first: opportunities\n",
        _table(_top(scores, "opportunity")),
        "\n## Next: prospects\n",
        _table(_top(scores, "prospect")),
        "\n## Data quality\n",
        _data_quality(manifest),
    ]
    return "\n".join(parts)


def _data_quality(manifest: dict[str, Any]) -> str:
    lines = []
    for source, counts in manifest["counts"].items():
        detail = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "read")
        lines.append(f"- {source}: {counts['read']} rows read ({detail})")
    enrichment = manifest["enrichment"]
    lines.append(f"- company match rate: {enrichment['match_rate']:.1%}; "
                 + ", ".join(f"{m} {v['count']}" for m, v in enrichment["by_method"].items()))
    firmographics = enrichment["firmographics"]
    lines.append(f"- company data older than the configured limit: {firmographics['stale']} leads")
    for source, reasons in manifest["quarantine"]["by_source_and_reason"].items():
        for reason, rows in list(reasons.items())[:5]:
            lines.append(f"- quarantined from {source}: {rows} x {reason}")
    return "\n".join(lines) + "\n"
