from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.config import Disqualifier, IcpConfig, IcpRule, parse_config
from features.errors import ConfigError
from scoring.rules.icp import ICP_COLUMNS, icp_fit

DEFAULT_TOML = Path(__file__).resolve().parents[3] / "data" / "leadscore.toml"

# The columns the built-in disqualifiers read, all "no" unless a test says otherwise.
CONSENT = {"opted_out": False, "unsubscribed": False, "bounced": False, "bounced_activity": False}


def features(
    columns: dict[str, list[Any]], schema: dict[str, pl.DataType] | None = None
) -> pl.LazyFrame:
    rows = len(next(iter(columns.values())))
    data = {**{k: [v] * rows for k, v in CONSENT.items()}, **columns}
    return pl.LazyFrame(data, schema_overrides=schema or {})


def rule(condition: dict[str, Any], name: str = "r", points: float = 10) -> IcpRule:
    return IcpRule.model_validate({"name": name, "points": points, **condition})


def disqualifier(condition: dict[str, Any], name: str, reason: str | None = None) -> Disqualifier:
    return Disqualifier.model_validate({"name": name, "reason": reason, **condition})


def outcomes(
    condition: dict[str, Any],
    values: list[Any],
    dtype: pl.DataType | None = None,
) -> list[str]:
    """Per row: "match", "no" or "unknown" for one rule on a column named after its field."""
    field = condition["field"]
    frame = features({field: values}, {field: dtype} if dtype is not None else None)
    out = icp_fit(frame, IcpConfig(rules=[rule(condition)])).collect()
    return [
        "match" if matched else "unknown" if unknown else "no"
        for matched, unknown in zip(
            out["icp_matched"].list.len() > 0, out["icp_unknown"].list.len() > 0, strict=True
        )
    ]


def scored(frame: pl.LazyFrame, cfg: IcpConfig) -> pl.DataFrame:
    return icp_fit(frame, cfg).collect()


# ---- each condition kind ------------------------------------------------------------------------


def test_in_matches_case_insensitively() -> None:
    condition = {"field": "seniority", "in": ["Manager", "VP"]}
    assert outcomes(condition, ["manager", "vp", "intern", None]) == [
        "match", "match", "no", "unknown",
    ]


def test_in_alias_and_python_name_build_the_same_rule() -> None:
    by_alias = IcpRule.model_validate({"name": "r", "field": "f", "in": ["a"], "points": 1})
    assert by_alias == IcpRule(name="r", field="f", in_=("a",), points=1)
    assert by_alias.condition == "in_"


def test_not_in_matches_values_outside_the_list_but_not_missing_ones() -> None:
    condition = {"field": "country", "not_in": ["fi", "SE"]}
    assert outcomes(condition, ["US", "FI", "se", None]) == ["match", "no", "no", "unknown"]


def test_prefix_in_matches_codes_starting_with_any_prefix() -> None:
    condition = {"field": "industry_code", "prefix_in": ["62", "63"]}
    assert outcomes(condition, ["62010", "6311", "4762", None]) == [
        "match", "match", "no", "unknown",
    ]


def test_between_is_inclusive_at_both_ends() -> None:
    condition = {"field": "employees", "between": [50, 5000]}
    assert outcomes(condition, [49, 50, 5000, 5001, None]) == [
        "no", "match", "match", "no", "unknown",
    ]


def test_at_least_includes_the_bound() -> None:
    condition = {"field": "open_jobs", "at_least": 5}
    assert outcomes(condition, [4, 5, 6, None]) == ["no", "match", "match", "unknown"]


def test_at_most_includes_the_bound() -> None:
    condition = {"field": "employees", "at_most": 9}
    assert outcomes(condition, [8, 9, 10, None]) == ["match", "match", "no", "unknown"]


def test_equals_on_text_ignores_case() -> None:
    condition = {"field": "lead_source", "equals": "Webinar"}
    assert outcomes(condition, ["webinar", "WEBINAR", "ads", None]) == [
        "match", "match", "no", "unknown",
    ]


def test_equals_on_a_number_compares_numerically() -> None:
    condition = {"field": "seniority_level", "equals": 4}
    assert outcomes(condition, [4, 3, None]) == ["match", "no", "unknown"]


def test_is_true_matches_only_true() -> None:
    condition = {"field": "funded_recently", "is_true": True}
    assert outcomes(condition, [True, False, None]) == ["match", "no", "unknown"]


