from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from rapidfuzz import fuzz

from features.config import MatchingConfig
from features.errors import InputError
from features.resolve.enrich import (
    FUZZY_CONFIDENCE_SCALE,
    FUZZY_WINDOW,
    MATCH_COLUMNS,
    _token_sorted,
    company_identities,
    fuzzy_companies,
    fuzzy_name_matches,
    match_leads_to_companies,
    match_report,
)

LEAD_COLS = ("lead_id", "email", "website", "business_id", "company_name", "country")
COMPANY_COLS = ("business_id", "company_name", "domain", "country")
CFG = MatchingConfig()

NOKIA = "FI:01120389"
VOLVO = "SE:5560360793"


def leads(*rows: dict[str, str | None]) -> pl.LazyFrame:
    """Leads with every text column; unnamed columns are null, lead_id defaults to the row index."""
    full = [{c: row.get(c, str(i) if c == "lead_id" else None) for c in LEAD_COLS}
            for i, row in enumerate(rows)]
    return pl.LazyFrame(full, schema=dict.fromkeys(LEAD_COLS, pl.String()))


def companies(*rows: tuple[str | None, str, str | None, str | None]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [dict(zip(COMPANY_COLS, r, strict=True)) for r in rows],
        schema=dict.fromkeys(COMPANY_COLS, pl.String()),
        orient="row",
    )


BASE = companies(
    ("0112038-9", "Nokia Oyj", "https://www.nokia.com", "FI"),
    ("556036-0793", "AB Volvo", "volvo.com", "SE"),
    (None, "Firma Oy", "firma.fi", "FI"),
    (None, "Nordea Bank Abp", None, "FI"),
    (None, "Google Ireland Ltd", "gmail.com", "IE"),
    (None, "Some Page Oy", "facebook.com", "FI"),
)


def match(lead_frame: pl.LazyFrame, company_frame: pl.LazyFrame | None = BASE,
          cfg: MatchingConfig = CFG) -> pl.DataFrame:
    identities = None if company_frame is None else company_identities(company_frame).collect()
    return match_leads_to_companies(lead_frame, identities, cfg).collect()


def only(lead: dict[str, str | None], company_frame: pl.LazyFrame | None = BASE,
         cfg: MatchingConfig = CFG) -> dict[str, object]:
    return match(leads(lead), company_frame, cfg).row(0, named=True)


# ---- each method, in order of precedence ---------------------------------------------------------


def test_business_id_wins_over_domain_and_name() -> None:
    row = only({"business_id": "FI01120389", "website": "volvo.com", "company_name": "Firma",
                "country": "FI"})
    assert (row["company_key"], row["match_method"], row["match_confidence"]) == (
        NOKIA, "business_id", 1.0,
    )


def test_domain_from_website_wins_over_name() -> None:
    row = only({"website": "https://shop.volvo.com/x", "company_name": "Firma", "country": "FI"})
    assert (row["company_key"], row["match_method"], row["match_confidence"]) == (
        VOLVO, "domain", 0.95,
    )


def test_domain_from_business_email_is_used_without_a_website() -> None:
    row = only({"email": "matti@research.nokia.com", "company_name": "Firma", "country": "FI"})
    assert (row["company_key"], row["match_method"]) == (NOKIA, "domain")


def test_email_domain_is_tried_when_the_website_matches_nobody() -> None:
    row = only({"website": "unknown.example", "email": "anna@volvo.com"})
    assert (row["company_key"], row["match_method"]) == (VOLVO, "domain")


def test_free_mail_email_domain_is_never_used_for_matching() -> None:
    row = only({"email": "matti@gmail.com"})
    assert (row["company_key"], row["match_method"]) == (None, "none")
    assert row["lead_email_domain"] == "gmail.com"


def test_social_network_website_is_never_used_for_matching() -> None:
    row = only({"website": "https://www.facebook.com/somepage"})
    assert (row["company_key"], row["match_method"]) == (None, "none")


def test_exact_name_matches_after_legal_forms_are_stripped() -> None:
    row = only({"company_name": "OY FIRMA AB.", "country": "fi"})
    assert (row["company_key"], row["match_method"], row["match_confidence"]) == (
        "name:firma|FI", "exact_name", 0.9,
    )


def test_exact_name_in_another_country_is_no_match() -> None:
    row = only({"company_name": "Firma Oy", "country": "SE"})
    assert (row["company_key"], row["unmatched_reason"]) == (None, "no match")


