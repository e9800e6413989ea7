from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from features.resolve.dedupe import (
    duplicate_groups,
    merge_duplicates,
    person_key,
    with_person_key,
)
from features.schema import LEADS

# A column the CRM sent that the contract does not know: it must pass through untouched.
EXTRA = "crm_record_id"
SCHEMA = {**LEADS.dtypes, EXTRA: pl.String()}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def leads(*rows: dict[str, Any]) -> pl.LazyFrame:
    """Lead rows with every canonical column; unnamed columns are null."""
    return pl.LazyFrame([{c: row.get(c) for c in SCHEMA} for row in rows], schema=SCHEMA)


def person(lead_id: str, day: int, **values: Any) -> dict[str, Any]:
    return {"lead_id": lead_id, "created_at": utc(2024, 1, day), **values}


def groups_of(frame: pl.LazyFrame) -> dict[str, tuple[str, str | None]]:
    result = duplicate_groups(frame).collect()
    return {lid: (sid, rule) for lid, sid, rule in result.iter_rows()}


def merged(frame: pl.LazyFrame) -> pl.DataFrame:
    return merge_duplicates(frame, duplicate_groups(frame)).collect().sort("lead_id")


NCP = {"first_name": "Anna", "last_name": "Virtanen", "company_name": "Acme Oy",
       "phone": "+358 40 123 4567"}


# ---- with_person_key -----------------------------------------------------------------------------


def test_with_person_key_is_person_key_in_the_leads_order() -> None:
    """Computed apart for the leads with and without a usable email, the key is still each
    row's person_key, and the rows come back in their order (here, emails and no emails
    interleaved, with ones that identify nobody)."""
    frame = leads(
        person("L5", 1, email="anna@acme.fi", **NCP),
        person("L4", 2, email="unknown", **NCP),
        person("L3", 3, email="  Bo@Acme.fi ", first_name="Bo"),
        person("L2", 4, email="", **NCP),
        person("L1", 5, **{**NCP, "phone": "tbd"}),
        person("L0", 6, email=None, **NCP),
    )
    expected = frame.select("lead_id", person_key().alias("key")).collect()
    assert expected["key"].null_count() == 1  # L1: neither an email nor a phone
    assert_frame_equal(with_person_key(frame, "key").select("lead_id", "key").collect(),
                       expected)


def test_with_person_key_of_no_leads_is_empty() -> None:
    assert with_person_key(leads(), "key").collect().height == 0


# ---- duplicate_groups ----------------------------------------------------------------------------


def test_same_email_merges_into_the_earliest_created_lead() -> None:
    frame = leads(
        person("L2", 1, email="anna@acme.fi"),
        person("L1", 5, email="anna@acme.fi"),
        person("L3", 9, email="anna@acme.fi"),
    )
    assert groups_of(frame) == {
        "L2": ("L2", None),
        "L1": ("L2", "same email"),
        "L3": ("L2", "same email"),
    }


def test_email_comparison_ignores_case_and_surrounding_spaces() -> None:
    frame = leads(person("A", 1, email="Anna@Acme.FI"), person("B", 2, email="  anna@acme.fi "))
    assert groups_of(frame)["B"] == ("A", "same email")


def test_survivor_tie_on_created_at_goes_to_the_smallest_lead_id() -> None:
    frame = leads(person("L9", 1, email="x@acme.fi"), person("L10", 1, email="x@acme.fi"))
    # "L10" < "L9" as text: ids are strings.
    assert groups_of(frame) == {"L10": ("L10", None), "L9": ("L10", "same email")}


def test_same_name_company_and_phone_merges_when_neither_has_an_email() -> None:
    frame = leads(person("A", 1, **NCP), person("B", 2, **NCP), person("C", 3, **NCP, email=" "))
    # A blank email counts as none.
    assert groups_of(frame) == {
        "A": ("A", None),
        "B": ("A", "same name, company and phone"),
        "C": ("A", "same name, company and phone"),
    }


