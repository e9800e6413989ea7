"""The reports read from `report_rows`, built piece by piece, exactly what they read from the
whole scored frame: the same Markdown and HTML, whatever the pieces."""

from __future__ import annotations

import random
from itertools import pairwise

import polars as pl
import pytest

from scoring.report import TOP_ROWS, render_report
from scoring.report_html import ReportInputs, historic_conversion, render_html_report
from scoring.report_rows import REPORT_COLUMNS, SEGMENT_COLUMNS, report_rows
from scoring.rules.stage import priority_rank
from tests.scoring.test_report_html import _manifest

STAGES = ["lead", "prospect", "opportunity", "customer", "disqualified"]


def _finished(leads: int, seed: int) -> pl.DataFrame:
    """Finished scored rows, sorted by lead_id, with moves against a previous run."""
    rng = random.Random(seed)
    rows = []
    for i in range(leads):
        probability = round(rng.random(), 3)
        rows.append({
            "lead_id": f"L{i:05d}",
            "recommended_stage": rng.choice(STAGES),
            "priority_score": float(rng.randint(0, 60)),  # many ties: ranked by lead_id
            "icp_fit": float(rng.randint(0, 100)),
            "icp_tier": rng.choice("ABCD"),
            "icp_matched": rng.sample(["software (+30)", "size (+20)", "nordic (+10)"],
                                      rng.randint(0, 3)),
            "conversion_probability": probability,
            "probability_status": "scored",
            "previous_stage": rng.choice([None, *STAGES]),
            "previous_probability": rng.choice([None, probability,
                                                round(rng.random(), 3)]),
            "changed_since_previous_run": rng.choice([None, True, False]),
            "change": rng.choice(["new", "upgraded", "downgraded", "unchanged"]),
            "stage_change": rng.choice(["same", "upgrade", "downgrade"]),
            "company_name": f"Company {i}",
            "firmographics_age_days": rng.choice([None, rng.randint(0, 900)]),
            "firmographics_stale": rng.choice([None, True, False]),
            "reasons": [f"reason {i} {k}" for k in range(rng.randint(1, 4))],
            "industry": rng.choice(["Software", "Retail", None]),
            "country": rng.choice(["FI", "SE"]),
        })
    frame = pl.DataFrame(rows).with_columns(
        pl.when(pl.col("recommended_stage").is_in(["customer", "disqualified"]))
        .then(pl.lit(None, pl.Float64)).otherwise(pl.col("priority_score"))
        .alias("priority_score"))
    return frame.with_columns(priority_rank()).sort("lead_id")


def _pieces(frame: pl.DataFrame, count: int) -> list[pl.DataFrame]:
    bounds = sorted({0, frame.height, *random.Random(count).sample(range(frame.height),
                                                                    count - 1)})
    return [frame[a:b] for a, b in pairwise(bounds)]


def _html(rows: pl.DataFrame, previous: pl.DataFrame) -> str:
    return render_html_report(ReportInputs(
        rows, previous, _manifest(), None, historic_conversion(pl.DataFrame(
            {"won_deal": [True], "open_opportunity": [False], "lost_opportunities": [0]}))))


@pytest.mark.parametrize("pieces", [1, 3, 17])
def test_reports_from_report_rows_equal_reports_from_every_scored_row(pieces: int) -> None:
    whole = _finished(2_000, seed=pieces)
    previous = whole.filter(pl.col("previous_probability").is_not_null()).select(
        "lead_id", pl.col("previous_stage").fill_null("lead").alias("recommended_stage"),
        pl.col("previous_probability").alias("conversion_probability"),
        pl.lit(1.0).alias("priority_score"))
    # The segments as the flow holds them (categories), of every lead, for each piece.
    segments = whole.select("lead_id", pl.col(SEGMENT_COLUMNS).cast(pl.Categorical))
    rows = pl.concat([report_rows(piece, segments) for piece in _pieces(whole, pieces)],
                     rechunk=False)
    full = whole.select(*REPORT_COLUMNS, *SEGMENT_COLUMNS)

    assert rows.columns == full.columns
    assert render_report(rows, _manifest()) == render_report(full, _manifest())
    assert _html(rows, previous) == _html(full, previous)
    # ... and the rows do leave most reasons out (they are most of a scored row's bytes).
    assert rows["reasons"].null_count() > 0.8 * rows.height
    assert rows["reasons"].estimated_size() < 0.5 * full["reasons"].estimated_size()
    assert rows.filter(pl.col("priority") <= TOP_ROWS)["reasons"].null_count() == 0
