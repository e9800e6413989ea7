"""Ideal Customer Profile fit: the rules in leadscore.toml compiled to polars expressions.

fit = 100 * (points of the matching rules) / (sum of all positive points), clipped to 0-100.
A rule whose field is missing for a lead neither matches nor fails: it is listed in `icp_unknown`,
so a salesperson can see that fit may be understated for lack of data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import polars as pl

from features.config import Condition, Disqualifier, IcpConfig, IcpRule
from features.errors import ConfigError
from features.exprs import first_match

ICP_COLUMNS = ("icp_points", "icp_fit", "icp_tier", "icp_matched", "icp_against",
               "icp_unknown", "contact_blocked", "address_bounced", "disqualified_reason")

# Always applied, before the configured disqualifiers. An opt-out is consent: it binds even for
# a customer (contact_blocked). A bounce says the address is dead, not the person: it stops
# prospecting like a configured disqualifier, and for a customer it is a note to fix the address.
OPTED_OUT = (pl.col("opted_out") | pl.col("unsubscribed"), "opted out of contact")
BOUNCED = (pl.col("bounced") | pl.col("bounced_activity"), "email address bounced")
BUILT_IN_DISQUALIFIERS: tuple[tuple[pl.Expr, str], ...] = (OPTED_OUT, BOUNCED)

_TEXT_CONDITIONS = ("in_", "not_in", "prefix_in")
_NUMBER_CONDITIONS = ("between", "at_least", "at_most")


def _lowered(values: Sequence[str]) -> list[str]:
    return [v.lower() for v in values]


def _text(column: pl.Expr) -> pl.Expr:
    return column.cast(pl.String).str.to_lowercase()


def _type_problem(rule: Condition, dtype: pl.DataType) -> str | None:
    """Why the rule's condition cannot apply to a field of this type, or None."""
    kind = rule.condition
    is_list = isinstance(dtype, pl.List)
    if kind in _NUMBER_CONDITIONS and not dtype.is_numeric():
        return f"{kind} needs a numeric field"
    if kind == "is_true" and dtype != pl.Boolean:
        return "is_true needs a true/false field"
    if kind in (*_TEXT_CONDITIONS, "equals") and is_list:
        return f"{kind.rstrip('_')} cannot test a list field (use contains_any)"
    if kind == "equals" and isinstance(rule.equals, bool) and dtype != pl.Boolean:
        return "equals true/false needs a true/false field"
    if (kind == "equals" and isinstance(rule.equals, int | float)
            and not isinstance(rule.equals, bool) and not dtype.is_numeric()):
        return "equals a number needs a numeric field"
    return None


def _check_field(rule: Condition, schema: pl.Schema, where: str) -> pl.DataType:
    if rule.field not in schema:
        known = ", ".join(sorted(schema.names()))
        raise ConfigError(
            f"{where} {rule.name!r}: field {rule.field!r} is not a feature column (known: {known})"
        )
    dtype = schema[rule.field]
    problem = _type_problem(rule, dtype)
    if problem:
        raise ConfigError(f"{where} {rule.name!r}: {problem}, {rule.field!r} is {dtype}")
    return dtype


def condition_expr(rule: Condition, schema: pl.Schema, where: str = "icp.rules") -> pl.Expr:
    """True where the rule holds, false where it does not, null where the field is missing."""
    dtype = _check_field(rule, schema, where)
    col = pl.col(rule.field)
    if rule.in_ is not None:
        return _text(col).is_in(_lowered(rule.in_))
    if rule.not_in is not None:
        return ~_text(col).is_in(_lowered(rule.not_in))
    if rule.prefix_in is not None:
        return pl.any_horizontal(_text(col).str.starts_with(p) for p in _lowered(rule.prefix_in))
    if rule.between is not None:
        return col.is_between(rule.between[0], rule.between[1], closed="both")
    if rule.at_least is not None:
        return col >= rule.at_least
    if rule.at_most is not None:
        return col <= rule.at_most
    if rule.is_true is not None:
        return col == rule.is_true
    if rule.contains_any is not None:
        wanted = _lowered(rule.contains_any)
        if isinstance(dtype, pl.List):
            return col.list.eval(pl.element().str.to_lowercase().is_in(wanted)).list.any()
        return pl.any_horizontal(_text(col).str.contains(w, literal=True) for w in wanted)
    equals = rule.equals
    return _text(col) == str(equals).lower() if isinstance(equals, str) else col == equals


def _points_label(rule: IcpRule) -> str:
    sign = "+" if rule.points >= 0 else ""
    return f"{rule.name} ({sign}{rule.points:g})"


# A row's list of names is built from a bit mask of its true conditions: rows share a few
# hundred distinct masks at most, so each list is made once per distinct mask instead of once
# per row (pl.concat_list of one when/then per condition costs seconds per million rows).
# Int64 bits: conditions past 62 go into a further mask, and the lists are concatenated.
_BITS_PER_MASK = 62


