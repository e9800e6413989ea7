from __future__ import annotations

from datetime import date

import polars as pl

from scoring.records import RunManifest
from scoring.report_html import (
    HistoricConversion,
    ReportInputs,
    historic_conversion,
    render_html_report,
)


def _scores() -> pl.DataFrame:
    return pl.DataFrame({
        "lead_id": ["L1", "L2", "L3"],
        "as_of": [date(2026, 11, 1)] * 3,
        "recommended_stage": ["opportunity", "lead", "customer"],
        "priority": [1, 1, None],
        "priority_score": [80.0, 20.0, None],
        "icp_fit": [90.0, 30.0, 50.0],
        "icp_tier": ["A", "D", "C"],
        "icp_matched": [["software (+30)"], [], ["software (+30)"]],
        "icp_against": [[], ["competitor (-20)"], []],
        "conversion_probability": [0.7, 0.1, 0.3],
        "reasons": [["Buying signal: requested a demo 3 days ago"], [], []],
        "company_name": ["<b>Acme</b> & Co", "Beta", None],
        "firmographics_age_days": [10, None, 400],
        "industry": ["Software", "Retail", None],
        "country": ["FI", "SE", "FI"],
    })


def _manifest() -> RunManifest:
    return RunManifest.from_json({
        "run": {"as_of": "2026-11-01", "run_id": "abc", "leadscore_version": "0.1.0",
                "started_at": "2026-11-01T02:00:00+00:00"},
        "inputs": {},
        "config": {"path": "leadscore.toml", "sha256": "x"},
        "timings_seconds": {},
        "model": {"status": "no_model", "version": None, "note": "no trained model yet"},
        "funnel": {"leads": 3, "stages": {"lead": 1, "prospect": 0, "opportunity": 1,
                                          "customer": 1, "disqualified": 0},
                   "vs_crm": {"same": 3}, "probability_status": {"no_model": 3},
                   "vs_previous_run": {"previous_as_of": "2026-10-25", "changed": 1,
                                       "new_leads": 1, "transitions": {"lead -> opportunity": 1}}},
        "enrichment": {"leads": 3, "matched": 2, "match_rate": 0.5,
                       "by_method": {"domain": {"count": 2, "rate": 0.66}},
                       "unmatched_reasons": {"no company data": 1}, "ambiguous_leads": 0,
                       "ambiguous_company_domains": 0, "ambiguous_company_names": 0,
                       "firmographics": {"with_company_data": 2, "stale": 1,
                                         "median_age_days": 200.0}},
        "counts": {"leads": {"read": 4, "scored": 3, "merged": 1}},
        "quarantine": {"rows": 2, "by_source_and_reason": {"leads": {"bad date": 2}}},
        "value_issues": 0,
    })


def test_report_has_every_section_and_escapes_export_values() -> None:
    previous = pl.DataFrame({"lead_id": ["L1", "L9"], "recommended_stage": ["lead", "lead"],
                             "conversion_probability": [0.2, 0.5], "priority_score": [1.0, 2.0]})
    page = render_html_report(ReportInputs(_scores(), previous, _manifest(), None,
                                           HistoricConversion(10, 4, 3, 1)))
    assert "&lt;b&gt;Acme&lt;/b&gt; &amp; Co" in page and "<b>Acme</b>" not in page
    for section in ("funnel", "changes", "movers", "distributions", "icp", "segments",
                    "model", "enrichment", "quality"):
        assert f"<section id='{section}'>" in page
    assert "40.0% historically, leads that reached an opportunity" in page
    assert "<b>1</b> are gone" in page  # L9 is no longer scored
    assert "+50.0 pts" in page          # L1 moved from 20% to 70%
    assert "No conversion model" in page


def test_historic_conversion_counts_leads_not_deals() -> None:
    features = pl.DataFrame({"won_deal": [True, False, False, False],
                             "lost_opportunities": [2, 1, 0, 0],
                             "open_opportunity": [False, False, True, False]})
    history = historic_conversion(features)
    assert history == HistoricConversion(leads=4, with_opportunity=3, closed=2, won=1)
    assert history.opportunity_to_customer == 0.5
