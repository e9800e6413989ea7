"""The feature registry is the one list of features: the frame, docs and model agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from features.config import Config, FeaturesConfig
from features.point_in_time.assemble import PreparedInputs, build_features
from features.point_in_time.registry import (
    EACH_WINDOW,
    FAMILY_MODULES,
    FEATURES,
    Custom,
    Family,
    FeatureColumn,
    Windowed,
    column_named,
    feature_columns,
    window_column,
)
from scoring.conversion.encoding import add_derived_columns, canonical_feature_spec
from scoring.conversion.explain import _custom_phrases
from tests.features.test_point_in_time import (
    ACTIVITY_SCHEMA,
    COMPANY_SCHEMA,
    EVENT_SCHEMA,
    LEAD_SCHEMA,
    MATCH_SCHEMA,
    OPPORTUNITY_SCHEMA,
    frame,
)

README = Path(__file__).parents[3] / "README.md"
DEFAULT_WINDOWS = FeaturesConfig().engagement_windows_days
TABLE_START = "<!-- feature table: generated from features/point_in_time/registry.py -->"
TABLE_END = "<!-- end of feature table -->"


def _features_frame_schema(cfg: Config) -> pl.Schema:
    snapshots = pl.LazyFrame(schema={"lead_id": pl.String, "as_of": pl.Date})
    inputs = PreparedInputs(
        frame([], LEAD_SCHEMA), frame([], MATCH_SCHEMA), frame([], ACTIVITY_SCHEMA),
        frame([], OPPORTUNITY_SCHEMA), frame([], COMPANY_SCHEMA), frame([], EVENT_SCHEMA),
    )
    return add_derived_columns(build_features(snapshots, inputs, cfg)).collect_schema()


def test_the_features_frame_has_exactly_the_registry_columns_and_types_in_order() -> None:
    for windows in (DEFAULT_WINDOWS, (14, 60)):
        cfg = Config(features=FeaturesConfig(engagement_windows_days=windows))
        schema = _features_frame_schema(cfg)
        declared = {c.name: c.dtype for c in feature_columns(windows)}
        produced = {n: d for n, d in schema.items() if n not in ("lead_id", "as_of", "company_key")}
        assert produced == declared
        assert list(produced) == list(declared)


def test_windowed_defaults_spell_out_the_names_at_the_default_windows() -> None:
    names = {c.name for c in feature_columns(DEFAULT_WINDOWS)}
    for entry in FEATURES:
        if isinstance(entry, Windowed):
            days = DEFAULT_WINDOWS if entry.windows == EACH_WINDOW else (max(DEFAULT_WINDOWS),)
            assert entry.defaults == tuple(window_column(entry.stem, d) for d in days)
            assert set(entry.defaults) <= names


def test_every_name_is_declared_once() -> None:
    names = [c.name for c in feature_columns(DEFAULT_WINDOWS)]
    assert len(names) == len(set(names))


def test_windowed_names_resolve_at_any_window() -> None:
    column = column_named("page_view_30d")
    assert column is not None and column.window_days == 30
    assert column.counts_activity == "page_view"
    assert column_named("activity_count_total") is not None
    assert column_named("no_such_feature_7d") is None


def test_undated_lead_fields_never_feed_the_model() -> None:
    undated = {c.name for c in feature_columns(DEFAULT_WINDOWS) if c.undated}
    assert undated == {"budget", "has_budget", "timeline_days", "has_need"}
    assert not undated & set(canonical_feature_spec(Config()).columns)


def test_every_model_feature_has_a_reason_phrase() -> None:
    for column in feature_columns(DEFAULT_WINDOWS):
        if column.model is not None:
            assert column.reason is not None, column.name


def test_every_custom_reason_has_its_phrase_in_explain_and_no_more() -> None:
    custom = {c.name for c in feature_columns(DEFAULT_WINDOWS) if isinstance(c.reason, Custom)}
    assert set(_custom_phrases([])) == custom


def test_the_model_spec_is_the_registry_model_features() -> None:
    spec = canonical_feature_spec(Config())
    declared = [c.name for c in feature_columns(DEFAULT_WINDOWS) if c.model is not None]
    assert sorted(spec.columns) == sorted(declared)
    assert "activity_count_30d" in spec.numeric
    assert "page_view_90d" in spec.numeric


def _type_name(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "number"
    if dtype == pl.Boolean():
        return "true/false"
    if dtype == pl.List(pl.String()):
        return "list of text"
    if isinstance(dtype, pl.Datetime):
        return "timestamp (UTC)"
    assert dtype == pl.String(), dtype
    return "text"


def _row(column: FeatureColumn) -> str:
    module = FAMILY_MODULES[column.family].rsplit("/", 1)[-1]
    model = column.model or ("never (undated)" if column.undated else "")
    return (f"| `{column.name}` | {_type_name(column.dtype)} | {model} | `{module}` "
            f"| {column.meaning} |")


def expected_table() -> str:
    rows = [_row(c) for c in feature_columns(DEFAULT_WINDOWS)]
    return "\n".join(["| field | type | model | computed in | meaning |",
                      "|---|---|---|---|---|", *rows])


def test_readme_field_table_is_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(TABLE_START) + r"\n(.*?)\n" + re.escape(TABLE_END), text,
                      flags=re.DOTALL)
    assert found, f"README.md lacks the feature table between {TABLE_START!r} and {TABLE_END!r}"
    assert found.group(1) == expected_table(), (
        "README.md's feature table differs from the registry; replace it with:\n"
        + expected_table()
    )


def test_every_family_has_its_module() -> None:
    assert set(FAMILY_MODULES) == set(Family)
    root = Path(__file__).parents[3]
    for module in FAMILY_MODULES.values():
        assert (root / module).is_file(), module
