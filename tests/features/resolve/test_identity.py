from __future__ import annotations

import socket

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.resolve import identity
from features.resolve.identity import (
    FREE_MAIL_DOMAINS,
    ROLE_LOCAL_PARTS,
    business_id_checks,
    email_domain,
    email_is_well_formed,
    email_quality,
    is_free_mail,
    is_role_address,
    normalize_business_ids,
    normalize_company_name,
    registrable_domain,
    registrable_domain_table,
    registrable_domains,
    registrable_domains_of,
    website_domain,
)


def _bids(values: list[str | None], countries: list[str | None]) -> pl.DataFrame:
    frame = pl.LazyFrame(
        {"business_id": values, "country": countries},
        schema={"business_id": pl.String, "country": pl.String},
    )
    return normalize_business_ids(frame, "business_id", "country", "bid").collect()


def _one_bid(value: str | None, country: str | None) -> tuple[str | None, str, str | None]:
    row = _bids([value], [country]).row(0, named=True)
    return row["bid"], row["bid_status"], row["bid_reason"]


def _map(expr: pl.Expr, values: list[str | None]) -> list[object]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr).to_series().to_list()


# ---- business IDs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "country", "key"),
    [
        ("0112038-9", "FI", "FI:01120389"),
        ("556036-0793", "SE", "SE:5560360793"),
        ("923 609 016", "NO", "NO:923609016"),
        ("13 58 56 28", "DK", "DK:13585628"),
    ],
)
def test_valid_national_business_id_becomes_country_key(value: str, country: str, key: str) -> None:
    assert _one_bid(value, country) == (key, "valid", None)


@pytest.mark.parametrize("country", ["fi", " Fi ", "FI"])
def test_country_is_read_in_any_case(country: str) -> None:
    assert _one_bid("0112038-9", country)[0] == "FI:01120389"


@pytest.mark.parametrize(
    ("value", "country"),
    [("0112038-8", "FI"), ("556036-0794", "SE"), ("923609017", "NO"), ("13585629", "DK")],
)
def test_bad_checksum_is_invalid_for_that_country(value: str, country: str) -> None:
    assert _one_bid(value, country) == (None, "invalid", f"invalid business_id for {country}")


@pytest.mark.parametrize(
    ("vat", "key"),
    [
        ("FI01120389", "FI:01120389"),
        ("SE556036079301", "SE:5560360793"),
        ("NO923609016MVA", "NO:923609016"),
        ("DK13585628", "DK:13585628"),
        ("fi 0112038-9", "FI:01120389"),
        ("DK 13 58 56 28", "DK:13585628"),
    ],
)
def test_vat_number_maps_to_national_key_without_country(vat: str, key: str) -> None:
    assert _one_bid(vat, None) == (key, "valid", None)


def test_vat_prefix_wins_over_row_country() -> None:
    assert _one_bid("SE556036079301", "FI")[0] == "SE:5560360793"


def test_invalid_vat_number_names_its_country() -> None:
    assert _one_bid("FI01120388", None) == (None, "invalid", "invalid business_id for FI")


@pytest.mark.parametrize(("value", "key"), [("5560360793", "SE:5560360793"),
                                            ("0112038-9", "FI:01120389"),
                                            ("923609016", "NO:923609016")])
def test_missing_country_is_inferred_when_one_checksum_accepts(value: str, key: str) -> None:
    assert _one_bid(value, None) == (key, "valid", None)


def test_missing_country_with_no_checksum_accepting_is_unknown_country() -> None:
    assert _one_bid("12345", None) == (None, "invalid", "unknown country")


def test_missing_country_with_two_checksums_accepting_is_not_guessed() -> None:
    # 10000602 passes both the Finnish and the Danish checksum.
    assert _one_bid("10000602", None) == (
        None, "invalid", "ambiguous country (valid for FI and DK)"
    )


