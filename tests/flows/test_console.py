from __future__ import annotations

import io
from datetime import date

from rich.console import Console

from flows import console as terminal
from scoring.records import ConfigRef, DuplicatesSummary, RunManifest


def _manifest() -> RunManifest:
    return RunManifest.from_json({
        "run": {"as_of": "2026-11-01", "run_id": "abc", "leadscore_version": "0.1.0",
                "started_at": "2026-11-01T02:00:00+00:00"},
        "inputs": {},
        "config": {"path": "leadscore.toml", "sha256": "x"},
        "timings_seconds": {},
        "value_issues": 0,
        "quarantine": {"rows": 0, "by_source_and_reason": {}},
        "enrichment": {"leads": 10, "matched": 2, "match_rate": 0.2, "by_method": {},
                       "unmatched_reasons": {}, "ambiguous_leads": 0,
                       "ambiguous_company_domains": 0, "ambiguous_company_names": 0,
                       "firmographics": {"with_company_data": 2, "stale": 0,
                                         "median_age_days": None}},
        "model": {"status": "model", "version": "20261101-abc"},
        "funnel": {"leads": 10, "stages": {"lead": 6, "prospect": 2, "opportunity": 1,
                                           "customer": 1, "disqualified": 0},
                   "vs_crm": {"same": 9, "up": 1}, "probability_status": {"model": 10},
                   "vs_previous_run": {"previous_as_of": "2026-10-25", "changed": 1,
                                       "new_leads": 0, "transitions": {"lead -> opportunity": 1}}},
        "counts": {"leads": {"read": 11, "scored": 10, "merged": 1}},
        "outputs": {"export_hubspot": {"path": "exports/as_of=2026-11-01/hubspot_contacts.csv",
                                       "rows": 10}},
    })


def test_summary_is_a_table_with_the_report_link() -> None:
    screen = Console(record=True, width=160, color_system=None)
    terminal.print_summary(_manifest(), "out", console=screen)
    text = screen.export_text()
    assert "10 leads scored as of 2026-11-01" in text
    assert "opportunity" in text and "10.0%" in text
    assert "hubspot_contacts.csv (10 rows)" in text
    assert "report.html" in text and text.count("file://") >= 1


def _summary(manifest: RunManifest) -> str:
    screen = Console(record=True, width=200, color_system=None)
    terminal.print_summary(manifest, "out", console=screen)
    return screen.export_text()


def test_merges_to_review_are_a_console_warning() -> None:
    flagged = _manifest().model_copy(
        update={"duplicates": DuplicatesSummary(merged=3, needs_review=2)})
    assert "2 merged duplicates (different names on one free-mail address)" in _summary(flagged)
    assert "to review" not in _summary(_manifest())


def test_run_warnings_are_printed_on_the_console() -> None:
    said = "activities.csv: 4 of 4 rows (100%) quarantined, most often: x"
    warned = _manifest().model_copy(update={"warnings": [said]})
    assert any(line.split() == ["warning", *said.split()]
               for line in _summary(warned).splitlines())
    assert "warning" not in _summary(_manifest())


def test_console_says_which_config_file_the_run_used() -> None:
    used = _manifest().model_copy(update={"config": ConfigRef(path="data/other.toml",
                                                              sha256="x")})
    assert any(line.split() == ["config", "data/other.toml"]
               for line in _summary(used).splitlines())


def test_progress_listens_only_while_it_runs() -> None:
    screen = Console(file=io.StringIO(), force_terminal=True, width=100)
    with terminal.progress("scoring", console=screen):
        assert terminal._listener is not None
        terminal.step_started("features")
    assert terminal._listener is None
    terminal.step_started("features")  # nobody listening: nothing happens


def test_change_feed_counts_are_on_the_console_when_there_was_a_previous_run() -> None:
    from scoring.records import ChangeSummary

    counts = {"new": 3, "upgraded": 2, "downgraded": 1, "unchanged": 40, "removed": 4}
    changed = _manifest().model_copy(update={"changes": ChangeSummary(
        previous_as_of=date(2026, 10, 25), counts=counts)})
    assert "3 new, 2 upgraded, 1 downgraded, 40 unchanged, 4 removed" in _summary(changed)
    first = _manifest().model_copy(update={"changes": ChangeSummary(
        previous_as_of=None, counts={**counts, "unchanged": 0})})
    assert "change feed" not in _summary(first)