def test_contains_any_on_a_list_column_matches_any_element_case_insensitively() -> None:
    condition = {"field": "technologies", "contains_any": ["salesforce", "Azure"]}
    values = [["Salesforce", "AWS"], ["azure"], ["HubSpot"], [], None]
    assert outcomes(condition, values, pl.List(pl.String)) == [
        "match", "match", "no", "no", "unknown",
    ]


def test_contains_any_on_text_matches_a_substring_case_insensitively() -> None:
    condition = {"field": "need", "contains_any": ["crm", "lead scoring"]}
    values = ["We need a new CRM", "Lead Scoring for our team", "nothing yet", None]
    assert outcomes(condition, values) == ["match", "match", "no", "unknown"]


# ---- fit, points, tiers, matched and unknown lists -----------------------------------------------


FIT_RULES = IcpConfig(
    rules=[
        rule({"field": "industry_code", "prefix_in": ["62"]}, "software", 30),
        rule({"field": "employees", "between": [50, 5000]}, "mid-size", 20),
        rule({"field": "employees", "at_most": 9}, "tiny", -20),
    ]
)


def test_fit_is_points_over_positive_points_clipped_to_0_100() -> None:
    frame = features({
        "lead_id": ["all", "software only", "software and tiny", "tiny only", "none"],
        "industry_code": ["6201", "6201", "6201", "4711", "4711"],
        "employees": [100, None, 5, 5, 20],
    })
    out = scored(frame, FIT_RULES).select("lead_id", "icp_points", "icp_fit")
    expected = pl.DataFrame({
        "lead_id": ["all", "software only", "software and tiny", "tiny only", "none"],
        "icp_points": [50.0, 30.0, 10.0, -20.0, 0.0],
        # 10 of 50 positive points is 20; -20 points clips to 0.
        "icp_fit": [100.0, 60.0, 20.0, 0.0, 0.0],
    })
    assert_frame_equal(out, expected)


def test_fit_is_rounded_to_one_decimal() -> None:
    cfg = IcpConfig(rules=[
        rule({"field": "a", "is_true": True}, "a", 20),
        rule({"field": "b", "is_true": True}, "b", 45),
    ])
    out = scored(features({"a": [True], "b": [False]}), cfg)
    assert out["icp_fit"].to_list() == [30.8]  # 100 * 20 / 65 = 30.77


def test_fit_is_zero_without_positive_rules() -> None:
    only_negative = IcpConfig(rules=[rule({"field": "employees", "at_most": 9}, "tiny", -20)])
    out = scored(features({"employees": [5, 100]}), only_negative)
    assert out["icp_fit"].to_list() == [0.0, 0.0]
    assert out["icp_tier"].to_list() == ["D", "D"]


def test_tier_thresholds_are_inclusive() -> None:
    cfg = IcpConfig(rules=[
        rule({"field": "f1", "is_true": True}, "f1", 40),
        rule({"field": "f2", "is_true": True}, "f2", 20),
        rule({"field": "f3", "is_true": True}, "f3", 20),
        rule({"field": "f4", "is_true": True}, "f4", 20),
    ])
    frame = features({
        "f1": [True, True, True, True, False],
        "f2": [True, True, True, False, True],
        "f3": [True, True, False, False, False],
        "f4": [True, False, False, False, False],
    })
    out = scored(frame, cfg)
    assert out["icp_fit"].to_list() == [100.0, 80.0, 60.0, 40.0, 20.0]
    assert out["icp_tier"].to_list() == ["A", "A", "B", "C", "D"]


def test_configured_tier_thresholds_are_used() -> None:
    cfg = IcpConfig(
        tiers={"A": 90, "B": 50, "C": 10},
        rules=[
            rule({"field": "f1", "is_true": True}, "f1", 80),
            rule({"field": "f2", "is_true": True}, "f2", 20),
        ],
    )
    out = scored(features({"f1": [True, False], "f2": [False, True]}), cfg)
    assert out["icp_tier"].to_list() == ["B", "C"]


def test_a_partial_tiers_table_is_rejected_or_completed_never_a_crash() -> None:
    """`icp.tiers = {A = 90}` must either fail as a ConfigError naming the key, or score."""
    try:
        cfg = parse_config({"icp": {"tiers": {"A": 90}, "rules": [
            {"name": "f1", "field": "f1", "is_true": True, "points": 10},
        ]}}).icp
    except ConfigError as exc:
        assert "icp.tiers" in str(exc)
        return
    out = scored(features({"f1": [True, False]}), cfg)
    assert out["icp_tier"].to_list() == ["A", "D"]


