"""Every feature column, declared once: its name, type, family, model use and reason phrase.

The family modules compute the columns; everything that lists them is derived from here: each
family's `*_COLUMNS`, the model's feature spec (`scoring.conversion.encoding`), the reason
phrases (`scoring.conversion.explain`) and the README's field table (checked by a test). Adding a
feature means writing its expression in the family module and adding one entry below.

Windowed features (`activity_count_7d`, `page_view_90d`, ...) follow
`features.engagement_windows_days`: each is declared once as a :class:`Windowed` entry that
spells out its names at the default windows, and :func:`window_column` is the one place a
windowed name is built from a window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import polars as pl

ModelUse = Literal["numeric", "boolean", "categorical"]


class Family(StrEnum):
    """Which function computes a feature (FAMILY_MODULES says where it lives)."""

    FIRMOGRAPHICS = "firmographics"  # firmographic_features
    LEAD = "lead"  # lead_features
    ENGAGEMENT = "engagement"  # engagement_features
    COMPANY_EVENTS = "company_events"  # company_event_features
    PIPELINE = "pipeline"  # pipeline_features
    ASSEMBLED = "assembled"  # build_features
    # add_derived_columns: computed from other features just before the ICP rules and the
    # model see them.
    DERIVED = "derived"


FAMILY_MODULES: Mapping[Family, str] = {
    Family.FIRMOGRAPHICS: "features/point_in_time/company.py",
    Family.LEAD: "features/point_in_time/lead.py",
    Family.ENGAGEMENT: "features/point_in_time/engagement.py",
    Family.COMPANY_EVENTS: "features/point_in_time/company.py",
    Family.PIPELINE: "features/point_in_time/pipeline.py",
    Family.ASSEMBLED: "features/point_in_time/assemble.py",
    Family.DERIVED: "scoring/conversion/encoding.py",
}


# ---- How a reason phrases a feature (turned into text by scoring.conversion.explain) ----------

@dataclass(frozen=True)
class Count:
    """"page views in the last 90 days (12)", or "no page views in the last 90 days"."""

    noun: str
    when: str = ""  # a windowed count says "in the last N days" instead

    @property
    def example(self) -> str:
        return f"{self.noun} {self.when}".rstrip() + " (N)"


@dataclass(frozen=True)
class Recency:
    """`prefix` then "3 days ago", or `absent` when it never happened."""

    prefix: str
    absent: str

    @property
    def example(self) -> str:
        return f"{self.prefix}N days ago / {self.absent}"


# How a Value reason writes its number (the helpers of scoring.phrases): "whole" 3,000,
# "money" EUR 184 M, "decimal" 0.85 (at most `decimals` places), "days_ago" 3 days ago /
# yesterday; "text" writes a text value as it is.
Shown = Literal["text", "whole", "money", "decimal", "days_ago"]


@dataclass(frozen=True)
class Value:
    """`prefix` + the value written as `shown` says + `suffix`, or `absent` when missing."""

    prefix: str
    suffix: str = ""
    absent: str | None = None
    shown: Shown = "text"
    decimals: int = 1  # for shown="decimal"
    underscores_as_spaces: bool = False

    @property
    def example(self) -> str:
        number = {"money": "EUR N", "days_ago": "N days ago"}.get(self.shown, "V")
        shown = f"{self.prefix}{number}{self.suffix}"
        return f"{shown} / {self.absent}" if self.absent else shown


@dataclass(frozen=True)
class Flag:
    yes: str
    no: str

    @property
    def example(self) -> str:
        return f"{self.yes} / {self.no}"


@dataclass(frozen=True)
class Words:
    """A fixed phrase per value; other values read `fallback` + the value."""

    words: Mapping[str, str]
    fallback: str

    @property
    def example(self) -> str:
        return " / ".join(self.words.values())


@dataclass(frozen=True)
class Custom:
    """Phrased by code of its own in scoring.conversion.explain (it reads other columns too)."""

    example: str


Reason = Count | Recency | Value | Flag | Words | Custom


# ---- Declarations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Feature:
    """One feature column.

    model: how the conversion model reads it (None: ICP rules and outputs only).
    reason: how a "Raises/Lowers the odds" reason phrases it (None: never a reason).
    factor: the feature whose phrase speaks for this one too (their contributions are summed
        into one reason, so a signal's count and recency cannot read as one up and one down).
    undated: exports carry it only as it is today, so at a past date it would leak what happened
        later; never a model feature.
    """

    name: str
    dtype: pl.DataType
    family: Family
    meaning: str
    model: ModelUse | None = None
    reason: Reason | None = None
    factor: str | None = None
    undated: bool = False


Windows = Literal["each", "longest"]
EACH_WINDOW: Windows = "each"  # one column per configured engagement window
LONGEST_WINDOW: Windows = "longest"  # one column, over the longest configured window


@dataclass(frozen=True)
class Windowed:
    """A feature counted over engagement windows: columns `<stem>_<N>d`.

    defaults: the column names at the default windows (7, 30, 90), spelled out so they can be
    found; a test checks them against :func:`feature_columns`.
    counts_activity: the activity type counted, for the per-type counts.
    """

    stem: str
    windows: Windows
    defaults: tuple[str, ...]
    dtype: pl.DataType
    meaning: str
    model: ModelUse | None
    noun: str
    counts_activity: str | None = None


I32 = pl.Int32()
I64 = pl.Int64()
F64 = pl.Float64()
BOOL = pl.Boolean()
STR = pl.String()
UTC_DATETIME = pl.Datetime("us", "UTC")

_SENIORITY_WORDS = {
    "c_level": "C-level title", "vp": "VP title", "director": "director-level title",
    "manager": "manager title", "individual": "individual-contributor title",
    "unknown": "seniority not clear from the title",
}
_DEPARTMENT_WORDS = {
    "it": "works in IT", "engineering": "works in engineering", "sales": "works in sales",
    "marketing": "works in marketing", "finance": "works in finance", "hr": "works in HR",
    "operations": "works in operations", "executive": "works in management",
    "other": "works outside the target departments",
    "unknown": "department not clear from the title",
}
_EMAIL_WORDS = {
    "business": "business email address", "free_mail": "free-mail address (gmail, hotmail...)",
    "role": "shared role address (info@, sales@...)", "missing": "no email address",
    "invalid": "malformed email address",
}
# ISO weekday numbers (1 = Monday) and month numbers, as the derived columns write them
_WEEKDAY_WORDS = {str(i + 1): f"created on a {day}" for i, day in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))}
_MONTH_WORDS = {str(i + 1): f"created in {month}" for i, month in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"))}

F = Family
FEATURES: tuple[Feature | Windowed, ...] = (
    # firmographic_features: the company snapshot valid at as_of
    Feature("has_firmographics", BOOL, F.FIRMOGRAPHICS, "a company snapshot is known at as_of",
            "boolean", Flag("company data available", "no company data")),
    Feature("industry_code", STR, F.FIRMOGRAPHICS, "the company's industry code (NACE/SIC)"),
    Feature("industry", STR, F.FIRMOGRAPHICS, "the industry's name"),
    Feature("employees", I64, F.FIRMOGRAPHICS, "employees", "numeric",
            Value("company of ", " employees", absent="company size unknown", shown="whole")),
    Feature("revenue", F64, F.FIRMOGRAPHICS, "revenue", "numeric",
            Value("company revenue ", absent="company revenue unknown", shown="money")),
    Feature("company_age_years", I32, F.FIRMOGRAPHICS, "as_of's year minus the founding year",
            "numeric", Value("company founded ", " years ago", absent="company age unknown",
                               shown="whole")),
    Feature("technologies", pl.List(STR), F.FIRMOGRAPHICS, "technologies the company uses"),
    Feature("open_jobs", I64, F.FIRMOGRAPHICS, "open job postings", "numeric",
            Value("company has ", " open jobs", absent="company hiring unknown", shown="whole")),
    Feature("company_status", STR, F.FIRMOGRAPHICS, "registry status, lower case"),
    Feature("company_domain", STR, F.FIRMOGRAPHICS, "the company's registrable web domain"),
    Feature("firmographics_updated_at", UTC_DATETIME, F.FIRMOGRAPHICS,
            "when the company snapshot was updated"),
    Feature("firmographics_age_days", I32, F.FIRMOGRAPHICS, "days since that update", "numeric",
            Value("company data ", " days old", absent="no dated company data", shown="whole")),
    Feature("firmographics_stale", BOOL, F.FIRMOGRAPHICS,
            "older than features.firmographics_max_age_days"),
    # lead_features: the lead row and its company match
    Feature("seniority", STR, F.LEAD,
            "from the title: c_level, vp, director, manager, individual, unknown",
            "categorical", Words(_SENIORITY_WORDS, "title: ")),
    Feature("seniority_level", pl.Int8(), F.LEAD, "seniority as 0 (unknown) to 5 (C-level)",
            "numeric", Value("seniority level ", " of 5", shown="whole"), factor="seniority"),
    Feature("department", STR, F.LEAD,
            "from the title: it, engineering, sales, marketing, finance, hr, operations, "
            "executive, other, unknown", "categorical", Words(_DEPARTMENT_WORDS, "works in ")),
    Feature("email_quality", STR, F.LEAD, "business, free_mail, role, invalid, missing",
            "categorical", Words(_EMAIL_WORDS, "email: ")),
    Feature("has_phone", BOOL, F.LEAD, "a phone number of at least 6 digits", "boolean",
            Flag("has a phone number", "no phone number")),
    Feature("lead_age_days", I32, F.LEAD, "days since the lead was created", "numeric",
            Value("lead created ", shown="days_ago")),
    Feature("budget", F64, F.LEAD, "the stated budget", undated=True,
            reason=Value("budget of ", absent="no budget given", shown="money")),
    Feature("has_budget", BOOL, F.LEAD, "a budget above 0 was given", undated=True,
            reason=Flag("gave a budget", "no budget given")),
    Feature("timeline_days", I32, F.LEAD, "days from as_of to the stated buying date",
            undated=True, reason=Custom("plans to buy within N days / stated buying date "
                                        "passed N days ago / no buying timeline given")),
    Feature("has_need", BOOL, F.LEAD, "a need was described", undated=True,
            reason=Flag("described a need", "no need described")),
    Feature("lead_source", STR, F.LEAD, "where the lead came from, lower case", "categorical",
            Value("came from ", absent="lead source unknown")),
    Feature("country", STR, F.LEAD, "the lead's country", "categorical",
            Value("based in ", absent="country unknown")),
    Feature("crm_stage", STR, F.LEAD, "the CRM's own stage, lower case"),
    Feature("opted_out", BOOL, F.LEAD, "the lead opted out of contact"),
    Feature("bounced", BOOL, F.LEAD, "the CRM marks the email address bounced"),
    Feature("match_method", STR, F.LEAD,
            "how the company was matched (business ID, domain, exact or fuzzy name)",
            "categorical", Value("company matched by ", absent="company not matched",
                                 underscores_as_spaces=True)),
    Feature("match_confidence", F64, F.LEAD, "confidence of the company match", "numeric",
            Value("company identified (confidence ", ")", absent="company not identified",
                  shown="decimal", decimals=2)),
    Feature("lead_business_id", STR, F.LEAD, "the business ID on the lead row, normalized"),
    Feature("lead_email_domain", STR, F.LEAD, "the email address's registrable domain"),
    Feature("lead_website_domain", STR, F.LEAD, "the website's registrable domain"),
    # engagement_features: activities before as_of
    Feature("activity_count_total", I32, F.ENGAGEMENT, "activities ever", "numeric",
            Count("activities in total")),
    Feature("days_since_last_activity", I32, F.ENGAGEMENT,
            "calendar days since the latest activity (1 = the day before as_of)", "numeric",
            Recency("last activity ", "no recorded activity")),
    Windowed("activity_count", EACH_WINDOW,
             ("activity_count_7d", "activity_count_30d", "activity_count_90d"),
             I32, "activities in the last N days", "numeric", "activities"),
    Feature("engagement_decayed", F64, F.ENGAGEMENT,
            "activities weighted by age, halving every features.decay_half_life_days",
            "numeric", Value("recent engagement score ", shown="decimal", decimals=1)),
    Windowed("email_open", LONGEST_WINDOW, ("email_open_90d",), I32,
             "email opens in the longest window", "numeric", "email opens", "email_open"),
    Windowed("email_click", LONGEST_WINDOW, ("email_click_90d",), I32,
             "email clicks in the longest window", "numeric", "email clicks", "email_click"),
    Windowed("page_view", LONGEST_WINDOW, ("page_view_90d",), I32,
             "page views in the longest window", "numeric", "page views", "page_view"),
    Windowed("pricing_page_view", LONGEST_WINDOW, ("pricing_page_view_90d",), I32,
             "pricing page views in the longest window", "numeric", "pricing page views",
             "pricing_page_view"),
    Windowed("content_download", LONGEST_WINDOW, ("content_download_90d",), I32,
             "content downloads in the longest window", "numeric", "content downloads",
             "content_download"),
    Windowed("form_submit", LONGEST_WINDOW, ("form_submit_90d",), I32,
             "form submissions in the longest window", "numeric", "form submissions",
             "form_submit"),
    Windowed("webinar_attended", LONGEST_WINDOW, ("webinar_attended_90d",), I32,
             "webinars attended in the longest window", "numeric", "webinars attended",
             "webinar_attended"),
    Windowed("meeting", LONGEST_WINDOW, ("meeting_90d",), I32,
             "meetings in the longest window", "numeric", "meetings", "meeting"),
    Windowed("call", LONGEST_WINDOW, ("call_90d",), I32,
             "calls in the longest window", "numeric", "calls", "call"),
    Windowed("reply", LONGEST_WINDOW, ("reply_90d",), I32,
             "replies in the longest window", "numeric", "replies", "reply"),
    Feature("intent_signals_recent", I32, F.ENGAGEMENT,
            "buying signals (stages.intent_signals) in the last stages.signal_window_days",
            "numeric", Count("buying signals (demo, pricing or contact requests)", "recently"),
            factor="last_intent_signal"),
    Feature("days_since_intent_signal", I32, F.ENGAGEMENT, "days since the latest buying signal",
            "numeric", Recency("last buying signal ", "never sent a buying signal"),
            factor="last_intent_signal"),
    Feature("last_intent_signal", STR, F.ENGAGEMENT, "the latest buying signal's activity type",
            "categorical", Custom("buying signal: requested a demo N days ago / "
                                  "no buying signal")),
    Feature("unsubscribed", BOOL, F.ENGAGEMENT, "an unsubscribe activity"),
    Feature("bounced_activity", BOOL, F.ENGAGEMENT, "a bounce activity"),
    # company_event_features: events before as_of, "recently" = features.company_event_lookback_days
    Feature("funded_recently", BOOL, F.COMPANY_EVENTS, "a funding round recently", "boolean",
            Flag("company raised funding recently", "no recent funding")),
    Feature("days_since_funding", I32, F.COMPANY_EVENTS, "days since the latest funding round",
            "numeric", Recency("company raised funding ", "no known funding round")),
    Feature("hiring_events_recent", I32, F.COMPANY_EVENTS, "hiring announcements recently",
            "numeric", Count("hiring announcements at the company", "recently")),
    Feature("expansion_recently", BOOL, F.COMPANY_EVENTS, "an expansion recently", "boolean",
            Flag("company expanding", "no recent expansion")),
    Feature("leadership_change_recently", BOOL, F.COMPANY_EVENTS, "a leadership change recently",
            "boolean", Flag("new leadership at the company", "no leadership change")),
    Feature("bankrupt", BOOL, F.COMPANY_EVENTS, "a bankruptcy event, ever"),
    # pipeline_features: opportunities before as_of
    Feature("open_opportunity", BOOL, F.PIPELINE, "the lead has an open opportunity"),
    Feature("won_deal", BOOL, F.PIPELINE, "the lead has a won deal"),
    Feature("last_won_at", UTC_DATETIME, F.PIPELINE, "when the lead's latest deal was won"),
    Feature("lost_opportunities", I32, F.PIPELINE, "the lead's lost opportunities", "numeric",
            Count("earlier lost opportunities")),
    Feature("company_open_opportunity", BOOL, F.PIPELINE,
            "an open opportunity anywhere in the company", "boolean",
            Flag("company already in the pipeline", "company not in the pipeline")),
    Feature("company_won_deal", BOOL, F.PIPELINE, "a won deal anywhere in the company"),
    # build_features
    Feature("domains", pl.List(STR), F.ASSEMBLED,
            "the company's, the website's and the email's domains (for contains_any)"),
    # add_derived_columns
    Feature("industry_division", STR, F.DERIVED, "the first two digits of industry_code",
            "categorical", Custom("industry: Computer programming (62) / industry unknown")),
    Feature("created_weekday", STR, F.DERIVED,
            "the weekday the lead was created, 1 (Monday) to 7, as text", "categorical",
            Words(_WEEKDAY_WORDS, "created on weekday ")),
    # Not a model feature: in a training window of a year or two each calendar month is one or
    # two cohorts, so at a snapshot date it mostly repeats the lead's age and does not carry
    # over a time split (on the sample's canonical split it costs gradient boosting 0.004
    # ROC-AUC, the logistic regression 0.003). The weekday has no such tie to the snapshot date.
    Feature("created_month", STR, F.DERIVED, "the month the lead was created, 1 to 12, as text",
            reason=Words(_MONTH_WORDS, "created in month ")),
)


# ---- Derived views -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureColumn:
    """A feature column at a given config: a Feature, or a Windowed entry at one window."""

    name: str
    dtype: pl.DataType
    family: Family
    meaning: str
    model: ModelUse | None
    reason: Reason | None
    factor: str | None = None
    undated: bool = False
    counts_activity: str | None = None
    window_days: int | None = None


def window_column(stem: str, days: int) -> str:
    """The name of a windowed feature over `days` (the only place such a name is built)."""
    return f"{stem}_{days}d"


_WINDOWED_NAME = re.compile(r"^(?P<stem>.+)_(?P<days>\d+)d$")


def _at_window(entry: Windowed, days: int) -> FeatureColumn:
    return FeatureColumn(
        window_column(entry.stem, days), entry.dtype, Family.ENGAGEMENT,
        entry.meaning.replace("N days", f"{days} days")
        .replace("the longest window", f"the last {days} days"),
        entry.model, Count(entry.noun, f"in the last {days} days"),
        counts_activity=entry.counts_activity, window_days=days,
    )


def _fixed(entry: Feature) -> FeatureColumn:
    return FeatureColumn(entry.name, entry.dtype, entry.family, entry.meaning, entry.model,
                         entry.reason, entry.factor, entry.undated)


def feature_columns(windows: Sequence[int]) -> tuple[FeatureColumn, ...]:
    """Every feature column, in the order the features frame has them, at these windows
    (`features.engagement_windows_days`)."""
    columns: list[FeatureColumn] = []
    for entry in FEATURES:
        if isinstance(entry, Feature):
            columns.append(_fixed(entry))
        elif entry.windows == EACH_WINDOW:
            columns.extend(_at_window(entry, days) for days in windows)
        else:
            columns.append(_at_window(entry, max(windows)))
    return tuple(columns)


def family_columns(family: Family, windows: Sequence[int] | None = None) -> tuple[str, ...]:
    """The column names a family adds, in order. Only engagement depends on the windows, and
    needs them."""
    if windows is None:
        if family == Family.ENGAGEMENT:
            raise ValueError("engagement columns depend on features.engagement_windows_days")
        windows = (1,)  # unused: no other family has windowed columns
    return tuple(c.name for c in feature_columns(windows) if c.family == family)


def column_named(name: str) -> FeatureColumn | None:
    """The declaration behind a column name, windowed names at any window; None if unknown."""
    for entry in FEATURES:
        if isinstance(entry, Feature) and entry.name == name:
            return _fixed(entry)
    windowed = _WINDOWED_NAME.match(name)
    if windowed:
        for entry in FEATURES:
            if isinstance(entry, Windowed) and entry.stem == windowed["stem"]:
                return _at_window(entry, int(windowed["days"]))
    return None


COUNTED_TYPES: tuple[str, ...] = tuple(
    e.counts_activity for e in FEATURES if isinstance(e, Windowed) and e.counts_activity
)

# Features that describe one thing: their contributions are added up and shown as one reason,
# phrased by the group's first feature (its `factor`). Without this, the buying signal's count,
# recency and type could read as one raising and one lowering the odds.
FACTOR_GROUPS: tuple[tuple[str, ...], ...] = tuple(
    (head, *(e.name for e in FEATURES if isinstance(e, Feature) and e.factor == head))
    for head in dict.fromkeys(e.factor for e in FEATURES if isinstance(e, Feature) and e.factor)
)
