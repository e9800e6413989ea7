"""The canonical input contract and the scored-row contract, in one place.

Every reader maps a CRM export onto these names and types (the README's input table and
``docs/ingest.md`` describe them); the sources and the scored row are declared here once. Feature
columns are declared in ``features/point_in_time/registry.py``.
Timestamps are UTC (``Datetime("us", "UTC")``); ids are strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_DATETIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, its type after ingest, and whether a file must have it."""

    name: str
    dtype: pl.DataType
    required: bool = False


@dataclass(frozen=True)
class Source:
    """One input source (one file in the input folder) and its columns."""

    name: str
    columns: tuple[Column, ...]
    required: bool
    key: str | None = None

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def dtypes(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}


S = pl.String()

LEADS = Source(
    "leads",
    (
        Column("lead_id", S, required=True),
        Column("created_at", UTC_DATETIME, required=True),
        Column("email", S),
        Column("first_name", S),
        Column("last_name", S),
        Column("title", S),
        Column("phone", S),
        Column("company_name", S),
        Column("website", S),
        Column("business_id", S),
        Column("country", S),
        Column("lead_source", S),
        Column("owner", S),
        Column("crm_stage", S),
        Column("budget", pl.Float64()),
        Column("timeline", pl.Date()),
        Column("need", S),
        Column("opted_out", pl.Boolean()),
        Column("bounced", pl.Boolean()),
    ),
    required=True,
    key="lead_id",
)

ACTIVITIES = Source(
    "activities",
    (
        Column("lead_id", S),
        Column("email", S),
        Column("activity_type", S, required=True),
        Column("occurred_at", UTC_DATETIME, required=True),
        Column("campaign", S),
        Column("url", S),
    ),
    required=True,
)

OPPORTUNITIES = Source(
    "opportunities",
    (
        Column("opportunity_id", S, required=True),
        Column("lead_id", S),
        Column("business_id", S),
        Column("company_name", S),
        Column("created_at", UTC_DATETIME, required=True),
        Column("stage", S),
        Column("closed_at", UTC_DATETIME),
        Column("won", pl.Boolean()),
        Column("amount", pl.Float64()),
    ),
    required=False,
    key="opportunity_id",
)

COMPANIES = Source(
    "companies",
    (
        Column("business_id", S),
        Column("company_name", S, required=True),
        Column("domain", S),
        Column("country", S),
        Column("industry_code", S),
        Column("industry", S),
        Column("employees", pl.Int64()),
        Column("revenue", pl.Float64()),
        Column("founded_year", pl.Int64()),
        Column("technologies", pl.List(S)),
        Column("open_jobs", pl.Int64()),
        Column("status", S),
        Column("updated_at", UTC_DATETIME),
    ),
    required=False,
)

COMPANY_EVENTS = Source(
    "company_events",
    (
        Column("business_id", S, required=True),
        Column("event_type", S, required=True),
        Column("occurred_at", UTC_DATETIME, required=True),
    ),
    required=False,
)

SOURCES: dict[str, Source] = {
    s.name: s for s in (LEADS, ACTIVITIES, OPPORTUNITIES, COMPANIES, COMPANY_EVENTS)
}

ACTIVITY_TYPES: tuple[str, ...] = (
    "email_open",
    "email_click",
    "page_view",
    "pricing_page_view",
    "content_download",
    "form_submit",
    "webinar_attended",
    "demo_request",
    "pricing_request",
    "contact_sales",
    "meeting",
    "call",
    "reply",
    "unsubscribe",
    "bounce",
)

COMPANY_EVENT_TYPES: tuple[str, ...] = (
    "funding",
    "hiring",
    "leadership_change",
    "expansion",
    "bankruptcy",
)

# The funnel, in order. `disqualified` sits outside the order: it is a verdict, not a step.
STAGES: tuple[str, ...] = ("lead", "prospect", "opportunity", "customer", "disqualified")
FUNNEL_ORDER: dict[str, int] = {"lead": 0, "prospect": 1, "opportunity": 2, "customer": 3}

# Company statuses that disqualify: the company no longer exists or is being wound up.
DEAD_COMPANY_STATUSES: tuple[str, ...] = ("dissolved", "bankrupt", "liquidation", "inactive")

# What a scored row carries, in the order the Parquet and CSV outputs show it.
SCORED_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "as_of",
    "recommended_stage",
    "next_action",
    "priority",
    "priority_score",
    "icp_fit",
    "icp_tier",
    "icp_matched",
    "conversion_probability",
    "probability_status",
    "model_version",
    "reasons",
    "crm_stage",
    "stage_change",
    "previous_stage",
    "changed_since_previous_run",
    "change",
    "previous_probability",
    "business_id",
    "company_name",
    "match_method",
    "match_confidence",
    "firmographics_age_days",
    "firmographics_stale",
    "disqualified_reason",
    "merged_ids",
)