def test_name_company_phone_rule_compares_normalised_parts() -> None:
    frame = leads(
        person("A", 1, **NCP),
        person("B", 2, first_name=" anna ", last_name="VIRTANEN", company_name="ACME Ab",
               phone="+358 (40) 123-4567", email=""),
    )
    assert groups_of(frame)["B"] == ("A", "same name, company and phone")


def test_people_with_different_phones_do_not_merge() -> None:
    frame = leads(person("A", 1, **NCP), person("B", 2, **{**NCP, "phone": "+358 40 765 4321"}))
    assert groups_of(frame) == {"A": ("A", None), "B": ("B", None)}


def test_a_lead_with_email_never_merges_by_name_company_and_phone() -> None:
    frame = leads(person("A", 1, **NCP), person("B", 2, **NCP, email="anna@acme.fi"))
    assert groups_of(frame) == {"A": ("A", None), "B": ("B", None)}


def test_null_identity_parts_never_merge() -> None:
    frame = leads(
        person("A", 1, **{**NCP, "phone": None}),
        person("B", 2, **{**NCP, "phone": None}),
        person("C", 3, **{**NCP, "first_name": None}),
        person("D", 4, **{**NCP, "first_name": None}),
        person("E", 5, **{**NCP, "company_name": None}),
        person("F", 6, **{**NCP, "company_name": None}),
        person("G", 7),
        person("H", 8),
    )
    assert all(survivor == lid and rule is None
               for lid, (survivor, rule) in groups_of(frame).items())


def test_phone_without_digits_is_no_identity_and_never_merges() -> None:
    # A phone field holding text ("ask reception") has no digits: like a missing phone it cannot
    # tell two people with the same name at the same company apart.
    frame = leads(
        person("A", 1, **{**NCP, "phone": "ask reception"}),
        person("B", 2, **{**NCP, "phone": "tbd"}),
    )
    assert groups_of(frame) == {"A": ("A", None), "B": ("B", None)}


def test_duplicate_groups_of_no_leads_is_empty() -> None:
    result = duplicate_groups(leads()).collect()
    assert result.height == 0
    assert result.columns == ["lead_id", "survivor_id", "duplicate_rule"]


# ---- merge_duplicates ----------------------------------------------------------------------------


def test_merge_keeps_one_row_per_survivor_with_merged_ids_sorted() -> None:
    frame = leads(
        person("L1", 1, email="a@acme.fi"),
        person("L3", 3, email="a@acme.fi"),
        person("L2", 2, email="a@acme.fi"),
        person("S", 1, email="solo@acme.fi"),
    )
    result = merged(frame).select("lead_id", "merged_ids")
    expected = pl.DataFrame(
        {"lead_id": ["L1", "S"], "merged_ids": [["L2", "L3"], []]},
        schema={"lead_id": pl.String, "merged_ids": pl.List(pl.String)},
    )
    assert_frame_equal(result, expected)


def test_merge_keeps_the_survivor_values_and_fills_gaps_newest_first() -> None:
    frame = leads(
        person("OLD", 1, email="a@acme.fi", title="CTO", budget=None, phone=None, country="FI"),
        person("MID", 2, email="a@acme.fi", title="Engineer", budget=1000.0, phone="111",
               need="CRM"),
        person("NEW", 3, email="a@acme.fi", title="Dev", budget=None, phone="222",
               timeline=date(2024, 6, 1)),
    )
    row = merged(frame).row(0, named=True)
    assert row["lead_id"] == "OLD"
    assert row["title"] == "CTO"  # the survivor's own value wins
    assert row["country"] == "FI"
    assert row["phone"] == "222"  # newest duplicate with a value
    assert row["budget"] == 1000.0  # newest that has one, even if not the newest row
    assert row["need"] == "CRM"
    assert row["timeline"] == date(2024, 6, 1)


def test_merge_consent_flags_are_true_if_any_copy_says_so() -> None:
    frame = leads(
        person("A", 1, email="a@acme.fi", opted_out=False, bounced=None),
        person("B", 2, email="a@acme.fi", opted_out=True, bounced=None),
        person("C", 3, email="a@acme.fi", opted_out=None, bounced=True),
        person("X", 1, email="x@acme.fi", opted_out=None, bounced=None),
    )
    result = merged(frame).select("lead_id", "opted_out", "bounced")
    expected = pl.DataFrame(
        {"lead_id": ["A", "X"], "opted_out": [True, False], "bounced": [True, False]}
    )
    assert_frame_equal(result, expected)


