"""CRM import files: one typed declaration per CRM's import profile, one function to apply it.

Each profile says which header the CRM's importer matches records on (its own record id, else
the email where the importer can match on email), which properties the scores go into (named as
the CRM names custom properties: HubSpot internal names, Salesforce ``..__c`` fields, Pipedrive
field labels) and in which order. `export_frame` turns scored rows into that file's rows; a
changes-only variant passes it the changed rows only.

The CRM's own record id comes back from the export's pass-through columns: the configured
``record_id_column``, else the first of the profile's usual header names present, else
``lead_id`` when the leads were read with that CRM's mapping profile (then lead_id *is* its id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from features.errors import ConfigError
from features.schema import FUNNEL_ORDER

CrmName = Literal["generic", "hubspot", "salesforce", "pipedrive"]

TOP_REASONS = 3


def _values() -> dict[str, pl.Expr]:
    """What an export column can hold, by name: expressions over a scored row."""
    return {
        "record_id": pl.col("_record_id"),
        "lead_id": pl.col("lead_id"),
        "email": pl.col("email"),
        "score": pl.col("priority_score"),
        "icp_fit": pl.col("icp_fit"),
        "icp_tier": pl.col("icp_tier"),
        "probability": pl.col("conversion_probability"),
        "recommended_stage": pl.col("recommended_stage"),
        "next_action": pl.col("next_action"),
        "priority": pl.col("priority"),
        "top_reasons": pl.col("reasons").list.head(TOP_REASONS).list.join("; "),
        "stage_change": pl.col("stage_change"),
        "change": pl.col("change"),
        "scored_on": pl.col("as_of"),
        "model_version": pl.col("model_version"),
        "hubspot_lifecycle_stage": _hubspot_lifecycle_stage(),
    }


# HubSpot's lifecycle-stage internal values for our stages. Disqualified has none: HubSpot's
# "other" would move a contact sideways, and lifecycle stages should only move forward.
HUBSPOT_LIFECYCLE = {
    "lead": "lead",
    "prospect": "marketingqualifiedlead",
    "opportunity": "opportunity",
    "customer": "customer",
}


def _hubspot_lifecycle_stage() -> pl.Expr:
    """The lifecycle stage to set, only where it moves the contact forward (blank otherwise, so
    the import leaves the contact's stage as it is)."""
    new_rank = pl.col("recommended_stage").replace_strict(FUNNEL_ORDER, default=None,
                                                          return_dtype=pl.Int8)
    crm_rank = pl.col("crm_stage").replace_strict(FUNNEL_ORDER, default=None,
                                                  return_dtype=pl.Int8)
    forward = new_rank.is_not_null() & (
        pl.col("crm_stage").is_null() | (crm_rank.is_not_null() & (new_rank > crm_rank)))
    internal = pl.col("recommended_stage").replace_strict(HUBSPOT_LIFECYCLE, default=None,
                                                          return_dtype=pl.String)
    return pl.when(forward).then(internal)


@dataclass(frozen=True)
class ExportColumn:
    """One column of an import file: its header and what it holds (a key of `_values`)."""

    header: str
    value: str


@dataclass(frozen=True)
class CrmProfile:
    """How one CRM's importer wants the file.

    record_id_candidates: pass-through columns that usually hold this CRM's record id.
    matches_on_email: the importer can match a row without a record id by its email; without
    that, a row with no record id cannot be imported and is left out (and counted).
    opt_in: columns added only when the config asks (they change the CRM's own fields).
    every_row: the file keeps every scored row (the generic file: lead_id identifies each).
    """

    name: CrmName
    title: str
    file_name: str
    record_id_candidates: tuple[str, ...]
    matches_on_email: bool
    columns: tuple[ExportColumn, ...]
    opt_in: tuple[ExportColumn, ...] = ()
    every_row: bool = False

    def headers(self, with_opt_in: bool = False) -> list[str]:
        chosen = self.columns + (self.opt_in if with_opt_in else ())
        return [c.header for c in chosen]


C = ExportColumn

HUBSPOT = CrmProfile(
    name="hubspot",
    title="HubSpot contacts",
    file_name="hubspot_contacts.csv",
    record_id_candidates=("Record ID", "Contact ID", "hs_object_id"),
    matches_on_email=True,
    columns=(
        C("Record ID", "record_id"),
        C("Email", "email"),
        C("leadscore_score", "score"),
        C("leadscore_icp_fit", "icp_fit"),
        C("leadscore_icp_tier", "icp_tier"),
        C("leadscore_conversion_probability", "probability"),
        C("leadscore_recommended_stage", "recommended_stage"),
        C("leadscore_next_action", "next_action"),
        C("leadscore_priority", "priority"),
        C("leadscore_top_reasons", "top_reasons"),
        C("leadscore_scored_on", "scored_on"),
    ),
    opt_in=(C("lifecyclestage", "hubspot_lifecycle_stage"),),
)

SALESFORCE = CrmProfile(
    name="salesforce",
    title="Salesforce leads",
    file_name="salesforce_leads.csv",
    record_id_candidates=("Lead ID", "Lead Id", "LeadId", "Id"),
    matches_on_email=True,
    columns=(
        C("Id", "record_id"),
        C("Email", "email"),
        C("Leadscore_Score__c", "score"),
        C("Leadscore_ICP_Fit__c", "icp_fit"),
        C("Leadscore_ICP_Tier__c", "icp_tier"),
        C("Leadscore_Conversion_Probability__c", "probability"),
        C("Leadscore_Recommended_Stage__c", "recommended_stage"),
        C("Leadscore_Next_Action__c", "next_action"),
        C("Leadscore_Priority__c", "priority"),
        C("Leadscore_Top_Reasons__c", "top_reasons"),
        C("Leadscore_Scored_On__c", "scored_on"),
    ),
)

PIPEDRIVE = CrmProfile(
    name="pipedrive",
    title="Pipedrive persons",
    file_name="pipedrive_persons.csv",
    record_id_candidates=("Person - ID", "Person ID", "ID"),
    matches_on_email=True,
    columns=(
        C("Person - ID", "record_id"),
        C("Person - Email", "email"),
        C("Person - Lead score", "score"),
        C("Person - ICP fit", "icp_fit"),
        C("Person - ICP tier", "icp_tier"),
        C("Person - Conversion probability", "probability"),
        C("Person - Recommended stage", "recommended_stage"),
        C("Person - Next action", "next_action"),
        C("Person - Priority", "priority"),
        C("Person - Top reasons", "top_reasons"),
        C("Person - Scored on", "scored_on"),
    ),
)

GENERIC = CrmProfile(
    name="generic",
    title="Generic CSV",
    file_name="leads_for_crm.csv",
    record_id_candidates=("crm_record_id", "record_id", "Record ID", "Id", "ID"),
    matches_on_email=True,
    every_row=True,
    columns=(
        C("lead_id", "lead_id"),
        C("crm_record_id", "record_id"),
        C("email", "email"),
        C("recommended_stage", "recommended_stage"),
        C("next_action", "next_action"),
        C("priority", "priority"),
        C("priority_score", "score"),
        C("icp_fit", "icp_fit"),
        C("icp_tier", "icp_tier"),
        C("conversion_probability", "probability"),
        C("stage_change", "stage_change"),
        C("change_since_previous_run", "change"),
        C("top_reasons", "top_reasons"),
        C("as_of", "scored_on"),
        C("model_version", "model_version"),
    ),
)

PROFILES: dict[str, CrmProfile] = {p.name: p for p in (GENERIC, HUBSPOT, SALESFORCE, PIPEDRIVE)}


@dataclass(frozen=True)
class ExportOptions:
    """The config's choices for every import file.

    record_id_column: the pass-through column with the CRM's record id (None: the profile's
    usual names). input_profile: the mapping profile the leads were read with (its name).
    hubspot_lifecycle_stage: add HubSpot's lifecycle stage (opt-in). all_columns: the generic
    file carries the whole scored row and every pass-through column too.
    """

    record_id_column: str | None = None
    input_profile: str | None = None
    hubspot_lifecycle_stage: bool = False
    all_columns: bool = False


@dataclass(frozen=True)
class ExportResult:
    """An import file's rows, and how many scored rows it could not carry (no record id and no
    email to match on) with where the record id came from."""

    frame: pl.DataFrame
    left_out: int
    record_id_from: str | None


def record_id_source(
    columns: list[str], profile: CrmProfile, options: ExportOptions
) -> str | None:
    """The column holding the CRM's record id, or None when the export has none."""
    if options.record_id_column is not None:
        if options.record_id_column not in columns:
            raise ConfigError(
                f"export.record_id_column: '{options.record_id_column}' is not a column of "
                "the leads export (it must pass through the mapping profile unmapped)")
        return options.record_id_column
    present = next((c for c in profile.record_id_candidates if c in columns), None)
    if present is not None:
        return present
    if options.input_profile == profile.name:
        return "lead_id"
    return None


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text != "").then(text)