def test_matched_lists_rule_names_with_signed_points_and_unknown_lists_missing_fields() -> None:
    frame = features({
        "industry_code": ["6201", None],
        "employees": [5, None],
    })
    out = scored(frame, FIT_RULES).select("icp_matched", "icp_against", "icp_unknown")
    lists = pl.List(pl.String)
    expected = pl.DataFrame({
        "icp_matched": [["software (+30)"], []],
        "icp_against": [["tiny (-20)"], []],
        # only positive rules: a missing value there means fit may be understated
        "icp_unknown": [[], ["software", "mid-size"]],
    }, schema={"icp_matched": lists, "icp_against": lists, "icp_unknown": lists})
    assert_frame_equal(out, expected)


def test_a_missing_value_never_matches_a_rule_and_gives_no_points() -> None:
    cfg = IcpConfig(rules=[
        rule({"field": "country", "not_in": ["US"]}, "not US", 50),
        rule({"field": "employees", "at_most": 1000}, "small", 50),
    ])
    out = scored(
        features({"country": [None], "employees": [None]}, {"employees": pl.Int64}), cfg
    )
    assert out["icp_points"].to_list() == [0.0]
    assert out["icp_matched"].to_list() == [[]]
    assert out["icp_unknown"].to_list() == [["not US", "small"]]


def test_icp_fit_adds_every_icp_column_and_keeps_the_input_columns() -> None:
    frame = features({"lead_id": ["a"], "industry_code": ["62"], "employees": [10]})
    out = icp_fit(frame, FIT_RULES)
    names = out.collect_schema().names()
    assert names[: len(frame.collect_schema())] == frame.collect_schema().names()
    assert set(ICP_COLUMNS) <= set(names)


# ---- disqualifiers ------------------------------------------------------------------------------


def consent_frame(**flags: list[bool | None]) -> pl.LazyFrame:
    rows = len(next(iter(flags.values())))
    columns: dict[str, list[Any]] = {k: [v] * rows for k, v in CONSENT.items()}
    columns.update(flags)
    columns["company_domain"] = ["rival.example"] * rows
    return pl.LazyFrame(columns, schema_overrides=dict.fromkeys(CONSENT, pl.Boolean))


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        ("opted_out", "opted out of contact"),
        ("unsubscribed", "opted out of contact"),
        ("bounced", "email address bounced"),
        ("bounced_activity", "email address bounced"),
    ],
)
def test_built_in_disqualifier_applies_from_flag_or_activity(flag: str, reason: str) -> None:
    out = scored(consent_frame(**{flag: [True, False]}), IcpConfig())
    assert out["disqualified_reason"].to_list() == [reason, None]
    consent = flag in ("opted_out", "unsubscribed")
    assert out["contact_blocked"].to_list() == [consent, False]
    assert out["address_bounced"].to_list() == [not consent, False]


def test_opted_out_comes_before_bounced() -> None:
    out = scored(consent_frame(opted_out=[True], bounced_activity=[True]), IcpConfig())
    assert out["disqualified_reason"].to_list() == ["opted out of contact"]


def test_built_in_disqualifiers_come_before_configured_ones() -> None:
    cfg = IcpConfig(disqualify=[
        disqualifier({"field": "company_domain", "in": ["rival.example"]}, "competitor",
                     "works for a competitor"),
    ])
    out = scored(consent_frame(bounced=[True, False]), cfg)
    assert out["disqualified_reason"].to_list() == ["email address bounced",
                                                    "works for a competitor"]


def test_default_competitor_list_reads_every_domain_of_the_lead() -> None:
    """A competitor's employee writing from the competitor's address is caught even when the
    company match found nothing (or another company)."""
    with DEFAULT_TOML.open("rb") as handle:
        competitor = next(d for d in parse_config(tomllib.load(handle)).icp.disqualify
                          if d.name == "competitor")
    frame = features(
        {"domains": [["rival.example"], ["acme.fi", "Kilpailija.example"], ["acme.fi"], []]},
        {"domains": pl.List(pl.String)},
    )
    out = scored(frame, IcpConfig(disqualify=[competitor]))
    assert out["disqualified_reason"].to_list() == [
        "works for a competitor", "works for a competitor", None, None,
    ]