def _bit_mask(conditions: Sequence[pl.Expr]) -> pl.Expr:
    """An Int64 with bit i set where conditions[i] is true (null counts as false)."""
    return pl.sum_horizontal(
        [pl.when(c).then(pl.lit(1 << i, dtype=pl.Int64)).otherwise(pl.lit(0, dtype=pl.Int64))
         for i, c in enumerate(conditions)]
    )


def _names_of_bits(mask: pl.Series, names: Sequence[str]) -> pl.Series:
    """For each mask value, the names whose bit is set, in the order of `names`."""
    distinct = mask.unique().sort()
    lists = pl.Series(
        [[n for i, n in enumerate(names) if m >> i & 1] for m in distinct.to_list()],
        dtype=pl.List(pl.String),
    )
    return lists.gather(distinct.search_sorted(mask))


def _named_where(conditions: Sequence[tuple[pl.Expr, str]]) -> pl.Expr:
    """A list of the names whose condition is true (an empty list when none), in order."""
    if not conditions:
        return pl.lit([], dtype=pl.List(pl.String))
    parts = []
    for start in range(0, len(conditions), _BITS_PER_MASK):
        chunk = conditions[start:start + _BITS_PER_MASK]
        names = [n for _, n in chunk]
        parts.append(_bit_mask([c for c, _ in chunk]).map_batches(
            partial(_names_of_bits, names=names),
            return_dtype=pl.List(pl.String), is_elementwise=True,
        ))
    return parts[0] if len(parts) == 1 else pl.concat_list(parts)


def _tier(fit: pl.Expr, tiers: Mapping[str, float]) -> pl.Expr:
    return (
        pl.when(fit >= tiers["A"]).then(pl.lit("A"))
        .when(fit >= tiers["B"]).then(pl.lit("B"))
        .when(fit >= tiers["C"]).then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )




def _disqualified_reason(cfg: IcpConfig, schema: pl.Schema) -> pl.Expr:
    checks: list[tuple[pl.Expr, str]] = list(BUILT_IN_DISQUALIFIERS)
    for rule in cfg.disqualify:
        checks.append((condition_expr(rule, schema, "icp.disqualify"), _disqualifier_text(rule)))
    return first_match([(condition, text) for condition, text in checks], None)


def _disqualifier_text(rule: Disqualifier) -> str:
    return rule.reason or rule.name


def icp_fit(features: pl.LazyFrame, cfg: IcpConfig) -> pl.LazyFrame:
    """Score every row against the ICP rules and hard disqualifiers.

    Needs: the feature columns named by the rules, plus opted_out, unsubscribed, bounced and
    bounced_activity for the built-in disqualifiers.
    Adds: icp_points, icp_fit (0-100), icp_tier (A-D), icp_matched (matching rules with
    positive points, named with their points), icp_against (matching rules with negative
    points), icp_unknown (positive rules whose field is missing: fit may be understated),
    contact_blocked (the person opted out: binds even for customers), address_bounced (the
    email address bounced), disqualified_reason (the first matching disqualifier, built-in or
    configured; null when none).
    Raises ConfigError naming the rule when a field is unknown or of the wrong type.
    """
    schema = features.collect_schema()
    # Each rule's condition is evaluated once, into a temporary column that the points and the
    # three lists all read (as expressions, each would be evaluated per use); the tier reads
    # icp_fit once it exists.
    held = [f"__icp_rule_{i}" for i in range(len(cfg.rules))]
    compiled = [(rule, pl.col(name)) for rule, name in zip(cfg.rules, held, strict=True)]
    max_points = sum(r.points for r in cfg.rules if r.points > 0)
    points = pl.sum_horizontal(
        [pl.when(c.fill_null(False)).then(pl.lit(r.points)).otherwise(0.0) for r, c in compiled]
        or [pl.lit(0.0)]
    )
    fit = (points * 100.0 / max_points).clip(0, 100).round(1) if max_points else pl.lit(0.0)
    return (
        features
        .with_columns(condition_expr(rule, schema).alias(name)
                      for rule, name in zip(cfg.rules, held, strict=True))
        .with_columns(
            points.alias("icp_points"),
            fit.alias("icp_fit"),
            _named_where([(c.fill_null(False), _points_label(r)) for r, c in compiled
                          if r.points >= 0]).alias("icp_matched"),
            _named_where([(c.fill_null(False), _points_label(r)) for r, c in compiled
                          if r.points < 0]).alias("icp_against"),
            _named_where([(c.is_null(), r.name) for r, c in compiled if r.points > 0])
            .alias("icp_unknown"),
            OPTED_OUT[0].fill_null(False).alias("contact_blocked"),
            BOUNCED[0].fill_null(False).alias("address_bounced"),
            _disqualified_reason(cfg, schema).alias("disqualified_reason"),
        )
        .drop(held)
        .with_columns(_tier(pl.col("icp_fit"), {str(k): v for k, v in cfg.tiers.items()})
                      .alias("icp_tier"))
        .select(*schema.names(), *(c for c in ICP_COLUMNS if c not in schema))
    )
