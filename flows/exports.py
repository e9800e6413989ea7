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
from scoring.report_html import ReportInputs, historic_conversion, render_html_report


@dataclass(frozen=True)
class CrmFile:
    """One import file to write: its profile, file name and rows (``changes_only``: only the
    leads whose recommendation changed since the previous run)."""

    crm: str
    file_name: str
    result: ExportResult
    changes_only: bool = False


def export_settings(cfg: Config, crm: tuple[str, ...] | None,
                    hash_pii_flag: bool | None) -> ExportConfig:
    """The config's [export] section with the command line's --crm and --hash-pii applied."""
    updates: dict[str, Any] = {}
    if crm:
        updates["crm"] = tuple(crm)
    if hash_pii_flag is not None:
        updates["hash_pii"] = hash_pii_flag
    return ExportConfig.model_validate({**cfg.export.model_dump(), **updates})


def crm_files(scores: pl.DataFrame, leads: pl.LazyFrame, settings: ExportConfig,
              input_profile: str | None, with_changes_only: bool = False) -> list[CrmFile]:
    """One import file per configured CRM profile, and with `with_changes_only` a second one
    per profile holding only the new, upgraded and downgraded leads (needs ``change``). The
    emails come from the surviving lead rows (the scores do not carry them)."""
    emails = leads.select("lead_id", "email").collect()
    with_email = scores.join(emails, on="lead_id", how="left")
    options = ExportOptions(
        record_id_column=settings.record_id_column,
        input_profile=input_profile,
        hubspot_lifecycle_stage=settings.hubspot_lifecycle_stage,
        all_columns=settings.all_columns,
    )
    files = [CrmFile(name, PROFILES[name].file_name,
                     export_frame(with_email, PROFILES[name], options))
             for name in settings.crm]
    if with_changes_only:
        changed = changes_only(with_email)
        files += [CrmFile(name, PROFILES[name].file_name,
                          export_frame(changed, PROFILES[name], options), changes_only=True)
                  for name in settings.crm]
    return files


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


def html_report(scores: pl.DataFrame, features: pl.DataFrame, previous: pl.LazyFrame | None,
                manifest: RunManifest, card: ModelCard | None) -> str:
    """The HTML report. The features give the segments (industry, country) and the CRM's
    historic conversion (the pipeline features)."""
    segments = features.select("lead_id", "industry", "country")
    report_rows = scores.join(segments, on="lead_id", how="left")
    return render_html_report(ReportInputs(
        scores=report_rows,
        previous=previous.collect() if previous is not None else None,
        manifest=manifest,
        card=card,
        history=historic_conversion(features),
    ))
