from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.point_in_time.pipeline import PIPELINE_COLUMNS, conversion_labels, pipeline_features
from features.schema import UTC_DATETIME

AS_OF = date(2024, 6, 1)
START = datetime(2024, 6, 1, tzinfo=UTC)
HORIZON = 90

OPP_SCHEMA = {
    "opportunity_id": pl.String(),
    "lead_id": pl.String(),
    "company_key": pl.String(),
    "created_at": UTC_DATETIME,
    "closed_at": UTC_DATETIME,
    "won": pl.Boolean(),
}


def days(n: float) -> datetime:
    """`n` days after the as_of day began (negative: before)."""
    return START + timedelta(days=n)


def snapshots(*rows: tuple[str, date, str | None]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows, schema={"lead_id": pl.String, "as_of": pl.Date, "company_key": pl.String},
        orient="row",
    )


def opportunities(*rows: dict[str, Any]) -> pl.LazyFrame:
    full = [{**{c: r.get(c) for c in OPP_SCHEMA}, "opportunity_id": f"O{i}"}
            for i, r in enumerate(rows)]
    return pl.LazyFrame(full, schema=OPP_SCHEMA)


def opp(lead: str | None, created: float, closed: float | None = None, won: bool | None = None,
        company: str | None = "FI:1") -> dict[str, Any]:
    return {"lead_id": lead, "company_key": company, "created_at": days(created),
            "closed_at": None if closed is None else days(closed), "won": won}


ONE = snapshots(("A", AS_OF, "FI:1"))


def pipeline_row(opps: pl.LazyFrame, snaps: pl.LazyFrame = ONE) -> dict[str, Any]:
    return pipeline_features(snaps, opps).collect().row(0, named=True)


def status(opps: pl.LazyFrame) -> tuple[bool, bool, int]:
    row = pipeline_row(opps)
    return row["open_opportunity"], row["won_deal"], row["lost_opportunities"]


# ---- pipeline_features ---------------------------------------------------------------------------


def test_pipeline_output_columns() -> None:
    result = pipeline_features(ONE, opportunities()).collect()
    assert result.columns == ["lead_id", "as_of", *PIPELINE_COLUMNS]


def test_opportunity_created_before_as_of_and_not_closed_is_open() -> None:
    assert status(opportunities(opp("A", -10))) == (True, False, 0)


def test_opportunity_closed_on_or_after_as_of_is_still_open_at_as_of() -> None:
    assert status(opportunities(opp("A", -10, closed=0, won=True))) == (True, False, 0)
    assert status(opportunities(opp("A", -10, closed=5, won=False))) == (True, False, 0)


def test_opportunity_created_on_the_as_of_day_is_not_known() -> None:
    assert status(opportunities(opp("A", 0), opp("A", 0.5, won=True))) == (False, False, 0)


def test_deal_won_before_as_of_is_a_won_deal_and_not_open() -> None:
    opps = opportunities(opp("A", -30, closed=-1, won=True))
    row = pipeline_row(opps)
    assert (row["open_opportunity"], row["won_deal"]) == (False, True)
    assert row["last_won_at"] == days(-1)


def test_won_deal_without_close_date_counts_as_won_when_created() -> None:
    row = pipeline_row(opportunities(opp("A", -30, won=True)))
    assert (row["open_opportunity"], row["won_deal"], row["last_won_at"]) == (False, True, None)


def test_opportunity_closed_before_as_of_without_a_win_is_lost() -> None:
    opps = opportunities(opp("A", -30, closed=-5, won=False), opp("A", -20, closed=-2, won=None))
    assert status(opps) == (False, False, 2)


def test_last_won_at_is_the_latest_win_known_at_as_of() -> None:
    opps = opportunities(
        opp("A", -300, closed=-200, won=True),
        opp("A", -100, closed=-50, won=True),
        opp("A", -40, closed=3, won=True),  # won after as_of: not known
    )
    row = pipeline_row(opps)
    assert row["last_won_at"] == days(-50)
    assert (row["open_opportunity"], row["won_deal"]) == (True, True)


def test_company_flags_come_from_other_people_and_company_only_deals() -> None:
    snaps = snapshots(("A", AS_OF, "FI:1"), ("B", AS_OF, "FI:2"), ("C", AS_OF, None))
    opps = opportunities(
        opp("COLLEAGUE", -10, company="FI:1"),  # open, someone else at A's company
        opp(None, -40, closed=-5, won=True, company="FI:2"),  # a deal naming only B's company
    )
    result = pipeline_features(snaps, opps).collect().sort("lead_id")
    expected = pl.DataFrame(
        {
            "lead_id": ["A", "B", "C"],
            "as_of": [AS_OF] * 3,
            "open_opportunity": [False] * 3,
            "won_deal": [False] * 3,
            "last_won_at": pl.Series([None] * 3, dtype=UTC_DATETIME),
            "lost_opportunities": pl.Series([0, 0, 0], dtype=pl.Int32),
            "company_open_opportunity": [True, False, False],
            "company_won_deal": [False, True, False],
        }
    )
    assert_frame_equal(result, expected)


