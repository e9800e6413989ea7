from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.point_in_time.snapshots import (
    as_of_start,
    days_before_as_of,
    known_before_as_of,
    many_snapshots,
    scoring_snapshots,
    snapshot_dates,
)
from features.schema import UTC_DATETIME

AS_OF = date(2024, 3, 10)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def leads(*rows: tuple[str, datetime | None]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows, schema={"lead_id": pl.String, "created_at": UTC_DATETIME}, orient="row"
    )


def snapshots(*rows: tuple[str, date]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"lead_id": pl.String, "as_of": pl.Date}, orient="row")


def at_moments(*moments: datetime | None, as_of: date = AS_OF) -> pl.DataFrame:
    return pl.DataFrame(
        {"as_of": [as_of] * len(moments), "moment": list(moments)},
        schema={"as_of": pl.Date, "moment": UTC_DATETIME},
    )


# ---- as_of_start, days_before_as_of, known_before_as_of ------------------------------------------


def test_as_of_start_is_midnight_utc_of_the_as_of_date() -> None:
    frame = pl.DataFrame({"as_of": [AS_OF]}, schema={"as_of": pl.Date})
    result = frame.select(as_of_start().alias("start"))
    expected = pl.DataFrame({"start": [utc(2024, 3, 10)]}, schema={"start": UTC_DATETIME})
    assert_frame_equal(result, expected)


def test_as_of_start_accepts_an_explicit_date_expression() -> None:
    result = pl.select(as_of_start(pl.lit(AS_OF, dtype=pl.Date)).alias("start"))
    assert result.item() == utc(2024, 3, 10)
    assert result.schema["start"] == UTC_DATETIME


def test_days_before_as_of_counts_calendar_days_whatever_the_time_of_day() -> None:
    # 1 = the day before as_of ("yesterday"), from its first to its last instant.
    frame = at_moments(
        utc(2024, 3, 9, 23, 59, 59),  # one second before as_of began: yesterday
        utc(2024, 3, 9, 0, 0, 1),
        utc(2024, 3, 9),  # midnight, as a date-only export stamps it: still yesterday
        utc(2024, 3, 8, 23, 59, 59),  # the day before yesterday
        utc(2024, 3, 1, 12),
        None,
    )
    result = frame.select(days_before_as_of(pl.col("moment")).alias("days"))
    expected = pl.DataFrame({"days": [1, 1, 1, 2, 9, None]}, schema={"days": pl.Int32})
    assert_frame_equal(result, expected)


def test_days_before_as_of_counts_across_month_ends_and_leap_days() -> None:
    frame = at_moments(utc(2024, 2, 29, 18), utc(2024, 2, 28, 6), utc(2023, 3, 1),
                       as_of=date(2024, 3, 1))
    result = frame.select(days_before_as_of(pl.col("moment"))).to_series().to_list()
    assert result == [1, 2, 366]


def test_days_before_as_of_is_zero_on_the_as_of_day_itself() -> None:
    # Such a moment is never known at as_of (see known_before_as_of); the count stays defined.
    frame = at_moments(utc(2024, 3, 10), utc(2024, 3, 10, 23, 59))
    assert frame.select(days_before_as_of(pl.col("moment"))).to_series().to_list() == [0, 0]


def test_days_before_as_of_is_negative_for_a_moment_after_as_of_began() -> None:
    frame = at_moments(utc(2024, 3, 12))
    assert frame.select(days_before_as_of(pl.col("moment"))).item() == -2


def test_known_before_as_of_excludes_the_whole_as_of_day_and_null_moments() -> None:
    frame = at_moments(
        utc(2024, 3, 9, 23, 59, 59, 999_999),
        utc(2024, 3, 10),  # midnight: the as_of day has begun
        utc(2024, 3, 10, 12),
        None,
    )
    known = frame.select(known_before_as_of(pl.col("moment")).fill_null(False)).to_series()
    assert known.to_list() == [True, False, False, False]


# ---- scoring_snapshots ---------------------------------------------------------------------------


def test_scoring_snapshots_holds_every_lead_created_before_as_of() -> None:
    frame = leads(
        ("old", utc(2023, 1, 1)),
        ("last_second", utc(2024, 3, 9, 23, 59, 59)),
        ("same_day", utc(2024, 3, 10)),
        ("future", utc(2024, 4, 1)),
    )
    result = scoring_snapshots(frame, AS_OF).collect()
    assert_frame_equal(
        result, snapshots(("old", AS_OF), ("last_second", AS_OF)), check_row_order=False
    )


def test_scoring_snapshots_leaves_out_a_lead_without_created_at() -> None:
    frame = leads(("dated", utc(2024, 1, 1)), ("undated", None))
    result = scoring_snapshots(frame, AS_OF).collect()
    assert result.get_column("lead_id").to_list() == ["dated"]


def test_scoring_snapshots_of_no_leads_is_an_empty_frame_with_the_snapshot_schema() -> None:
    result = scoring_snapshots(leads(), AS_OF).collect()
    assert_frame_equal(result, snapshots())


# ---- snapshot_dates ------------------------------------------------------------------------------


def test_snapshot_dates_go_back_from_last_oldest_first() -> None:
    assert snapshot_dates(date(2024, 3, 31), every_days=7, window_days=21) == [
        date(2024, 3, 10),
        date(2024, 3, 17),
        date(2024, 3, 24),
        date(2024, 3, 31),
    ]


def test_snapshot_dates_never_reach_past_the_window() -> None:
    dates = snapshot_dates(date(2024, 3, 31), every_days=7, window_days=20)
    assert dates == [date(2024, 3, 17), date(2024, 3, 24), date(2024, 3, 31)]


def test_snapshot_dates_with_a_window_shorter_than_the_step_is_just_the_last_date() -> None:
    assert snapshot_dates(date(2024, 3, 31), every_days=14, window_days=5) == [date(2024, 3, 31)]


def test_snapshot_dates_reject_a_zero_step() -> None:
    with pytest.raises(ZeroDivisionError):
        snapshot_dates(date(2024, 3, 31), every_days=0, window_days=5)


# ---- many_snapshots ------------------------------------------------------------------------------


def test_many_snapshots_pairs_each_lead_with_the_dates_it_already_existed() -> None:
    frame = leads(
        ("early", utc(2024, 1, 1)),
        ("middle", utc(2024, 2, 1)),  # created at midnight: not yet there on Feb 1
        ("late", utc(2024, 3, 1, 8)),
    )
    dates = [date(2024, 2, 1), date(2024, 2, 2), date(2024, 3, 1)]
    result = many_snapshots(frame, dates).collect()
    expected = snapshots(
        ("early", date(2024, 2, 1)),
        ("early", date(2024, 2, 2)),
        ("early", date(2024, 3, 1)),
        ("middle", date(2024, 2, 2)),
        ("middle", date(2024, 3, 1)),
    )
    assert_frame_equal(result.sort("lead_id", "as_of"), expected.sort("lead_id", "as_of"))


def test_many_snapshots_with_no_dates_is_empty() -> None:
    result = many_snapshots(leads(("a", utc(2024, 1, 1))), []).collect()
    assert_frame_equal(result, snapshots())
