from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scoring.conversion.encoding import FeatureEncoding, FeatureSpec
from scoring.conversion.explain import (
    FACTOR_COLUMNS,
    _largest_first,
    phrase_frame,
    top_factors,
)
from scoring.rules.stage import SIGNAL_PHRASES


def phrases(column: str, values: list[Any], dtype: pl.DataType | None = None,
            *, kind: str = "numeric", windows: tuple[int, ...] = ()) -> list[str | None]:
    """The phrase of `column` for each value, in an encoding that also has the given windows."""
    extra = tuple(f"activity_count_{w}d" for w in windows)
    by_kind = {"numeric": (), "boolean": (), "categorical": (), kind: (column,)}
    spec = FeatureSpec(by_kind["numeric"] + extra, by_kind["boolean"], by_kind["categorical"])
    frame = pl.DataFrame({column: values, **{e: [0] * len(values) for e in extra}},
                         schema_overrides={column: dtype} if dtype is not None else None)
    result: list[str | None] = phrase_frame(frame, FeatureEncoding(spec))[column].to_list()
    return result


# ---- phrases ------------------------------------------------------------------------------------


def test_count_of_zero_reads_no_and_others_read_label_colon_count() -> None:
    assert phrases("page_view_90d", [0, 12, None], pl.Int32) == [
        "no page views in the last 90 days",
        "page views in the last 90 days (12)",
        "no page views in the last 90 days",
    ]


def test_count_of_one_reads_label_colon_count() -> None:
    assert phrases("meeting_90d", [1], pl.Int32) == ["meetings in the last 90 days (1)"]


def test_count_window_follows_the_longest_activity_window() -> None:
    assert phrases("email_click_60d", [3], pl.Int32, windows=(7, 60)) == [
        "email clicks in the last 60 days (3)",
    ]


def test_counts_without_a_window_read_naturally() -> None:
    assert phrases("activity_count_total", [0, 5], pl.Int32) == [
        "no activities in total", "activities in total (5)",
    ]
    assert phrases("lost_opportunities", [0, 2], pl.Int32) == [
        "no earlier lost opportunities", "earlier lost opportunities (2)",
    ]


def test_windowed_activity_count_names_its_window() -> None:
    assert phrases("activity_count_30d", [0, 4], pl.Int32) == [
        "no activities in the last 30 days", "activities in the last 30 days (4)",
    ]


def test_counts_that_say_recently_read_the_same_way() -> None:
    assert phrases("intent_signals_recent", [0, 2], pl.Int32) == [
        "no buying signals (demo, pricing or contact requests) recently",
        "buying signals (demo, pricing or contact requests) recently (2)",
    ]
    assert phrases("hiring_events_recent", [3], pl.Int32) == [
        "hiring announcements at the company recently (3)",
    ]


def test_recency_reads_yesterday_then_days_ago_and_never_when_missing() -> None:
    # Recencies are calendar days before as_of: 1 = yesterday.
    assert phrases("days_since_last_activity", [1, 2, 7, None], pl.Int32) == [
        "last activity yesterday",
        "last activity 2 days ago",
        "last activity 7 days ago",
        "no recorded activity",
    ]
    assert phrases("days_since_intent_signal", [1, 3, None], pl.Int32) == [
        "last buying signal yesterday",
        "last buying signal 3 days ago",
        "never sent a buying signal",
    ]
    assert phrases("days_since_funding", [1, 40], pl.Int32) == [
        "company raised funding yesterday",
        "company raised funding 40 days ago",
    ]


def test_missing_values_have_their_own_phrase() -> None:
    assert phrases("employees", [250, None], pl.Int64) == [
        "company of 250 employees", "company size unknown",
    ]
    assert phrases("budget", [None], pl.Float64) == ["no budget given"]
    assert phrases("days_since_funding", [None], pl.Int32) == ["no known funding round"]


@pytest.mark.parametrize(
    ("column", "yes", "no"),
    [
        ("has_phone", "has a phone number", "no phone number"),
        ("funded_recently", "company raised funding recently", "no recent funding"),
        ("company_open_opportunity", "company already in the pipeline",
         "company not in the pipeline"),
    ],
)
def test_flags_read_yes_or_no_and_missing_as_no(column: str, yes: str, no: str) -> None:
    assert phrases(column, [True, False, None], pl.Boolean, kind="boolean") == [yes, no, no]


