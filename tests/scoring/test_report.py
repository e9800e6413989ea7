"""The run report: what a run says about itself (console summary: tests/flows/test_console.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from features.schema import STAGES
from scoring.records import (
    ConfigRef,
    DuplicatesSummary,
    EnrichmentSummary,
    Firmographics,
    ModelUse,
    QuarantineSummary,
    RunInfo,
    RunManifest,
    SourceCounts,
)
from scoring.report import funnel_summary, render_report


def manifest(**sections: Any) -> RunManifest:
    """A minimal manifest of a run of zero leads, with `sections` replacing its parts."""
    scores = pl.DataFrame(schema={"recommended_stage": pl.String, "stage_change": pl.String,
                                  "changed_since_previous_run": pl.Boolean,
                                  "previous_stage": pl.String,
                                  "probability_status": pl.String})
    base = RunManifest(
        run=RunInfo(as_of=date(2026, 11, 1), run_id="r", started_at=datetime(2026, 11, 1),
                    leadscore_version="0"),
        inputs={}, config=ConfigRef(path="data/leadscore.toml", sha256="x"),
        model=ModelUse(status="model", version="v1"),
        counts={"leads": SourceCounts(read=0)},
        enrichment=EnrichmentSummary(
            leads=0, matched=0, match_rate=0.0, by_method={}, unmatched_reasons={},
            ambiguous_leads=0, ambiguous_company_domains=0, ambiguous_company_names=0,
            firmographics=Firmographics(with_company_data=0, stale=0, median_age_days=None)),
        quarantine=QuarantineSummary(rows=0, by_source_and_reason={}),
        value_issues=0, funnel=funnel_summary(scores, None), timings_seconds={},
    )
    return base.model_copy(update=sections)


def test_merges_to_review_are_in_the_report() -> None:
    flagged = manifest(duplicates=DuplicatesSummary(merged=3, needs_review=2))
    scores = pl.DataFrame(schema={"recommended_stage": pl.String, "priority": pl.Int64,
                                  "lead_id": pl.String, "company_name": pl.String,
                                  "icp_fit": pl.Float64, "conversion_probability": pl.Float64,
                                  "reasons": pl.List(pl.String)})
    assert "merged duplicates to review: 2" in render_report(scores, flagged)


def test_funnel_of_no_scores_lists_every_stage() -> None:
    assert manifest().funnel.stages == dict.fromkeys(STAGES, 0)
