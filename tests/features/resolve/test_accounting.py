from __future__ import annotations

import polars as pl
import pytest

from features.errors import LeadscoreError
from features.resolve.accounting import AccountingError, reconcile


def buckets(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"source": pl.String, "bucket": pl.String, "rows": pl.Int64}, orient="row"
    )


LEAD_BUCKETS = (
    ("leads", "created_after_as_of", 1),
    ("leads", "merged", 2),
    ("leads", "survivor", 5),
)


def test_balanced_sources_are_reported_with_every_bucket_sorted_by_name() -> None:
    report = reconcile(
        {"leads": 10, "activities": 7},
        {"leads": 2},
        buckets(*LEAD_BUCKETS, ("activities", "used", 4), ("activities", "unlinked", 3)),
        scored_leads=5,
    )
    assert report == {
        "leads": {"read": 10, "created_after_as_of": 1, "merged": 2,
                  "quarantined_by_validation": 2, "survivor": 5, "scored": 5},
        "activities": {"read": 7, "quarantined_by_validation": 0, "unlinked": 3, "used": 4},
    }
    assert list(report["activities"]) == ["read", "quarantined_by_validation", "unlinked", "used"]


def test_missing_rows_stop_the_run_naming_the_source() -> None:
    with pytest.raises(AccountingError, match=r"activities: 8 rows read but 7 accounted for"):
        reconcile(
            {"leads": 8, "activities": 8},
            {},
            buckets(*LEAD_BUCKETS, ("activities", "used", 4), ("activities", "unlinked", 3)),
            scored_leads=5,
        )


def test_rows_counted_twice_stop_the_run() -> None:
    with pytest.raises(AccountingError, match=r"^leads: 8 rows read but 9 accounted for"):
        reconcile({"leads": 8}, {"leads": 1}, buckets(*LEAD_BUCKETS), scored_leads=5)


def test_survivors_must_all_be_scored() -> None:
    with pytest.raises(AccountingError, match=r"leads: 5 survivors but 4 scored rows"):
        reconcile({"leads": 8}, {}, buckets(*LEAD_BUCKETS), scored_leads=4)


def test_a_source_with_no_rows_and_no_buckets_balances() -> None:
    report = reconcile({"leads": 8, "company_events": 0}, {}, buckets(*LEAD_BUCKETS), 5)
    assert report["company_events"] == {"read": 0, "quarantined_by_validation": 0}


def test_a_source_whose_rows_were_all_quarantined_by_validation_balances() -> None:
    report = reconcile({"leads": 8, "companies": 3}, {"companies": 3}, buckets(*LEAD_BUCKETS), 5)
    assert report["companies"] == {"read": 3, "quarantined_by_validation": 3}


def test_buckets_of_a_source_that_was_not_read_are_not_reported() -> None:
    frame = buckets(*LEAD_BUCKETS, ("activities", "used", 4))
    assert list(reconcile({"leads": 8}, {}, frame, 5)) == ["leads"]


def test_without_leads_nothing_may_be_scored() -> None:
    assert reconcile({}, {}, buckets(), scored_leads=0) == {}
    with pytest.raises(AccountingError, match="0 survivors but 3 scored"):
        reconcile({}, {}, buckets(), scored_leads=3)


def test_accounting_error_is_a_bug_not_a_user_error() -> None:
    # The CLI prints user errors (LeadscoreError) as one line; a lost row must show a traceback.
    assert not issubclass(AccountingError, LeadscoreError)


def _quarantine(*rows: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"source": pl.String, "reason": pl.String}, orient="row")


def test_a_source_losing_most_of_its_rows_is_reported_with_its_top_reason() -> None:
    from features.resolve.accounting import heavy_losses

    bad_time = "occurred_at '1700000000' is not a valid date/time"
    quarantine = _quarantine(*[("activities", bad_time)] * 3, ("activities", "other"),
                             ("leads", "required lead_id is missing"))
    losses = heavy_losses({"leads": 10, "activities": 4}, quarantine, share=0.5)
    assert [(x.source, x.read, x.quarantined, x.top_reason) for x in losses] == [
        ("activities", 4, 4, bad_time)]
    assert losses[0].describe() == (
        f"activities: 4 of 4 rows (100%) quarantined, most often: {bad_time}")


def test_leads_not_created_yet_are_not_a_loss() -> None:
    from features.resolve.accounting import heavy_losses
    from features.resolve.prepare import NOT_YET_CREATED

    quarantine = _quarantine(*[("leads", NOT_YET_CREATED)] * 9)
    assert heavy_losses({"leads": 10}, quarantine, 0.5, (NOT_YET_CREATED,)) == []
    assert heavy_losses({"leads": 0, "companies": 0}, quarantine.clear(), 0.5) == []