@pytest.mark.parametrize(
    ("value", "country", "reason"),
    [("12345678", "EE", "unsupported country EE"), ("DE123456789", "FI", "unsupported country DE")],
)
def test_country_outside_the_four_is_unsupported(value: str, country: str, reason: str) -> None:
    assert _one_bid(value, country) == (None, "invalid", reason)


@pytest.mark.parametrize("value", [None, "", "  ", " - "])
def test_blank_business_id_is_missing_not_invalid(value: str | None) -> None:
    assert _one_bid(value, "FI") == (None, "missing", None)


def test_finnish_id_that_lost_its_leading_zero_is_restored() -> None:
    assert _one_bid("112038-9", "FI")[0] == "FI:01120389"


def test_integer_typed_business_ids_are_read_as_text() -> None:
    frame = pl.LazyFrame({"business_id": [13585628], "country": ["DK"]})
    out = normalize_business_ids(frame, "business_id", "country", "bid").collect()
    assert out["bid"].to_list() == ["DK:13585628"]


def test_business_ids_keep_every_row_in_order() -> None:
    out = _bids(["13585628", None, "0112038-9", "13585628"], ["DK", "FI", "FI", "DK"])
    expected = pl.DataFrame({
        "business_id": ["13585628", None, "0112038-9", "13585628"],
        "country": ["DK", "FI", "FI", "DK"],
        "bid": ["DK:13585628", None, "FI:01120389", "DK:13585628"],
        "bid_status": ["valid", "missing", "valid", "valid"],
        "bid_reason": [None, None, None, None],
    }, schema_overrides={"bid_reason": pl.String})
    assert_frame_equal(out, expected)


def _count_business_id_checks(monkeypatch: pytest.MonkeyPatch
                              ) -> list[tuple[str | None, str | None]]:
    """From now on, every (value, country) python-stdnum is asked about, in a list."""
    seen: list[tuple[str | None, str | None]] = []
    original = identity.business_id_key

    def counting(value: str | None, country: str | None) -> tuple[str | None, str, str | None]:
        seen.append((value, country))
        return original(value, country)

    monkeypatch.setattr(identity, "business_id_key", counting)
    return seen


def test_stdnum_runs_once_per_unique_value_and_country(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _count_business_id_checks(monkeypatch)
    _bids(["0112038-9", "0112038-9", "01120389", "13585628"], ["FI", "fi", "FI", "DK"])
    # "0112038-9" and "01120389" clean to the same value; "fi" and "FI" to the same country.
    assert sorted(seen) == [("01120389", "FI"), ("13585628", "DK")]


def test_known_checks_are_looked_up_and_only_new_pairs_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    values, countries = ["0112038-9", "13585628", "556036-0793", None], ["FI", "DK", "SE", "FI"]
    frame = pl.LazyFrame({"business_id": values, "country": countries})
    known = business_id_checks(frame.head(2), "business_id", "country").collect()
    without_known = _bids(values, countries)
    seen = _count_business_id_checks(monkeypatch)
    with_known = normalize_business_ids(frame, "business_id", "country", "bid", known=known)
    assert_frame_equal(with_known.collect(), without_known)
    assert sorted(seen, key=str) == sorted([("5560360793", "SE"), (None, "FI")], key=str)


# ---- domains -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("website", "host"),
    [
        ("https://www.Example.com/path?q=1", "example.com"),
        ("http://user:secret@shop.example.co.uk:8080/x", "shop.example.co.uk"),
        ("WWW.firma.fi.", "firma.fi"),
        ("firma.fi/yhteystiedot", "firma.fi"),
        ("firma.fi:443", "firma.fi"),
        ("https://firma.fi?utm=x", "firma.fi"),
        ("https://firma.fi#top", "firma.fi"),
        ("//www2.firma.fi", "firma.fi"),
        ("  HTTPS://Firma.FI  ", "firma.fi"),
        ("not a website", None),
        ("localhost", None),
        (None, None),
    ],
)
def test_website_domain_keeps_only_the_host(website: str | None, host: str | None) -> None:
    assert _map(website_domain(pl.col("v")), [website]) == [host]


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("Matti.Meikalainen@Firma.FI", "firma.fi"),
        (" anna@mail.firma.se ", "mail.firma.se"),
        ("bad@", None),
        ("a@b@c.fi", None),
        ("no-at-sign.fi", None),
        (None, None),
    ],
)
def test_email_domain_of_well_formed_addresses_only(email: str | None, domain: str | None) -> None:
    assert _map(email_domain(pl.col("v")), [email]) == [domain]