def test_lead_without_country_matches_a_name_unique_across_countries() -> None:
    assert only({"company_name": "Firma"})["company_key"] == "name:firma|FI"


def test_lead_without_country_does_not_match_a_name_used_in_two_countries() -> None:
    data = companies((None, "Acme Oy", None, "FI"), (None, "Acme AB", None, "SE"))
    row = only({"company_name": "Acme"}, data)
    assert (row["company_key"], row["unmatched_reason"]) == (None, "ambiguous name")


def test_company_without_country_matches_by_its_unique_name() -> None:
    data = companies((None, "Acme Oy", None, None))
    assert only({"company_name": "Acme", "country": "NO"}, data)["company_key"] == "name:acme|"


def test_fuzzy_match_above_threshold_gets_scaled_confidence() -> None:
    data = companies((None, "Acme Solutions Oy", None, "FI"))
    row = only({"company_name": "Acme Solutionz", "country": "FI"}, data)
    score = fuzz.token_sort_ratio("acme solutionz", "acme solutions")
    assert (row["company_key"], row["match_method"]) == ("name:acme solutions|FI", "fuzzy_name")
    assert row["match_confidence"] == pytest.approx(score / 100 * FUZZY_CONFIDENCE_SCALE)


def test_fuzzy_match_ignores_word_order() -> None:
    row = only({"company_name": "Bank Nordea", "country": "FI"})
    assert (row["company_key"], row["match_method"], row["match_confidence"]) == (
        "name:nordea bank|FI", "fuzzy_name", FUZZY_CONFIDENCE_SCALE,
    )


def test_fuzzy_score_below_threshold_is_no_match() -> None:
    data = companies((None, "Acme Solutions Oy", None, "FI"))
    strict = MatchingConfig(fuzzy_threshold=95)
    row = only({"company_name": "Acme Solutionz", "country": "FI"}, data, strict)
    assert (row["match_method"], row["unmatched_reason"]) == ("none", "no match")


def test_fuzzy_match_only_considers_companies_of_the_same_country() -> None:
    data = companies((None, "Acme Solutions AB", None, "SE"))
    assert only({"company_name": "Acme Solutionz", "country": "FI"}, data)["match_method"] == "none"


def test_fuzzy_tie_between_two_companies_is_left_unmatched() -> None:
    data = companies(
        (None, "Acme Solutions Oy", None, "FI"), (None, "Acme Solutiony Oy", None, "FI")
    )
    row = only({"company_name": "Acme Solutionz", "country": "FI"}, data)
    assert (row["company_key"], row["unmatched_reason"]) == (None, "ambiguous fuzzy match")


# ---- ambiguity and unmatched reasons -----------------------------------------------------------


def test_domain_shared_by_two_companies_is_not_used() -> None:
    data = companies((None, "Alpha Oy", "group.fi", "FI"), (None, "Beta Oy", "group.fi", "FI"))
    row = only({"website": "www.group.fi"}, data)
    assert (row["company_key"], row["unmatched_reason"]) == (None, "ambiguous domain")


def test_shared_domain_does_not_block_a_name_match() -> None:
    data = companies((None, "Alpha Oy", "group.fi", "FI"), (None, "Beta Oy", "group.fi", "FI"))
    row = only({"website": "group.fi", "company_name": "Beta", "country": "FI"}, data)
    assert (row["company_key"], row["match_method"]) == ("name:beta|FI", "exact_name")


def test_name_and_country_shared_by_two_companies_is_not_used() -> None:
    data = companies(("0112038-9", "Acme Oy", None, "FI"), ("2331972-7", "Acme Ab", None, "FI"))
    row = only({"company_name": "Acme", "country": "FI"}, data)
    assert (row["company_key"], row["unmatched_reason"]) == (None, "ambiguous name")


def test_unmatched_invalid_business_id_is_reported() -> None:
    row = only({"business_id": "0112038-8", "country": "FI"})
    assert (row["lead_business_id"], row["unmatched_reason"]) == (None, "business_id invalid")


def test_valid_business_id_unknown_to_company_data_falls_through_to_other_methods() -> None:
    row = only({"business_id": "DK13585628", "country": "FI", "company_name": "Firma"})
    assert (row["lead_business_id"], row["match_method"]) == ("DK:13585628", "exact_name")


