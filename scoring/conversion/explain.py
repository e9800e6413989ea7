"""Reasons per lead: the factors that raised and lowered the model's score, in plain words.

Method: the model's raw score (log-odds) is decomposed exactly into a bias plus one contribution per
feature (see `scoring.conversion.estimators`). For each lead the three largest positive
contributions become "raises" factors and the three most negative "lowers" factors, each phrased
from the lead's own value of that feature ("12 page views in the last 90 days"). Contributions
smaller than `min_effect` log-odds are left out: they would explain nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from features.point_in_time.engagement import COUNTED_TYPES
from scoring.conversion.encoding import FeatureEncoding
from scoring.rules.stage import SIGNAL_PHRASES, days_ago

FACTOR_COLUMNS = ("factors_up", "factors_down")

_COUNT_NOUNS = {
    "email_open": "email opens",
    "email_click": "email clicks",
    "page_view": "page views",
    "pricing_page_view": "pricing page views",
    "content_download": "content downloads",
    "form_submit": "form submissions",
    "webinar_attended": "webinars attended",
    "meeting": "meetings",
    "call": "calls",
    "reply": "replies",
}
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
# Features that describe one thing: their contributions are added up and shown as one factor,
# phrased by the first feature of the group (which must be in the frame). Without this, the
# buying signal's count, recency and type could read as one raising and one lowering the odds.
FACTOR_GROUPS: tuple[tuple[str, ...], ...] = (
    ("last_intent_signal", "days_since_intent_signal", "intent_signals_recent"),
    ("seniority", "seniority_level"),
)
_EMAIL_WORDS = {
    "business": "business email address", "free_mail": "free-mail address (gmail, hotmail...)",
    "role": "shared role address (info@, sales@...)", "missing": "no email address",
    "invalid": "malformed email address",
}

Phrase = Callable[[pl.Expr], pl.Expr]


def _text(value: pl.Expr) -> pl.Expr:
    return value.cast(pl.String)


def _count(noun: str, window: str) -> Phrase:
    """"no page views in the last 90 days" / "page views in the last 90 days (12)"."""
    label = f"{noun} {window}".rstrip()
    return lambda v: pl.when(v.fill_null(0) == 0).then(pl.lit(f"no {label}")).otherwise(
        pl.lit(f"{label} (") + _text(v) + pl.lit(")"))


def _optional(present: Callable[[pl.Expr], pl.Expr], absent: str) -> Phrase:
    return lambda v: pl.when(v.is_null()).then(pl.lit(absent)).otherwise(present(v))


def _buying_signal(has_recency: bool) -> Phrase:
    """"buying signal: requested a demo 3 days ago" (the latest of any age), or "no buying
    signal"; stands for the buying-signal group (type, recency, recent count)."""
    def phrase(v: pl.Expr) -> pl.Expr:
        verb = v.replace_strict(SIGNAL_PHRASES, default=v.str.replace_all("_", " "),
                                return_dtype=pl.String)
        when = pl.col("days_since_intent_signal") if has_recency else pl.lit(None)
        return pl.when(v.is_null()).then(pl.lit("no buying signal")).otherwise(
            pl.lit("buying signal: ") + verb + pl.when(when.is_not_null())
            .then(pl.lit(" ") + days_ago(when)).otherwise(pl.lit(""))
        )
    return phrase


def _timeline(v: pl.Expr) -> pl.Expr:
    return (
        pl.when(v >= 0).then(pl.lit("plans to buy within ") + _text(v) + pl.lit(" days"))
        .otherwise(pl.lit("stated buying date passed ") + _text(-v) + pl.lit(" days ago"))
    )


def _industry(has_label: bool) -> Phrase:
    """"industry: Computer programming (62)" when the frame has the label, else the code."""
    def phrase(v: pl.Expr) -> pl.Expr:
        labelled = pl.col("industry") + pl.lit(" (") + v + pl.lit(")") if has_label else v
        return pl.lit("industry: ") + pl.coalesce(labelled, v)
    return phrase


def _flag(yes: str, no: str) -> Phrase:
    return lambda v: pl.when(v.fill_null(False)).then(pl.lit(yes)).otherwise(pl.lit(no))


def _mapped(words: dict[str, str], fallback: str) -> Phrase:
    return lambda v: v.replace_strict(words, default=pl.lit(fallback) + _text(v),
                                      return_dtype=pl.String)


