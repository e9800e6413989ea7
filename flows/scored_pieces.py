"""The finished scored rows (`scoring.score.finish`: stage, priority, reasons, output columns)
handed to the writers one piece at a time, each a range of lead ids in order: a run writes
its scores, change feed and CRM files piece by piece and keeps only the report's rows
(`scoring.report_rows`) of all leads, so its memory is bounded by a piece.

An unpartitioned run has one piece, every lead (`WholeScores`); a partitioned run as many as
it has partitions (`flows.partitioned.PartitionedScores`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import polars as pl


def lead_range(first: str | None, end: str | None, column: str = "lead_id") -> pl.Expr:
    """True for the rows whose ``column`` is from ``first`` (included) up to ``end`` (not
    included); None: no bound on that side."""
    inside = pl.lit(True)
    if first is not None:
        inside = inside & (pl.col(column) >= first)
    if end is not None:
        inside = inside & (pl.col(column) < end)
    return inside


@dataclass(frozen=True)
class ScoredPiece:
    """The finished rows of the lead ids from ``first`` (included) up to ``end`` (not
    included), sorted by lead_id; None: no bound on that side."""

    frame: pl.DataFrame
    first: str | None = None
    end: str | None = None

    def holds(self, column: str = "lead_id") -> pl.Expr:
        """True for the rows of another frame whose ``column`` falls in this piece's range."""
        return lead_range(self.first, self.end, column)


class FinishedScores(Protocol):
    """A run's finished scored rows: how many, and the pieces in lead_id order (the ranges
    cover every lead id, so each lead of another frame falls in exactly one)."""

    @property
    def rows(self) -> int: ...

    def pieces(self) -> Iterator[ScoredPiece]: ...


@dataclass(frozen=True)
class WholeScores:
    """Every finished row as one piece (an unpartitioned run holds them anyway)."""

    frame: pl.DataFrame

    @property
    def rows(self) -> int:
        return self.frame.height

    def pieces(self) -> Iterator[ScoredPiece]:
        yield ScoredPiece(self.frame)
