"""The change feed: each lead against the previous published run."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from scoring.changes import (
    CHANGES,
    FEED_COLUMNS,
    change_counts,
    change_feed,
    changes_only,
    removal_reasons,
    removed_leads,
    with_change,
)


def run(rows: dict[str, tuple[str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"lead_id": list(rows), "recommended_stage": [s for s, _ in rows.values()],
         "conversion_probability": [p for _, p in rows.values()]},
        schema={"lead_id": pl.String, "recommended_stage": pl.String,
                "conversion_probability": pl.Float64},
    )


def test_without_a_previous_run_every_lead_is_new_and_nothing_is_compared() -> None:
    out = with_change(run({"a": ("lead", 0.1)}).lazy(), None).collect()
    assert out["change"].to_list() == ["new"]
    assert out["previous_stage"].to_list() == [None]
    assert out["changed_since_previous_run"].to_list() == [None]


def test_stage_moves_up_or_down_the_funnel_or_stays() -> None:
    current = run({"up": ("opportunity", 0.6), "down": ("disqualified", None),
                   "same": ("prospect", 0.3), "newcomer": ("lead", 0.05),
                   "won": ("customer", 0.9)})
    previous = run({"up": ("lead", 0.2), "down": ("prospect", 0.4), "same": ("prospect", 0.25),
                    "won": ("opportunity", 0.7), "gone": ("lead", 0.1)})
    out = with_change(current.lazy(), previous.lazy()).collect().sort("lead_id")
    assert dict(zip(out["lead_id"], out["change"], strict=True)) == {
        "down": "downgraded", "newcomer": "new", "same": "unchanged", "up": "upgraded",
        "won": "upgraded"}
    assert dict(zip(out["lead_id"], out["previous_probability"], strict=True)) == {
        "down": 0.4, "newcomer": None, "same": 0.25, "up": 0.2, "won": 0.7}
    assert out.filter(pl.col("lead_id") == "same")["changed_since_previous_run"].item() is False


def test_a_removed_lead_says_whether_it_was_merged_quarantined_or_deleted() -> None:
    previous = run({"kept": ("lead", 0.1), "dup": ("prospect", 0.3), "bad": ("lead", None),
                    "gone": ("opportunity", 0.8)})
    duplicates = pl.DataFrame({"lead_id": ["dup"], "survivor_id": ["kept"],
                               "duplicate_rule": ["email"]})
    quarantine = pl.DataFrame({
        "source": ["leads", "activities"], "source_file": ["leads.csv", "activities.csv"],
        "source_row": [4, 9], "reason": ["created_at is not a date", "refers to no lead"],
        "record": ['{"lead_id": "bad"}', '{"lead_id": "gone"}'],
    })
    out = removed_leads(previous, pl.Series(["kept"]), removal_reasons(duplicates, quarantine))
    assert out.columns == list(FEED_COLUMNS)
    assert dict(zip(out["lead_id"], out["removed_reason"], strict=True)) == {
        "bad": "quarantined: created_at is not a date",
        "dup": "merged into kept",
        "gone": "deleted: no longer in the leads export",
    }
    assert set(out["change"]) == {"removed"}
    assert out.filter(pl.col("lead_id") == "gone")["previous_stage"].item() == "opportunity"
    assert out.filter(pl.col("lead_id") == "gone")["previous_probability"].item() == 0.8


def test_the_feed_holds_every_lead_of_both_runs_and_counts_every_category() -> None:
    current = with_change(run({"a": ("lead", 0.1), "b": ("prospect", 0.2)}).lazy(),
                          run({"a": ("lead", 0.1), "c": ("lead", 0.1)}).lazy()).collect()
    removed = removed_leads(run({"a": ("lead", 0.1), "c": ("lead", 0.1)}), current["lead_id"],
                            removal_reasons(pl.DataFrame(schema={"lead_id": pl.String,
                                                                 "survivor_id": pl.String}),
                                            pl.DataFrame()))
    feed = change_feed(current, removed)
    assert feed["lead_id"].to_list() == ["a", "b", "c"]
    assert feed["change"].to_list() == ["unchanged", "new", "removed"]
    counts = change_counts(feed)
    assert list(counts) == list(CHANGES)
    assert counts == {"new": 1, "upgraded": 0, "downgraded": 0, "unchanged": 1, "removed": 1}


def test_changes_only_keeps_new_upgraded_and_downgraded_rows() -> None:
    scores = pl.DataFrame({"lead_id": ["a", "b", "c", "d"],
                           "change": ["unchanged", "new", "upgraded", "downgraded"]})
    assert_frame_equal(changes_only(scores), scores.slice(1, 3))
