"""The sample generator: deterministic, on contract, time-bounded, learnable, and honest about its
dirt. Most checks read the written files back, as the ingest will, rather than trusting frames."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from stdnum.dk import cvr
from stdnum.ee import registrikood
from stdnum.fi import ytunnus
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

from features.schema import ACTIVITY_TYPES, COMPANY_EVENT_TYPES, SOURCES, UTC_DATETIME
from samplegen import SOURCE_FILES, generate_sample, write_sample
from samplegen.tables import (
    COUNTRY_NAMES,
    DEPARTMENTS,
    FREE_MAIL_DOMAINS,
    PLACEHOLDERS,
    SENIORITIES,
    TITLES,
)

EXPORT = date(2026, 11, 1)
EXPORT_START = datetime(2026, 11, 1, tzinfo=UTC)
N = 3000
SEED = 7
INTENT = ["demo_request", "pricing_request", "contact_sales"]
VALID_EMAIL = r"(?i)^[^@\s]+@[^@\s]+\.[a-z]+$"
ISO = "%Y-%m-%d %H:%M:%S"
COMMITTED = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, leads=N, seed=SEED, export_date=EXPORT)
    return out


def read(folder: Path, source: str) -> pl.DataFrame:
    """Read a written source the way a careful ingest would: every CSV column as text."""
    path = folder / SOURCE_FILES[source]
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if source == "companies":
        text = path.read_bytes().decode("cp1252")
        return pl.read_csv(text.encode(), separator=";", infer_schema=False)
    return pl.read_csv(path, infer_schema=False)


def parse_created(leads: pl.DataFrame) -> pl.DataFrame:
    """created_at as UTC datetime: ISO first, then day-first dotted dates; null if neither."""
    text = pl.col("created_at")
    return leads.with_columns(
        pl.coalesce(
            text.str.to_datetime(ISO, strict=False, time_zone="UTC"),
            text.str.to_date("%d.%m.%Y", strict=False).cast(UTC_DATETIME),
        ).alias("created")
    )


def parse_utc(column: str, fmt: str = ISO) -> pl.Expr:
    return pl.col(column).str.to_datetime(fmt, strict=True, time_zone="UTC")


# ---- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames() -> None:
    first = generate_sample(400, 3, EXPORT)
    second = generate_sample(400, 3, EXPORT)
    assert first.keys() == second.keys()
    for name in first:
        assert_frame_equal(first[name], second[name])


def test_different_seed_gives_different_data() -> None:
    first = generate_sample(400, 3, EXPORT)
    second = generate_sample(400, 4, EXPORT)
    assert not first["leads"].equals(second["leads"])
    assert not first["activities"].equals(second["activities"])


def test_same_arguments_write_byte_identical_files(tmp_path: Path) -> None:
    for run in ("a", "b"):
        write_sample(tmp_path / run, leads=400, seed=11, export_date=EXPORT)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted([*SOURCE_FILES.values(), "sample.json"])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_too_few_leads_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_sample(10, 1, EXPORT)


# ---- contract ----------------------------------------------------------------------------------


def test_manifest_states_generator_arguments_and_row_counts(folder: Path) -> None:
    manifest = json.loads((folder / "sample.json").read_text(encoding="utf-8"))
    assert manifest["generator"] == "leadscore.sample"
    assert manifest["version"] == 1
    assert (manifest["seed"], manifest["leads"]) == (SEED, N)
    assert manifest["export_date"] == "2026-11-01"
    assert manifest["rows"] == {s: read(folder, s).height for s in SOURCE_FILES}
    assert manifest["rows"]["leads"] == N


@pytest.mark.parametrize("source", list(SOURCE_FILES))
def test_every_canonical_column_is_present(folder: Path, source: str) -> None:
    columns = read(folder, source).columns
    missing = [c.name for c in SOURCES[source].columns if c.name not in columns]
    assert missing == []


def test_leads_keep_a_pass_through_column_outside_the_contract(folder: Path) -> None:
    leads = read(folder, "leads")
    assert "crm_record_id" in leads.columns
    assert leads["crm_record_id"].null_count() == 0
    assert leads["crm_record_id"].n_unique() == N


def test_lead_values_parse_per_contract(folder: Path) -> None:
    leads = read(folder, "leads").with_columns(
        pl.when(pl.col(c).is_in(PLACEHOLDERS)).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("budget", "timeline", "lead_source")
    )
    parsed = leads.select(
        pl.col("budget").cast(pl.Float64),
        pl.col("timeline").str.to_date("%Y-%m-%d"),
        pl.col("opted_out").replace_strict({"true": True, "false": False}),
        pl.col("bounced").replace_strict({"true": True, "false": False}),
    )
    assert parsed["budget"].drop_nulls().min() > 0
    assert parsed["opted_out"].null_count() == 0
    sources = set(leads["lead_source"].drop_nulls())
    assert sources <= {"web_form", "webinar", "event", "referral", "paid_search", "organic",
                       "partner", "cold_list"}
    stages = set(leads["crm_stage"])
    assert stages == {"lead", "prospect", "opportunity", "customer", "disqualified"}


def test_activities_are_typed_and_use_canonical_types(folder: Path) -> None:
    activities = read(folder, "activities")
    assert activities.schema["occurred_at"] == UTC_DATETIME
    assert set(activities["activity_type"]) == set(ACTIVITY_TYPES)
    assert activities.filter(pl.col("lead_id").is_null() & pl.col("email").is_null()).height == 0
    per_lead = activities.height / N
    assert 20 <= per_lead <= 40


def test_opportunities_parse_and_say_won_as_yes_no_or_empty(folder: Path) -> None:
    opps = read(folder, "opportunities")
    parsed = opps.select(
        parse_utc("created_at"), parse_utc("closed_at"), pl.col("amount").cast(pl.Float64),
        pl.col("won"),
    )
    assert set(parsed["won"].drop_nulls()) == {"Yes", "No"}
    closed = parsed.filter(pl.col("won").is_not_null())
    assert closed["closed_at"].null_count() == 0
    assert parsed.filter(pl.col("won").is_null())["closed_at"].null_count() == (
        parsed.filter(pl.col("won").is_null()).height)
    days = (closed["closed_at"] - closed["created_at"]).dt.total_days()
    assert days.min() >= 20
    assert days.max() <= 120
    won_share = (closed["won"] == "Yes").mean()
    assert 0.30 <= won_share <= 0.50
    assert opps.filter(pl.col("lead_id").is_null())["company_name"].null_count() == 0


def test_opportunities_reach_ten_to_twenty_percent_of_leads(folder: Path) -> None:
    opps = read(folder, "opportunities")
    assert 0.10 <= opps.height / N <= 0.20


def test_companies_file_uses_the_nordic_spreadsheet_dialect(folder: Path) -> None:
    raw = (folder / "companies.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    header = text.split("\r\n", 1)[0]
    assert header.startswith("business_id;company_name;domain;country;")
    assert re.search(r";\d+,\d{2};", text), "revenue should be written with a decimal comma"
    assert any(ch in text for ch in "ÄÖÅØÆäöåøæ")


def test_company_values_parse_per_contract(folder: Path) -> None:
    companies = read(folder, "companies")
    parsed = companies.select(
        pl.col("employees").cast(pl.Int64),
        pl.col("revenue").str.replace(",", ".", literal=True).cast(pl.Float64),
        pl.col("founded_year").cast(pl.Int64),
        pl.col("open_jobs").cast(pl.Int64),
        pl.col("updated_at").str.to_date("%Y-%m-%d"),
        pl.col("technologies").str.split("|"),
        pl.col("industry_code"),
        pl.col("status"),
    )
    assert parsed["employees"].min() >= 1
    assert parsed["employees"].max() <= 20_000
    assert parsed["industry_code"].str.contains(r"^\d{2}\.\d{2}$").all()
    assert set(parsed["status"]) == {"active", "dissolved", "liquidation"}
    assert parsed["technologies"].explode().drop_nulls().str.contains(r"^[a-z0-9_-]+$").all()


def test_business_ids_in_companies_file_have_valid_check_digits(folder: Path) -> None:
    validators = {"FI": ytunnus, "SE": se_orgnr, "NO": no_orgnr, "DK": cvr, "EE": registrikood}
    companies = read(folder, "companies").unique("business_id")
    checked = 0
    for business_id, country in companies.select("business_id", "country").iter_rows():
        if country in validators:
            assert validators[country].is_valid(business_id), (country, business_id)
            checked += 1
    assert checked > 0.9 * companies.height
    assert set(companies["country"]) >= {"FI", "SE", "NO", "DK", "EE"}


def test_company_events_use_canonical_types_and_known_companies(folder: Path) -> None:
    events = read(folder, "company_events")
    assert set(events["event_type"]) <= set(COMPANY_EVENT_TYPES)
    assert set(events["business_id"]) <= set(read(folder, "companies")["business_id"])


def test_titles_table_uses_the_allowed_seniorities_and_departments() -> None:
    titles = [t for t, _, _ in TITLES]
    assert len(titles) == len(set(titles))
    assert {s for _, s, _ in TITLES} == set(SENIORITIES)
    assert {d for _, _, d in TITLES} <= set(DEPARTMENTS)


def test_every_title_written_is_in_the_titles_table(folder: Path) -> None:
    known = {t.casefold() for t, _, _ in TITLES}
    written = set(read(folder, "leads")["title"].drop_nulls()) - set(PLACEHOLDERS)
    assert {t.casefold() for t in written} <= known


# ---- time --------------------------------------------------------------------------------------


def test_nothing_is_dated_on_or_after_the_export_date(folder: Path) -> None:
    # BANT ``timeline`` is an expected purchase date, not an event: it may lie in the future.
    leads = parse_created(read(folder, "leads"))
    opps = read(folder, "opportunities").select(parse_utc("created_at"), parse_utc("closed_at"))
    companies = read(folder, "companies").select(pl.col("updated_at").str.to_date("%Y-%m-%d"))
    events = read(folder, "company_events").select(parse_utc("occurred_at"))
    latest = [
        leads["created"].max(),
        read(folder, "activities")["occurred_at"].max(),
        opps["created_at"].max(),
        opps["closed_at"].max(),
        events["occurred_at"].max(),
    ]
    assert all(t < EXPORT_START for t in latest), latest
    assert companies["updated_at"].max() < EXPORT


def test_history_spans_about_two_years_with_more_recent_leads(folder: Path) -> None:
    created = parse_created(read(folder, "leads"))["created"].drop_nulls()
    assert created.min() >= EXPORT_START - timedelta(days=731)
    assert created.max() >= EXPORT_START - timedelta(days=14)
    recent = (created >= EXPORT_START - timedelta(days=365)).sum()
    assert recent > 1.2 * (created.len() - recent)


def test_activities_happen_after_their_lead_was_created(folder: Path) -> None:
    leads = parse_created(read(folder, "leads")).select("lead_id", "created").drop_nulls()
    joined = read(folder, "activities").join(leads, on="lead_id")
    assert joined.height > 0.9 * read(folder, "activities").height
    # Dotted dates carry no time, so compare by day.
    early = joined.filter(pl.col("occurred_at").dt.date() < pl.col("created").dt.date())
    assert early.height == 0


def test_some_companies_have_a_newer_snapshot_and_some_only_a_stale_one(folder: Path) -> None:
    companies = read(folder, "companies").with_columns(
        pl.col("updated_at").str.to_date("%Y-%m-%d"))
    per = companies.group_by("business_id").agg(
        pl.len().alias("n"), pl.col("updated_at").max().alias("newest"))
    share_two = (per["n"] == 2).mean()
    assert 0.4 <= share_two <= 0.65
    stale = per.filter((pl.col("n") == 1) & (pl.col("newest") < EXPORT - timedelta(days=365)))
    assert 0.05 * per.height <= stale.height <= 0.5 * per.height


def test_bankrupt_companies_end_in_liquidation(folder: Path) -> None:
    companies = read(folder, "companies").sort("business_id", "updated_at")
    newest = companies.group_by("business_id").agg(pl.col("status").last())
    bankrupt = read(folder, "company_events").filter(pl.col("event_type") == "bankruptcy")
    assert bankrupt.height > 0
    statuses = bankrupt.join(newest, on="business_id")["status"]
    assert set(statuses) == {"liquidation"}


# ---- consistency -------------------------------------------------------------------------------


def test_opted_out_and_bounced_leads_have_those_activities(folder: Path) -> None:
    leads = read(folder, "leads").drop_nulls("lead_id")
    activities = read(folder, "activities")
    for flag, kind in (("opted_out", "unsubscribe"), ("bounced", "bounce")):
        flagged = set(leads.filter(pl.col(flag) == "true")["lead_id"])
        with_activity = set(activities.filter(pl.col("activity_type") == kind)["lead_id"])
        assert flagged, flag
        assert flagged == with_activity, flag


def test_crm_stage_follows_the_deal_history(folder: Path) -> None:
    leads = read(folder, "leads").drop_nulls("lead_id")
    opps = read(folder, "opportunities").drop_nulls("lead_id")
    won = set(opps.filter(pl.col("won") == "Yes")["lead_id"])
    customers = set(leads.filter(pl.col("crm_stage") == "customer")["lead_id"])
    # A few won deals name only the company, so their customers are not in ``won``.
    assert len(customers - won) <= 0.1 * len(customers)
    assert len(customers) >= 0.85 * len(won)
    open_ = set(opps.filter(pl.col("won").is_null())["lead_id"])
    in_pipeline = set(leads.filter(pl.col("crm_stage") == "opportunity")["lead_id"])
    assert len(open_ & in_pipeline) >= 0.8 * len(open_)


# ---- the hidden process is learnable -----------------------------------------------------------


def snapshots(folder: Path) -> pl.DataFrame:
    """One row per (lead, date D) for leads created before D without an opportunity yet:
    ``intent`` = an intent signal in the 30 days before D, ``converted`` = an opportunity in the
    90 days from D."""
    leads = parse_created(read(folder, "leads")).select("lead_id", "created").drop_nulls()
    first_opp = (
        read(folder, "opportunities").drop_nulls("lead_id")
        .group_by("lead_id").agg(parse_utc("created_at").min().alias("opp_at"))
    )
    intent = read(folder, "activities").filter(pl.col("activity_type").is_in(INTENT))
    frames = []
    day = EXPORT_START - timedelta(days=600)
    while day <= EXPORT_START - timedelta(days=91):
        signalled = intent.filter(
            pl.col("occurred_at").is_between(day - timedelta(days=30), day, closed="left")
        ).select("lead_id").unique().with_columns(intent=pl.lit(True))
        frames.append(
            leads.filter(pl.col("created") < day)
            .join(first_opp, on="lead_id", how="left")
            .filter(pl.col("opp_at").is_null() | (pl.col("opp_at") >= day))
            .join(signalled, on="lead_id", how="left")
            .select(
                "lead_id",
                pl.col("intent").fill_null(False),
                (pl.col("opp_at") < day + timedelta(days=90)).fill_null(False).alias("converted"),
            )
        )
        day += timedelta(days=14)
    return pl.concat(frames)


def test_recent_intent_makes_an_opportunity_several_times_more_likely(folder: Path) -> None:
    rates = snapshots(folder).group_by("intent").agg(pl.col("converted").mean(), pl.len())
    rate = dict(zip(rates["intent"], rates["converted"], strict=True))
    assert rates.filter(pl.col("intent"))["len"].item() > 300
    assert rate[True] >= 3 * rate[False], rate
    # ... but not deterministically: signals without an opportunity, and the other way round.
    assert 0.1 < rate[True] < 0.8
    assert rate[False] > 0.005


def observable_fit(folder: Path) -> pl.DataFrame:
    """A fit score from what the files show: the company (by email domain), title, email."""
    free = [d for group in FREE_MAIL_DOMAINS for d in group]
    titles = pl.DataFrame(
        [(t.lower(), s, d) for t, s, d in TITLES], schema=["title_key", "seniority", "dept"],
        orient="row",
    )
    newest = (
        read(folder, "companies").sort("updated_at")
        .group_by("domain").agg(pl.col("industry_code").last(),
                                pl.col("employees").last().cast(pl.Int64))
    )
    leads = read(folder, "leads").drop_nulls("lead_id").with_columns(
        domain=pl.col("email").str.strip_chars().str.to_lowercase().str.split("@").list.last(),
        title_key=pl.col("title").str.to_lowercase(),
    )
    scored = leads.join(newest, on="domain", how="left").join(titles, on="title_key", how="left")
    employees = pl.col("employees").fill_null(0)
    return scored.select(
        "lead_id",
        (
            0.30 * pl.col("industry_code").str.slice(0, 2).is_in(["62", "63"]).fill_null(False)
            + 0.25 * employees.is_between(50, 5000)
            + 0.20 * pl.col("seniority").is_in(["c_level", "vp", "director"]).fill_null(False)
            + 0.10 * (pl.col("seniority") == "manager").fill_null(False)
            + 0.10 * pl.col("dept").is_in(["it", "engineering", "operations", "executive"])
            .fill_null(False)
            + 0.10 * (pl.col("domain").is_not_null() & ~pl.col("domain").is_in(free))
            - 0.20 * ((employees > 0) & (employees < 10))
        ).alias("fit"),
    )


def test_high_fit_leads_convert_more_than_low_fit(folder: Path) -> None:
    converted = set(read(folder, "opportunities")["lead_id"].drop_nulls())
    fit = observable_fit(folder).with_columns(
        converted=pl.col("lead_id").is_in(converted),
        band=pl.when(pl.col("fit") >= 0.6).then(pl.lit("high"))
        .when(pl.col("fit") < 0.3).then(pl.lit("low")),
    )
    rates = fit.drop_nulls("band").group_by("band").agg(pl.col("converted").mean(), pl.len())
    rate = dict(zip(rates["band"], rates["converted"], strict=True))
    assert rates["len"].min() > 200
    assert rate["high"] >= 3 * rate["low"], rate


# ---- dirt: recount from the files and compare with sample.json ---------------------------------


def compact_business_id(value: str) -> tuple[str, str]:
    """(country by shape or VAT prefix, digits) for a lead's business id."""
    text = value.replace(" ", "")
    if text[:2].isalpha():
        return text[:2], re.sub(r"\D", "", text[2:])[: {"SE": 10}.get(text[:2], 9)]
    digits = text.replace("-", "")
    if "-" in text and len(digits) == 8:
        return "FI", digits
    by_length = {10: "SE", 9: "NO"}
    if len(digits) in by_length:
        return by_length[len(digits)], digits
    return ("EE" if digits.startswith("1") else "DK"), digits