def test_known_categories_have_their_own_words_and_others_are_shown() -> None:
    assert phrases("seniority", ["vp", "c_level", "intern"], kind="categorical") == [
        "VP title", "C-level title", "title: intern",
    ]
    assert phrases("email_quality", ["free_mail", "business"], kind="categorical") == [
        "free-mail address (gmail, hotmail...)", "business email address",
    ]


def test_categories_name_their_value_or_say_unknown() -> None:
    assert phrases("lead_source", ["webinar", None], pl.String, kind="categorical") == [
        "came from webinar", "lead source unknown",
    ]


def test_last_intent_signal_reads_as_the_stage_reasons_phrase_it() -> None:
    # Without days_since_intent_signal in the frame the phrase has no "... ago".
    assert phrases("last_intent_signal", ["demo_request", "contact_sales", "pricing_request",
                                          "webinar_attended", None], kind="categorical") == [
        "buying signal: requested a demo",
        "buying signal: contacted sales",
        "buying signal: asked for pricing",
        "buying signal: webinar attended",  # unnamed type: underscores read as spaces
        "no buying signal",
    ]
    known = list(SIGNAL_PHRASES)
    assert phrases("last_intent_signal", known, kind="categorical") == [
        f"buying signal: {SIGNAL_PHRASES[kind]}" for kind in known
    ]


def test_industry_division_reads_the_industry_label_with_its_code() -> None:
    spec = FeatureSpec(numeric=(), boolean=(), categorical=("industry_division",))
    frame = pl.DataFrame({
        "industry_division": ["62", "47", None],
        "industry": ["Computer programming", None, None],
    })
    out = phrase_frame(frame, FeatureEncoding(spec))["industry_division"].to_list()
    assert out == [
        "industry: Computer programming (62)",
        "industry: 47",  # no label: the code alone
        "industry unknown",
    ]


def test_timeline_reads_as_a_plan_or_a_passed_date() -> None:
    assert phrases("timeline_days", [30, -12, None], pl.Int32) == [
        "plans to buy within 30 days",
        "stated buying date passed 12 days ago",
        "no buying timeline given",
    ]


def test_unknown_feature_names_get_a_generic_phrase() -> None:
    assert phrases("partner_tier_score", [3, None], pl.Int64) == [
        "partner tier score: 3", "partner tier score: missing",
    ]


# ---- top factors --------------------------------------------------------------------------------


SPEC = FeatureSpec(
    numeric=("page_view_90d", "days_since_last_activity", "employees"),
    boolean=("has_phone",),
    categorical=("email_quality",),
)
ENCODING = FeatureEncoding(SPEC, {"email_quality": ["free_mail", "business"]})
FRAME = pl.DataFrame({
    "page_view_90d": [12, 0],
    "days_since_last_activity": [1, None],
    "employees": [250, None],
    "has_phone": [True, False],
    "email_quality": ["business", "free_mail"],
}, schema_overrides={"page_view_90d": pl.Int32, "days_since_last_activity": pl.Int32})
ROW0 = ["page views in the last 90 days (12)", "last activity yesterday",
        "company of 250 employees", "has a phone number", "business email address"]
ROW1 = ["no page views in the last 90 days", "no recorded activity", "company size unknown",
        "no phone number", "free-mail address (gmail, hotmail...)"]


def factors(contributions: list[list[float]], **options: Any) -> pl.DataFrame:
    return top_factors(FRAME, np.array(contributions, dtype=np.float64), ENCODING, **options)


def test_top_up_factor_is_the_largest_positive_contribution_per_row() -> None:
    out = factors([
        [0.2, 0.9, 0.1, 0.0, -0.3],
        [0.1, -0.2, 0.0, 0.0, 0.6],
    ])
    assert out["factors_up"][0][0] == ROW0[1]
    assert out["factors_up"][1][0] == ROW1[4]


