"""Real exports somebody else produced, read through their presets (../shared/datasets).

X Education's Leads.csv (CRLF, a trailing comma, `Select` placeholders, no dates) and the Maven
CRM sample (accounts and deals joined by account name only). Every row is accounted for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from features.config import Config
from features.ingest.parse import null_if_missing
from features.resolve.prepare import prepare
from features.schema import ACTIVITIES, COMPANY_EVENTS, LEADS, SOURCES
from flows.catalog import SourceInput, _empty_source, read_source
from flows.profiles import load_profile
from tests.conftest import dataset

pytestmark = pytest.mark.realdata

X_EDUCATION_ROWS = 9240
MAVEN_ACCOUNTS = 85
MAVEN_DEALS = 8800
MAVEN_OPEN_WITHOUT_ACCOUNT = 1425
# Later than every Maven date (2016-10 .. 2017-12): every deal is known.
MAVEN_AS_OF = date(2018, 1, 1)
LEAKY = ("Tags", "Lead Quality", "Asymmetrique Activity Index", "Asymmetrique Profile Index",
         "Asymmetrique Activity Score", "Asymmetrique Profile Score")


@dataclass(frozen=True)
class Read:
    source: SourceInput
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    raw_rows: int


def _read(folder: Path, source: str, profile: str, work: Path) -> Read:
    read = read_source(folder, SOURCES[source], Config(), work, load_profile(profile))
    valid, quarantine, rows = pl.collect_all(
        [read.validated.valid, read.validated.quarantine, read.raw_rows]
    )
    return Read(read, valid, quarantine, int(rows.item()))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("work")


# ---- X Education --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def x_education(work: Path) -> Read:
    return _read(dataset("x_education", "Leads.csv").parent, "leads", "x_education", work)


def test_x_education_every_row_is_valid_or_quarantined(x_education: Read) -> None:
    assert x_education.raw_rows == X_EDUCATION_ROWS
    assert x_education.valid.height + x_education.quarantine.height == X_EDUCATION_ROWS
    # Measured: all 9,240 are valid (ids are unique, the constant created_at always parses).
    assert x_education.valid.height == X_EDUCATION_ROWS


def test_x_education_maps_its_columns_and_sets_the_documented_constant(x_education: Read) -> None:
    valid = x_education.valid
    assert valid["lead_id"].n_unique() == X_EDUCATION_ROWS
    assert valid["created_at"].dt.date().unique().to_list() == [date(2015, 1, 1)]
    assert valid["opted_out"].sum() == 734
    assert x_education.source.file_info.profile["constants"] == {"created_at": "2015-01-01"}


def test_x_education_countries_become_iso_codes_or_missing(x_education: Read) -> None:
    countries = x_education.valid["country"]
    assert countries.drop_nulls().str.len_chars().eq(2).all()
    # 2,461 empty cells plus "unknown" (5) and "Asia/Pacific Region" (2).
    assert countries.null_count() == 2468
    assert (countries == "IN").sum() == 6492


def test_x_education_trailing_comma_column_is_dropped_and_every_other_column_passes_through(
    x_education: Read,
) -> None:
    header = dataset("x_education", "Leads.csv").open(encoding="utf-8").readline()
    export_columns = [c for c in header.strip().split(",") if c]
    mapped = {"Prospect ID", "Lead Source", "Do Not Email", "Country"}
    passed = [c for c in export_columns if c not in mapped]
    assert len(passed) == 33
    assert [c for c in x_education.valid.columns if c in passed] == passed
    assert x_education.source.file_info.dialect["dropped_empty_columns"] == [38]
    assert x_education.source.file_info.dialect["line_terminator"] == "\r\n"


def test_x_education_select_passes_through_unchanged_and_reads_as_missing(
    x_education: Read,
) -> None:
    """Pass-through columns keep the export's own text (the CRM gets it back as it was); the
    ingest's missing-value rule, which validation applies to canonical columns and evaluation
    to the rest, reads every `Select` as missing."""
    valid = x_education.valid
    select_columns = ("Specialization", "How did you hear about X Education", "Lead Profile",
                      "City")
    assert [int((valid[c] == "Select").sum()) for c in select_columns] == [1942, 5043, 4146, 2249]
    missing = Config().ingest.missing_values
    cleaned = valid.select(null_if_missing(pl.col(c), missing).alias(c)
                           for c in select_columns)
    assert all(int((cleaned[c] == "Select").sum()) == 0 for c in select_columns)
    canonical_text = [c for c, t in LEADS.dtypes.items() if t == pl.String]
    assert not valid.select(pl.any_horizontal(pl.col(canonical_text).str.to_lowercase()
                                              == "select")).to_series().any()


def test_x_education_evaluate_section_excludes_leaky_and_identifying_columns() -> None:
    evaluate = load_profile("x_education").evaluate
    assert evaluate is not None and evaluate.outcome == "Converted"
    assert evaluate.positive == ("1",)
    assert set(evaluate.exclude) == {*LEAKY, "Prospect ID", "Lead Number"}


# ---- Maven CRM ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MavenRun:
    companies: Read
    deals: Read
    buckets: dict[str, int]
    quarantine: pl.DataFrame
    used: pl.DataFrame
    keyed_companies: pl.DataFrame


@pytest.fixture(scope="module")
def maven(work: Path) -> MavenRun:
    folder = dataset("maven_crm", "accounts.csv").parent
    companies = _read(folder, "companies", "maven_crm", work)
    deals = _read(folder, "opportunities", "maven_crm", work)
    frames = {
        "leads": _empty_source(LEADS), "activities": _empty_source(ACTIVITIES),
        "opportunities": deals.valid.lazy(), "companies": companies.valid.lazy(),
        "company_events": _empty_source(COMPANY_EVENTS),
    }
    files = {name: f"{name} (absent)" for name in SOURCES}
    files |= {"opportunities": "sales_pipeline.csv", "companies": "accounts.csv"}
    prepared = prepare(frames, files, Config(), MAVEN_AS_OF)
    buckets, quarantine, used, keyed = pl.collect_all([
        prepared.buckets.filter(pl.col("source") == "opportunities"), prepared.quarantine,
        prepared.inputs.opportunities, prepared.inputs.companies,
    ])
    counts = {row["bucket"]: int(row["rows"]) for row in buckets.iter_rows(named=True)}
    return MavenRun(companies, deals, counts, quarantine, used, keyed)


def test_maven_accounts_read_as_companies_with_iso_countries(maven: MavenRun) -> None:
    companies = maven.companies
    assert companies.raw_rows == MAVEN_ACCOUNTS and companies.valid.height == MAVEN_ACCOUNTS
    assert companies.valid["country"].drop_nulls().len() == MAVEN_ACCOUNTS
    assert companies.valid["country"].str.len_chars().eq(2).all()
    philippines = companies.valid.filter(pl.col("country") == "PH")
    assert philippines.height == 1  # "Philipines" in the export
    assert "technolgy" not in companies.valid["industry"].to_list()
    assert "subsidiary_of" in companies.valid.columns


def test_maven_every_deal_is_used_or_quarantined(maven: MavenRun) -> None:
    deals = maven.deals
    assert deals.raw_rows == MAVEN_DEALS
    assert sum(maven.buckets.values()) == deals.valid.height
    assert sum(maven.buckets.values()) + deals.quarantine.height == MAVEN_DEALS
    # Measured: every valid deal names a known account, so all are used.
    assert maven.buckets == {"used": 7212}
    assert deals.quarantine.height == 1588
    assert maven.quarantine.filter(pl.col("source") == "opportunities").height == 0


def test_maven_deal_stage_feeds_both_stage_and_won(maven: MavenRun) -> None:
    counts = maven.deals.valid.group_by("stage", "won").len().sort("stage")
    assert counts.rows() == [("Engaging", None, 501), ("Lost", False, 2473), ("Won", True, 4238)]
    assert {"sales_agent", "product"} <= set(maven.deals.valid.columns)


def test_maven_deals_are_linked_to_their_account_by_name(maven: MavenRun) -> None:
    named = maven.deals.valid.select("opportunity_id", pl.col("company_name").alias("account"))
    linked = maven.used.join(named, on="opportunity_id").join(
        maven.keyed_companies.select("company_key", "company_name"), on="company_key", how="left"
    )
    assert linked.height == 7212
    assert linked["company_key"].str.starts_with("name:").all()
    assert (linked["company_name"] == linked["account"]).all()


def test_maven_open_deals_without_an_account_are_quarantined_with_a_reason(
    maven: MavenRun,
) -> None:
    raw = pl.read_csv(dataset("maven_crm", "sales_pipeline.csv"), infer_schema=False)
    no_account = set(raw.filter(pl.col("account").is_null())["opportunity_id"])
    assert len(no_account) == MAVEN_OPEN_WITHOUT_ACCOUNT
    quarantined = maven.deals.quarantine.with_columns(
        pl.col("record").str.json_path_match("$.opportunity_id").alias("opportunity_id")
    )
    without = quarantined.filter(pl.col("opportunity_id").is_in(sorted(no_account)))
    assert without.height == MAVEN_OPEN_WITHOUT_ACCOUNT
    assert without["reason"].str.contains("no lead_id or business_id or company_name").all()
    # The rest of the quarantine: Prospecting deals with an account but no engage_date.
    rest = quarantined.filter(~pl.col("opportunity_id").is_in(sorted(no_account)))
    assert rest["reason"].unique().to_list() == ["required created_at is missing"]
    assert rest.height == 163
