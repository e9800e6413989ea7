from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from threadpoolctl import threadpool_limits

from features.config import Config, parse_config
from features.errors import ConfigError
from scoring.conversion.encoding import FeatureSpec, fit_encoding
from scoring.conversion.estimators import PROBABILITY_FLOOR, TrainedModel, fit_model
from scoring.conversion.explain import top_factors
from scoring.score import NO_MODEL_NOTE, ModelVerdict, finish, with_icp, with_probabilities

ADDED = ("conversion_probability", "probability_status", "probability_note", "model_version",
         "factors_up", "factors_down")
SPEC = FeatureSpec(numeric=("page_view_90d",), boolean=("has_phone",),
                   categorical=("seniority",))

LEADS = pl.DataFrame({
    "lead_id": ["a", "b", "c"],
    "page_view_90d": [0, 3, 25],
    "has_phone": [False, True, True],
    "seniority": ["individual", "manager", "c_level"],
}, schema_overrides={"page_view_90d": pl.Int32})


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny fits run fastest on one thread; OpenMP threads crawl on a busy shared machine."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def tiny_model() -> TrainedModel:
    """A logistic model where page views, a phone and seniority all raise the odds."""
    rng = np.random.default_rng(0)
    rows = 600
    seniority = rng.choice(["individual", "manager", "c_level"], size=rows)
    views = rng.poisson(5, size=rows)
    phone = rng.random(rows) < 0.5
    logit = -2 + 0.3 * views + 1.0 * phone + np.where(seniority == "c_level", 1.5, 0.0)
    frame = pl.DataFrame({
        "lead_id": [f"l{i // 2}" for i in range(rows)],
        "page_view_90d": views,
        "has_phone": phone,
        "seniority": seniority,
        "converted": rng.random(rows) < 1 / (1 + np.exp(-logit)),
    })
    encoding = fit_encoding(frame, SPEC, "converted")
    return fit_model("logistic", encoding, encoding.matrix(frame),
                     frame["converted"].cast(pl.Int8).to_numpy(), frame["lead_id"].to_numpy(),
                     seed=1, isotonic_min_rows=10_000)


def test_without_a_model_every_row_says_why() -> None:
    out = with_probabilities(LEADS, ModelVerdict("no_model"))
    expected = LEADS.with_columns(
        pl.lit(None, dtype=pl.Float64).alias("conversion_probability"),
        pl.lit("no_model").alias("probability_status"),
        pl.lit(NO_MODEL_NOTE).alias("probability_note"),
        pl.lit(None, dtype=pl.String).alias("model_version"),
        pl.lit([], dtype=pl.List(pl.String)).alias("factors_up"),
        pl.lit([], dtype=pl.List(pl.String)).alias("factors_down"),
    )
    assert_frame_equal(out, expected)


def test_insufficient_history_note_is_carried_to_every_row() -> None:
    note = "only 40 labelled leads; at least 1000 are needed (model.min_labelled_rows)"
    out = with_probabilities(LEADS, ModelVerdict("insufficient_history", note=note))
    assert out["probability_status"].to_list() == ["insufficient_history"] * 3
    assert out["probability_note"].to_list() == [note] * 3
    assert out["conversion_probability"].null_count() == 3


def test_without_a_model_an_empty_frame_stays_empty_with_the_columns() -> None:
    out = with_probabilities(LEADS.head(0), ModelVerdict("no_model"))
    assert out.height == 0
    assert out.columns == [*LEADS.columns, *ADDED]


def test_with_a_model_every_row_gets_probability_version_and_factors(
    tiny_model: TrainedModel,
) -> None:
    out = with_probabilities(LEADS, ModelVerdict("model", model=tiny_model, version="v7"))
    assert out.columns == [*LEADS.columns, *ADDED]
    expected = np.round(tiny_model.probability(tiny_model.encoding.matrix(LEADS)), 4)
    np.testing.assert_allclose(out["conversion_probability"].to_numpy(), expected)
    assert out["conversion_probability"].null_count() == 0
    assert out["probability_status"].to_list() == ["model"] * 3
    assert out["probability_note"].to_list() == [None] * 3
    assert out["model_version"].to_list() == ["v7"] * 3
    assert out.schema["factors_up"] == pl.List(pl.String)
    assert out.schema["factors_down"] == pl.List(pl.String)


