"""Merge duplicate people into one surviving lead, recording every merged id with its survivor.

Two rows are the same person when they share a well-formed normalized email (trimmed,
lower-cased), or, when neither has one, the same first name + last name + normalized company
name + phone digits.

Survivor rule (documented in the README): the earliest created lead survives (ties: the smallest
lead_id), because it holds the CRM history. Its empty fields are filled from the other rows of the
group, newest first, and consent flags are OR-ed: if any copy opted out or bounced, the person did.
"""

from __future__ import annotations

import polars as pl

from features.resolve.identity import (
    email_domain,
    email_is_well_formed,
    is_free_mail,
    normalize_company_name,
)

# Columns whose value is taken from the survivor, or from the newest duplicate that has one.
_FILLABLE = (
    "email", "first_name", "last_name", "title", "phone", "company_name", "website", "business_id",
    "country", "lead_source", "owner", "crm_stage", "budget", "timeline", "need",
)
# Consent: a "yes" on any copy of the person wins.
_ANY_TRUE = ("opted_out", "bounced")


def _email_key() -> pl.Expr:
    """The normalized email, only when well formed: "unknown" or "-" identify nobody."""
    email = pl.col("email").str.strip_chars().str.to_lowercase()
    return pl.when(email_is_well_formed(email)).then(email)


def _identifies(email_key: pl.Expr) -> pl.Expr:
    """Whether an `_email_key` value identifies a person (the key is used rather than name,
    company and phone)."""
    return email_key.is_not_null() & (email_key != "")


def _phone_digits() -> pl.Expr:
    """The phone's digits without leading zeros; null unless at least 5 remain ("tbd", "000"
    and an empty phone identify nobody)."""
    digits = pl.col("phone").str.replace_all(r"\D", "").str.strip_chars_start("0")
    return pl.when(digits.str.len_chars() >= 5).then(digits)


def _name_company_phone_key() -> pl.Expr:
    parts = [
        pl.col("first_name").str.strip_chars().str.to_lowercase(),
        pl.col("last_name").str.strip_chars().str.to_lowercase(),
        normalize_company_name(pl.col("company_name")),
        _phone_digits(),
    ]
    # concat_str is null when any part is null: a partial identity never merges two people.
    return pl.concat_str(parts, separator="|")


def person_key() -> pl.Expr:
    """The one key two rows of the same person share: ``email:`` and the normalized email, else
    ``ncp:`` and name, company and phone; null when neither identifies anyone. Each lead has at
    most one key, so a duplicate group is exactly the leads with one key (no chains).

    Needs: email, first_name, last_name, company_name, phone.
    """
    return (
        pl.when(_identifies(_email_key()))
        .then(pl.lit("email:") + _email_key())
        .otherwise(pl.lit("ncp:") + _name_company_phone_key())
    )


def with_person_key(leads: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """The leads, in their order, with :func:`person_key` as column `name`.

    The same values as ``person_key()``, but the name + company + phone key is computed only for
    the leads without a usable email: in ``when/then/otherwise`` polars computes every branch
    for every row, and that key's normalizations cost most of it (1M leads, 13% without an
    email: 0.69 s of person_key's 0.97 s).

    Needs: email, first_name, last_name, company_name, phone.
    """
    row, email = "__person_key_row", "__person_key_email"
    indexed = leads.with_row_index(row).with_columns(_email_key().alias(email))
    has_email = _identifies(pl.col(email))
    by_email = indexed.filter(has_email).with_columns((pl.lit("email:") + pl.col(email))
                                                      .alias(name))
    by_name = indexed.filter(~has_email).with_columns((pl.lit("ncp:") + _name_company_phone_key())
                                                      .alias(name))
    return pl.concat([by_email, by_name]).sort(row).drop(row, email)


# The columns a lead's duplicate group is found from: its id, when it was created (the
# survivor is the first) and what person_key reads.
IDENTITY_COLUMNS = ("lead_id", "created_at", "email", "first_name", "last_name", "company_name",
                    "phone")


def duplicate_groups(leads: pl.LazyFrame) -> pl.LazyFrame:
    """Map every lead to its survivor.

    Needs: lead_id, created_at, email, first_name, last_name, company_name, phone.
    Returns: lead_id, survivor_id, duplicate_rule (null for survivors and singletons).
    """
    keyed = with_person_key(leads.select(IDENTITY_COLUMNS), "_person_key").select(
        "lead_id", "created_at", "_person_key")
    order = [pl.col("created_at"), pl.col("lead_id")]
    survivor = pl.col("lead_id").sort_by(order).first().over("_person_key")
    return keyed.with_columns(
        survivor_id=pl.when(pl.col("_person_key").is_null())
        .then(pl.col("lead_id"))
        .otherwise(survivor)
    ).select(
        "lead_id",
        "survivor_id",
        pl.when(pl.col("lead_id") == pl.col("survivor_id"))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("_person_key").str.starts_with("email:"))
        .then(pl.lit("same email"))
        .otherwise(pl.lit("same name, company and phone"))
        .alias("duplicate_rule"),
    )