def test_registrable_domain_is_etld_plus_one_per_row() -> None:
    hosts = ["shop.example.co.uk", "mail.firma.fi", "firma.fi", "acme.github.io",
             "192.168.0.1", None, "mail.firma.fi"]
    frame = pl.LazyFrame({"host": hosts}, schema={"host": pl.String})
    out = registrable_domains(frame, "host", "domain").collect()
    assert out["host"].to_list() == hosts
    assert out["domain"].to_list() == [
        "example.co.uk", "firma.fi", "firma.fi", "acme.github.io", None, None, "firma.fi",
    ]


def test_known_registrable_domains_are_looked_up_and_only_new_hosts_extracted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pl.LazyFrame({"web": ["shop.example.co.uk", None, "acme.github.io"],
                          "mail": ["mail.firma.fi", "firma.fi", None]})
    known = registrable_domain_table([frame.select("web")]).collect()
    seen: list[str | None] = []
    original = identity.registrable_domain

    def counting(host: str | None) -> str | None:
        seen.append(host)
        return original(host)

    monkeypatch.setattr(identity, "registrable_domain", counting)
    columns = {"web": "web_domain", "mail": "mail_domain"}
    out = registrable_domains_of(frame, columns, known=known).collect()
    assert out["web_domain"].to_list() == ["example.co.uk", None, "acme.github.io"]
    assert out["mail_domain"].to_list() == ["firma.fi", "firma.fi", None]
    assert sorted(seen) == ["firma.fi", "mail.firma.fi"]
    monkeypatch.setattr(identity, "registrable_domain", original)
    assert_frame_equal(out, registrable_domains_of(frame, columns).collect())


def test_registrable_domain_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tldextract tried the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    identity._tld_extractor.cache_clear()
    try:
        assert registrable_domain("www.firma.co.uk") == "firma.co.uk"
    finally:
        identity._tld_extractor.cache_clear()


# ---- email checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("matti@firma.fi", True),
        ("first.last+tag@sub.firma.co.uk", True),
        ("MATTI@FIRMA.FI", True),
        ("matti@firma", False),
        ("@firma.fi", False),
        ("matti@@firma.fi", False),
        ("matti meikalainen@firma.fi", False),
        ("matti@firma.f", False),
        ("matti@firma.123", False),
        ("matti@.fi", False),
        ("matti@firma..fi", False),
    ],
)
def test_email_is_well_formed(email: str, ok: bool) -> None:
    assert _map(email_is_well_formed(pl.col("v")), [email]) == [ok]


@pytest.mark.parametrize(
    "domain",
    [
        "hotmail.fi", "hotmail.se", "hotmail.no", "hotmail.dk", "hotmail.com", "hotmail.co.uk",
        "outlook.fi", "outlook.dk", "live.se", "live.no", "live.fi", "msn.com",
        "yahoo.com", "yahoo.se", "yahoo.co.uk", "ymail.com", "gmx.de", "gmx.net", "aol.com",
        "mail.suomi24.fi",
    ],
)
def test_free_mail_domain_is_flagged_in_every_country_tld(domain: str) -> None:
    assert _map(is_free_mail(pl.col("v")), [domain]) == [True]


@pytest.mark.parametrize("domain", FREE_MAIL_DOMAINS)
def test_every_listed_free_mail_domain_is_flagged(domain: str) -> None:
    assert _map(is_free_mail(pl.col("v")), [domain.upper()]) == [True]