def test_scoring_in_batches_gives_what_one_pass_gives(
    tiny_model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scoring.score

    rng = np.random.default_rng(5)
    many = pl.DataFrame({
        "lead_id": [f"b{i}" for i in range(25)],
        "page_view_90d": rng.poisson(5, size=25),
        "has_phone": rng.random(25) < 0.5,
        "seniority": rng.choice(["individual", "manager", "c_level", None], size=25),
    })
    verdict = ModelVerdict("model", model=tiny_model, version="v7")
    whole = with_probabilities(many, verdict)
    monkeypatch.setattr(scoring.score, "PREDICT_BATCH_ROWS", 4)  # 7 batches, the last of one
    assert_frame_equal(with_probabilities(many, verdict), whole)


def test_with_a_model_probability_follows_the_learned_effect(tiny_model: TrainedModel) -> None:
    out = with_probabilities(LEADS, ModelVerdict("model", model=tiny_model, version="v7"))
    probability = out["conversion_probability"].to_list()
    assert probability[0] < probability[1] < probability[2]


def test_with_a_model_factors_are_the_explained_contributions(tiny_model: TrainedModel) -> None:
    out = with_probabilities(LEADS, ModelVerdict("model", model=tiny_model, version="v7"))
    _, contributions = tiny_model.contributions(tiny_model.encoding.matrix(LEADS))
    expected = top_factors(LEADS, contributions, tiny_model.encoding)
    assert_frame_equal(out.select("factors_up", "factors_down"), expected)
    assert "page views in the last 90 days (25)" in out["factors_up"][2]
    assert "no page views in the last 90 days" in out["factors_down"][0]


def dated(rows: int) -> dict[str, list[Any]]:
    """The snapshot date and lead age that derived columns need, for `rows` rows."""
    return {"as_of": [date(2026, 3, 1)] * rows, "lead_age_days": [30] * rows}


def test_with_icp_adds_industry_division_and_fit() -> None:
    cfg = Config.model_validate({"icp": {"rules": [
        {"name": "software", "field": "industry_division", "in": ["62"], "points": 10},
    ]}})
    features = pl.LazyFrame({
        "industry_code": ["62010", "4711"], **dated(2),
        "opted_out": [False, False], "unsubscribed": [False, False],
        "bounced": [False, False], "bounced_activity": [False, False],
    })
    out = with_icp(features, cfg).collect()
    assert out["industry_division"].to_list() == ["62", "47"]
    assert out["icp_fit"].to_list() == [100.0, 0.0]


# ---- probabilities are never certain -------------------------------------------------------------

EXTREMES = pl.DataFrame({
    "lead_id": ["never", "sure"],
    "page_view_90d": [-10_000, 10_000],  # far outside anything seen in training
    "has_phone": [False, True],
    "seniority": ["individual", "c_level"],
}, schema_overrides={"page_view_90d": pl.Int32})


def test_probability_floor_is_one_in_a_thousand() -> None:
    assert PROBABILITY_FLOOR == 0.001


def test_model_probability_is_kept_within_the_floor_and_its_complement(
    tiny_model: TrainedModel,
) -> None:
    probability = tiny_model.probability(tiny_model.encoding.matrix(EXTREMES))
    np.testing.assert_allclose(probability, [PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR])
    ordinary = tiny_model.probability(tiny_model.encoding.matrix(LEADS))
    assert ((ordinary > PROBABILITY_FLOOR) & (ordinary < 1 - PROBABILITY_FLOOR)).all()


def test_scored_probability_is_never_zero_or_one(tiny_model: TrainedModel) -> None:
    out = with_probabilities(EXTREMES, ModelVerdict("model", model=tiny_model, version="v7"))
    assert out["conversion_probability"].to_list() == [0.001, 0.999]


# ---- ICP tiers from the config -------------------------------------------------------------------

TIER_RULES = [
    {"name": "software", "field": "industry_division", "in": ["62"], "points": 70},
    {"name": "phone", "field": "has_phone", "is_true": True, "points": 30},
]


def tiers_of(tiers: dict[str, float]) -> list[str]:
    cfg = parse_config({"icp": {"tiers": tiers, "rules": TIER_RULES}})
    features = pl.LazyFrame({
        "industry_code": ["62010", "62010", "4711", "4711"], **dated(4),
        "has_phone": [True, False, True, False],
        "opted_out": [False] * 4, "unsubscribed": [False] * 4,
        "bounced": [False] * 4, "bounced_activity": [False] * 4,
    })
    out = with_icp(features, cfg).collect()
    assert out["icp_fit"].to_list() == [100.0, 70.0, 30.0, 0.0]
    return list(out["icp_tier"])


def test_tiers_not_named_keep_their_defaults() -> None:
    assert parse_config({"icp": {"tiers": {"A": 90}}}).icp.tiers == {"A": 90, "B": 60, "C": 40}
    assert tiers_of({}) == ["A", "B", "D", "D"]  # defaults A 80, B 60, C 40
    assert tiers_of({"A": 90}) == ["A", "B", "D", "D"]  # 70 is below 90: still B
    assert tiers_of({"C": 25}) == ["A", "B", "C", "D"]  # B 60 and A 80 kept


def test_equal_tiers_are_allowed() -> None:
    assert tiers_of({"A": 50, "B": 50, "C": 50}) == ["A", "A", "D", "D"]


@pytest.mark.parametrize(
    "tiers",
    [{"A": 50, "B": 60}, {"C": 70}, {"A": 30, "B": 20, "C": 40}],
    ids=["A below default B", "C above default B", "C above B"],
)
def test_tiers_out_of_order_are_a_config_error(tiers: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=r"tiers must satisfy A >= B >= C"):
        parse_config({"icp": {"tiers": tiers}})


@pytest.mark.parametrize("value", [[80, 60, 40], 80, "A"], ids=["list", "number", "text"])
def test_tiers_that_are_not_a_table_are_a_config_error_naming_the_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^leadscore\.toml: icp\.tiers: "):
        parse_config({"icp": {"tiers": value}})


@pytest.mark.parametrize(
    ("field", "value"),
    [("open_jobs", True), ("has_phone", 1), ("has_phone", 2.5), ("industry_code", 62)],
    ids=["true on a number", "number on a flag", "float on a flag", "number on text"],
)
def test_equals_of_the_wrong_type_is_a_config_error_naming_rule_and_field(
    field: str, value: object
) -> None:
    cfg = parse_config({"icp": {"rules": [
        {"name": "odd rule", "field": field, "equals": value, "points": 5},
    ]}})
    features = pl.LazyFrame({
        "industry_code": ["62010"], "open_jobs": [3], "has_phone": [True], **dated(1),
        "opted_out": [False], "unsubscribed": [False], "bounced": [False],
        "bounced_activity": [False],
    })
    with pytest.raises(ConfigError, match=rf"'odd rule'.*equals.*'{field}'"):
        with_icp(features, cfg).collect()


# ---- finish: the output columns ----------------------------------------------------------------


# The feature and matching columns `finish` reads beside the staged ones.
_FROM_FEATURES = [
    pl.lit(date(2024, 6, 1)).alias("as_of"),
    pl.lit("C").alias("icp_tier"),
    pl.lit(None, dtype=pl.String).alias("model_version"),
    pl.lit(None, dtype=pl.String).alias("company_key"),
    pl.lit(None, dtype=pl.String).alias("lead_business_id"),
    pl.lit("none").alias("match_method"),
    pl.lit(None, dtype=pl.Float64).alias("match_confidence"),
]


def test_export_columns_keep_their_values_whatever_their_names() -> None:
    from datetime import date

    from features.schema import LEADS
    from tests.scoring.rules.test_stage import leads as staged_leads

    scored = staged_leads({"lead_id": "A"}).with_columns(
        *_FROM_FEATURES,
        pl.lit("Software (company register)").alias("industry"),  # a feature, not an output
    )
    # The export's own "priority", "priority_export" and "industry" pass through beside ours.
    lead_rows = pl.LazyFrame(
        {"lead_id": ["A"], "company_name": ["Acme Oy"], "merged_ids": [[]],
         "priority": ["High!"], "priority_export": ["kept too"], "industry": ["SaaS (CRM)"]},
        schema_overrides={"merged_ids": pl.List(pl.String)},
    ).with_columns(pl.lit(None, dtype=LEADS.dtypes[c]).alias(c) for c in LEADS.dtypes
                   if c not in {"lead_id", "company_name"})
    out = finish(scored, lead_rows, Config(), date(2024, 6, 1), None).collect()
    assert out.columns[-3:] == ["priority_export_2", "priority_export", "industry"]
    row = out.row(0, named=True)
    assert (row["priority_export_2"], row["priority_export"]) == ("High!", "kept too")
    assert row["industry"] == "SaaS (CRM)"
    assert isinstance(row["priority"], int)  # ours: the rank


@pytest.mark.parametrize("order", [["B", "C", "A"], ["A", "B", "C"]])
def test_finish_sorts_by_lead_id_whatever_the_scores_order(order: list[str]) -> None:
    """Sorted by lead_id, each lead with its own company, whether the scores come in another
    order or already sorted and flagged so (`marked_sorted`: the sorts are then skipped)."""
    from features.exprs import marked_sorted
    from features.schema import LEADS
    from tests.scoring.rules.test_stage import leads as staged_leads

    scored = staged_leads(*({"lead_id": lead} for lead in order)).with_columns(
        *_FROM_FEATURES).collect()
    lead_rows = pl.LazyFrame(
        {"lead_id": ["C", "A", "B"], "company_name": ["Co C", "Co A", "Co B"],
         "merged_ids": [[], [], []]},
        schema_overrides={"merged_ids": pl.List(pl.String)},
    ).with_columns(pl.lit(None, dtype=LEADS.dtypes[c]).alias(c) for c in LEADS.dtypes
                   if c not in {"lead_id", "company_name"})
    out = finish(marked_sorted(scored, "lead_id").lazy(), lead_rows, Config(),
                 date(2024, 6, 1), None).collect()
    assert out["lead_id"].to_list() == ["A", "B", "C"]
    assert out["company_name"].to_list() == ["Co A", "Co B", "Co C"]


def test_with_a_model_an_empty_frame_stays_empty_with_the_columns(
    tiny_model: TrainedModel,
) -> None:
    verdict = ModelVerdict("model", model=tiny_model, version="v1")
    out = with_probabilities(LEADS.clear(), verdict)
    assert out.height == 0
    assert set(ADDED) <= set(out.columns)
    assert out.schema["conversion_probability"] == pl.Float64
    assert out.schema["factors_up"] == pl.List(pl.String)