def test_lead_with_nothing_identifying_says_so() -> None:
    assert only({"email": "x@gmail.com"})["unmatched_reason"] == "nothing to match on"


@pytest.mark.parametrize("company_frame", [None, companies()])
def test_leads_without_company_data_are_unmatched_with_that_reason(
    company_frame: pl.LazyFrame | None,
) -> None:
    out = match(leads({"business_id": "FI01120389"}, {"company_name": "Nokia"}), company_frame)
    assert out["unmatched_reason"].to_list() == ["no company data"] * 2
    assert out["match_method"].to_list() == ["none"] * 2
    assert out["lead_business_id"].to_list() == [NOKIA, None]


# ---- the result contract -----------------------------------------------------------------------


def test_result_columns_for_a_matched_and_an_unmatched_lead() -> None:
    out = match(leads(
        {"lead_id": "a", "email": "Info@Nokia.com", "website": "http://www.nokia.com/fi",
         "business_id": "0112038-9", "country": "FI"},
        {"lead_id": "b", "email": "not-an-email", "company_name": "Nobody"},
    ))
    expected = pl.DataFrame({
        "lead_id": ["a", "b"],
        "company_key": [NOKIA, None],
        "match_method": ["business_id", "none"],
        "match_confidence": [1.0, None],
        "unmatched_reason": [None, "no match"],
        "lead_business_id": [NOKIA, None],
        "lead_email_domain": ["nokia.com", None],
        "lead_website_domain": ["nokia.com", None],
        "email_quality": ["role", "invalid"],
    }, schema_overrides={"unmatched_reason": pl.String})
    assert_frame_equal(out, expected)
    assert tuple(out.columns) == MATCH_COLUMNS


def test_every_lead_comes_out_exactly_once_in_input_order() -> None:
    rows: list[dict[str, str | None]] = [
        {"lead_id": "z", "company_name": "Firma", "country": "FI"},
        {"lead_id": "y", "company_name": "Firma", "country": "FI"},
        {"lead_id": "x", "website": "nokia.com", "company_name": "Firma", "country": "FI"},
        {"lead_id": "w"},
        {"lead_id": "v", "company_name": "Bank Nordea", "country": "FI"},
        {"lead_id": "u", "company_name": "Bank Nordea", "country": "FI"},
    ]
    out = match(leads(*rows))
    assert out["lead_id"].to_list() == ["z", "y", "x", "w", "v", "u"]


@pytest.mark.parametrize(("frame", "source"), [
    (pl.LazyFrame({"lead_id": ["1"], "email": ["a@b.fi"]}), "leads"),
    (None, "companies"),
])
def test_missing_input_column_is_an_input_error(frame: pl.LazyFrame | None, source: str) -> None:
    lead_frame = frame if frame is not None else leads({"company_name": "Firma"})
    company_frame = BASE if frame is not None else BASE.drop("domain")
    with pytest.raises(InputError, match=f"^{source}: missing column"):
        match(lead_frame, company_frame)


# ---- company identities ------------------------------------------------------------------------


def test_snapshots_of_one_company_collapse_to_its_latest_values() -> None:
    data = pl.LazyFrame({
        "business_id": ["0112038-9", "FI01120389", None],
        "company_name": ["Nokia Oyj", "Nokia Oyj", "Nokia Oyj"],
        "domain": ["nokia.com", "nokia.fi", None],
        "country": ["FI", "FI", "FI"],
        "updated_at": [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC),
                       datetime(2025, 9, 1, tzinfo=UTC)],
    })
    expected = pl.DataFrame({
        "company_key": [NOKIA], "match_domain": ["nokia.fi"], "match_name": ["nokia"],
        "country": ["FI"], "domain_ambiguous": [False], "name_ambiguous": [False],
    })
    assert_frame_equal(company_identities(data).collect(), expected)


def test_company_without_business_id_is_keyed_by_name_and_country() -> None:
    data = companies((None, "Firma Oy", None, "fi"), (None, "Firma Ab", None, None))
    keys = company_identities(data).collect()["company_key"].to_list()
    assert keys == ["name:firma|", "name:firma|FI"]


def test_company_with_no_id_name_or_domain_is_dropped() -> None:
    data = companies(("bad", "!!!", None, "FI"), (None, "???", "firma.fi", "FI"))
    assert company_identities(data).collect()["company_key"].to_list() == ["domain:firma.fi"]


