"""What the lead row itself says: role, contact quality, BANT answers, consent and age."""

from __future__ import annotations

import polars as pl

from features.point_in_time.person import (
    department_from_title,
    seniority_from_title,
    seniority_level,
)
from features.point_in_time.registry import Family, family_columns
from features.point_in_time.snapshots import SNAPSHOT_KEY, days_before_as_of

LEAD_COLUMNS = family_columns(Family.LEAD)


def lead_features(
    snapshots: pl.LazyFrame, leads: pl.LazyFrame, lead_companies: pl.LazyFrame
) -> pl.LazyFrame:
    """Per snapshot: seniority and department from the title, email quality, BANT and consent.

    Needs: snapshots (lead_id, as_of); leads (lead_id, created_at, title, phone, budget,
    timeline, need, lead_source, country, crm_stage, opted_out, bounced); lead_companies
    (lead_id, email_quality, match_method, match_confidence, lead_business_id; optionally
    lead_email_domain, lead_website_domain).
    Returns: lead_id, as_of and LEAD_COLUMNS.
    """
    lead_rows = leads.select(
        "lead_id", "created_at", "title", "phone", "budget", "timeline", "need", "lead_source",
        "country", "crm_stage", "opted_out", "bounced",
    )
    present = set(lead_companies.collect_schema().names())
    # The lead's own domains are optional here (a frame without them reads as unknown).
    domains = [pl.col(c) if c in present else pl.lit(None, dtype=pl.String).alias(c)
               for c in ("lead_email_domain", "lead_website_domain")]
    matches = lead_companies.select("lead_id", "email_quality", "match_method", "match_confidence",
                                    "lead_business_id", *domains)
    return (
        snapshots.select(SNAPSHOT_KEY)
        .join(lead_rows, on="lead_id", how="left")
        .join(matches, on="lead_id", how="left")
        .join(_roles(lead_rows), on="title", how="left", nulls_equal=True, validate="m:1",
              maintain_order="left")
        .select(
            *SNAPSHOT_KEY,
            "seniority",
            "seniority_level",
            "department",
            "email_quality",
            (pl.col("phone").str.replace_all(r"\D", "").str.len_chars() >= 6).fill_null(False)
            .alias("has_phone"),
            days_before_as_of(pl.col("created_at")).alias("lead_age_days"),
            "budget",
            (pl.col("budget").fill_null(0) > 0).alias("has_budget"),
            (pl.col("timeline") - pl.col("as_of")).dt.total_days().cast(pl.Int32)
            .alias("timeline_days"),
            pl.col("need").is_not_null().alias("has_need"),
            pl.col("lead_source").str.to_lowercase(),
            "country",
            pl.col("crm_stage").str.to_lowercase(),
            pl.col("opted_out").fill_null(False),
            pl.col("bounced").fill_null(False),
            "match_method",
            "match_confidence",
            "lead_business_id",
            "lead_email_domain",
            "lead_website_domain",
        )
    )


def _roles(lead_rows: pl.LazyFrame) -> pl.LazyFrame:
    """title -> seniority, seniority_level, department, computed once per distinct title (the
    multilingual patterns are regexes; a CRM has far fewer titles than leads)."""
    seniority = seniority_from_title(pl.col("title"))
    return lead_rows.select("title").unique().select(
        "title",
        seniority.alias("seniority"),
        seniority_level(seniority).alias("seniority_level"),
        department_from_title(pl.col("title")).alias("department"),
    )
