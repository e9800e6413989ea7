from __future__ import annotations

import json

import polars as pl

from scoring.pii import hash_pii, keyed_hash

KEY = b"a-test-key-of-enough-length"


def test_same_person_same_hash_whatever_the_spelling() -> None:
    assert keyed_hash(" Anna@Example.com ", "email", KEY) == keyed_hash("anna@example.com",
                                                                         "email", KEY)
    assert keyed_hash("+358 40 123 4567", "phone", KEY) == keyed_hash("+358401234567", "phone",
                                                                       KEY)


def test_hash_depends_on_the_key() -> None:
    assert keyed_hash("a@b.fi", "email", KEY) != keyed_hash("a@b.fi", "email", b"another-key!!")


def test_email_and_phone_columns_and_quarantine_records_are_hashed() -> None:
    frame = pl.DataFrame({
        "email": ["anna@example.com", None],
        "Mobile Phone Number": ["+46 70 123 45 67", "x"],
        "company_name": ["Acme", "Beta"],
        "record": [json.dumps({"email": "bad@@x", "phone": "040 1"}), "{}"],
    })
    hashed = hash_pii(frame, KEY)
    assert hashed["email"][0].startswith("hmac:") and hashed["email"][1] is None
    assert hashed["Mobile Phone Number"][0].startswith("hmac:")
    assert hashed["company_name"].to_list() == ["Acme", "Beta"]
    record = json.loads(hashed["record"][0])
    assert record["email"].startswith("hmac:") and record["phone"].startswith("hmac:")
    assert "anna@example.com" not in hashed.write_csv()


def test_value_issues_hash_only_email_and_phone_values() -> None:
    issues = pl.DataFrame({"column": ["email", "created_at"], "value": ["a@@b", "31.31.2020"]})
    hashed = hash_pii(issues, KEY)
    assert hashed["value"][0].startswith("hmac:")
    assert hashed["value"][1] == "31.31.2020"
