"""The outputs people open: CRM import files, every CSV formula-safe, PII hashing, the HTML
report (rendered in headless Chromium).

The hostile sample is the synthetic export with spreadsheet formulas and markup planted in
names, titles, company names, CRM stages, ids, emails and pass-through columns (one of them
with a hostile header).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from samplegen import write_sample
from scoring.spreadsheet_safety import FORMULA_TRIGGERS
from tests.flows import browser
from tests.flows.conftest import DemoRun, run_paths

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = PROJECT_ROOT / "docs" / "report.png"
EXPORT_DATE = date(2026, 11, 1)
KEY = "a-secret-key-for-the-tests-only"
HOSTILE_HEADER = "=cmd|' /C calc'!A0"
PLANTED = {
    "first_name": "=HYPERLINK(\"http://evil.example\",\"click\")",
    "last_name": "+1+1",
    "title": "-2+3 @Director",
    "company_name": "@SUM(1+1)<script>window.pwned=1</script>",
    "crm_stage": "=1+2",
    "crm_record_id": "\t=9+9",
    "owner": "\r=cmd",
}


@dataclass(frozen=True)
class HostileRun:
    out: Path
    hashed_out: Path
    inputs: Path
    emails: list[str]


def _plant(inputs: Path) -> list[str]:
    leads = pl.read_csv(inputs / "leads.csv", infer_schema=False)
    hostile_rows = pl.int_range(pl.len()) % 7 == 0
    planted = leads.with_columns(
        *(pl.when(hostile_rows).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
          for c, v in PLANTED.items()),
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("=L0")).otherwise(pl.col("lead_id"))
        .alias("lead_id"),
        pl.when(hostile_rows).then(pl.lit("-cmd")).otherwise(pl.lit("fine")).alias(HOSTILE_HEADER),
        pl.when(hostile_rows).then(pl.lit("@note")).otherwise(pl.lit("ok")).alias("Notes"),
    )
    planted.write_csv(inputs / "leads.csv")
    return [e for e in planted["email"].drop_nulls().to_list() if "@" in e]


def _config(tmp: Path, **export: object) -> Path:
    text = (PROJECT_ROOT / "data" / "leadscore.toml").read_text(encoding="utf-8")
    head = text[: text.index("[export]")]
    lines = [f"{k} = {json.dumps(v)}" for k, v in export.items()]
    path = tmp / f"config-{len(list(tmp.glob('config-*')))}.toml"
    path.write_text(head + "[export]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostileRun]:
    from flows.score import score_flow

    tmp = tmp_path_factory.mktemp("hostile")
    inputs = tmp / "inputs"
    write_sample(inputs, leads=300, seed=11, export_date=EXPORT_DATE)
    emails = _plant(inputs)
    every = {"crm": ["generic", "hubspot", "salesforce", "pipedrive"],
             "record_id_column": "crm_record_id", "hubspot_lifecycle_stage": True,
             "all_columns": True}
    nordic = _config(tmp, **every, csv_locale="nordic-excel")
    plain = _config(tmp, **every)
    out, models = tmp / "out", tmp / "no-models"
    # The earlier run in the Nordic layout, the later one in UTF-8: both are checked.
    score_flow(as_of=EXPORT_DATE - timedelta(days=7), inputs=inputs, config=nordic, out=out,
               models=models)
    score_flow(as_of=EXPORT_DATE, inputs=inputs, config=plain, out=out, models=models)
    hashed_out = tmp / "hashed"
    os.environ["LEADSCORE_PII_KEY"] = KEY
    try:
        score_flow(as_of=EXPORT_DATE, inputs=inputs, config=plain, out=hashed_out,
                   models=models, hash_pii=True)
    finally:
        del os.environ["LEADSCORE_PII_KEY"]
    yield HostileRun(out, hashed_out, inputs, emails)


def _cells(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_every_csv_output_is_formula_safe(hostile: HostileRun) -> None:
    files = sorted(hostile.out.rglob("*.csv")) + sorted(hostile.hashed_out.rglob("*.csv"))
    assert len(files) == 12, [str(f) for f in files]  # 4 profiles x 3 runs
    for path in files:
        for number, row in enumerate(_cells(path), start=1):
            for cell in row:
                assert not cell.startswith(FORMULA_TRIGGERS), f"{path.name}:{number}: {cell!r}"


def test_planted_values_arrive_neutralized_not_dropped(hostile: HostileRun) -> None:
    generic = run_paths(hostile.out, EXPORT_DATE)["exports"]
    rows = _cells(generic)
    header, body = rows[0], rows[1:]
    assert "'" + HOSTILE_HEADER in header and "Notes" in header
    cells = {cell for row in body for cell in row}
    assert "'=L0" in cells
    assert "'" + PLANTED["crm_stage"] in cells
    assert "'=9+9" in cells  # ingest trims the tab; the formula is still neutralized
    assert "'-cmd" in cells and "'@note" in cells
    company = next(c for c in cells if "SUM(1+1)" in c)
    assert company.startswith("'@")


def test_nordic_layout_opens_in_columns_with_decimal_commas(hostile: HostileRun) -> None:
    earlier = run_paths(hostile.out, EXPORT_DATE - timedelta(days=7))["export_hubspot"]
    data = earlier.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = _cells(earlier)
    fit = rows[0].index("leadscore_icp_fit")
    assert all(len(r) == len(rows[0]) for r in rows)
    assert any("," in r[fit] for r in rows[1:]), "decimal commas expected"


def test_crm_import_files_key_rows_by_the_crm_record_id(hostile: HostileRun) -> None:
    paths = run_paths(hostile.out, EXPORT_DATE)
    scores = pl.read_parquet(paths["scores"])
    salesforce = pl.read_csv(paths["export_salesforce"], infer_schema=False)
    assert salesforce.height == scores.height
    # Record ids are trimmed (a CRM never matches " 00Q1" to "00Q1"), then made formula-safe.
    assert set(salesforce["Id"].str.strip_prefix("'")) == set(
        scores["crm_record_id"].str.strip_chars())
    hubspot = pl.read_csv(paths["export_hubspot"], infer_schema=False)
    assert "lifecyclestage" in hubspot.columns
    assert set(hubspot["lifecyclestage"].drop_nulls()) <= {
        "lead", "marketingqualifiedlead", "opportunity", "customer"}


def test_hash_pii_leaves_no_email_outside_the_crm_import(hostile: HostileRun) -> None:
    found: dict[str, int] = {}
    for path in hostile.hashed_out.rglob("*.parquet"):
        if "models" in path.parts:
            continue
        text = repr(pl.read_parquet(path).rows())
        found[path.name] = sum(e in text for e in hostile.emails)
    assert found.get("quarantine.parquet") == 0 and set(found.values()) == {0}, found
    hubspot = run_paths(hostile.hashed_out, EXPORT_DATE)["export_hubspot"].read_text("utf-8")
    assert sum(e in hubspot for e in hostile.emails) > 0, "the CRM import keeps emails"
    report = run_paths(hostile.hashed_out, EXPORT_DATE)["report_html"].read_text("utf-8")
    assert not any(e in report for e in hostile.emails)
    # The quarantine still says what was wrong; its records hold hashes instead.
    quarantine = pl.read_parquet(run_paths(hostile.hashed_out, EXPORT_DATE)["quarantine"])
    if quarantine.filter(pl.col("source") == "leads").height:
        assert quarantine["record"].str.contains("hmac:").any()


def test_report_is_self_contained_and_escapes_export_values(hostile: HostileRun) -> None:
    report = run_paths(hostile.out, EXPORT_DATE)["report_html"].read_text("utf-8")
    assert "<script>window.pwned" not in report
    assert "&lt;script&gt;window.pwned" in report
    for needle in ("src=", "<link", "@import", "url("):
        assert needle not in report, needle
    for section in ("funnel", "changes", "distributions", "icp", "model", "enrichment",
                    "quality", "movers", "segments"):
        assert f"<section id='{section}'>" in report, section


@pytest.fixture(scope="module")
def chromium() -> None:
    reason = browser.ensure_chromium()
    if reason:
        pytest.skip(f"no headless browser: {reason}")


def test_sentinel_catches_a_script_error(chromium: None, tmp_path: Path) -> None:
    # The check below must be able to fail: a page that throws is seen as throwing.
    from scoring.report_html import _SENTINEL

    page = tmp_path / "broken.html"
    page.write_text(f"<html><head>{_SENTINEL}</head><body><script>undefinedCall()</script>"
                    "</body></html>", encoding="utf-8")
    rendered = browser.render(page)
    assert 'data-js-errors="1"' in rendered.dom


def test_report_renders_in_chromium_with_the_funnel_and_no_errors(
    chromium: None, demo: DemoRun, tmp_path: Path
) -> None:
    page = run_paths(demo.out, demo.as_of)["report_html"]
    rendered = browser.render(page)
    assert 'data-rendered="yes"' in rendered.dom, rendered.log[-2000:]
    assert "data-js-errors" not in rendered.dom
    assert browser.console_errors(rendered.log) == []
    assert "id=\"funnel-chart\"" in rendered.dom
    for stage in ("lead", "prospect", "opportunity", "customer"):
        assert f'data-stage="{stage}"' in rendered.dom
    shot = tmp_path / "report.png"
    browser.screenshot(page, shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("LEADSCORE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