def test_ambiguous_domains_and_names_are_flagged() -> None:
    data = companies((None, "Alpha Oy", "group.fi", "FI"), (None, "Beta Oy", "www.group.fi", "FI"),
                     ("0112038-9", "Acme", None, "FI"), ("2331972-7", "Acme Oy", None, "FI"))
    flags = company_identities(data).collect().select(
        "company_key", "domain_ambiguous", "name_ambiguous"
    )
    assert flags.rows() == [
        ("FI:01120389", False, True), ("FI:23319727", False, True),
        ("name:alpha|FI", True, False), ("name:beta|FI", True, False),
    ]


# ---- report ------------------------------------------------------------------------------------


def test_match_report_counts_methods_reasons_and_ambiguity() -> None:
    data = companies((None, "Alpha Oy", "group.fi", "FI"), (None, "Beta Oy", "group.fi", "FI"),
                     (None, "Firma Oy", None, "FI"))
    out = match(leads({"company_name": "Firma", "country": "FI"}, {"website": "group.fi"},
                      {"business_id": "123"}, {"company_name": "Firma", "country": "FI"}), data)
    report = match_report(out, company_identities(data).collect())
    assert report["leads"] == 4
    assert report["matched"] == 2
    assert report["match_rate"] == 0.5
    assert report["by_method"]["exact_name"] == {"count": 2, "rate": 0.5}
    assert report["by_method"]["fuzzy_name"] == {"count": 0, "rate": 0.0}
    assert report["unmatched_reasons"] == {"ambiguous domain": 1, "business_id invalid": 1}
    assert report["ambiguous_leads"] == 1
    assert report["ambiguous_company_domains"] == 1
    assert report["ambiguous_company_names"] == 0


def test_match_report_of_no_leads_has_zero_rates() -> None:
    empty = match(leads().clear())
    assert match_report(empty)["match_rate"] == 0.0


# ---- scale -------------------------------------------------------------------------------------

_SYLLABLES = ("ka", "lo", "mi", "ne", "ro", "sa", "ti", "vu", "pe", "ko", "la", "ni", "ra", "se")
_COUNTRIES = ("FI", "SE", "NO", "DK")


def _synthetic(n_companies: int, n_leads: int) -> tuple[pl.LazyFrame, pl.LazyFrame, list[str]]:
    """Companies with made-up names; leads by kind (i % 4): 0 exact name, 1 name with its last
    letter changed to "x" (no syllable has an x), 2 website only, 3 random name. Also returns the
    company each lead was made from."""
    rng = random.Random(20250101)

    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))

    names: set[str] = set()
    while len(names) < n_companies:
        names.add(f"{word()} {word()}")
    ordered = sorted(names)
    company_frame = pl.LazyFrame({
        "business_id": [None] * n_companies,
        "company_name": [f"{n.title()} Oy" for n in ordered],
        "domain": [f"https://www.{n.replace(' ', '')}.fi/" for n in ordered],
        "country": [_COUNTRIES[i % 4] for i in range(n_companies)],
    }, schema=dict.fromkeys(COMPANY_COLS, pl.String()))
    rows, sources = [], []
    for i in range(n_leads):
        j = rng.randrange(n_companies)
        name, kind = ordered[j], i % 4
        rows.append({
            "lead_id": f"L{i}",
            "email": f"person{i}@hotmail.fi",
            "website": f"{name.replace(' ', '')}.fi" if kind == 2 else None,
            "business_id": str(rng.randrange(10**7, 10**8)),
            "company_name": {0: name, 1: name[:-1] + "x", 2: None, 3: f"{word()} {word()}"}[kind],
            "country": _COUNTRIES[j % 4],
        })
        sources.append(f"name:{name}|{_COUNTRIES[j % 4]}")
    return company_frame, pl.LazyFrame(rows, schema=dict.fromkeys(LEAD_COLS, pl.String())), sources