def merge_duplicates(leads: pl.LazyFrame, groups: pl.LazyFrame) -> pl.LazyFrame:
    """One row per survivor, with gaps filled from its duplicates.

    Needs: the canonical lead columns, and `groups` from :func:`duplicate_groups`.
    Adds: merged_ids (list of the lead_ids merged into this one, sorted; empty when none).
    Other columns (pass-through extras) are the survivor's own.
    """
    with_groups = leads.join(groups.select("lead_id", "survivor_id"), on="lead_id", how="left",
                             maintain_order="left")
    # Only the few leads that have duplicates need the per-group sort and fill; a lead alone
    # is its own survivor with its own values (the same result, without a group per lead).
    in_group = pl.len().over("survivor_id") > 1
    with_groups = with_groups.with_columns(in_group.alias("_in_group"))
    newest_first = [pl.col("lead_id") == pl.col("survivor_id"), pl.col("created_at"),
                    pl.col("lead_id")]
    filled = [
        pl.col(c).sort_by(newest_first, descending=[True, True, True]).drop_nulls().first()
        .alias(f"_merged_{c}")
        for c in _FILLABLE
    ]
    consent = [pl.col(c).fill_null(False).any().alias(f"_merged_{c}") for c in _ANY_TRUE]
    merged_ids = (
        pl.col("lead_id").filter(pl.col("lead_id") != pl.col("survivor_id")).sort()
        .alias("merged_ids")
    )
    merged = (with_groups.filter("_in_group").group_by("survivor_id")
              .agg([*filled, *consent, merged_ids]))
    survivors = with_groups.filter(pl.col("lead_id") == pl.col("survivor_id"))
    grouped = pl.col("_in_group")
    return survivors.join(merged, left_on="lead_id", right_on="survivor_id", how="left",
                          maintain_order="left").select(
        *[
            pl.when(grouped).then(pl.col(f"_merged_{c}")).otherwise(pl.col(c)).alias(c)
            if c in _FILLABLE else
            pl.when(grouped).then(pl.col(f"_merged_{c}")).otherwise(pl.col(c).fill_null(False))
            .alias(c)
            if c in _ANY_TRUE else pl.col(c)
            for c in leads.collect_schema().names()
        ],
        pl.col("merged_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )


def _full_name() -> pl.Expr:
    parts = [pl.col(c).str.strip_chars().fill_null("") for c in ("first_name", "last_name")]
    name = pl.concat_str(parts, separator=" ").str.strip_chars()
    return pl.when(name != "").then(name)


def review_merges(
    merged: pl.LazyFrame, leads: pl.LazyFrame, free_mail_extra: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """Flag merges a person should look at; the merge itself stands (the rule is the rule).

    A family or a small firm may share one free-mail address: rows with different names
    (compared case-insensitively; both must have one) merged on a free-mail address may be
    different people.
    Needs: `merged` (lead_id, survivor_id, duplicate_rule) and `leads` (lead_id, email,
    first_name, last_name). Adds: needs_review (bool), review_reason (null when no review).
    """
    people = leads.select("lead_id", "email", _full_name().alias("_name"))
    survivors = people.select(pl.col("lead_id").alias("survivor_id"),
                              pl.col("_name").alias("_survivor_name"))
    email = pl.col("email").str.strip_chars().str.to_lowercase()
    shared_free_mail = (
        (pl.col("duplicate_rule") == "same email")
        & is_free_mail(email_domain(email), free_mail_extra)
        & (pl.col("_name").str.to_lowercase() != pl.col("_survivor_name").str.to_lowercase())
    ).fill_null(False)
    reason = pl.format("different names ({}, survivor {}) share the free-mail address {}: "
                       "check that they are one person", pl.col("_name"),
                       pl.col("_survivor_name"), email)
    return (
        merged.join(people, on="lead_id", how="left")
        .join(survivors, on="survivor_id", how="left")
        .with_columns(shared_free_mail.alias("needs_review"))
        .with_columns(pl.when(pl.col("needs_review")).then(reason).alias("review_reason"))
        .drop("email", "_name", "_survivor_name")
    )
