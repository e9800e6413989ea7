"""Emails and phone numbers replaced by stable keyed hashes (``--hash-pii``).

HMAC-SHA256 with a secret key (the flows read it from an environment variable; this module only
gets the bytes), over the normalized value: an email trimmed and lower-cased, a phone number's
digits. The same person gives the same hash in every run and every output, so outputs can still
be joined and counted, but without the key nobody can test a guessed address against a hash. The
text is ``hmac:`` and the first 16 hex digits (64 bits: collisions among millions of people are
vanishingly unlikely).

Which columns: ``email`` and ``phone``, and any other column whose name says it holds one
(``Secondary Email``, ``Mobile Phone Number``...), including inside a quarantined row's JSON record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import polars as pl

PREFIX = "hmac:"
_EMAIL_NAME = re.compile(r"e-?mail", re.IGNORECASE)
_PHONE_NAME = re.compile(r"phone|mobile|puhelin|telefon", re.IGNORECASE)


def pii_kind(column: str) -> str | None:
    """"email", "phone" or None, from a column's name."""
    if _EMAIL_NAME.search(column):
        return "email"
    if _PHONE_NAME.search(column):
        return "phone"
    return None


def _normalized(value: str, kind: str) -> str:
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return digits or value.strip()
    return value.strip().lower()


def keyed_hash(value: str, kind: str, key: bytes) -> str:
    digest = hmac.new(key, _normalized(value, kind).encode("utf-8"), hashlib.sha256)
    return PREFIX + digest.hexdigest()[:16]


def _hashed(column: str, kind: str, key: bytes) -> pl.Expr:
    # Python per value: the outputs that hold PII are the small ones (quarantine, issues).
    return pl.col(column).map_elements(lambda v: keyed_hash(v, kind, key),
                                       return_dtype=pl.String, skip_nulls=True)


def _record_hashed(key: bytes) -> pl.Expr:
    def rewrite(text: str) -> str:
        record = json.loads(text)
        if not isinstance(record, dict):
            return text
        for name, value in record.items():
            kind = pii_kind(name)
            if kind and isinstance(value, str) and value:
                record[name] = keyed_hash(value, kind, key)
        return json.dumps(record, ensure_ascii=False)

    return pl.col("record").map_elements(rewrite, return_dtype=pl.String, skip_nulls=True)


def hash_pii(frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Every email and phone column of `frame` (by name) hashed; a quarantine's JSON ``record``
    column rewritten with its email and phone fields hashed; a value-issues table's ``value``
    hashed where its ``column`` is one of them. Other columns untouched."""
    updates = [
        _hashed(name, kind, key).alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String and (kind := pii_kind(name)) is not None
    ]
    if "record" in frame.columns and frame.schema["record"] == pl.String:
        updates.append(_record_hashed(key).alias("record"))
    if {"column", "value"} <= set(frame.columns):
        kinds = pl.col("column").map_elements(lambda c: pii_kind(c) or "",
                                              return_dtype=pl.String)
        email = pl.col("value").map_elements(lambda v: keyed_hash(v, "email", key),
                                             return_dtype=pl.String, skip_nulls=True)
        phone = pl.col("value").map_elements(lambda v: keyed_hash(v, "phone", key),
                                             return_dtype=pl.String, skip_nulls=True)
        updates.append(pl.when(kinds == "email").then(email).when(kinds == "phone").then(phone)
                       .otherwise(pl.col("value")).alias("value"))
    return frame.with_columns(updates) if updates and frame.height else frame