def business_id_dirt(leads: pl.DataFrame) -> dict[str, int]:
    validators = {"FI": ytunnus, "SE": se_orgnr, "NO": no_orgnr, "DK": cvr, "EE": registrikood}
    ids = leads["business_id"].drop_nulls().to_list()
    invalid = 0
    for value in ids:
        country, digits = compact_business_id(value)
        invalid += not validators[country].is_valid(digits)
    return {
        "business_id_vat": sum(v[:2].isalpha() for v in ids),
        "business_id_spaced": sum(" " in v for v in ids),
        "business_id_invalid": invalid,
    }


def lead_dirt(leads: pl.DataFrame) -> dict[str, int]:
    email = pl.col("email").str.strip_chars()
    valid = leads.filter(email.str.contains(VALID_EMAIL))
    by_email = valid.group_by(email.str.to_lowercase()).len()
    person = ["first_name", "last_name", "company_name", "phone"]
    by_person = leads.drop_nulls(person).group_by(person).agg(
        pl.col("email").null_count().alias("no_email"), pl.len())
    parsed = parse_created(leads)
    names = [n for pair in COUNTRY_NAMES for n in pair]
    return {
        "duplicate_email": int((by_email["len"] - 1).sum()),
        "duplicate_name_phone": int(by_person.filter(pl.col("len") > 1)["no_email"].sum()),
        "malformed_email": leads.height - valid.height - leads["email"].null_count(),
        "missing_title": leads["title"].null_count(),
        "missing_country": leads["country"].null_count(),
        "missing_company_name": leads["company_name"].null_count(),
        "placeholder": int(sum(leads[c].is_in(PLACEHOLDERS).sum() for c in leads.columns)),
        "unparseable_created_at": parsed["created"].null_count(),
        "dotted_created_at": int(leads["created_at"].str.contains(r"^\d{2}\.\d{2}\.\d{4}$")
                                 .sum()),
        "empty_lead_id": leads["lead_id"].null_count(),
        "country_name": int(leads["country"].is_in(names).sum()),
        "competitor": int(leads["email"].str.ends_with("@rival.example").sum()),
    }