@pytest.mark.parametrize(
    "domain", ["firma.fi", "olive.fi", "livestock.se", "hotmail.firma.fi", "mail.firma.dk", None]
)
def test_business_domain_is_not_free_mail(domain: str | None) -> None:
    assert _map(is_free_mail(pl.col("v")), [domain]) == [None if domain is None else False]


def test_extra_free_mail_domains_are_added_and_blanks_ignored() -> None:
    flagged = _map(is_free_mail(pl.col("v"), ["Posti.example", " "]), ["posti.example", "firma.fi"])
    assert flagged == [True, False]


@pytest.mark.parametrize("local", ROLE_LOCAL_PARTS)
def test_every_listed_role_local_part_is_a_role_address(local: str) -> None:
    assert _map(is_role_address(pl.col("v")), [f"{local.upper()}@firma.fi"]) == [True]


@pytest.mark.parametrize("email", ["No.Reply@firma.fi", "info+crm@firma.fi", "do_not_reply@x.se"])
def test_role_address_ignores_separators_and_tags(email: str) -> None:
    assert _map(is_role_address(pl.col("v")), [email]) == [True]


@pytest.mark.parametrize("email", ["matti.meikalainen@firma.fi", "heikki@firma.fi", "infos@x.fi"])
def test_personal_address_is_not_a_role_address(email: str) -> None:
    assert _map(is_role_address(pl.col("v")), [email]) == [False]


def test_email_quality_takes_the_first_that_applies() -> None:
    emails = [None, "  ", "bad@", "info@gmail.com", "matti@hotmail.se", "matti@firma.fi",
              "matti@posti.example"]
    assert _map(email_quality(pl.col("v"), ["posti.example"]), emails) == [
        "missing", "missing", "invalid", "role", "free_mail", "business", "free_mail",
    ]


# ---- company names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    ["Oy", "Oyj", "Ab", "AB", "Aktiebolag", "AS", "ASA", "A/S", "ApS", "GmbH", "AG", "Ltd",
     "Limited", "Inc", "Inc.", "Incorporated", "LLC", "BV", "B.V.", "NV", "SA", "S.A.", "Plc",
     "Corp", "Corp.", "Corporation", "Co", "Kb", "Ky", "Tmi", "Ay"],
)
def test_legal_form_suffix_is_removed(form: str) -> None:
    assert _map(normalize_company_name(pl.col("v")), [f"Acme Tools {form}"]) == ["acme tools"]


@pytest.mark.parametrize("name", ["Nokia Oyj", "NOKIA OYJ.", "Oy Nokia Ab", "nokia", "AB Nokia"])
def test_nokia_in_every_spelling_is_nokia(name: str) -> None:
    assert _map(normalize_company_name(pl.col("v")), [name]) == ["nokia"]


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("Åbo Ääkkönen Øst", "abo aakkonen ost"),
        ("Ærø Straße Đak", "aero strasse dak"),
        ("Nestlé S.A.", "nestle"),
        ("Ernst & Young", "ernst and young"),
        ("Søren & Co ApS", "soren"),
        ("McDonald's Inc.", "mcdonalds"),
        ("  Foo---Bar,   Baz  Oy ", "foo bar baz"),
        ("Co-op Ltd", "co op"),
        ("Bank AS Group Oy", "bank as group"),
        ("Novo Nordisk A/S", "novo nordisk"),
    ],
)
def test_company_name_normalization(name: str, normalized: str) -> None:
    assert _map(normalize_company_name(pl.col("v")), [name]) == [normalized]


@pytest.mark.parametrize("name", [None, "", "   ", "!!!", "'´"])
def test_company_name_with_nothing_left_is_null_not_empty(name: str | None) -> None:
    assert _map(normalize_company_name(pl.col("v")), [name]) == [None]