def test_missing_consent_flags_do_not_disqualify() -> None:
    out = scored(consent_frame(opted_out=[None], bounced=[None]), IcpConfig())
    assert out["disqualified_reason"].to_list() == [None]


def test_first_configured_disqualifier_wins_and_name_stands_in_for_a_missing_reason() -> None:
    cfg = IcpConfig(disqualify=[
        disqualifier({"field": "country", "not_in": ["FI", "SE"]}, "outside territory"),
        disqualifier({"field": "email_quality", "in": ["invalid"]}, "invalid email",
                     "the email address is malformed"),
    ])
    frame = features({
        "country": ["US", "FI", "FI", None],
        "email_quality": ["invalid", "invalid", "business", None],
    })
    out = scored(frame, cfg)
    assert out["disqualified_reason"].to_list() == [
        "outside territory", "the email address is malformed", None, None,
    ]


def test_disqualifier_does_not_change_fit() -> None:
    cfg = IcpConfig(
        rules=[rule({"field": "industry_code", "prefix_in": ["62"]}, "software", 30)],
        disqualify=[disqualifier({"field": "industry_code", "in": ["6201"]}, "odd")],
    )
    out = scored(features({"industry_code": ["6201"]}), cfg)
    assert out.select("icp_fit", "disqualified_reason").row(0) == (100.0, "odd")


# ---- configuration errors -----------------------------------------------------------------------


def test_unknown_rule_field_is_a_config_error_naming_rule_and_field() -> None:
    cfg = IcpConfig(rules=[rule({"field": "employes", "at_least": 5}, "big company")])
    with pytest.raises(ConfigError, match=r"icp\.rules 'big company'.*'employes'"):
        icp_fit(features({"employees": [10]}), cfg)


def test_unknown_disqualifier_field_is_a_config_error_naming_it() -> None:
    cfg = IcpConfig(disqualify=[disqualifier({"field": "domain", "in": ["x"]}, "competitor")])
    with pytest.raises(ConfigError, match=r"icp\.disqualify 'competitor'.*'domain'"):
        icp_fit(features({"company_domain": ["x"]}), cfg)


def test_between_on_a_text_field_is_a_config_error_naming_rule_and_field() -> None:
    cfg = IcpConfig(rules=[rule({"field": "industry_code", "between": [60, 64]}, "software")])
    with pytest.raises(ConfigError, match=r"'software'.*between.*'industry_code'"):
        icp_fit(features({"industry_code": ["62"]}), cfg)


@pytest.mark.parametrize("condition", [{"at_least": 5}, {"at_most": 5}])
def test_number_comparison_on_a_text_field_is_a_config_error(condition: dict[str, Any]) -> None:
    cfg = IcpConfig(rules=[rule({"field": "employees", **condition}, "size")])
    with pytest.raises(ConfigError, match=r"'size'.*'employees'"):
        icp_fit(features({"employees": ["fifty"]}), cfg)


def test_is_true_on_a_number_field_is_a_config_error_naming_rule_and_field() -> None:
    cfg = IcpConfig(rules=[rule({"field": "open_jobs", "is_true": True}, "hiring")])
    with pytest.raises(ConfigError, match=r"'hiring'.*is_true.*'open_jobs'"):
        icp_fit(features({"open_jobs": [3]}), cfg)


@pytest.mark.parametrize("value", [5, True], ids=["number", "boolean"])
def test_equals_with_a_non_text_value_on_a_text_field_is_a_config_error(value: Any) -> None:
    need_given = rule({"field": "need", "equals": value}, "need given")
    with pytest.raises(ConfigError, match=r"'need given'.*'need'"):
        scored(features({"need": ["a new CRM"]}), IcpConfig(rules=[need_given]))


@pytest.mark.parametrize(
    "condition",
    [{"in": ["aws"]}, {"not_in": ["aws"]}, {"prefix_in": ["aw"]}, {"equals": "aws"}],
    ids=["in", "not_in", "prefix_in", "equals"],
)
def test_text_condition_on_a_list_field_is_a_config_error(condition: dict[str, Any]) -> None:
    cfg = IcpConfig(rules=[rule({"field": "technologies", **condition}, "uses AWS")])
    frame = features({"technologies": [["aws"]]}, {"technologies": pl.List(pl.String)})
    with pytest.raises(ConfigError, match=r"'uses AWS'.*'technologies'"):
        scored(frame, cfg)
