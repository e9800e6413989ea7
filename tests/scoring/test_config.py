from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from features.config import DEFAULT_NEXT_ACTIONS, Config, parse_config
from features.errors import ConfigError

DEFAULT_TOML = Path(__file__).resolve().parents[2] / "data" / "leadscore.toml"


def error_of(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return str(caught.value)


def test_empty_config_is_valid_and_equals_the_defaults() -> None:
    assert parse_config({}) == Config()


def test_default_leadscore_toml_parses() -> None:
    with DEFAULT_TOML.open("rb") as handle:
        cfg = parse_config(tomllib.load(handle))
    assert cfg.icp.prospect_min_fit == 60
    assert [r.name for r in cfg.icp.rules][:2] == ["software or IT services",
                                                   "50 to 5000 employees"]
    assert {d.name for d in cfg.icp.disqualify} >= {"competitor", "outside territory"}
    assert cfg.model.seed == 42


def test_in_key_of_a_toml_rule_sets_the_in_condition() -> None:
    cfg = parse_config(tomllib.loads(
        '[[icp.rules]]\nname = "vp"\nfield = "seniority"\nin = ["vp"]\npoints = 5\n'
    ))
    assert cfg.icp.rules[0].in_ == ("vp",)
    assert cfg.icp.rules[0].condition == "in_"


def test_unknown_top_level_key_is_named() -> None:
    assert error_of({"icpp": {}}) == "leadscore.toml: icpp: unknown key"


def test_unknown_nested_key_is_named_with_its_section() -> None:
    assert error_of({"icp": {"prospect_min_fitt": 60}}) == (
        "leadscore.toml: icp.prospect_min_fitt: unknown key"
    )


def test_unknown_key_inside_a_rule_names_the_rule_position() -> None:
    raw = {"icp": {"rules": [
        {"name": "ok", "field": "f", "in": ["a"], "points": 1},
        {"name": "typo", "field": "f", "in": ["a"], "points": 1, "pointz": 2},
    ]}}
    assert error_of(raw) == "leadscore.toml: icp.rules[1].pointz: unknown key"


def test_source_name_starts_the_message() -> None:
    with pytest.raises(ConfigError, match=r"^custom\.toml: icpp: unknown key$"):
        parse_config({"icpp": {}}, source="custom.toml")


def test_wrong_type_names_the_key() -> None:
    message = error_of({"stages": {"signal_window_days": "thirty"}})
    assert message.startswith("leadscore.toml: stages.signal_window_days: ")
    assert "integer" in message


def test_out_of_range_value_names_the_key() -> None:
    message = error_of({"stages": {"opportunity_min_probability": 1.5}})
    assert message.startswith("leadscore.toml: stages.opportunity_min_probability: ")


def test_unknown_candidate_kind_names_the_key() -> None:
    message = error_of({"model": {"candidates": ["random_forest"]}})
    assert message.startswith("leadscore.toml: model.candidates[0]: ")


def test_rule_with_no_condition_is_an_error_naming_the_rule() -> None:
    message = error_of({"icp": {"rules": [{"name": "vague", "field": "f", "points": 1}]}})
    assert message.startswith("leadscore.toml: icp.rules[0]: ")
    assert "'vague' needs exactly one of" in message
    assert "got 0" in message


def test_rule_with_two_conditions_is_an_error_naming_the_rule() -> None:
    raw = {"icp": {"rules": [
        {"name": "greedy", "field": "f", "in": ["a"], "at_least": 3, "points": 1},
    ]}}
    message = error_of(raw)
    assert message.startswith("leadscore.toml: icp.rules[0]: ")
    assert "'greedy' needs exactly one of" in message
    assert "got 2" in message


def test_disqualifier_with_no_condition_is_an_error_naming_it() -> None:
    message = error_of({"icp": {"disqualify": [{"name": "nothing", "field": "f"}]}})
    assert message.startswith("leadscore.toml: icp.disqualify[0]: ")
    assert "'nothing'" in message


def test_rule_without_points_names_the_missing_key() -> None:
    raw = {"icp": {"rules": [{"name": "x", "field": "f", "in": ["a"]}]}}
    assert error_of(raw).startswith("leadscore.toml: icp.rules[0].points: ")


def test_between_with_reversed_bounds_is_an_error() -> None:
    raw = {"icp": {"rules": [{"name": "size", "field": "employees", "between": [5000, 50],
                              "points": 1}]}}
    message = error_of(raw)
    assert message.startswith("leadscore.toml: icp.rules[0]: ")
    assert "lower bound exceeds upper bound" in message


def test_unknown_stage_in_next_actions_is_named() -> None:
    message = error_of({"stages": {"next_actions": {"leed": "Call them"}}})
    assert message.startswith("leadscore.toml: stages.next_actions: ")
    assert "unknown stage 'leed'" in message


@pytest.mark.parametrize("value", [["lead"], 5, "call them"], ids=["list", "number", "text"])
def test_next_actions_of_the_wrong_type_is_a_config_error_naming_the_key(value: Any) -> None:
    message = error_of({"stages": {"next_actions": value}})
    assert message.startswith("leadscore.toml: stages.next_actions: ")
    assert "unknown stage" not in message


def test_wrong_type_inside_a_rule_names_the_rule_position_and_key() -> None:
    raw = {"icp": {"rules": [{"name": "x", "field": "f", "in": ["a"], "points": "ten"}]}}
    assert error_of(raw).startswith("leadscore.toml: icp.rules[0].points: ")


def test_unknown_tier_is_named() -> None:
    message = error_of({"icp": {"tiers": {"E": 10}}})
    assert message.startswith("leadscore.toml: icp.tiers.E")
    assert "'A', 'B' or 'C'" in message


def test_next_actions_keep_defaults_for_stages_not_named() -> None:
    cfg = parse_config({"stages": {"next_actions": {"lead": "Send the newsletter"}}})
    assert cfg.stages.next_actions == {**DEFAULT_NEXT_ACTIONS, "lead": "Send the newsletter"}


def test_config_is_frozen() -> None:
    cfg = parse_config({})
    with pytest.raises(ValueError, match="frozen"):
        cfg.model.seed = 1  # type: ignore[misc]


def test_unknown_intent_signal_is_named_with_the_known_types() -> None:
    message = error_of({"stages": {"intent_signals": ["demo_request", "demo_requests"]}})
    assert message.startswith("leadscore.toml: stages.intent_signals: ")
    assert "'demo_requests'" in message and "pricing_request" in message


@pytest.mark.parametrize("windows", [[], [0], [7, -1], [30, 7, 30]])
def test_engagement_windows_must_be_whole_positive_days(windows: list[int]) -> None:
    assert error_of({"features": {"engagement_windows_days": windows}}).startswith(
        "leadscore.toml: features.engagement_windows_days"
    )
