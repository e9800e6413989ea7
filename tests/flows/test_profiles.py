"""Profiles on disk: the presets, loading by name or path, `profile suggest`, and CRM-shaped
exports read through the catalog (read -> profile -> validate)."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from features.config import Config
from features.errors import ConfigError, InputError
from features.ingest.profile import IDENTITY, Profile, parse_profile
from features.schema import COMPANIES, LEADS, SCORED_COLUMNS
from flows.catalog import SourceInput, dataset_path, read_source
from flows.cli import main
from flows.profiles import (
    PRESETS_DIR,
    guess_stage,
    load_profile,
    match_headers,
    preset_names,
    suggest_profile,
)

PRESETS = ("generic", "hubspot", "salesforce", "pipedrive", "x_education", "maven_crm")


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _read(folder: Path, profile: Profile, source: str = "leads") -> tuple[SourceInput, pl.DataFrame,
                                                                          pl.DataFrame]:
    schema = {"leads": LEADS, "companies": COMPANIES}[source]
    read = read_source(folder, schema, Config(), folder / "work", profile)
    valid, quarantine = pl.collect_all([read.validated.valid, read.validated.quarantine])
    return read, valid, quarantine


# ---- presets and loading ------------------------------------------------------------------------


def test_every_expected_preset_is_shipped() -> None:
    assert set(PRESETS) <= set(preset_names())


@pytest.mark.parametrize("name", PRESETS)
def test_preset_parses_and_documents_its_export_in_a_comment_header(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert (PRESETS_DIR / f"{name}.toml").read_text(encoding="utf-8").startswith("# ")


def test_generic_preset_is_the_identity() -> None:
    generic = load_profile("generic")
    assert all(generic.section(s).is_identity for s in ("leads", "activities", "opportunities",
                                                         "companies", "company_events"))


def test_no_profile_is_the_identity() -> None:
    assert load_profile(None) is IDENTITY


def test_profile_is_loaded_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[leads.columns]\nlead_id = "Id"\n', encoding="utf-8")
    assert load_profile(str(path)).leads.columns == {"lead_id": ("Id",)}


def test_unknown_preset_is_a_config_error_listing_the_presets() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'hubspott'.*\(generic, hubspot"):
        load_profile("hubspott")


def test_profile_file_with_a_bad_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[leads]\nfiel = "x.csv"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml: leads.fiel: unknown key"):
        load_profile(path)


def test_profile_file_that_is_not_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[leads\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        load_profile(path)


# ---- CRM-shaped exports through the catalog -----------------------------------------------------

HUBSPOT_HEADER = (
    "Record ID,First Name,Last Name,Email,Phone Number,Job Title,Company Name,Website URL,"
    "Country/Region,Contact owner,Lifecycle Stage,Original Source,Create Date,"
    "Unsubscribed from all email,Lead Status,HubSpot Score"
)


def test_hubspot_contacts_export_reads_with_stages_mapped(tmp_path: Path) -> None:
    _write(tmp_path / "contacts.csv", [
        HUBSPOT_HEADER,
        "101,Ann,Aho,ann@aho.fi,+358 40 1,CEO,Aho Oy,aho.fi,Finland,Bob,Subscriber,"
        "Organic Search,2024-03-05 14:02,false,New,10",
        "102,Ben,Berg,ben@berg.se,,CTO,Berg AB,berg.se,Sweden,Bob,marketingqualifiedlead,"
        "Paid Search,2024-03-06 09:00,true,Open,55",
        "103,Cid,Cole,cid@cole.com,,VP,Cole Inc,cole.com,Select,Eve,Customer,Direct Traffic,"
        "2024-03-07 10:00,false,,80",
        "104,Dee,Dahl,dee@dahl.no,,,Dahl AS,dahl.no,Norway,Eve,Select,Referrals,"
        "2024-03-08 11:00,false,,5",
        "105,Eli,Eng,eli@eng.dk,,,Eng ApS,eng.dk,Denmark,Eve,Evangelist,Referrals,"
        "not a date,false,,5",
    ])
    read, valid, quarantine = _read(tmp_path, load_profile("hubspot"))
    assert read.file_label == "contacts.csv"
    assert valid["lead_id"].to_list() == ["101", "102", "103", "104"]
    assert valid["crm_stage"].to_list() == ["lead", "prospect", "customer", None]  # Select: missing
    assert valid["country"].to_list() == ["FI", "SE", None, "NO"]
    assert valid["opted_out"].to_list() == [False, True, False, False]
    assert valid["created_at"][0] == datetime(2024, 3, 5, 14, 2, tzinfo=UTC)
    assert valid["Lead Status"].to_list() == ["New", "Open", None, None]  # passes through
    assert "HubSpot Score" in valid.columns
    assert quarantine["reason"].to_list() == ["created_at 'not a date' is not a valid date/time"]
    assert read.file_info.profile["columns"]["lead_id"] == "Record ID"


def test_hubspot_companies_export_reads_through_the_preset(tmp_path: Path) -> None:
    _write(tmp_path / "companies.csv", [
        "Record ID,Company name,Company Domain Name,Industry,Number of Employees,Annual Revenue,"
        "Country/Region,Year Founded,City",
        "9001,Aho Oy,aho.fi,Software,120,5000000,Finland,2010,Espoo",
    ])
    _, valid, _ = _read(tmp_path, load_profile("hubspot"), "companies")
    assert valid.select("company_name", "domain", "employees", "founded_year", "country").row(0) \
        == ("Aho Oy", "aho.fi", 120, 2010, "FI")
    assert valid["Record ID"].to_list() == ["9001"]


def test_salesforce_leads_report_reads_with_statuses_mapped_and_us_dates(tmp_path: Path) -> None:
    _write(tmp_path / "leads.csv", [
        "Lead ID,First Name,Last Name,Title,Company / Account,Email,Phone,Website,Country,"
        "Lead Source,Lead Owner,Lead Status,Created Date,Email Opt Out,Converted",
        "00Q1,Ann,Aho,CEO,Aho Oy,ann@aho.fi,,aho.fi,Finland,Web,Bob,Open - Not Contacted,"
        "3/4/2024,0,0",
        "00Q2,Ben,Berg,CTO,Berg AB,ben@berg.se,,berg.se,Sweden,Web,Bob,Working - Contacted,"
        "12/31/2023,0,0",
        "00Q3,Cid,Cole,VP,Cole Inc,cid@cole.com,,cole.com,USA,Phone,Eve,closed - converted ,"
        "1/2/2024,1,1",
        "00Q4,Dee,Dahl,,Dahl AS,dee@dahl.no,,dahl.no,Norway,Web,Eve,Closed - Not Converted,"
        "1/3/2024,0,0",
    ])
    _, valid, quarantine = _read(tmp_path, load_profile("salesforce"))
    assert quarantine.height == 0
    assert valid["crm_stage"].to_list() == ["lead", "prospect", "customer", "disqualified"]
    # day_first = false in the preset: 3/4/2024 is March 4 (the config's default is day first).
    assert valid["created_at"].dt.date().to_list()[:2] == [date(2024, 3, 4), date(2023, 12, 31)]
    assert valid["opted_out"].to_list() == [False, False, True, False]
    assert valid["Converted"].to_list() == ["0", "0", "1", "0"]


def test_declared_encoding_and_delimiter_are_used(tmp_path: Path) -> None:
    (tmp_path / "export.txt").write_bytes(
        "Id;Luotu;Nimi\r\n1;05.03.2024;Jääskeläinen\r\n".encode("cp1252")
    )
    profile = parse_profile({"name": "fi", "leads": {
        "file": "export.txt", "encoding": "cp1252", "delimiter": ";",
        "columns": {"lead_id": "Id", "created_at": "Luotu", "last_name": "Nimi"},
    }})
    read, valid, _ = _read(tmp_path, profile)
    assert valid["last_name"].to_list() == ["Jääskeläinen"]
    assert read.file_info.dialect["encoding"] == "cp1252"


def test_declared_decimal_comma_overrides_the_guess(tmp_path: Path) -> None:
    _write(tmp_path / "leads.csv", ["lead_id;created_at;budget", "1;2024-01-01;1,500"])
    guessed = _read(tmp_path, IDENTITY)[1]["budget"].to_list()
    declared = _read(tmp_path, parse_profile({"name": "eu", "leads": {"decimal_comma": True}}))[1]
    assert guessed == [1500.0]  # "1,500" alone reads as a thousands separator
    assert declared["budget"].to_list() == [1.5]


def test_missing_file_named_by_the_profile_is_an_input_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no 'leads' file \(expected contacts.csv, as profile "
                                         r"'hubspot' says\)"):
        read_source(tmp_path, LEADS, Config(), tmp_path / "work", load_profile("hubspot"))


def test_export_lacking_an_optional_column_the_preset_maps_reads_without_it(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "contacts.csv", [HUBSPOT_HEADER.replace("Website URL,", ""),
                                       "1,A,B,a@b.fi,,,,FI,x,lead,y,2024-01-01,false,,1"])
    read = read_source(tmp_path, LEADS, Config(), tmp_path / "work", load_profile("hubspot"))
    valid = read.validated.valid.collect()
    assert valid.height == 1 and valid["website"].to_list() == [None]


def test_export_lacking_required_columns_the_preset_maps_names_them_all(tmp_path: Path) -> None:
    header = HUBSPOT_HEADER.replace("Record ID,", "").replace("Create Date,", "")
    _write(tmp_path / "contacts.csv", [header, "A,B,a@b.fi,,,,,FI,x,lead,y,false,,1"])
    with pytest.raises(InputError, match=r"contacts.csv: profile 'hubspot' reads lead_id from "
                                         r"column .*; reads created_at from column .*, which the "
                                         r"file does not have"):
        read_source(tmp_path, LEADS, Config(), tmp_path / "work", load_profile("hubspot"))


# ---- suggesting a profile -----------------------------------------------------------------------


@pytest.fixture()
def odd_export(tmp_path: Path) -> Path:
    return _write(tmp_path / "crm dump.csv", [
        "Contact ID,E-mail Address,Emial Owner,Given Name,Lifecycle Stage,Shoe Size,Phone Numbr",
        "1,a@x.fi,Bob,Ann,Subscriber,42,1",
        "2,b@x.fi,Bob,Ben,salesqualifiedlead,43,2",
        "3,c@x.fi,Eve,Cid,Evangelist,44,3",
        "4,d@x.fi,Eve,Dee,Mystery,45,4",
        "5,e@x.fi,Eve,Eli,subscriber,45,5",
    ])


def test_suggested_profile_parses_as_a_profile(odd_export: Path) -> None:
    text = suggest_profile(odd_export, "leads")
    profile = parse_profile(tomllib.loads(text), source="suggested")
    assert profile.name == "crm_dump"
    assert profile.leads.file == "crm dump.csv"
    assert profile.leads.columns == {
        "lead_id": ("Contact ID",), "email": ("E-mail Address",), "first_name": ("Given Name",),
        "phone": ("Phone Numbr",), "crm_stage": ("Lifecycle Stage",),
    }
    assert profile.leads.values["crm_stage"] == {
        "Subscriber": "lead", "salesqualifiedlead": "prospect", "Evangelist": "customer",
    }


def test_suggestion_shows_near_matches_unmatched_columns_and_missing_required_ones(
    odd_export: Path,
) -> None:
    text = suggest_profile(odd_export, "leads")
    assert 'phone = "Phone Numbr"' in text and "near match (score 96)" in text
    assert "# REQUIRED created_at: no export column matched" in text
    assert '#   "Shoe Size"' in text and '#   "Emial Owner"' in text
    assert '# "Mystery" = ""  # not recognized' in text


def test_suggested_profile_reads_the_export_it_was_drafted_from(tmp_path: Path) -> None:
    export = _write(tmp_path / "contacts.csv", [
        HUBSPOT_HEADER,
        "7,Ann,Aho,ann@aho.fi,,CEO,Aho Oy,aho.fi,Finland,Bob,Lead,Organic,2024-03-05 14:02,"
        "false,New,10",
    ])
    profile = parse_profile(tomllib.loads(suggest_profile(export, "leads")))
    _, valid, _ = _read(tmp_path, profile)
    assert valid.select("lead_id", "created_at", "crm_stage", "owner").row(0) == (
        "7", datetime(2024, 3, 5, 14, 2, tzinfo=UTC), "lead", "Bob"
    )


@pytest.mark.parametrize(("value", "stage"), [
    ("Open - Not Contacted", "lead"), ("Working - Contacted", "prospect"),
    ("Closed - Converted", "customer"), ("Closed - Not Converted", "disqualified"),
    ("marketingqualifiedlead", "prospect"), ("Opportunity", "opportunity"),
    ("Hot lead", "prospect"), ("Something else", None),
])
def test_stage_names_are_guessed_from_their_words(value: str, stage: str | None) -> None:
    assert guess_stage(value) == stage


def test_pipedrive_prefixed_headers_are_matched() -> None:
    matched = {m.canonical: m.header for m in match_headers(
        ["Person - ID", "Person - Email", "Person - Organization", "Person - Person created"],
        "leads",
    )}
    assert matched == {"lead_id": "Person - ID", "email": "Person - Email",
                       "company_name": "Person - Organization",
                       "created_at": "Person - Person created"}


def test_a_bare_id_is_the_key_of_its_own_source_only() -> None:
    assert [m.canonical for m in match_headers(["id"], "opportunities")] == ["opportunity_id"]
    assert match_headers(["id"], "activities") == []


# ---- command line -------------------------------------------------------------------------------


def test_profile_suggest_command_prints_toml(
    odd_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "suggest", str(odd_export), "--source", "leads"]) == 0
    assert parse_profile(tomllib.loads(capsys.readouterr().out)).name == "crm_dump"


def test_profile_suggest_of_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "suggest", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: file not found" in capsys.readouterr().err


def test_unknown_profile_on_score_exits_2_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample_dir: Path
) -> None:
    assert main(["score", "--inputs", str(sample_dir), "--profile", "nosuch",
                 "--out", str(tmp_path)]) == 2
    assert "unknown profile 'nosuch'" in capsys.readouterr().err


def test_train_with_a_profile_whose_leads_file_is_absent_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sample_dir: Path
) -> None:
    assert main(["train", "--inputs", str(sample_dir), "--profile", "hubspot",
                 "--out", str(tmp_path)]) == 2
    assert "no leads file (contacts.csv)" in capsys.readouterr().err


# ---- end to end ---------------------------------------------------------------------------------

# The sample's canonical lead columns under HubSpot-like names.
RENAMED = {"lead_id": "Record ID", "created_at": "Create Date", "email": "Email",
           "crm_stage": "Lifecycle Stage", "company_name": "Company Name", "country": "Country"}


@pytest.mark.slow
def test_score_flow_with_a_profile_scores_like_the_canonical_export(
    prefect_harness: None, tmp_path: Path, sample_dir: Path, default_config: Path,
    sample_export_date: date,
) -> None:
    from flows.score import score_flow

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for path in sample_dir.iterdir():
        if path.stem != "leads":
            (inputs / path.name).write_bytes(path.read_bytes())
    leads = (sample_dir / "leads.csv").read_text(encoding="utf-8").split("\n", 1)
    header = ",".join(RENAMED.get(c, c) for c in leads[0].split(","))
    (inputs / "contacts.csv").write_text(header + "\n" + leads[1], encoding="utf-8")
    profile = tmp_path / "crm.toml"
    profile.write_text('name = "crm"\n[leads]\nfile = "contacts.csv"\n[leads.columns]\n'
                       + "".join(f'{k} = "{v}"\n' for k, v in RENAMED.items()), encoding="utf-8")
    no_models = tmp_path / "no-models"
    canonical = score_flow(as_of=sample_export_date, inputs=sample_dir, config=default_config,
                           out=tmp_path / "a", models=no_models)
    mapped = score_flow(as_of=sample_export_date, inputs=inputs, config=default_config,
                        out=tmp_path / "b", models=no_models, profile=str(profile))

    def scores(out: Path) -> pl.DataFrame:
        frame = pl.read_parquet(dataset_path(out, "scores", sample_export_date))
        return frame.select(SCORED_COLUMNS).sort("lead_id")

    assert scores(tmp_path / "b").equals(scores(tmp_path / "a"))
    assert mapped.counts == canonical.counts
    mapped_profile, canonical_profile = (m.inputs["leads"].profile
                                         for m in (mapped, canonical))
    assert mapped_profile is not None and mapped_profile["columns"] == RENAMED
    assert canonical_profile is not None and canonical_profile["name"] == "generic"
