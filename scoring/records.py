"""The records a run leaves behind: the run manifest, the model card, the training result and
the promotion decision.

Typed, frozen pydantic models shared by the flows (which build and write them), the report and
the CLI (which render them) and the registry (which reads them back). On disk they are the
JSON of ``model_dump(mode="json")``: the same keys the job has always written. Optional parts
that a record does not have (an absent input file's hash, an untrained result's version) are
left out of the JSON rather than written as null, as before; ``from_json`` reads both.

Pure: no I/O here; `flows.catalog` reads and writes the files.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    JsonValue,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

# A moment written as Python's isoformat ("2026-12-01T02:00:00.123456+00:00"), as the job
# always has (pydantic's own JSON form would end in "Z").
IsoDatetime = Annotated[
    datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str)
]

ModelStatusName = Literal["model", "no_model", "insufficient_history"]
TrainingStatus = Literal["trained", "insufficient_history"]


class Record(BaseModel):
    """A frozen record whose JSON is its on-disk form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, JsonValue]:
        """The JSON-ready mapping written to disk."""
        dumped: dict[str, JsonValue] = self.model_dump(mode="json")
        return dumped

    @classmethod
    def from_json(cls, data: object) -> Self:
        """Read a record back from the parsed JSON (raises pydantic.ValidationError)."""
        return cls.model_validate(data)