def _phrases(encoding: FeatureEncoding, columns: Sequence[str]) -> dict[str, Phrase]:
    names = set(encoding.names)
    longest = max([int(n.removeprefix("activity_count_").removesuffix("d"))
                   for n in names if n.startswith("activity_count_") and n.endswith("d")
                   and n.removeprefix("activity_count_").removesuffix("d").isdigit()] or [90])
    phrases: dict[str, Phrase] = {
        "activity_count_total": _count("activities in total", ""),
        "days_since_last_activity": _optional(lambda v: pl.lit("last activity ") + days_ago(v),
                                              "no recorded activity"),
        "engagement_decayed": lambda v: pl.lit("recent engagement score ") + _text(v.round(1)),
        "intent_signals_recent": _count("buying signals (demo, pricing or contact requests)",
                                        "recently"),
        "days_since_intent_signal": _optional(
            lambda v: pl.lit("last buying signal ") + days_ago(v), "never sent a buying signal"),
        "seniority_level": lambda v: pl.lit("seniority level ") + _text(v) + pl.lit(" of 5"),
        "seniority": _mapped(_SENIORITY_WORDS, "title: "),
        "lead_age_days": lambda v: pl.lit("lead created ") + _text(v) + pl.lit(" days ago"),
        "budget": _optional(lambda v: pl.lit("budget of ") + _text(v.round(0)), "no budget given"),
        "timeline_days": _optional(_timeline, "no buying timeline given"),
        "employees": _optional(lambda v: pl.lit("company of ") + _text(v) + pl.lit(" employees"),
                               "company size unknown"),
        "revenue": _optional(lambda v: pl.lit("company revenue ") + _text(v.round(0)),
                             "company revenue unknown"),
        "company_age_years": _optional(lambda v: pl.lit("company founded ") + _text(v)
                                       + pl.lit(" years ago"), "company age unknown"),
        "open_jobs": _optional(lambda v: pl.lit("company has ") + _text(v)
                               + pl.lit(" open jobs"), "company hiring unknown"),
        "firmographics_age_days": _optional(lambda v: pl.lit("company data ") + _text(v)
                                            + pl.lit(" days old"), "no dated company data"),
        "days_since_funding": _optional(lambda v: pl.lit("company raised funding ")
                                        + days_ago(v), "no known funding round"),
        "hiring_events_recent": _count("hiring announcements at the company", "recently"),
        "match_confidence": _optional(lambda v: pl.lit("company identified (confidence ")
                                      + _text(v.round(2)) + pl.lit(")"), "company not identified"),
        "lost_opportunities": _count("earlier lost opportunities", ""),
        "has_phone": _flag("has a phone number", "no phone number"),
        "has_budget": _flag("gave a budget", "no budget given"),
        "has_need": _flag("described a need", "no need described"),
        "has_firmographics": _flag("company data available", "no company data"),
        "funded_recently": _flag("company raised funding recently", "no recent funding"),
        "expansion_recently": _flag("company expanding", "no recent expansion"),
        "leadership_change_recently": _flag("new leadership at the company",
                                            "no leadership change"),
        "company_open_opportunity": _flag("company already in the pipeline",
                                          "company not in the pipeline"),
        "department": _mapped(_DEPARTMENT_WORDS, "works in "),
        "last_intent_signal": _buying_signal("days_since_intent_signal" in columns),
        "email_quality": _mapped(_EMAIL_WORDS, "email: "),
        "lead_source": _optional(lambda v: pl.lit("came from ") + v, "lead source unknown"),
        "country": _optional(lambda v: pl.lit("based in ") + v, "country unknown"),
        "industry_division": _optional(_industry("industry" in columns), "industry unknown"),

        "match_method": _optional(lambda v: pl.lit("company matched by ")
                                  + v.str.replace_all("_", " "), "company not matched"),
    }
    for name in names:
        if name.startswith("activity_count_") and name not in phrases:
            window = name.removeprefix("activity_count_").removesuffix("d")
            phrases[name] = _count("activities", f"in the last {window} days")
    for kind in COUNTED_TYPES:
        phrases[f"{kind}_{longest}d"] = _count(_COUNT_NOUNS[kind], f"in the last {longest} days")
    return phrases


def _generic(name: str, dtype: pl.DataType) -> Phrase:
    """"<column name>: <value>" for features without a phrase of their own (e.g. the columns
    of a single-table export); decimals shown with three significant figures."""
    label = name.replace("_", " ")

    def phrase(v: pl.Expr) -> pl.Expr:
        shown = v.round_sig_figs(3) if dtype.is_float() else v
        return pl.lit(f"{label}: ") + _text(shown).fill_null("missing")
    return phrase


