"""Stage recommendation: stage, next action, priority and the reasons a salesperson reads.

Order of decision (first that applies):
1. disqualified: the person opted out (built in: consent binds even for customers);
2. customer: the lead has a won deal (a colleague's won deal makes the company a customer: that
   is a reason and changes the next action, not the person's stage; a bounced address is a
   reason to fix it); else the CRM's own stage says customer (the deals data may be missing);
3. disqualified: the address bounced (built in), or a configured disqualifier matched
   (competitor, territory...): prospecting filters, so they never turn a customer away;
4. opportunity: an open opportunity already exists, or fit >= opportunity_min_fit with an intent
   signal in the signal window;
   disqualified: the CRM's own stage says disqualified or unqualified (a person sales turned
   away stays so unless there is new evidence: a deal or a buying signal);
   opportunity: conversion probability >= opportunity_min_probability;
5. prospect: fit >= prospect_min_fit;
6. lead: everything else.
`disqualified_reason` is kept only on disqualified rows.
"""

from __future__ import annotations

import polars as pl

from features.config import StagesConfig
from features.exprs import Texts, first_match, with_text_list
from features.schema import FUNNEL_ORDER
from scoring.phrases import count_of, days_ago

SIGNAL_PHRASES = {
    "demo_request": "requested a demo",
    "pricing_request": "asked for pricing",
    "contact_sales": "contacted sales",
    "pricing_page_view": "viewed the pricing page",
    "meeting": "had a meeting",
    "reply": "replied to an email",
    "form_submit": "submitted a form",
}

STAGE_COLUMNS = ("recommended_stage", "stage_basis", "next_action", "priority_score", "priority",
                 "stage_change")


CRM_BASIS = "CRM stage"
# The CRM's own stage values (after the profile's value map, compared lower-cased) that are
# evidence when the job has nothing stronger.
CRM_CUSTOMER = ("customer",)
CRM_DISQUALIFIED = ("disqualified", "unqualified")


# Stages that are not worked and get no priority.
UNRANKED_STAGES = ("customer", "disqualified")


def _workable() -> pl.Expr:
    return ~pl.col("recommended_stage").is_in(list(UNRANKED_STAGES))


def _crm_says(values: tuple[str, ...]) -> pl.Expr:
    return pl.col("crm_stage").str.to_lowercase().is_in(values).fill_null(False)


def _has_recent_intent() -> pl.Expr:
    return pl.col("intent_signals_recent").fill_null(0) > 0


def _stage_and_basis(cfg: StagesConfig, prospect_min_fit: float) -> tuple[pl.Expr, pl.Expr]:
    probability = pl.col("conversion_probability")
    rules: list[tuple[pl.Expr, str, str]] = [
        (pl.col("contact_blocked"), "disqualified", "consent"),
        (pl.col("won_deal"), "customer", "won deal"),
        (_crm_says(CRM_CUSTOMER), "customer", CRM_BASIS),
        (pl.col("disqualified_reason").is_not_null(), "disqualified", "disqualifier"),
        (pl.col("open_opportunity"), "opportunity", "open opportunity in the CRM"),
        ((pl.col("icp_fit") >= cfg.opportunity_min_fit) & _has_recent_intent(),
         "opportunity", "fit and buying intent"),
        (_crm_says(CRM_DISQUALIFIED), "disqualified", CRM_BASIS),
        (probability.fill_null(-1.0) >= cfg.opportunity_min_probability,
         "opportunity", "conversion probability"),
        (pl.col("icp_fit") >= prospect_min_fit, "prospect", "ICP fit"),
    ]
    stage = first_match([(condition, name) for condition, name, _ in rules], "lead")
    basis = first_match([(condition, why) for condition, _, why in rules], "default")
    return stage, basis




def _intent_phrase() -> pl.Expr:
    signal = pl.col("last_intent_signal")
    verb = signal.replace_strict(SIGNAL_PHRASES, default=signal.str.replace_all("_", " "),
                                 return_dtype=pl.String)
    return verb + pl.lit(" ") + days_ago(pl.col("days_since_intent_signal"))


def _priority_score(cfg: StagesConfig) -> pl.Expr:
    weight = cfg.priority_fit_weight
    fit = pl.col("icp_fit").fill_null(0.0)
    with_model = (1 - weight) * 100 * pl.col("conversion_probability") + weight * fit
    engagement = (
        pl.when(_has_recent_intent()).then(1.0)
        .otherwise((pl.col("engagement_decayed").fill_null(0.0) / 5).clip(0, 1))
    )
    rules_only = (1 - weight) * fit + weight * 100 * engagement
    return pl.coalesce(with_model, rules_only).round(2)


COMPANY_IS_CUSTOMER_ACTION = "Their company is a customer: agree with its account manager first. "


def _next_action(cfg: StagesConfig) -> pl.Expr:
    action = pl.col("recommended_stage").replace_strict(cfg.next_actions, return_dtype=pl.String)
    workable = _workable()
    return (
        pl.when(workable & pl.col("company_won_deal").fill_null(False))
        .then(pl.lit(COMPANY_IS_CUSTOMER_ACTION) + action)
        .otherwise(action)
    )