def test_factors_are_ordered_strongest_first_and_split_by_sign() -> None:
    out = factors([
        [0.2, 0.9, 0.1, -0.7, -0.3],
        [-0.2, -0.1, -0.6, 0.5, 0.0],
    ])
    expected = pl.DataFrame({
        "factors_up": [[ROW0[1], ROW0[0], ROW0[2]], [ROW1[3]]],
        "factors_down": [[ROW0[3], ROW0[4]], [ROW1[2], ROW1[0], ROW1[1]]],
    })
    assert_frame_equal(out, expected)


def test_at_most_count_factors_each_way() -> None:
    out = factors([[0.5, 0.4, 0.3, 0.2, 0.1], [-0.5, -0.4, -0.3, -0.2, -0.1]], count=2)
    assert out["factors_up"].to_list() == [[ROW0[0], ROW0[1]], []]
    assert out["factors_down"].to_list() == [[], [ROW1[0], ROW1[1]]]


def test_count_larger_than_the_number_of_features_lists_every_factor() -> None:
    out = factors([[0.5, 0.4, 0.3, 0.2, 0.1], [0.0] * 5], count=10)
    assert out["factors_up"].to_list() == [ROW0, []]


def test_contributions_below_min_effect_are_left_out() -> None:
    out = factors([[0.05, 0.06, -0.05, -0.06, 0.0], [0.3, -0.3, 0.2, -0.2, 0.1]])
    assert out["factors_up"].to_list() == [[ROW0[1]], [ROW1[0], ROW1[2], ROW1[4]]]
    assert out["factors_down"].to_list() == [[ROW0[3]], [ROW1[1], ROW1[3]]]


def test_min_effect_is_configurable() -> None:
    out = factors([[0.05, 0.3, 0.0, 0.0, 0.0], [0.0] * 5], min_effect=0.2)
    assert out["factors_up"].to_list() == [[ROW0[1]], []]


def test_equal_contributions_are_picked_in_feature_order_as_a_stable_sort_would() -> None:
    # Few distinct values (zeros of both signs among them), so that most rows have ties.
    rng = np.random.default_rng(7)
    values = rng.choice([-0.5, -0.0, 0.0, 0.25, 0.5], size=(2_000, 9))
    for count in (1, 3, 9):
        for signed in (values, -values):
            expected = np.argsort(-signed, axis=1, kind="stable")[:, :count]
            np.testing.assert_array_equal(_largest_first(signed, count), expected)


def test_a_nan_or_an_infinity_is_ranked_as_the_sort_ranks_it() -> None:
    values = np.array([[1.0, -np.inf, 0.5], [np.nan, 2.0, 1.0], [np.inf, 0.0, np.inf]])
    for signed in (values, -values):
        np.testing.assert_array_equal(_largest_first(signed, 3),
                                      np.argsort(-signed, axis=1, kind="stable"))


def test_empty_input_gives_empty_factor_lists() -> None:
    out = top_factors(FRAME.head(0), np.zeros((0, 5)), ENCODING)
    expected = pl.DataFrame(schema={c: pl.List(pl.String) for c in FACTOR_COLUMNS})
    assert_frame_equal(out, expected)


def test_a_buying_signal_is_one_factor_whatever_its_parts_contribute() -> None:
    spec = FeatureSpec(numeric=("days_since_intent_signal", "intent_signals_recent", "open_jobs"),
                       categorical=("last_intent_signal",))
    encoding = FeatureEncoding(spec, {"last_intent_signal": ["demo_request"]})
    frame = pl.DataFrame({"days_since_intent_signal": [3], "intent_signals_recent": [1],
                          "open_jobs": [4], "last_intent_signal": ["demo_request"]})
    # recency +0.6, count +0.3, type -0.4: one net +0.5 buying-signal factor, not a
    # contradictory "raises" and "lowers" pair.
    out = top_factors(frame, np.array([[0.6, 0.3, -0.2, -0.4]]), encoding)
    assert out["factors_up"].to_list() == [["buying signal: requested a demo 3 days ago"]]
    assert out["factors_down"].to_list() == [["company has 4 open jobs"]]