def phrase_frame(frame: pl.DataFrame, encoding: FeatureEncoding) -> pl.DataFrame:
    """One phrase per model feature per row, columns in the encoding's order."""
    known = _phrases(encoding, frame.columns)
    return frame.select(
        (known.get(name) or _generic(name, frame.schema[name]))(pl.col(name)).alias(name)
        for name in encoding.names
    )


def _picks(order: np.ndarray, keep: np.ndarray) -> pl.DataFrame:
    """(row, slot, feature) for every kept pick: a long table, one row per phrase to write."""
    rows, slots = np.nonzero(keep)
    return pl.DataFrame({
        "row": rows.astype(np.int64),
        "slot": slots.astype(np.int32),
        "feature": order[rows, slots].astype(np.int32),
    })


def _phrased_picks(
    frame: pl.DataFrame, picks: pl.DataFrame, names: Sequence[str], encoding: FeatureEncoding
) -> pl.DataFrame:
    """The phrase of each pick, written only for the rows that need it (about 6 per lead, not
    one per feature per lead): row, slot, text."""
    known = _phrases(encoding, frame.columns)
    parts = []
    for index, rows in picks.group_by("feature", maintain_order=True):
        name = names[int(index[0])]
        phrase = (known.get(name) or _generic(name, frame.schema[name]))(pl.col(name))
        written = frame[rows["row"].to_numpy()].select(phrase.alias("text"))
        parts.append(rows.select("row", "slot").with_columns(written["text"]))
    schema = {"row": pl.Int64, "slot": pl.Int32, "text": pl.String}
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _listed(frame: pl.DataFrame, phrased: pl.DataFrame, name: str) -> pl.Series:
    """One list per row of `frame`, phrases in slot order (empty when none were kept)."""
    lists = phrased.sort("row", "slot").group_by("row", maintain_order=True).agg(
        pl.col("text").alias(name)
    )
    every_row = pl.DataFrame({"row": np.arange(frame.height, dtype=np.int64)})
    return (
        every_row.join(lists, on="row", how="left", maintain_order="left")
        .select(pl.col(name).fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .to_series()
    )


def factor_units(names: Sequence[str]) -> list[tuple[str, list[int]]]:
    """The factors a lead's reasons are chosen from: (phrased feature, member indexes).

    Each group of FACTOR_GROUPS whose first feature is among `names` is one unit; every other
    feature is a unit of its own."""
    index = {name: i for i, name in enumerate(names)}
    units: list[tuple[str, list[int]]] = []
    grouped: set[str] = set()
    for group in FACTOR_GROUPS:
        members = [index[n] for n in group if n in index]
        if group[0] in index and len(members) > 1:
            units.append((group[0], members))
            grouped.update(n for n in group if n in index)
    units.extend((name, [i]) for name, i in index.items() if name not in grouped)
    return sorted(units, key=lambda unit: min(unit[1]))


def top_factors(
    frame: pl.DataFrame,
    contributions: np.ndarray,
    encoding: FeatureEncoding,
    *,
    count: int = 3,
    min_effect: float = 0.05,
) -> pl.DataFrame:
    """factors_up and factors_down: lists of up to `count` phrases per row, strongest first.

    Contributions of the features in one FACTOR_GROUPS group are added up first."""
    n_rows = contributions.shape[0]
    if n_rows == 0:
        empty = pl.Series([], dtype=pl.List(pl.String))
        return pl.DataFrame({"factors_up": empty, "factors_down": empty})
    units = factor_units(encoding.names)
    membership = np.zeros((contributions.shape[1], len(units)))
    for unit, (_, members) in enumerate(units):
        membership[members, unit] = 1.0
    contributions = contributions @ membership
    count = min(count, contributions.shape[1])
    up_order = np.argsort(-contributions, axis=1, kind="stable")[:, :count]
    down_order = np.argsort(contributions, axis=1, kind="stable")[:, :count]
    up_keep = np.take_along_axis(contributions, up_order, axis=1) > min_effect
    down_keep = np.take_along_axis(contributions, down_order, axis=1) < -min_effect
    names = [name for name, _ in units]
    up = _phrased_picks(frame, _picks(up_order, up_keep), names, encoding)
    down = _phrased_picks(frame, _picks(down_order, down_keep), names, encoding)
    return pl.DataFrame({
        "factors_up": _listed(frame, up, "factors_up"),
        "factors_down": _listed(frame, down, "factors_down"),
    })