def test_twenty_thousand_leads_against_five_thousand_companies() -> None:
    company_frame, lead_frame, sources = _synthetic(5_000, 20_000)
    out = match_leads_to_companies(lead_frame, company_identities(company_frame).collect(),
                                   CFG).collect()

    assert out["lead_id"].to_list() == [f"L{i}" for i in range(20_000)]
    out = out.with_columns(
        source=pl.Series(sources), kind=pl.int_range(pl.len()) % 4
    )
    exact = out.filter(pl.col("kind") == 0)
    assert exact["match_method"].unique().to_list() == ["exact_name"]
    assert (exact["company_key"] == exact["source"]).all()

    typos = out.filter(pl.col("kind") == 1)
    fuzzy = typos.filter(pl.col("match_method") == "fuzzy_name")
    assert fuzzy.height > 0.4 * typos.height
    assert (fuzzy["company_key"] == fuzzy["source"]).all()  # never the wrong company

    by_site = out.filter(pl.col("kind") == 2)
    matched = by_site.filter(pl.col("match_method") == "domain")
    assert (matched["company_key"] == matched["source"]).all()
    assert set(by_site.filter(pl.col("match_method") == "none")["unmatched_reason"]) <= {
        "ambiguous domain"
    }
    assert matched.height > 0.95 * by_site.height


def test_names_that_differ_in_a_number_are_different_companies() -> None:
    data = companies((None, "Company 87978 ApS", None, "DK"))
    row = only({"company_name": "Company 87979 ApS", "country": "DK"}, data)
    assert (row["match_method"], row["unmatched_reason"]) == ("none", "no match")


def test_a_number_in_one_name_only_is_a_different_company() -> None:
    data = companies((None, "Nordic Logistics 2 Oy", None, "FI"))
    assert only({"company_name": "Nordic Logistics", "country": "FI"}, data)["match_method"] == (
        "none")


def test_the_same_number_still_matches_fuzzily() -> None:
    data = companies((None, "Company 87978 Solutions ApS", None, "DK"),
                     (None, "Company 87979 Solutions ApS", None, "DK"))
    row = only({"company_name": "Company 87978 Solutionz", "country": "DK"}, data)
    assert (row["company_key"], row["match_method"]) == ("name:company 87978 solutions|DK",
                                                         "fuzzy_name")


def test_names_with_sorted_words_score_as_token_sort_ratio() -> None:
    """Fuzzy matching sorts each name's words once and compares with fuzz.ratio."""
    rng = random.Random(4)
    words = ["nordea", "bank", "ålands", "straße", "müller", "x-y", "Äpple", "éclair", "a", "ﬁne"]
    names = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
             + rng.choice(["", " ", "\tq", "  z"]) for _ in range(300)]
    sorted_names = pl.select(_token_sorted(pl.Series(names))).to_series().to_list()
    for a, sa in zip(names[:150], sorted_names[:150], strict=True):
        for b, sb in zip(names[150:], sorted_names[150:], strict=True):
            assert fuzz.ratio(sa, sb) == fuzz.token_sort_ratio(a, b)


def _fuzzy_identities(names: list[str], country: str | None = "FI") -> pl.DataFrame:
    return pl.DataFrame({"company_key": [f"name:{n}" for n in names], "match_name": names,
                         "country": [country] * len(names)})


def _queries(*names: str, country: str | None = "FI") -> pl.DataFrame:
    return pl.DataFrame({"_name": list(names), "_country": [country] * len(names)},
                        schema={"_name": pl.String(), "_country": pl.String()})


def _many_similar_names(n: int) -> list[str]:
    rng = random.Random(11)
    words = ["nordic", "bygg", "data", "konsult", "logistik", "partner", "service", "teknik"]
    return sorted({" ".join(rng.sample(words, 3)) + " " + "".join(rng.choices("abcdefgh", k=4))
                   for _ in range(n)})


