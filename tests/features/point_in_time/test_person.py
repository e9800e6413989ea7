from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.point_in_time.person import (
    SENIORITY_LEVELS,
    department_from_title,
    seniority_from_title,
    seniority_level,
)
from samplegen.tables import TITLES

# The parser must agree with the generator's truth table on at least this share of its titles.
MIN_AGREEMENT = 0.9


def parse(*titles: str | None) -> pl.DataFrame:
    frame = pl.DataFrame({"title": list(titles)}, schema={"title": pl.String})
    return frame.select(
        "title",
        seniority_from_title(pl.col("title")).alias("seniority"),
        department_from_title(pl.col("title")).alias("department"),
    )


def parsed_as(title: str | None) -> tuple[str, str]:
    row = parse(title).row(0, named=True)
    return row["seniority"], row["department"]


@pytest.mark.parametrize(
    ("title", "seniority", "department"),
    [
        ("CTO", "c_level", "engineering"),
        ("CFO", "c_level", "finance"),
        ("Toimitusjohtaja", "c_level", "executive"),  # CEO, though it contains "johtaja"
        ("Daglig leder", "c_level", "executive"),  # not a "leder" (manager)
        ("VP of Sales", "vp", "sales"),
        ("Vice VD", "vp", "executive"),  # deputy CEO: vp before the C-level "vd"
        ("Varatoimitusjohtaja", "vp", "executive"),
        ("Vice President, Engineering", "vp", "engineering"),
        ("Myyntijohtaja", "director", "sales"),  # sales director: function before executive
        ("Head of Marketing", "director", "marketing"),
        ("IT-chef", "manager", "it"),
        ("Markkinointipäällikkö", "manager", "marketing"),
        ("Försäljningschef", "manager", "sales"),
        ("Salgssjef", "manager", "sales"),
        ("Inköpschef", "manager", "operations"),
        ("HR Manager", "manager", "hr"),
        ("Senior Software Engineer", "individual", "engineering"),
    ],
)
def test_title_is_read_in_several_languages(title: str, seniority: str, department: str) -> None:
    assert parsed_as(title) == (seniority, department)


def test_title_parsing_ignores_case_and_surrounding_spaces() -> None:
    assert parsed_as("  SALES MANAGER  ") == parsed_as("sales manager") == ("manager", "sales")


def test_missing_or_blank_title_is_unknown_in_both() -> None:
    result = parse(None, "", "   ")
    expected = pl.DataFrame(
        {
            "title": [None, "", "   "],
            "seniority": ["unknown"] * 3,
            "department": ["unknown"] * 3,
        },
        schema={"title": pl.String, "seniority": pl.String, "department": pl.String},
    )
    assert_frame_equal(result, expected)


def test_unrecognised_title_has_unknown_seniority_and_other_department() -> None:
    assert parsed_as("Gardener") == ("unknown", "other")


def test_seniority_level_orders_unknown_to_c_level() -> None:
    frame = pl.DataFrame({"seniority": list(SENIORITY_LEVELS)})
    levels = frame.select(seniority_level(pl.col("seniority"))).to_series().to_list()
    assert levels == [0, 1, 2, 3, 4, 5]


def test_seniority_level_of_an_unknown_or_missing_label_is_zero() -> None:
    frame = pl.DataFrame({"seniority": ["chief wizard", None]}, schema={"seniority": pl.String})
    result = frame.select(seniority_level(pl.col("seniority")))
    expected = pl.DataFrame({"seniority": [0, 0]}, schema={"seniority": pl.Int8})
    assert_frame_equal(result, expected)


# ---- against the sample generator's truth table --------------------------------------------------


def _truth_table() -> pl.DataFrame:
    truth = pl.DataFrame(
        TITLES, schema=["title", "true_seniority", "true_department"], orient="row"
    )
    return truth.join(parse(*truth.get_column("title")).unique("title"), on="title")


def _agreement(field: str) -> tuple[float, list[str]]:
    table = _truth_table()
    wrong = table.filter(pl.col(field) != pl.col(f"true_{field}"))
    shown = sorted(f"{t!r}: parsed {got}, truth {want}"
                   for t, got, want in wrong.select("title", field, f"true_{field}").iter_rows())
    return 1 - wrong.height / table.height, shown


def test_truth_table_covers_every_title() -> None:
    assert _truth_table().height == len(TITLES) > 50


@pytest.mark.parametrize("field", ["seniority", "department"])
def test_title_parser_agrees_with_the_generator_truth_table(field: str) -> None:
    rate, wrong = _agreement(field)
    assert rate >= MIN_AGREEMENT, (
        f"{field} agreement {rate:.1%} < {MIN_AGREEMENT:.0%}; disagreements:\n" + "\n".join(wrong)
    )


def test_generator_titles_parse_the_same_in_upper_and_lower_case() -> None:
    titles = [t for t, _, _ in TITLES]
    lower = parse(*[t.lower() for t in titles]).drop("title")
    upper = parse(*[t.upper() for t in titles]).drop("title")
    assert_frame_equal(lower, upper)