def test_a_lead_own_opportunity_also_counts_for_its_company() -> None:
    row = pipeline_row(opportunities(opp("A", -10, closed=-1, won=True)))
    assert (row["won_deal"], row["company_won_deal"]) == (True, True)


def test_company_flags_ignore_opportunities_not_yet_known() -> None:
    row = pipeline_row(opportunities(opp("OTHER", 0), opp(None, -10, closed=1, won=True)))
    assert (row["company_open_opportunity"], row["company_won_deal"]) == (True, False)


def test_lead_without_opportunities_has_false_flags_and_zero_losses() -> None:
    snaps = snapshots(("A", AS_OF, "FI:1"), ("QUIET", AS_OF, "FI:9"))
    result = pipeline_features(snaps, opportunities(opp("A", -10))).collect()
    quiet = result.filter(pl.col("lead_id") == "QUIET").row(0, named=True)
    assert quiet == {
        "lead_id": "QUIET", "as_of": AS_OF, "open_opportunity": False, "won_deal": False,
        "last_won_at": None, "lost_opportunities": 0, "company_open_opportunity": False,
        "company_won_deal": False,
    }


# ---- conversion_labels ---------------------------------------------------------------------------


def labels(opps: pl.LazyFrame, label: str, snaps: pl.LazyFrame | None = None) -> dict[str, bool]:
    snaps = snapshots(("A", AS_OF, None)) if snaps is None else snaps
    result = conversion_labels(snaps.select("lead_id", "as_of"), opps, HORIZON, label).collect()
    return dict(result.select("lead_id", "converted").iter_rows())


@pytest.mark.parametrize(
    ("created", "converted"),
    [
        (-0.001, False),  # created just before as_of: already there, not a conversion
        (0, True),  # created at the start of the as_of day
        (HORIZON - 0.001, True),
        (HORIZON, False),  # the horizon end is exclusive
        (HORIZON + 30, False),
    ],
)
def test_opportunity_label_is_an_opportunity_created_within_the_horizon(
    created: float, converted: bool
) -> None:
    assert labels(opportunities(opp("A", created)), "opportunity") == {"A": converted}


@pytest.mark.parametrize(
    ("closed", "won", "converted"),
    [
        (10, True, True),
        (0, True, True),
        (-1, True, False),  # won before as_of: already a customer
        (HORIZON, True, False),
        (10, False, False),  # closed lost
        (10, None, False),
        (None, True, False),  # no close date: cannot say when it was won
    ],
)
def test_won_label_is_a_deal_won_within_the_horizon(
    closed: float | None, won: bool | None, converted: bool
) -> None:
    opps = opportunities(opp("A", -10, closed=closed, won=won))
    assert labels(opps, "won") == {"A": converted}


def test_opportunity_label_does_not_need_the_deal_to_be_won() -> None:
    opps = opportunities(opp("A", 5, closed=20, won=False))
    assert labels(opps, "opportunity") == {"A": True}
    assert labels(opps, "won") == {"A": False}


def test_label_counts_only_opportunities_naming_the_lead() -> None:
    snaps = snapshots(("A", AS_OF, "FI:1"), ("B", AS_OF, "FI:1"))
    opps = opportunities(opp(None, 5, company="FI:1"), opp("B", 5))
    assert labels(opps, "opportunity", snaps) == {"A": False, "B": True}


def test_labels_are_per_snapshot_date() -> None:
    snaps = snapshots(("A", date(2024, 1, 1), None), ("A", AS_OF, None))
    opps = opportunities(opp("A", 10))
    result = conversion_labels(snaps.drop("company_key"), opps, HORIZON, "opportunity").collect()
    expected = pl.DataFrame(
        {"lead_id": ["A", "A"], "as_of": [date(2024, 1, 1), AS_OF], "converted": [False, True]}
    )
    assert_frame_equal(result.sort("as_of"), expected)


def test_every_snapshot_gets_a_label_even_without_opportunities() -> None:
    snaps = snapshots(("A", AS_OF, None), ("B", AS_OF, None))
    assert labels(opportunities(), "opportunity", snaps) == {"A": False, "B": False}
