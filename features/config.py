"""The typed, frozen configuration read from ``leadscore.toml``.

Every threshold, window and seed lives here with a sensible default, so an empty TOML file is a
valid config. Unknown keys are errors (a typo must not silently fall back to a default). Loading
the file is I/O and lives in ``flows``; this module only validates a parsed mapping.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from features.errors import ConfigError
from features.schema import ACTIVITY_TYPES

_Item = TypeVar("_Item", int, str)


def each_once(values: tuple[_Item, ...], noun: str) -> tuple[_Item, ...]:
    """`values` unchanged, or ValueError naming the repeated ones (a config list that must
    name each item once)."""
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"each {noun} once (repeated: {repeated})")
    return values


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


CONDITION_KEYS = ("in_", "not_in", "prefix_in", "between", "at_least", "at_most", "equals",
                  "is_true", "contains_any")


class Condition(_Frozen):
    """A test on one feature column. Exactly one of the condition keys must be set.

    ``in``/``not_in``/``prefix_in``/``equals`` compare case-insensitively on text; ``between`` is
    inclusive;
    ``contains_any`` matches a list column (such as ``technologies``) holding any of the values.
    A missing value never matches.
    """

    name: str
    field: str
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    not_in: tuple[str, ...] | None = None
    prefix_in: tuple[str, ...] | None = None
    between: tuple[float, float] | None = None
    at_least: float | None = None
    at_most: float | None = None
    equals: str | float | bool | None = None
    is_true: bool | None = None
    contains_any: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _exactly_one_condition(self) -> Condition:
        given = [k for k in CONDITION_KEYS if getattr(self, k) is not None]
        if len(given) != 1:
            shown = [k.rstrip("_") for k in CONDITION_KEYS]
            raise ValueError(
                f"rule {self.name!r} needs exactly one of {shown}, got {len(given)}"
            )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"rule {self.name!r}: between lower bound exceeds upper bound")
        return self

    @property
    def condition(self) -> str:
        return next(k for k in CONDITION_KEYS if getattr(self, k) is not None)


class IcpRule(Condition):
    """Points given when the condition holds. Negative points mark an anti-fit."""

    points: float


class Disqualifier(Condition):
    """A hard stop: a matching lead is `disqualified`, whatever its fit or probability."""

    reason: str | None = None


DEFAULT_TIERS: dict[Literal["A", "B", "C"], float] = {"A": 80, "B": 60, "C": 40}


class IcpConfig(_Frozen):
    prospect_min_fit: float = Field(60, ge=0, le=100)
    # Tier A at or above tiers.A, and so on; below C is D. Tiers not named keep their default.
    tiers: dict[Literal["A", "B", "C"], float] = DEFAULT_TIERS
    rules: tuple[IcpRule, ...] = ()
    disqualify: tuple[Disqualifier, ...] = ()

    @field_validator("tiers", mode="before")
    @classmethod
    def _defaults_for_unnamed_tiers(cls, value: Any) -> dict[str, float]:
        if not isinstance(value, dict):
            raise ValueError("must be a table like { A = 80, B = 60, C = 40 }")
        return {**DEFAULT_TIERS, **value}

    @field_validator("tiers", mode="after")
    @classmethod
    def _tiers_descend(cls, value: dict[str, float]) -> dict[str, float]:
        if not value["A"] >= value["B"] >= value["C"]:
            raise ValueError(f"tiers must satisfy A >= B >= C, got {dict(value)}")
        return value


DEFAULT_NEXT_ACTIONS = {
    "lead": "Nurture: newsletter, guides and webinar invitations (marketing)",
    "prospect": "Personal outreach: discovery call and a relevant case study (sales development)",
    "opportunity": "Book a demo or send a proposal (account executive)",
    "customer": "Hand to account management; keep off prospecting lists",
    "disqualified": "Do not contact",
}


class StagesConfig(_Frozen):
    opportunity_min_probability: float = Field(0.5, ge=0, le=1)
    # An intent signal lifts a lead to `opportunity` only when its fit is at least this.
    opportunity_min_fit: float = Field(40, ge=0, le=100)
    intent_signals: tuple[str, ...] = ("demo_request", "pricing_request", "contact_sales")
    signal_window_days: int = Field(30, ge=1)
    next_actions: dict[str, str] = DEFAULT_NEXT_ACTIONS
    # priority_score = (1 - w) * 100 * probability + w * fit, with w this weight; without a
    # model, fit and engagement share it the same way.
    priority_fit_weight: float = Field(0.3, ge=0, le=1)

    @field_validator("intent_signals")
    @classmethod
    def _known_activity_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in ACTIVITY_TYPES]
        if unknown:
            raise ValueError(f"unknown activity type {unknown[0]!r} (types: "
                             f"{', '.join(ACTIVITY_TYPES)})")
        return value

    @field_validator("next_actions", mode="before")
    @classmethod
    def _defaults_for_unnamed_stages(cls, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValueError("must be a table of stage = \"action\"")
        unknown = sorted(set(value) - set(DEFAULT_NEXT_ACTIONS))
        if unknown:
            raise ValueError(f"unknown stage {unknown[0]!r} (stages: {list(DEFAULT_NEXT_ACTIONS)})")
        return {**DEFAULT_NEXT_ACTIONS, **value}


class FeaturesConfig(_Frozen):
    engagement_windows_days: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        (7, 30, 90), min_length=1)

    # Decayed engagement halves every this many days.
    decay_half_life_days: float = Field(14, gt=0)
    company_event_lookback_days: int = Field(180, ge=1)
    # Firmographics updated longer ago than this are stale.
    firmographics_max_age_days: int = Field(365, ge=1)

    @field_validator("engagement_windows_days")
    @classmethod
    def _distinct_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return each_once(value, "window")


class IngestConfig(_Frozen):
    # Text meaning "no value" in exports, compared after trimming, case-insensitively.
    missing_values: tuple[str, ...] = (
        "", "select", "n/a", "na", "-", "--", "null", "none", "#n/a", "nan", "(none)",
    )
    # How to read an ambiguous date like 03/04/2025: day first (Nordic and most of Europe) or not.
    day_first: bool = True
    # A run's as_of may be at most this many days after the newest record in the inputs: a
    # later date (a typo such as 9999-12-31, or a stale export) would score old data as current.
    max_days_after_newest_record: int = Field(7, ge=0)
    # A source that loses more than this share of its rows to the quarantine is a warning (in
    # the console and the manifest); past max_quarantined_share the run stops with an error.
    warn_quarantined_share: float = Field(0.5, ge=0, le=1)
    max_quarantined_share: float = Field(0.9, ge=0, le=1)


class MatchingConfig(_Frozen):
    # rapidfuzz token-sort ratio (0-100) at or above which a normalized name counts as a match.
    fuzzy_threshold: float = Field(92, ge=50, le=100)
    # Extra free-mail domains on top of the built-in list.
    extra_free_mail_domains: tuple[str, ...] = ()


class ModelConfig(_Frozen):
    # What counts as converting: an opportunity created, or a deal won, within the horizon.
    label: Literal["opportunity", "won"] = "opportunity"
    horizon_days: int = Field(90, ge=1)
    snapshot_every_days: int = Field(14, ge=1)
    training_window_days: int = Field(540, ge=30)
    # The last part of the labelled window (by snapshot date) validates the candidates.
    validation_days: int = Field(90, ge=1)
    candidates: tuple[Literal["logistic", "gradient_boosting"], ...] = (
        "logistic", "gradient_boosting",
    )
    min_labelled_rows: int = Field(1000, ge=1)
    min_positives: int = Field(120, ge=1)
    # Training snapshots multiply leads by dates; above this many leads, a fixed pseudo-random
    # subset (chosen by a hash of lead_id and the seed) is used. Scoring always uses every lead.
    max_training_leads: int = Field(25_000, ge=100)
    # How the logistic candidate may take numbers in, chosen per fit by out-of-fold log-loss
    # on its training rows: standardized, signed log then standardized, or cubic splines.
    numeric_transforms: tuple[Literal["standard", "symlog", "spline"], ...] = Field(
        ("standard", "symlog", "spline"), min_length=1)
    # Calibrations tried, chosen by log-loss on out-of-fold raw scores (scoring/calibration.py).
    calibration_methods: tuple[Literal["none", "sigmoid", "isotonic"], ...] = Field(
        ("none", "sigmoid", "isotonic"), min_length=1)
    # Isotonic calibration needs data; with fewer out-of-fold rows it is not tried.
    isotonic_min_rows: int = Field(1000, ge=1)
    # Category levels with fewer training rows than this, and those beyond the most frequent
    # max_category_levels, share one "rare or unseen" level.
    rare_category_min_rows: int = Field(10, ge=1)
    max_category_levels: int = Field(250, ge=1, le=250)
    # Drift: warn when the test (validation) conversion rate differs from the training rate,
    # or the mean predicted probability from the observed rate, by more than this (absolute).
    drift_warning_margin: float = Field(0.05, gt=0, lt=1)
    # When > 0: after fitting, shift the calibration's intercept so that the mean predicted
    # probability on the labelled snapshots of the last this-many days equals their rate.
    recalibrate_recent_days: int = Field(0, ge=0)
    seed: int = 42

    @field_validator("numeric_transforms", "calibration_methods", "candidates")
    @classmethod
    def _each_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return each_once(value, "value")


class ScheduleConfig(_Frozen):
    # When `leadscore serve` runs the nightly `score` deployment: a cron line in `timezone`
    # (an IANA name); checked by `serve` when it creates the schedule.
    cron: str = "0 2 * * *"
    timezone: str = "UTC"
CrmProfileName = Literal["generic", "hubspot", "salesforce", "pipedrive"]


class ExportConfig(_Frozen):
    """The CRM import files and how every CSV is laid out (README, "CRM import files")."""

    # One import file per profile named here (`--crm` overrides).
    crm: tuple[CrmProfileName, ...] = Field(("generic",), min_length=1)
    # "utf-8": comma, decimal point, no BOM. "nordic-excel": BOM, ";" and decimal comma.
    csv_locale: Literal["utf-8", "nordic-excel"] = "utf-8"
    # The pass-through column holding the CRM's own record id (default: the profile's usual
    # header names, else lead_id when the leads were read with that CRM's mapping profile).
    record_id_column: str | None = None
    # Add HubSpot's lifecycle stage (only where it moves a contact forward): opt-in.
    hubspot_lifecycle_stage: bool = False
    # The generic file carries the whole scored row and every pass-through column.
    all_columns: bool = False
    # Replace emails and phones with keyed hashes in every output but the CRM import files.
    hash_pii: bool = False
    # The environment variable holding the hashing key (read by the flows, never logged).
    pii_key_env: str = Field("LEADSCORE_PII_KEY", min_length=1)

    @field_validator("crm")
    @classmethod
    def _each_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"each profile once, got {list(value)}")
        return value


class RunConfig(_Frozen):
    # Leads are prepared and scored in this many partitions (by a hash of the identity that
    # duplicates share; the output is the same for any number). 1: no partitioning, which is
    # the fastest for an export that fits in memory; more bound the memory of the per-lead
    # steps by the partition size, and let `--workers` / `--dask-address` run them in parallel.
    partitions: int = Field(1, ge=1, le=4096)


class Config(_Frozen):
    run: RunConfig = RunConfig()
    ingest: IngestConfig = IngestConfig()
    matching: MatchingConfig = MatchingConfig()
    features: FeaturesConfig = FeaturesConfig()
    icp: IcpConfig = IcpConfig()
    stages: StagesConfig = StagesConfig()
    model: ModelConfig = ModelConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    export: ExportConfig = ExportConfig()


def _error_key(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after[_exactly_one_condition(), IcpRule]",):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def parse_config(raw: dict[str, Any], source: str = "leadscore.toml") -> Config:
    """Validate a parsed TOML mapping; raise ConfigError naming the first bad key."""
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        # An unknown key explains the rest (a typo also makes its intended key "missing").
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        key = _error_key(tuple(x for x in first["loc"] if not str(x).startswith("function-")))
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{source}: {key or '(top level)'}: {message}") from None
