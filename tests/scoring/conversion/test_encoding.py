from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import Config
from scoring.conversion.encoding import (
    OTHER,
    FeatureEncoding,
    FeatureSpec,
    add_derived_columns,
    canonical_feature_spec,
    fit_encoding,
    missing_columns,
)


def labelled(rates: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """Rows of `source` per category: (converted rows, other rows)."""
    values: list[str] = []
    converted: list[bool] = []
    for category, (yes, no) in rates.items():
        values += [category] * (yes + no)
        converted += [True] * yes + [False] * no
    return pl.DataFrame({"source": values, "converted": converted})


SOURCE_ONLY = FeatureSpec(numeric=(), categorical=("source",))


def _levels(encoding: FeatureEncoding) -> list[str]:
    return [c for c in encoding.categories["source"] if c != OTHER]


def test_categories_are_ordered_by_conversion_rate() -> None:
    frame = labelled({"webinar": (3, 1), "ads": (0, 4), "referral": (4, 0), "event": (1, 3)})
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=1)
    assert _levels(encoding) == ["ads", "event", "webinar", "referral"]


def test_categories_with_equal_rates_are_ordered_by_name() -> None:
    frame = labelled({"b": (1, 1), "c": (1, 1), "a": (1, 1)})
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=1)
    assert _levels(encoding) == ["a", "b", "c"]


def test_small_levels_are_shrunk_towards_the_overall_rate_before_ordering() -> None:
    # "lucky" converted 5 of 5 (100%), "solid" 80 of 100: with min_count (5) rows' worth of
    # the overall rate (46%) mixed in, lucky is at 73%, solid at 78%: the bigger evidence wins.
    frame = labelled({"lucky": (5, 0), "solid": (80, 20), "cold": (10, 90)})
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=5)
    assert encoding.categories["source"].index("solid") > encoding.categories["source"].index(
        "lucky")


def test_categories_become_codes_in_rate_order() -> None:
    frame = labelled({"hot": (2, 0), "cold": (0, 2)})
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=1)
    # OTHER has no rows and sits at the overall rate, between the two
    assert encoding.categories["source"] == ["cold", OTHER, "hot"]
    matrix = encoding.matrix(pl.DataFrame({"source": ["hot", "cold", "hot"]}))
    np.testing.assert_array_equal(matrix, [[2.0], [0.0], [2.0]])


def test_rare_levels_share_the_other_level_with_its_own_rate() -> None:
    frame = labelled({"common": (5, 15), "rare": (19, 0), "scarce": (3, 0)})
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=20)
    assert encoding.categories["source"] == ["common", OTHER]
    matrix = encoding.matrix(pl.DataFrame({"source": ["common", "rare", "scarce"]}))
    np.testing.assert_array_equal(matrix[:, 0], [0.0, 1.0, 1.0])


def test_unseen_values_get_the_other_code_and_missing_ones_nan() -> None:
    encoding = FeatureEncoding(SOURCE_ONLY, {"source": ["ads", OTHER, "webinar"]})
    matrix = encoding.matrix(
        pl.DataFrame({"source": ["webinar", "podcast", None]}, schema={"source": pl.String})
    )
    assert matrix[0, 0] == 2.0
    assert matrix[1, 0] == 1.0
    assert np.isnan(matrix[2, 0])


def test_missing_training_values_are_not_a_category() -> None:
    frame = pl.DataFrame({"source": ["ads", None, None], "converted": [True, False, False]})
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=1)
    assert _levels(encoding) == ["ads"]


def test_beyond_max_levels_the_most_frequent_are_kept_and_the_rest_grouped() -> None:
    names = [f"c{i:03d}" for i in range(260)]
    # c000..c009 appear once, the others twice.
    values = names[:10] + [n for n in names[10:] for _ in range(2)]
    frame = pl.DataFrame({"source": values, "converted": [False] * len(values)})
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=1, max_levels=250)
    assert sorted(_levels(encoding)) == names[10:]
    assert encoding.matrix(pl.DataFrame({"source": ["c000"]}))[0, 0] == (
        encoding.categories["source"].index(OTHER))


def test_level_shares_are_each_levels_share_of_the_training_rows() -> None:
    # 20 common, 3 rare (grouped into OTHER), 2 missing: 25 training rows
    frame = pl.concat([labelled({"common": (5, 15), "rare": (3, 0)}),
                       pl.DataFrame({"source": [None, None], "converted": [False, False]},
                                    schema={"source": pl.String, "converted": pl.Boolean})])
    encoding = fit_encoding(frame, SOURCE_ONLY, "converted", min_count=10)
    assert encoding.categories["source"] == ["common", OTHER]
    assert encoding.shares["source"] == [0.8, 0.12]
    matrix = encoding.matrix(pl.DataFrame({"source": ["rare", "common", "unseen", None]}))
    shares = encoding.level_shares(matrix)
    np.testing.assert_allclose(shares[:3, 0], [0.12, 0.8, 0.12])
    assert np.isnan(shares[3, 0])


