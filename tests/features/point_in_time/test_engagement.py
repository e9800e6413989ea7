from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import FeaturesConfig, StagesConfig
from features.point_in_time.engagement import COUNTED_TYPES, engagement_columns, engagement_features
from features.schema import UTC_DATETIME

AS_OF = date(2024, 3, 31)
START = datetime(2024, 3, 31, tzinfo=UTC)  # the instant the as_of day begins
FEATURES = FeaturesConfig()  # windows 7, 30, 90; half-life 14 days
STAGES = StagesConfig()  # intent: demo_request, pricing_request, contact_sales within 30 days


def snapshots(*rows: tuple[str, date]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema={"lead_id": pl.String, "as_of": pl.Date}, orient="row")


def activities(*rows: tuple[str, str, datetime]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows,
        schema={"lead_id": pl.String, "activity_type": pl.String, "occurred_at": UTC_DATETIME},
        orient="row",
    )


def before(days: float) -> datetime:
    """The instant `days` before the as_of day began."""
    return START - timedelta(days=days)


def on_day(days: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant on the calendar day `days` before as_of (1 = yesterday)."""
    return START - timedelta(days=days) + timedelta(hours=hour, minutes=minute)


def features_of(
    acts: pl.LazyFrame,
    snaps: pl.LazyFrame | None = None,
    features: FeaturesConfig = FEATURES,
    stages: StagesConfig = STAGES,
) -> pl.DataFrame:
    snaps = snapshots(("A", AS_OF)) if snaps is None else snaps
    return engagement_features(snaps, acts, features, stages).collect().sort("lead_id", "as_of")


def row_of(
    acts: pl.LazyFrame, features: FeaturesConfig = FEATURES, stages: StagesConfig = STAGES
) -> dict[str, object]:
    return features_of(acts, features=features, stages=stages).row(0, named=True)


def test_output_columns_are_the_snapshot_key_and_engagement_columns() -> None:
    result = features_of(activities(("A", "page_view", before(1))))
    assert result.columns == ["lead_id", "as_of", *engagement_columns(FEATURES, STAGES)]


def test_engagement_columns_follow_the_configured_windows() -> None:
    custom = FeaturesConfig(engagement_windows_days=(3, 10))
    result = features_of(activities(("A", "page_view", before(1))), features=custom)
    assert result.columns == ["lead_id", "as_of", *engagement_columns(custom, STAGES)]
    assert "activity_count_10d" in result.columns
    assert "email_open_10d" in result.columns


def test_windows_count_activities_on_the_last_n_calendar_days() -> None:
    # "In the last 7 days" = the 7 calendar days before as_of, whatever the time of day.
    acts = activities(
        ("A", "page_view", on_day(1, 12)),  # yesterday
        ("A", "page_view", on_day(7, 0)),  # the 7th day back, at midnight: inside 7 days
        ("A", "page_view", on_day(7, 23, 59)),
        ("A", "page_view", on_day(8, 23, 59)),  # the 8th day back: outside 7 days
        ("A", "page_view", on_day(30, 0)),
        ("A", "page_view", on_day(31, 23, 59)),  # outside 30 days
        ("A", "page_view", on_day(90, 0)),  # the 90th day back: inside 90 days
        ("A", "page_view", on_day(91, 23, 59)),  # only in the total
        ("A", "page_view", on_day(400)),
    )
    row = row_of(acts)
    assert (row["activity_count_7d"], row["activity_count_30d"], row["activity_count_90d"]) == (
        3, 5, 7,
    )
    assert row["activity_count_total"] == 9
    assert row["page_view_90d"] == 7


def test_activities_on_or_after_the_as_of_day_are_never_read() -> None:
    acts = activities(
        ("A", "email_open", before(1)),
        ("A", "demo_request", START),  # midnight of the as_of day
        ("A", "unsubscribe", START + timedelta(hours=12)),
        ("A", "bounce", START + timedelta(days=3)),
    )
    only_known = activities(("A", "email_open", before(1)))
    assert_frame_equal(features_of(acts), features_of(only_known))
    row = row_of(acts)
    assert row["activity_count_total"] == 1
    assert row["intent_signals_recent"] == 0
    assert row["unsubscribed"] is False
    assert row["bounced_activity"] is False


def test_recency_is_calendar_days_since_the_latest_activity() -> None:
    acts = activities(("A", "email_open", before(10.2)), ("A", "page_view", before(2.9)))
    assert row_of(acts)["days_since_last_activity"] == 3  # Mar 28, 02:24 -> Mar 31
    acts = activities(("A", "page_view", before(2.1)))  # Mar 28 again, 21:36
    assert row_of(acts)["days_since_last_activity"] == 3


@pytest.mark.parametrize(
    "moment",
    [START - timedelta(seconds=1), on_day(1, 12), on_day(1)],
    ids=["last second", "noon", "midnight"],
)
def test_recency_of_an_activity_on_the_day_before_is_one(moment: datetime) -> None:
    # 1 = yesterday, whatever the time of day (a date-only export stamps midnight).
    acts = activities(("A", "email_open", moment))
    assert row_of(acts)["days_since_last_activity"] == 1


def test_decayed_engagement_halves_every_half_life() -> None:
    acts = activities(
        ("A", "page_view", before(1e-6)),  # weight ~1
        ("A", "page_view", before(14)),  # weight 1/2
        ("A", "page_view", before(28)),  # weight 1/4
        ("A", "page_view", before(0)),  # the as_of instant itself: not known, no weight
    )
    assert row_of(acts)["engagement_decayed"] == pytest.approx(1.75)


def test_decayed_engagement_follows_the_configured_half_life() -> None:
    acts = activities(("A", "page_view", before(7)))
    custom = FeaturesConfig(decay_half_life_days=7)
    assert row_of(acts, features=custom)["engagement_decayed"] == pytest.approx(0.5)


def test_decayed_engagement_uses_the_exact_age_not_calendar_days() -> None:
    # Both are "yesterday" for the windows and recency, but the decay sees 12 and 24 hours.
    late = row_of(activities(("A", "page_view", on_day(1, 12))))
    early = row_of(activities(("A", "page_view", on_day(1))))
    assert late["days_since_last_activity"] == early["days_since_last_activity"] == 1
    assert late["engagement_decayed"] == pytest.approx(0.5 ** (0.5 / 14))
    assert early["engagement_decayed"] == pytest.approx(0.5 ** (1 / 14))


def test_counted_types_are_counted_one_by_one_within_the_longest_window() -> None:
    acts = activities(
        *[("A", kind, before(5)) for kind in COUNTED_TYPES],
        ("A", "email_open", before(50)),
        ("A", "email_open", before(95)),  # outside 90 days
        ("A", "demo_request", before(5)),  # an intent signal, not a counted type
    )
    row = row_of(acts)
    counts = {kind: row[f"{kind}_90d"] for kind in COUNTED_TYPES}
    assert counts == {kind: 2 if kind == "email_open" else 1 for kind in COUNTED_TYPES}


def test_intent_signals_are_counted_within_the_signal_window() -> None:
    acts = activities(
        ("A", "demo_request", on_day(2, 9)),
        ("A", "pricing_request", on_day(30, 0)),  # the 30th day back: inside the window
        ("A", "contact_sales", on_day(31, 23, 59)),  # the 31st day back: outside the window
        ("A", "pricing_page_view", on_day(1)),  # not an intent signal
    )
    row = row_of(acts)
    assert row["intent_signals_recent"] == 2
    assert row["days_since_intent_signal"] == 2
    assert row["last_intent_signal"] == "demo_request"


def test_intent_signals_follow_the_configured_list_and_window() -> None:
    acts = activities(("A", "meeting", before(8)), ("A", "demo_request", before(1)))
    stages = StagesConfig(intent_signals=("meeting",), signal_window_days=10)
    row = row_of(acts, stages=stages)
    assert row["intent_signals_recent"] == 1
    assert row["last_intent_signal"] == "meeting"
    assert row["days_since_intent_signal"] == 8


def test_an_old_intent_signal_still_sets_recency_and_last_signal() -> None:
    acts = activities(("A", "contact_sales", before(200)))
    row = row_of(acts)
    assert row["intent_signals_recent"] == 0
    assert row["days_since_intent_signal"] == 200
    assert row["last_intent_signal"] == "contact_sales"


def test_last_intent_signal_at_the_same_instant_is_chosen_by_name() -> None:
    moment = before(3)
    acts = activities(("A", "pricing_request", moment), ("A", "demo_request", moment))
    reversed_acts = activities(("A", "demo_request", moment), ("A", "pricing_request", moment))
    assert row_of(acts)["last_intent_signal"] == row_of(reversed_acts)["last_intent_signal"]
    assert row_of(acts)["last_intent_signal"] == "pricing_request"


def test_no_configured_intent_signals_means_no_last_signal() -> None:
    acts = activities(("A", "demo_request", before(2)))
    row = row_of(acts, stages=StagesConfig(intent_signals=()))
    assert row["intent_signals_recent"] == 0
    assert row["days_since_intent_signal"] is None
    assert row["last_intent_signal"] is None


def test_latest_of_many_intent_signals_wins_whatever_the_row_order() -> None:
    rows = [("A", "contact_sales", before(9)), ("A", "pricing_request", on_day(2, 8)),
            ("A", "demo_request", on_day(2, 7)), ("A", "contact_sales", before(40))]
    assert row_of(activities(*rows))["last_intent_signal"] == "pricing_request"
    assert row_of(activities(*reversed(rows)))["last_intent_signal"] == "pricing_request"


def test_unsubscribe_and_bounce_activities_set_their_flags() -> None:
    acts = activities(("A", "unsubscribe", before(300)), ("A", "bounce", before(1)))
    row = row_of(acts)
    assert (row["unsubscribed"], row["bounced_activity"]) == (True, True)


def test_lead_without_activity_has_zero_counts_false_flags_and_null_recency() -> None:
    snaps = snapshots(("A", AS_OF), ("QUIET", AS_OF))
    result = features_of(activities(("A", "page_view", before(1))), snaps)
    quiet = result.filter(pl.col("lead_id") == "QUIET").drop("lead_id", "as_of")
    counts = [c for c in quiet.columns if c.startswith("activity_count") or c.endswith("_90d")]
    assert all(quiet[c].item() == 0 for c in [*counts, "intent_signals_recent"])
    assert quiet["engagement_decayed"].item() == 0.0
    assert quiet["unsubscribed"].item() is False
    assert quiet["bounced_activity"].item() is False
    assert quiet["days_since_last_activity"].item() is None
    assert quiet["days_since_intent_signal"].item() is None
    assert quiet["last_intent_signal"].item() is None


def test_lead_whose_only_activities_are_after_as_of_looks_like_no_activity() -> None:
    snaps = snapshots(("A", AS_OF), ("B", AS_OF))
    acts = activities(("A", "demo_request", START + timedelta(days=1)))
    result = features_of(acts, snaps)
    assert_frame_equal(
        result.filter(pl.col("lead_id") == "A").drop("lead_id"),
        result.filter(pl.col("lead_id") == "B").drop("lead_id"),
    )


def test_each_snapshot_of_one_lead_sees_only_its_own_past() -> None:
    snaps = snapshots(("A", date(2024, 3, 1)), ("A", date(2024, 3, 31)))
    acts = activities(
        ("A", "demo_request", datetime(2024, 2, 20, tzinfo=UTC)),
        ("A", "page_view", datetime(2024, 3, 1, 9, tzinfo=UTC)),
        ("A", "page_view", datetime(2024, 3, 30, tzinfo=UTC)),
    )
    result = features_of(acts, snaps).select(
        "as_of", "activity_count_total", "days_since_last_activity", "intent_signals_recent"
    )
    expected = pl.DataFrame(
        {
            "as_of": [date(2024, 3, 1), date(2024, 3, 31)],
            "activity_count_total": [1, 3],
            "days_since_last_activity": [10, 1],  # 2024 is a leap year
            "intent_signals_recent": [1, 0],  # 40 days old by March 31
        },
        schema_overrides={
            "activity_count_total": pl.Int32,
            "days_since_last_activity": pl.Int32,
            "intent_signals_recent": pl.Int32,
        },
    )
    assert_frame_equal(result, expected)


def test_activities_of_leads_not_in_the_snapshots_are_ignored() -> None:
    acts = activities(("A", "page_view", before(1)), ("OTHER", "page_view", before(1)))
    result = features_of(acts)
    assert result.get_column("lead_id").to_list() == ["A"]
    assert result["activity_count_total"].item() == 1