def test_merge_keeps_pass_through_columns_and_created_at_of_the_survivor() -> None:
    frame = leads(
        person("A", 1, email="a@acme.fi", **{EXTRA: None}),
        person("B", 2, email="a@acme.fi", **{EXTRA: "crm-B"}),
    )
    row = merged(frame).row(0, named=True)
    assert row[EXTRA] is None  # extras are the survivor's own, never filled
    assert row["created_at"] == utc(2024, 1, 1)


def test_merge_returns_the_input_columns_in_order_plus_merged_ids() -> None:
    frame = leads(person("A", 1, email="a@acme.fi"), person("B", 2, email="a@acme.fi"))
    result = merge_duplicates(frame, duplicate_groups(frame)).collect()
    assert result.schema == pl.Schema({**SCHEMA, "merged_ids": pl.List(pl.String())})


def test_merge_of_distinct_people_changes_nothing_but_adds_empty_merged_ids() -> None:
    frame = leads(
        person("A", 1, email="a@acme.fi", title="CTO", opted_out=True),
        person("B", 2, email="b@acme.fi", title="CFO", bounced=False),
    )
    result = merged(frame)
    expected = frame.collect().with_columns(
        pl.col("opted_out").fill_null(False),
        pl.col("bounced").fill_null(False),
        pl.lit([], dtype=pl.List(pl.String)).alias("merged_ids"),
    )
    assert_frame_equal(result, expected.sort("lead_id"))


def test_malformed_emails_identify_nobody() -> None:
    frame = leads(
        person("A", 1, email="unknown", first_name="Ann", last_name="Aho", company_name="X Oy",
               phone="040 123 4567"),
        person("B", 2, email="unknown", first_name="Bo", last_name="Berg", company_name="Y AB",
               phone="070 765 4321"),
    )
    assert groups_of(frame) == {"A": ("A", None), "B": ("B", None)}


# ---- merges to review -------------------------------------------------------------------------


def reviewed(frame: pl.LazyFrame) -> dict[str, tuple[bool, str | None]]:
    from features.resolve.dedupe import review_merges

    groups = duplicate_groups(frame)
    merged_rows = groups.filter(pl.col("lead_id") != pl.col("survivor_id"))
    result = review_merges(merged_rows, frame).collect()
    return {r["lead_id"]: (r["needs_review"], r["review_reason"])
            for r in result.iter_rows(named=True)}


def test_different_names_on_a_shared_free_mail_address_are_merged_but_flagged() -> None:
    frame = leads(
        person("L1", 1, email="family@gmail.com", first_name="Anna", last_name="Virtanen"),
        person("L2", 2, email="family@gmail.com", first_name="Pekka", last_name="Virtanen"),
    )
    assert groups_of(frame)["L2"] == ("L1", "same email")  # the merge rule is kept
    needs, reason = reviewed(frame)["L2"]
    assert needs is True
    assert reason == ("different names (Pekka Virtanen, survivor Anna Virtanen) share the "
                      "free-mail address family@gmail.com: check that they are one person")


def test_same_names_or_a_business_address_need_no_review() -> None:
    frame = leads(
        person("L1", 1, email="anna@gmail.com", first_name="Anna", last_name="Virtanen"),
        person("L2", 2, email="ANNA@gmail.com ", first_name=" anna", last_name="VIRTANEN"),
        person("L3", 1, email="x@acme.fi", first_name="Anna", last_name="Virtanen"),
        person("L4", 2, email="x@acme.fi", first_name="Pekka", last_name="Virtanen"),
        person("L5", 1, email="bo@gmail.com", first_name="Bo"),
        person("L6", 2, email="bo@gmail.com"),
    )
    assert reviewed(frame) == {"L2": (False, None), "L4": (False, None), "L6": (False, None)}