def _stage_change() -> pl.Expr:
    crm = pl.col("crm_stage")
    new = pl.col("recommended_stage")
    crm_rank = crm.replace_strict(FUNNEL_ORDER, default=None, return_dtype=pl.Int8)
    new_rank = new.replace_strict(FUNNEL_ORDER, default=None, return_dtype=pl.Int8)
    return (
        pl.when(crm.is_null()).then(pl.lit("new"))
        .when(crm == new).then(pl.lit("same"))
        .when(new == "disqualified").then(pl.lit("disqualify"))
        .when(crm == "disqualified").then(pl.lit("requalify"))
        .when(crm_rank.is_null()).then(pl.lit("unmapped crm stage"))
        .when(new_rank > crm_rank).then(pl.lit("up"))
        .otherwise(pl.lit("down"))
    )


def recommend_stage(
    scored: pl.LazyFrame, cfg: StagesConfig, prospect_min_fit: float
) -> pl.LazyFrame:
    """Stage, basis, next action, priority and change against the CRM's stage.

    Needs: contact_blocked, disqualified_reason, won_deal, company_won_deal, open_opportunity,
    icp_fit, intent_signals_recent, engagement_decayed, conversion_probability (may be null),
    crm_stage.
    Adds: STAGE_COLUMNS. `priority` ranks leads within their stage (1 = work first; ties by
    lead_id); customers and disqualified leads get no priority.
    """
    stage, basis = _stage_and_basis(cfg, prospect_min_fit)
    workable = _workable()
    return (
        scored.with_columns(stage.alias("recommended_stage"), basis.alias("stage_basis"))
        .with_columns(
            pl.when(pl.col("recommended_stage") == "disqualified")
            .then(pl.coalesce(
                pl.col("disqualified_reason"),
                pl.when(pl.col("stage_basis") == CRM_BASIS).then(
                    pl.lit("marked ") + pl.col("crm_stage").str.to_lowercase()
                    + pl.lit(" in the CRM")),
            )).alias("disqualified_reason"),
        )
        .with_columns(
            _next_action(cfg).alias("next_action"),
            pl.when(workable).then(_priority_score(cfg)).alias("priority_score"),
        )
        .sort("lead_id")
        .with_columns(priority_rank(), _stage_change().alias("stage_change"))
    )


def priority_rank() -> pl.Expr:
    """``priority``: the lead's rank within its stage by priority_score (1 = work first), ties
    in lead_id order; null for customers and disqualified leads. Needs recommended_stage and
    priority_score over all the leads ranked together, sorted by lead_id (a partitioned run
    ranks three columns of every partition's leads with it)."""
    ranked = pl.col("priority_score").rank("ordinal", descending=True).over("recommended_stage")
    return pl.when(_workable()).then(ranked).cast(pl.Int64).alias("priority")


def with_reasons(frame: pl.LazyFrame, cfg: StagesConfig) -> pl.LazyFrame:
    """Adds ``reasons``: the reasons behind a row's stage, most important first, as a list of
    short sentences.

    Needs: disqualified_reason, won_deal, address_bounced, last_won_at, company_won_deal,
    open_opportunity, company_open_opportunity, intent_signals_recent, last_intent_signal,
    days_since_intent_signal, icp_matched, icp_against, icp_unknown, factors_up, factors_down,
    firmographics_age_days, firmographics_stale, probability_status, crm_stage,
    contact_blocked.
    """
    parts = [
        pl.when(pl.col("disqualified_reason").is_not_null())
        .then(pl.lit("Disqualified: ") + pl.col("disqualified_reason")),
        pl.when(pl.col("won_deal"))
        .then(pl.lit("Won a deal") + pl.when(pl.col("last_won_at").is_not_null()).then(
            pl.lit(" on ") + pl.col("last_won_at").dt.strftime("%Y-%m-%d")).otherwise(pl.lit(""))),
        pl.when(~pl.col("won_deal").fill_null(False) & ~pl.col("contact_blocked").fill_null(False)
                & _crm_says(CRM_CUSTOMER))
        .then(pl.lit("The CRM marks them as a customer (no won deal in the data)")),
        pl.when(pl.col("won_deal") & pl.col("address_bounced"))
        .then(pl.lit("Email address bounced: update their contact details")),
        pl.when(~pl.col("won_deal") & pl.col("company_won_deal"))
        .then(pl.lit("Their company is already a customer")),
        pl.when(pl.col("open_opportunity")).then(pl.lit("Has an open opportunity in the CRM")),
        pl.when(~pl.col("open_opportunity") & pl.col("company_open_opportunity"))
        .then(pl.lit("Their company has an open opportunity")),
        pl.when(_has_recent_intent()).then(
            pl.lit("Buying signal: ") + _intent_phrase()),
        pl.when(pl.col("icp_matched").list.len() > 0).then(
            pl.lit("Fits the ICP: ") + pl.col("icp_matched").list.join("; ")),
        pl.when(pl.col("icp_against").list.len() > 0).then(
            pl.lit("Counts against the ICP: ") + pl.col("icp_against").list.join("; ")),
    ]
    tail = [
        pl.when(pl.col("icp_unknown").list.len() > 0).then(
            pl.lit("Unknown, so fit may be understated: ") + pl.col("icp_unknown").list.join("; ")),
        pl.when(pl.col("firmographics_stale").fill_null(False)).then(
            pl.lit("Company data is ") + count_of(pl.col("firmographics_age_days"), "days old")),
        pl.when(pl.col("probability_status") != "model").then(
            pl.lit("No conversion probability: ") + pl.col("probability_note")),
    ]
    return with_text_list(frame, "reasons", [
        *parts,
        Texts(pl.col("factors_up").list.eval(pl.lit("Raises the odds: ") + pl.element())),
        Texts(pl.col("factors_down").list.eval(pl.lit("Lowers the odds: ") + pl.element())),
        *tail,
    ])