def test_without_categorical_columns_there_are_no_level_shares() -> None:
    encoding = FeatureEncoding(FeatureSpec(numeric=("n",)))
    assert encoding.level_shares(np.ones((3, 1))).shape == (3, 0)


def test_numeric_and_boolean_features_pass_through_as_numbers() -> None:
    spec = FeatureSpec(numeric=("employees", "delta"), boolean=("has_phone",))
    encoding = FeatureEncoding(spec)
    frame = pl.DataFrame({
        "employees": [0, 9, 999, None],
        "delta": [-1.0, -99.0, 2.5, 0.0],
        "has_phone": [True, False, None, True],
    })
    expected = np.array([
        [0.0, -1.0, 1.0],
        [9.0, -99.0, 0.0],
        [999.0, 2.5, np.nan],
        [np.nan, 0.0, 1.0],
    ])
    np.testing.assert_allclose(encoding.matrix(frame), expected, rtol=1e-12)


def test_matrix_columns_follow_the_spec_order_not_the_frame_order() -> None:
    spec = FeatureSpec(numeric=("b", "a"), categorical=("c",))
    encoding = FeatureEncoding(spec, {"c": ["x"]})
    frame = pl.DataFrame({"a": [1.0], "c": ["x"], "b": [0.0], "unused": [5.0]})
    assert encoding.names == ["b", "a", "c"]
    assert encoding.categorical_mask == [False, False, True]
    np.testing.assert_allclose(encoding.matrix(frame), [[0.0, 1.0, 0.0]])
    assert encoding.matrix(frame).dtype == np.float64


def test_json_round_trip_gives_the_same_encoding_and_matrix() -> None:
    spec = FeatureSpec(numeric=("employees",), boolean=("has_phone",),
                       categorical=("source", "country"))
    encoding = FeatureEncoding(spec, {"source": ["ads", "webinar"], "country": ["SE", "FI"]},
                               {"source": [0.25, 0.75], "country": [0.5, 0.5]})
    restored = FeatureEncoding.from_json(json.loads(json.dumps(encoding.to_json())))
    assert restored == encoding
    frame = pl.DataFrame({
        "employees": [10, None], "has_phone": [True, False],
        "source": ["webinar", "tv"], "country": ["FI", None],
    })
    np.testing.assert_array_equal(restored.matrix(frame), encoding.matrix(frame))


def test_canonical_spec_follows_the_configured_windows() -> None:
    cfg = Config.model_validate({"features": {"engagement_windows_days": [14, 60]}})
    spec = canonical_feature_spec(cfg)
    assert "activity_count_14d" in spec.numeric
    assert "page_view_60d" in spec.numeric
    assert "activity_count_90d" not in spec.numeric
    assert len(set(spec.columns)) == len(spec.columns)


def test_missing_columns_lists_spec_columns_absent_from_the_frame() -> None:
    spec = FeatureSpec(numeric=("a", "b"), categorical=("c",))
    assert missing_columns(["a", "c", "z"], spec) == ["b"]


@pytest.mark.parametrize(
    ("code", "division"),
    [("62010", "62"), ("J 62.01", "62"), ("7", "7"), ("", None), ("n/a", None), (None, None)],
)
def test_industry_division_is_the_first_two_digits_of_the_code(
    code: str | None, division: str | None
) -> None:
    frame = pl.LazyFrame({"industry_code": [code]}, schema={"industry_code": pl.String})
    out = add_derived_columns(frame.with_columns(
        as_of=pl.lit(date(2026, 3, 10)), lead_age_days=pl.lit(1))).collect()
    expected = pl.DataFrame({"industry_code": [code], "industry_division": [division]},
                            schema={"industry_code": pl.String, "industry_division": pl.String})
    assert_frame_equal(out.select("industry_code", "industry_division"), expected)


def test_creation_weekday_and_month_come_from_the_snapshot_date_and_lead_age() -> None:
    # as_of Tuesday 2026-03-10, created 10 days before: Saturday 2026-02-28
    frame = pl.LazyFrame({"industry_code": [None], "as_of": [date(2026, 3, 10)],
                          "lead_age_days": [10]}, schema_overrides={"industry_code": pl.String})
    out = add_derived_columns(frame).collect()
    assert out["created_weekday"].to_list() == ["6"]
    assert out["created_month"].to_list() == ["2"]
