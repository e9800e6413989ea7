"""The registry's promotion history: which model was current on a past date.

`models/promotions.json` lists every promotion, oldest first: the version, the date it was
trained as of (it saw nothing dated on or after it) and when it was promoted. A model trained
as of T serves dates from T on, until a model trained later was promoted: the model current on
date D is the promoted one with the latest training date on or before D (of two promoted with
the same training date, the one promoted last). A date before every promoted model's training
date has no model: it runs on rules alone, and says so. Using a model trained after D would
score D with outcomes that were not known on D.

Registries written before the history existed have only `current.json`: the current model is
then its whole history (from its card's training date).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from features.errors import ModelError

PROMOTIONS = "promotions.json"


class Promotion(BaseModel):
    """One promotion of a model version to current."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    trained_as_of: date
    promoted_at: datetime


@dataclass(frozen=True)
class ModelChoice:
    """Which model a scoring run uses.

    kind "current": the registry's current model (the nightly run); "version": the named one
    (`--model`, or the one current on a backfilled date); "none": rules only, `why` says why.
    """

    kind: Literal["current", "version", "none"]
    version: str | None = None
    why: str = ""


CURRENT = ModelChoice("current", why="the registry's current model")


def _card_training_date(models: Path, version: str) -> date:
    """The model card's trained_as_of; else the date a version name starts with (versions are
    `YYYYMMDD-<fingerprint>`, the training date first)."""
    card = models / version / "card.json"
    try:
        return date.fromisoformat(json.loads(card.read_text(encoding="utf-8"))["trained_as_of"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return datetime.strptime(version[:8], "%Y%m%d").date()
    except ValueError:
        raise ModelError(f"model {version}: {card} is missing or has no trained_as_of, and the "
                         "version does not start with its training date") from None


def promotion_history(models: Path) -> list[Promotion]:
    """Every promotion, oldest first (see the module docstring for older registries)."""
    path = models / PROMOTIONS
    if path.is_file():
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            return [Promotion.model_validate(row) for row in rows]
        except ValueError as exc:
            raise ModelError(f"{path}: not a promotion history ({exc})") from None
    pointer = models / "current.json"
    if not pointer.is_file():
        return []
    from flows.registry import current_version

    version = current_version(models)
    if version is None:
        return []
    promoted = datetime.fromtimestamp(pointer.stat().st_mtime, UTC)
    return [Promotion(version=version, trained_as_of=_card_training_date(models, version),
                      promoted_at=promoted)]


def record_promotion(models: Path, version: str, now: datetime | None = None) -> None:
    """Append a promotion of `version` (its folder already saved) to the history."""
    history = promotion_history(models)
    history.append(Promotion(version=version, trained_as_of=_card_training_date(models, version),
                             promoted_at=now or datetime.now(UTC)))
    text = json.dumps([p.model_dump(mode="json") for p in history], indent=2) + "\n"
    temporary = models / f".{PROMOTIONS}.{uuid.uuid4().hex}.tmp"
    temporary.write_text(text, encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(models / PROMOTIONS)


def model_current_on(history: list[Promotion], day: date) -> ModelChoice:
    """The model that served `day` (see the module docstring), or rules only with why."""
    eligible = [(p.trained_as_of, index, p) for index, p in enumerate(history)
                if p.trained_as_of <= day]
    if eligible:
        chosen = max(eligible)[2]
        return ModelChoice("version", chosen.version,
                           f"current on {day}: trained as of {chosen.trained_as_of}")
    if not history:
        return ModelChoice("none", why="no model has been promoted yet")
    first = min(p.trained_as_of for p in history)
    return ModelChoice("none", why=f"no model was current on {day} (the first was trained as "
                                   f"of {first}); stage recommended from rules alone")
