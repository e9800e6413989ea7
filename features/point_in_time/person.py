"""Who the person is: seniority and department read from a free-text job title, in 5 languages.

Titles arrive in English, Finnish, Swedish, Norwegian and Danish, often as compounds
("myyntijohtaja" = sales director, "IT-chef" = IT manager). Each category is one regular expression;
the first category that matches wins, so the order of the tables below matters and is commented.
"""

from __future__ import annotations

import polars as pl

from features.exprs import first_match

SENIORITY_LEVELS: dict[str, int] = {
    "unknown": 0,
    "individual": 1,
    "manager": 2,
    "director": 3,
    "vp": 4,
    "c_level": 5,
}

# Checked top to bottom. `vp` comes before `c_level` because "vice VD" and "varatoimitusjohtaja"
# (deputy CEO) contain the C-level words; `c_level` comes before `director` because
# "toimitusjohtaja" (CEO) contains "johtaja" (director).
_SENIORITY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("vp", r"\bvp\b|\bsvp\b|\bevp\b|vice[ -]?president|\bvice[ -](vd|ceo|president)\b"
           r"|varatoimitusjohtaja|\bviceadm|\bvicevd\b|\bdeputy (ceo|managing director)\b"),
    ("c_level", r"\bc[etfoimr]o\b|\bchief\b|toimitusjohtaja|\bvd\b|verkställande direktör"
                r"|talousjohtaja|teknologiajohtaja|tietohallintojohtaja"
                r"|daglig leder|administrerende direkt|adm\.? ?dir|managing director|\bfounder\b"
                r"|co-founder|perustaja|grundare|gründer|\bowner\b|omistaja|ägare|\beier\b|\bejer\b"
                r"|\bpresident\b|\bpartner\b|\bgeneral manager\b"),
    ("director", r"director|\bhead of\b|johtaja|direktör|direktør|direktor|\bchef för\b|\bleiter"),
    ("manager", r"manager|päällikkö|paallikko|\bchef\b|-chef\b|chef$|\w+chef\b|\bleder\b|\w+leder\b"
                r"|\blead\b|team ?lead|esimies|esihenkilö|förman|vetäjä|ansvarig|ansvarlig"
                r"|supervisor|koordinator(?:er)?\b|sjef\b"),
    ("individual", r"engineer|developer|kehittäjä|utvecklare|utvikler|udvikler|specialist"
                   r"|asiantuntija|analyst|analyytikko|assistant|assistentti|assistent"
                   r"|koordinaattori|coordinator|consultant|konsult|architect|arkkitehti"
                   r"|designer|suunnittelija|accountant|kirjanpitäjä|ekonom|\bsäljare\b|selger"
                   r"|sælger|myyjä|representative|associate|officer|administrator|tekniker"
                   r"|technician|student|opiskelija|trainee|harjoittelija|intern|praktikant"
                   r"|\bexecutive\b|rådgiver|rådgivare|neuvoja|advisor|medarbe[it]|bogholder"
                   r"|studerende"),
)

# Checked top to bottom. Function words come before `executive` so that "myyntijohtaja" (sales
# director) is sales, not executive; CxO abbreviations sit with their function.
_DEPARTMENT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("it", r"\bit\b|\bict\b|\bcio\b|information technology|tietohallin|tietotekniik|\bsysadmin"
           r"|system administrator|järjestelmä|infrastru|\bsecurity\b|tietoturva"
           r"|\bciso\b|it-|\bdata\b|tietojärjestelm"),
    ("engineering", r"\bcto\b|engineer|developer|kehittäjä|kehitys|ohjelmisto|utvecklare|utveckling"
                    r"|utvikler|utvikling|udvikler|udvikling|software|\br&d\b|tuotekehitys"
                    r"|architect|arkkitehti|technical|tekninen|teknisk|tekniikka|\bqa\b|test"
                    r"|devops|teknologi"),
    ("sales", r"sales|myynti|myyjä|försälj|säljare|\bsälj|\bsalg|selger|sælger|account executive"
              r"|account manager|business development|\bbdr\b|\bsdr\b|\bcro\b|kaupallinen"
              r"|commercial|avainasiakas|key account"),
    ("marketing", r"marketing|markkinointi|marknad|marked|\bcmo\b|brand|growth"
                  r"|communications|viestintä|kommunikation|kommunikasjon|content|\bseo\b"),
    ("finance", r"\bcfo\b|financ|talous|ekonomi|økonomi|controller|accounting|accountant"
                r"|kirjanpi|revisor|bogholder|regnskap"
                r"|tilintarkast|treasur|\bbookkeep|laskutus|\bpayroll"),
    ("hr", r"\bhr\b|human resources|henkilöstö|\bpersonal|rekryt|recruit|talent|\bpeople\b"
           r"|\bhuman capital"),
    ("operations", r"\bcoo\b|operations|operatiivi|drift|logisti|supply chain|hankinta"
                   r"|procurement|inköp|innkjøp|indkøb|produktion|tuotanto|production|\bplant\b"),
    ("executive", r"\bceo\b|chief executive|toimitusjohtaja|\bvd\b|verkställande|daglig leder"
                  r"|administrerende|adm\.? ?dir"
                  r"|managing director|founder|perustaja|grundare|\bowner\b|omistaja|ägare"
                  r"|\bpresident\b|general manager|\bboard\b|hallitu|styrelse|styre"),
)


def _first_match(text: pl.Expr, patterns: tuple[tuple[str, str], ...], default: str) -> pl.Expr:
    return first_match([(text.str.contains(pattern), label) for label, pattern in patterns],
                       default)


def _clean_title(title: pl.Expr) -> pl.Expr:
    return title.str.to_lowercase().str.strip_chars().fill_null("")


def seniority_from_title(title: pl.Expr) -> pl.Expr:
    """One of c_level, vp, director, manager, individual, unknown."""
    cleaned = _clean_title(title)
    return _first_match(cleaned, _SENIORITY_PATTERNS, "unknown")


def department_from_title(title: pl.Expr) -> pl.Expr:
    """it, engineering, sales, marketing, finance, hr, operations, executive, other or unknown."""
    cleaned = _clean_title(title)
    return (
        pl.when(cleaned == "")
        .then(pl.lit("unknown"))
        .otherwise(_first_match(cleaned, _DEPARTMENT_PATTERNS, "other"))
    )


def seniority_level(seniority: pl.Expr) -> pl.Expr:
    """An ordinal 0 (unknown) to 5 (C-level) for models that want a number."""
    return seniority.replace_strict(SENIORITY_LEVELS, default=0, return_dtype=pl.Int8)
