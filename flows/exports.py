"""The score flow's outputs for people: CRM import files, PII hashing, the HTML report.

Kept apart from `flows.score` so the flow stays a short script: these functions choose what
the config asks for and hand frames to the pure transforms in `scoring/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from features.config import Config, ExportConfig
from features.errors import ConfigError, ModelError
from flows.registry import read_card
from scoring.changes import changes_only
from scoring.crm_exports import PROFILES, ExportOptions, ExportResult, export_frame
from scoring.pii import hash_pii
from scoring.records import ModelCard, RunManifest
from scoring.report_html import HistoricConversion, ReportInputs, render_html_report
from scoring.report_rows import SEGMENT_COLUMNS


@dataclass(frozen=True)
class CrmFile:
    """One import file to write: its profile, file name and rows (``changes_only``: only the
    leads whose recommendation changed since the previous run)."""

    crm: str
    file_name: str
    result: ExportResult
    changes_only: bool = False


@dataclass(frozen=True)
class CrmChoice:
    """Which CRM import files a run writes: the export settings (config and options), the
    mapping profile the leads were read with (its name), and whether to add the changes-only
    files."""

    settings: ExportConfig
    input_profile: str | None
    with_changes_only: bool = False


def export_settings(cfg: Config, crm: tuple[str, ...] | None,
                    hash_pii_flag: bool | None) -> ExportConfig:
    """The config's [export] section with the command line's --crm and --hash-pii applied."""
    updates: dict[str, Any] = {}
    if crm:
        updates["crm"] = tuple(crm)
    if hash_pii_flag is not None:
        updates["hash_pii"] = hash_pii_flag
    return ExportConfig.model_validate({**cfg.export.model_dump(), **updates})


def crm_datasets(settings: ExportConfig, with_changes_only: bool) -> list[tuple[str, bool]]:
    """(CRM profile, changes only) of every import file the run writes, in order."""
    kinds = (False, True) if with_changes_only else (False,)
    return [(str(name), only) for only in kinds for name in settings.crm]


def crm_files(scores: pl.DataFrame, leads: pl.LazyFrame, settings: ExportConfig,
              input_profile: str | None, with_changes_only: bool = False) -> list[CrmFile]:
    """One import file per configured CRM profile, and with `with_changes_only` a second one
    per profile holding only the new, upgraded and downgraded leads (needs ``change``), in
    `crm_datasets` order. The emails come from the surviving lead rows (the scores do not
    carry them; `leads` may hold more leads than `scores`)."""
    emails = leads.select("lead_id", "email").join(
        scores.select("lead_id").lazy(), on="lead_id", how="semi").collect()
    with_email = scores.join(emails, on="lead_id", how="left", maintain_order="left")
    options = ExportOptions(
        record_id_column=settings.record_id_column,
        input_profile=input_profile,
        hubspot_lifecycle_stage=settings.hubspot_lifecycle_stage,
        all_columns=settings.all_columns,
    )
    changed = changes_only(with_email) if with_changes_only else with_email
    return [CrmFile(name, PROFILES[name].file_name,
                    export_frame(changed if only_changes else with_email, PROFILES[name],
                                 options), changes_only=only_changes)
            for name, only_changes in crm_datasets(settings, with_changes_only)]


def pii_key(settings: ExportConfig) -> bytes | None:
    """The hashing key from the environment when hashing is on; ConfigError when it is unset."""
    if not settings.hash_pii:
        return None
    key = os.environ.get(settings.pii_key_env, "")
    if len(key) < 16:
        raise ConfigError(
            f"export.hash_pii (--hash-pii): set the environment variable "
            f"{settings.pii_key_env} to a secret key of at least 16 characters")
    return key.encode("utf-8")


def without_pii(frame: pl.DataFrame, key: bytes | None) -> pl.DataFrame:
    return frame if key is None else hash_pii(frame, key)


def model_card(models: Path, version: str | None) -> ModelCard | None:
    """The current model's card for the report (None without a model)."""
    if version is None:
        return None
    try:
        return read_card(models, version)
    except ModelError:
        return None


# The scored features the HTML report reads besides the report rows: each lead's segments
# (set in the report rows piece by piece, `scoring.report_rows`) and the columns of the CRM's
# historic conversion (`scoring.report_html.historic_conversion`).
SEGMENT_FEATURES = ("lead_id", *SEGMENT_COLUMNS)
HISTORY_FEATURES = ("won_deal", "open_opportunity", "lost_opportunities")


def report_segments(features: pl.LazyFrame) -> pl.DataFrame:
    """SEGMENT_FEATURES of every scored lead, the segments as categories (a few distinct
    values held once, not a text per lead)."""
    return features.select(SEGMENT_FEATURES).with_columns(
        pl.col(SEGMENT_COLUMNS).cast(pl.Categorical)).collect()


def html_report(report_rows: pl.DataFrame, history: HistoricConversion,
                previous: pl.LazyFrame | None, manifest: RunManifest,
                card: ModelCard | None) -> str:
    """The HTML report, from `scoring.report_rows` rows (segments included) and the CRM's
    historic conversion."""
    return render_html_report(ReportInputs(
        scores=report_rows,
        previous=previous.collect() if previous is not None else None,
        manifest=manifest,
        card=card,
        history=history,
    ))