class SparseRecord(Record):
    """A record whose unset optional parts (None) are left out of its JSON."""

    @model_serializer(mode="wrap")
    def _drop_none(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


# ---- the run manifest (runs/as_of=D/manifest.json) ---------------------------------------------


class RunInfo(Record):
    """Which run this was."""

    as_of: date
    run_id: str
    started_at: IsoDatetime
    leadscore_version: str
    finished_at: IsoDatetime | None = None


class InputFile(SparseRecord):
    """One input source as read. An absent optional source has only ``present`` and ``rows``.

    ``dialect`` is what the reader found (format, encoding, delimiter, ...; see
    `flows.readers`), ``profile`` the CRM mapping applied to the file
    (`features.ingest.profile.MappedSource.record`).
    """

    present: bool
    path: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    dialect: dict[str, JsonValue] | None = None
    profile: dict[str, JsonValue] | None = None
    rows: int = 0


class ConfigRef(Record):
    """The config file a run used and the hash of its meaning."""

    path: str
    sha256: str


class ModelUse(Record):
    """Which conversion model the run used (``status`` "model"), or why none (``note``)."""

    status: ModelStatusName
    version: str | None = None
    note: str | None = None
    # How it was chosen: "current" (the registry's), "version" (named, or current on a
    # backfilled date by the promotion history) or "none"; and why. Absent in older manifests.
    chosen: str | None = None
    why: str | None = None


class SourceCounts(Record):
    """Where one source's rows went: ``read`` rows, split into named ``buckets``
    (e.g. ``survivor``, ``merged``, ``quarantined_by_validation``; leads also ``scored``).

    On disk the buckets sit next to ``read`` in one flat object.
    """

    read: int
    buckets: dict[str, int] = {}

    def rows(self, bucket: str) -> int:
        """Rows in ``bucket`` (0 when the run had none there)."""
        return self.buckets.get(bucket, 0)

    @model_validator(mode="before")
    @classmethod
    def _from_flat(cls, data: object) -> object:
        if isinstance(data, dict) and "buckets" not in data:
            return {"read": data.get("read"),
                    "buckets": {k: v for k, v in data.items() if k != "read"}}
        return data

    @model_serializer(mode="plain")
    def _flat(self) -> dict[str, int]:
        return {"read": self.read, **self.buckets}


class MethodCount(Record):
    count: int
    rate: float


class Firmographics(Record):
    """How many scored leads have company data, how many of those are stale, the median age."""

    with_company_data: int
    stale: int
    median_age_days: float | None


class EnrichmentSummary(Record):
    """Lead-to-company matching (see `features.resolve.enrich.match_report`) and freshness."""

    leads: int
    matched: int
    match_rate: float
    by_method: dict[str, MethodCount]
    unmatched_reasons: dict[str, int]
    ambiguous_leads: int
    ambiguous_company_domains: int
    ambiguous_company_names: int
    firmographics: Firmographics


class DuplicatesSummary(Record):
    """Lead rows merged into a survivor, and merges a person should check (needs_review)."""

    merged: int = 0
    needs_review: int = 0


class QuarantineSummary(Record):
    """Quarantined rows in all, and per source per kind of reason."""

    rows: int
    by_source_and_reason: dict[str, dict[str, int]]


class VsPreviousRun(Record):
    previous_as_of: date | None
    changed: int
    new_leads: int
    transitions: dict[str, int]


class FunnelSummary(Record):
    """Leads per stage, changes against the CRM's stage and against the previous run."""

    leads: int
    stages: dict[str, int]
    vs_crm: dict[str, int]
    vs_previous_run: VsPreviousRun
    probability_status: dict[str, int]


class OutputFile(SparseRecord):
    """One published file, relative to the output root; frames also give rows and hash.

    A CRM import file also says which column its record ids came from (``record_id_from``;
    none: the file matches on email alone) and how many scored rows it left out for having
    neither a record id nor an email (``left_out_without_id``)."""

    path: str
    rows: int | None = None
    sha256: str | None = None
    record_id_from: str | None = None
    left_out_without_id: int | None = None


class ChangeSummary(Record):
    """The change feed's counts (`scoring.changes.CHANGES`) against the previous run."""

    previous_as_of: date | None
    counts: dict[str, int]


class RunManifest(Record):
    """Everything a scoring run records about itself; its file's presence marks a complete run.

    ``inputs``, ``counts`` and ``outputs`` are keyed by source / catalog dataset name.
    """

    run: RunInfo
    inputs: dict[str, InputFile]
    config: ConfigRef
    model: ModelUse
    counts: dict[str, SourceCounts]
    enrichment: EnrichmentSummary
    quarantine: QuarantineSummary
    value_issues: int
    funnel: FunnelSummary
    timings_seconds: dict[str, float]
    duplicates: DuplicatesSummary = DuplicatesSummary()
    # Data-quality warnings of the run (a source losing most of its rows), also on the console.
    warnings: list[str] = []
    outputs: dict[str, OutputFile] = {}
    changes: ChangeSummary | None = None  # absent in manifests from before the change feed


# ---- model card, training result, promotion ----------------------------------------------------


class CalibrationBin(Record):
    bin: int
    rows: int
    mean_predicted: float
    observed_rate: float


class RankingMetrics(Record):
    """Metrics that need only an ordering (for the rules-only baseline)."""

    roc_auc: float
    pr_auc: float
    lift_top_decile: float


class CandidateMetrics(RankingMetrics):
    """One candidate model on the validation snapshots."""

    brier: float
    log_loss: float
    rows: int
    positives: int
    calibration: list[CalibrationBin]


class TrainingMetrics(Record):
    validation_by_candidate: dict[str, CandidateMetrics]
    rules_only_baseline: dict[str, RankingMetrics]


class HistoryCounts(Record):
    rows: int
    leads: int
    positive_rows: int
    converted_leads: int


class TrainingCounts(SparseRecord, HistoryCounts):
    """The labelled history, and its training and validation parts once it was split."""

    training: HistoryCounts | None = None
    validation: HistoryCounts | None = None


class Label(Record):
    event: str
    horizon_days: int


class DataWindow(Record):
    first_snapshot: date
    last_snapshot: date
    snapshot_every_days: int
    validation_window: list[str]


class DriftPeriod(Record):
    """One period (snapshot date or month) of the test/validation part."""

    period: str
    rows: int
    positive_rate: float
    mean_predicted: float
    beyond_margin: bool


class Drift(Record):
    """Conversion rates of the training and test parts and the mean prediction per period,
    with warnings beyond the margin (`scoring.conversion.metrics.drift_summary`)."""

    train_positive_rate: float
    test_positive_rate: float
    test_mean_predicted: float
    margin: float
    periods: list[DriftPeriod]
    warnings: list[str]


class ModelCard(Record):
    """What a registered model is: data window, counts, metrics, versions (``card.json``).

    ``trained_as_of`` is missing from cards written before it was recorded.
    """

    version: str
    trained_as_of: date | None = None
    kind: str
    label: Label
    data_window: DataWindow
    counts: TrainingCounts
    features: list[str]
    calibration: str
    selection: str
    metrics: TrainingMetrics
    # Cards written before these were recorded lack them.
    calibration_log_loss_out_of_fold: dict[str, float] = {}
    intercept_shift: float = 0.0
    numeric_transform: str | None = None
    transform_log_loss_out_of_fold: dict[str, float] = {}
    drift: Drift | None = None
    libraries: dict[str, str]
    config_sha256: str
    code_sha256: str


class PromotionDecision(SparseRecord):
    """Whether a newly trained model replaces the current one, and why.

    With a comparison: both models' log-loss on the snapshots described by ``compared_on``.
    """

    promote: bool
    why: str
    current: str | None = None
    replaces: str | None = None
    compared_on: str | None = None
    compared_rows: int | None = None
    compared_conversions: int | None = None
    current_log_loss: float | None = None
    new_log_loss: float | None = None


class TrainingResult(SparseRecord):
    """What `train` did (also ``models/status.json``): a model registered, or why not.

    The fields after ``counts`` are there only when a model was trained.
    """

    as_of: date
    status: TrainingStatus
    message: str
    counts: TrainingCounts
    version: str | None = None
    kind: str | None = None
    current: bool | None = None
    promotion: PromotionDecision | None = None
    metrics: TrainingMetrics | None = None
    model_folder: str | None = None
    # Wall seconds per step (`flows.train.train_flow`), and Prefect's start-up when this
    # process paid it: where a slow training run spent its time. Absent in older statuses.
    timings_seconds: dict[str, float] | None = None