def test_dirt_counts_in_the_manifest_match_the_files(folder: Path) -> None:
    manifest = json.loads((folder / "sample.json").read_text(encoding="utf-8"))
    leads = read(folder, "leads")
    activities = read(folder, "activities")
    known = set(leads["lead_id"].drop_nulls())
    counted = lead_dirt(leads) | business_id_dirt(leads) | {
        "activity_email_only": activities["lead_id"].null_count(),
        "activity_unknown_lead": int(activities.filter(
            pl.col("lead_id").is_not_null() & ~pl.col("lead_id").is_in(known)).height),
        "opportunity_without_lead_id": read(folder, "opportunities")["lead_id"].null_count(),
    }
    assert manifest["dirt"] == counted


def test_dirt_rates_are_as_specified(folder: Path) -> None:
    dirt = json.loads((folder / "sample.json").read_text(encoding="utf-8"))["dirt"]
    duplicates = dirt["duplicate_email"] + dirt["duplicate_name_phone"]
    assert 0.02 * N <= duplicates <= 0.04 * N
    assert dirt["duplicate_name_phone"] > 0
    assert 0.005 * N <= dirt["malformed_email"] <= 0.015 * N
    assert 2 <= dirt["empty_lead_id"] <= 5
    assert 3 <= dirt["unparseable_created_at"] <= 10
    assert 0.002 * N <= dirt["competitor"] <= 0.01 * N
    assert all(dirt[k] > 0 for k in dirt), dirt


# ---- size and speed ----------------------------------------------------------------------------


def test_three_thousand_lead_sample_fits_in_three_megabytes(folder: Path) -> None:
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total <= 3_000_000, total


@pytest.mark.slow
def test_hundred_thousand_leads_generate_every_row() -> None:
    # How fast it is belongs to the benchmark (bench/), not to a timed test on a shared machine.
    frames = generate_sample(100_000, 1, EXPORT)
    assert frames["leads"].height == 100_000
    assert {"activities", "opportunities", "companies"} <= set(frames)


@pytest.mark.skipif(not (COMMITTED / "sample.json").exists(), reason="no committed sample")
def test_committed_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    manifest = json.loads((COMMITTED / "sample.json").read_text(encoding="utf-8"))
    write_sample(tmp_path, leads=manifest["leads"], seed=manifest["seed"],
                 export_date=date.fromisoformat(manifest["export_date"]))
    for name in [*SOURCE_FILES.values(), "sample.json"]:
        if name.endswith(".parquet"):
            assert_frame_equal(pl.read_parquet(tmp_path / name), pl.read_parquet(COMMITTED / name))
        else:
            assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name