# The column that marks the rows a CRM can import while the file is built: a name neither a
# profile's header nor a pass-through column of an export can have (the `__ls_` prefix of
# the job's helper columns).
_IMPORTABLE = "__ls_importable"


def export_frame(scores: pl.DataFrame, profile: CrmProfile, options: ExportOptions) -> ExportResult:
    """The import file's rows for `profile`, in the profile's column order.

    Needs the scored columns (`features.schema.SCORED_COLUMNS`) plus ``email`` and the export's
    pass-through columns. Rows with neither a record id nor (where the CRM matches on it) an
    email are left out and counted: the CRM would create a new record for them.
    """
    source = record_id_source(scores.columns, profile, options)
    record_id = _blank_to_null(pl.col(source)) if source else pl.lit(None, dtype=pl.String)
    # Lazily: only the file's own columns are read (eagerly, adding the record id gathered
    # every scored column once per profile).
    framed = scores.lazy().with_columns(record_id.alias("_record_id"))
    has_id = pl.col("_record_id").is_not_null()
    if profile.matches_on_email:
        has_id = has_id | _blank_to_null(pl.col("email")).is_not_null()
    values = _values()
    chosen = profile.columns + (profile.opt_in if options.hubspot_lifecycle_stage else ())
    selected = [values[c.value].alias(c.header) for c in chosen]
    if profile.name == "generic" and options.all_columns:
        # Today's full file: the chosen columns first, then every other scored and pass-through
        # column not already shown.
        shown = {"lead_id", "email", "_record_id", *[c.header for c in chosen],
                 *[c for c in scores.columns if c in {"priority_score", "reasons", "change"}]}
        selected += [pl.col(c) for c in scores.columns if c not in shown]
    # The file's columns first, then the rows: filtering the scored rows themselves would copy
    # every column of them (their lists of reasons among them) for each profile.
    file = framed.select(*selected, has_id.alias(_IMPORTABLE))
    importable = (file if profile.every_row else file.filter(_IMPORTABLE)).drop(
        _IMPORTABLE).collect()
    return ExportResult(
        frame=importable,
        left_out=scores.height - importable.height,
        record_id_from=source,
    )


def parse_crm_list(text: str) -> tuple[CrmName, ...]:
    """``--crm hubspot,salesforce``: profile names, checked."""
    names = tuple(n.strip().lower() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in PROFILES]
    if not names or unknown:
        raise ConfigError(f"--crm: unknown CRM profile {unknown[0] if unknown else text!r} "
                          f"(profiles: {', '.join(PROFILES)})")
    return tuple(PROFILES[n].name for n in names)
