"""The funnel summary (manifest and console) and the run report (Markdown) for sales and ops."""

from __future__ import annotations

from datetime import date

import polars as pl

from features.schema import STAGES
from scoring.records import FunnelSummary, ModelUse, RunManifest, VsPreviousRun

TOP_ROWS = 10


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    counted = frame.group_by(column).agg(pl.len().alias("n")).sort(column, nulls_last=True)
    return {str(row[column]): int(row["n"]) for row in counted.iter_rows(named=True)}


def funnel_summary(scores: pl.DataFrame, previous_as_of: date | None) -> FunnelSummary:
    """Leads per stage, changes against the CRM and against the previous run.

    Needs: recommended_stage, previous_stage, changed_since_previous_run, stage_change,
    probability_status."""
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
    return FunnelSummary(
        leads=scores.height,
        stages={s: stages.get(s, 0) for s in STAGES},
        vs_crm=_counts(scores, "stage_change"),
        vs_previous_run=VsPreviousRun(previous_as_of=previous_as_of, changed=changed.height,
                                      new_leads=new_since, transitions=transitions),
        probability_status=_counts(scores, "probability_status"),
    )


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
        .head(TOP_ROWS)
        .select(
            "priority", "lead_id", "company_name", "icp_fit",
            pl.col("conversion_probability").alias("probability"),
            pl.col("reasons").list.head(3).list.join("; ").alias("top reasons"),
        )
    )


def _model_line(model: ModelUse) -> str:
    return str(model.version) if model.status == "model" else f"none ({model.note})"


def render_report(scores: pl.DataFrame, manifest: RunManifest) -> str:
    """A Markdown report: funnel, changes, who to call first, data quality.

    Needs (scores): recommended_stage, priority, lead_id, company_name, icp_fit,
    conversion_probability, reasons."""
    funnel = manifest.funnel
    parts = [
        f"# leadscore run report: as of {manifest.run.as_of.isoformat()}\n",
        f"{funnel.leads} leads scored. Model: {_model_line(manifest.model)}.\n",
        "## Funnel\n",
        _table(pl.DataFrame({"stage": list(funnel.stages), "leads": list(funnel.stages.values())})),
        "\n## Against the CRM's stage\n",
        _table(pl.DataFrame({"change": list(funnel.vs_crm),
                             "leads": list(funnel.vs_crm.values())})),
        "\n## Call first: opportunities\n",
        _table(_top(scores, "opportunity")),
        "\n## Next: prospects\n",
        _table(_top(scores, "prospect")),
        "\n## Data quality\n",
        _data_quality(manifest),
    ]
    return "\n".join(parts)


def _data_quality(manifest: RunManifest) -> str:
    lines = []
    for source, counts in manifest.counts.items():
        detail = ", ".join(f"{k} {v}" for k, v in counts.buckets.items())
        lines.append(f"- {source}: {counts.read} rows read ({detail})")
    enrichment = manifest.enrichment
    lines.append(f"- company match rate: {enrichment.match_rate:.1%}; "
                 + ", ".join(f"{m} {v.count}" for m, v in enrichment.by_method.items()))
    lines.append("- company data older than the configured limit: "
                 f"{enrichment.firmographics.stale} leads")
    lines.extend(f"- WARNING: {warning}" for warning in manifest.warnings)
    if manifest.duplicates.needs_review:
        lines.append(f"- merged duplicates to review: {manifest.duplicates.needs_review} "
                     "(different names share one free-mail address; `needs_review` and "
                     "`review_reason` in duplicates/)")
    for source, reasons in manifest.quarantine.by_source_and_reason.items():
        for reason, rows in list(reasons.items())[:5]:
            lines.append(f"- quarantined from {source}: {rows} x {reason}")
    return "\n".join(lines) + "\n"