def test_a_difference_at_the_start_of_a_name_is_found_in_reversed_order() -> None:
    names = _many_similar_names(5_000)
    # A name whose alphabetically first word starts late in the alphabet; the typo makes that
    # letter an "a", which keeps the word first but sorts the name among the "a..." names.
    target = next(n for n in names[len(names) // 2:] if min(n.split()) >= "d")
    words = sorted(target.split())
    typo = " ".join(["a" + words[0][1:], *words[1:]])
    forward = sorted([*names, typo])
    assert abs(forward.index(typo) - forward.index(target)) > 2 * FUZZY_WINDOW
    found = fuzzy_name_matches(_queries(typo), fuzzy_companies(_fuzzy_identities(names)), 85.0)
    assert found["_key_fuzzy"].to_list() == [f"name:{target}"]


@pytest.mark.parametrize("companies_count", [1_000, 20_000])
def test_each_query_is_scored_against_a_bounded_number_of_names(companies_count: int) -> None:
    """The sorted-neighbourhood search compares a query with at most 2 * FUZZY_WINDOW names of
    its pool per order, however many companies there are: the cost grows with the data."""
    from features.resolve import enrich

    names = _many_similar_names(companies_count)
    companies = fuzzy_companies(_fuzzy_identities(names))
    asked = _queries(*names[::97]).select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_q"), "_country",
        enrich._token_sorted(pl.col("_name")).alias("_sort"))
    pairs = enrich._candidate_pairs(companies, asked, FUZZY_WINDOW)
    per_query = pairs.group_by("_q").len()["len"]
    assert per_query.len() == asked.height
    assert per_query.max() <= 4 * FUZZY_WINDOW


def test_a_query_without_country_meets_companies_of_every_country() -> None:
    identities = pl.concat([_fuzzy_identities(["acme solutions"], "SE"),
                            _fuzzy_identities(["nordic tools"], None)])
    found = fuzzy_name_matches(_queries("acme solutionz", "nordic toolz", country=None),
                               fuzzy_companies(identities), 90.0)
    assert found["_key_fuzzy"].to_list() == ["name:acme solutions", "name:nordic tools"]


def test_a_query_with_a_country_meets_companies_without_one() -> None:
    identities = pl.concat([_fuzzy_identities(["acme solutions"], "SE"),
                            _fuzzy_identities(["acme solutiony"], None)])
    found = fuzzy_name_matches(_queries("acme solutionz", country="FI"),
                               fuzzy_companies(identities), 90.0)
    assert found["_key_fuzzy"].to_list() == ["name:acme solutiony"]


@pytest.mark.parametrize("threshold", [50.0, 80.0, 92.0, 99.5, 100.0])
def test_pairs_left_out_by_length_could_not_reach_the_threshold(threshold: float) -> None:
    from features.resolve import enrich

    rng = random.Random(int(threshold))
    names = ["".join(rng.choices("ab ", k=rng.randint(1, 40))).strip() or "a"
             for _ in range(120)]
    side = pl.DataFrame({"_sort": names})
    pairs = pl.DataFrame(list(itertools.product(range(120), range(120))), orient="row",
                         schema={"_q": pl.UInt32(), "_c": pl.UInt32()})
    kept = enrich._reachable(pairs, side, side, threshold)
    reaching = {(q, c) for q, c in pairs.iter_rows()
                if fuzz.ratio(names[q], names[c]) >= threshold}
    assert reaching <= set(kept.iter_rows())
    assert kept.height < pairs.height


def test_matching_with_the_memo_of_a_superset_of_the_leads_is_the_same() -> None:
    """A partition's leads matched with the memo of every lead of the run: the same rows, for
    leads whose values are in the memo and for those whose are not (a survivor whose business
    ID and country came from two duplicates)."""
    from features.resolve.enrich import company_index, match_memo

    company_frame, lead_frame, _ = _synthetic(500, 2_000)
    index = company_index(company_identities(pl.concat([company_frame, BASE])).collect())
    extra = leads({"email": "x@volvo.com", "business_id": "556036-0793", "country": "SE"},
                  {"website": "https://shop.nokia.com", "business_id": "0112038-9"})
    every_lead = pl.concat([lead_frame, extra])
    memo = match_memo(lead_frame.head(1_500))
    assert memo.domains.height > 0 and memo.business_ids.height > 0
    assert_frame_equal(match_leads_to_companies(every_lead, index, CFG, memo).collect(),
                       match_leads_to_companies(every_lead, index, CFG).collect())


def test_companies_keyed_with_a_memo_that_saw_them_need_no_checks_and_are_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from features.resolve import identity
    from features.resolve.enrich import keyed_company_snapshots, match_memo

    company_frame, lead_frame, _ = _synthetic(300, 500)
    every = pl.concat([company_frame, BASE])
    without = keyed_company_snapshots(every).collect()
    memo = match_memo(lead_frame, every)

    def never(*args: object) -> object:
        raise AssertionError("a value of the memo was checked again")

    monkeypatch.setattr(identity, "business_id_key", never)
    monkeypatch.setattr(identity, "registrable_domain", never)
    assert_frame_equal(keyed_company_snapshots(every, memo).collect(), without)
