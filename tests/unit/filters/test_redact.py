"""Secret redaction: every built-in kind, false-positive guards, modes, fates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipper.filters.redact import Redactor
from shipper.filters.redact_stage import RedactStage
from shipper.filters.secrets import luhn_ok
from shipper.filters.settings import RedactSettings

from .conftest import make_record

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLSVkIn0.13NbiL-kheh_bdiMaNLa6g1M2Of42de5i1i-59dhd0h"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx8Yw\nq0m9ZlQx\n"
       "-----END RSA PRIVATE KEY-----")
CORPUS = Path("/work/shared/corpus/secrets")


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(RedactSettings())


def fired_by(redactor: Redactor, text: str) -> tuple[str, set[str]]:
    fired: set[str] = set()
    return redactor.redact_text(text, fired), fired


@pytest.mark.parametrize("text,secret,rule", [
    (f"token is {JWT} ok", JWT, "jwt"),
    ("Authorization: Bearer abc123.def456-ghi", "abc123.def456-ghi", "authorization"),
    ("calling with bearer 9f8e7d6c5b4a3f2e1d0c", "9f8e7d6c5b4a3f2e1d0c", "bearer"),
    ("header Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "bearer"),
    ('authorization="Digest abcdef123456"', "abcdef123456", "authorization"),
    ("aws key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret_key"),
    ("AWS SK: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_key"),
    (f"key follows {PEM} end", "MIIEowIBAAKCAQEAx8Yw", "private_key"),
    ("gh token ghp_" + "a" * 36, "ghp_" + "a" * 36, "github_token"),
    ("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_token"),
    ("slack xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl", "slack_token"),
    ("hook https://hooks.slack.com/services/T000/B000/XXXXXXXX", "T000/B000/XXXXXXXX", "slack_token"),
    ("maps AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv", "google_api_key"),
    ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111", "card_number"),
    ("card 4111-1111-1111-1111 charged", "4111-1111-1111-1111", "card_number"),
    ("amex 378282246310005.", "378282246310005", "card_number"),
    ("mc=5555555555554444", "5555555555554444", "card_number"),
])
def test_builtin_kinds_redacted(redactor, text, secret, rule):
    out, fired = fired_by(redactor, text)
    assert secret not in out
    assert "[REDACTED]" in out
    assert rule in fired


@pytest.mark.parametrize("key", ["password", "Password", "PASSWORD", "db_password", "db-password",
                                 "passwd", "pwd", "secret", "client_secret", "client-secret",
                                 "clientSecret", "token", "access_token", "accessToken",
                                 "refresh-token", "api_key", "apiKey", "API-KEY", "apikey",
                                 "x-api-key", "private_key", "privateKey"])
def test_secret_key_spellings_text_and_json(redactor, key):
    for text in (f"login {key}=hunter2xyz user=bob", f'{{"{key}": "hunter2xyz", "user": "bob"}}',
                 f"{key}: hunter2xyz", f"{key}='hunter2xyz'"):
        out, fired = fired_by(redactor, text)
        assert "hunter2xyz" not in out, text
        assert "bob" in out or "user" not in text
        assert fired


@pytest.mark.parametrize("key", ["Password", "db-password", "apiKey", "CLIENT_SECRET", "refresh_token"])
def test_secret_keys_in_attributes_at_any_depth(redactor, key):
    record = make_record("login", attrs={"outer": {"list": [{key: "s3cr3t-value"}]}, key: 12345})
    fired = redactor.redact_record(record)
    assert "s3cr3t-value" not in json.dumps(record)
    assert record["attributes"][key] == "[REDACTED]"
    assert fired == {"secret_key"}


def test_values_in_lists_and_nested_strings(redactor):
    record = make_record("m", attrs={"headers": ["Accept: */*", f"X: {JWT}"], "deep": {"a": {"b": JWT}}})
    redactor.redact_record(record)
    assert JWT not in json.dumps(record)


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112 declined",           # Luhn-invalid
    "order 1234567890123 shipped",                  # Luhn-invalid / not a card prefix
    "ts 1767431426633 epoch millis",                # starts with 1: no card issuer
    "run 20251127-158299 finished",                 # compact date with dash
    "id 7202c6ab-2288-4577-8117-170e351b11b4",      # UUID digits
    "LLM response tokens=205 cost_usd=0.0012",      # tokens is not token
    "Invalid JWT token",                            # no value
    "Token verification failed",
    "cache miss for key",
    "Basic authentication required",                 # not a credential
    "Bearer token expired",
    "user=alice@example.com",                       # emails kept by default
])
def test_not_secrets_kept(redactor, text):
    assert redactor.redact_text(text) == text


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("4012888888881881")
    assert not luhn_ok("4111111111111112")


def test_card_as_int_attribute(redactor):
    record = make_record("pay", attrs={"card": 4012888888881881, "amount": 1250, "big": 4012888888881882})
    assert redactor.redact_record(record) == {"card_number"}
    assert record["attributes"] == {"card": "[REDACTED]", "amount": 1250, "big": 4012888888881882}


def test_email_rule_opt_in():
    redactor = Redactor(RedactSettings(mask_emails=True))
    out, fired = fired_by(redactor, "user=alice@example.com ok")
    assert out == "user=[REDACTED] ok" and fired == {"email"}


def test_hash_mode_correlates_equal_secrets_and_hides_key():
    settings = RedactSettings(replacement="hash", hash_key="k3y")
    redactor = Redactor(settings)
    a = redactor.redact_text("password=one1 and password=one1 and password=two2")
    hashes = a.split("[REDACTED:")[1:]
    assert len(hashes) == 3 and hashes[0][:8] == hashes[1][:8] != hashes[2][:8]
    assert "one1" not in a and "k3y" not in repr(settings)
    assert Redactor(RedactSettings(replacement="hash", hash_key="other")).redact_text("password=one1") != \
        redactor.redact_text("password=one1")


def test_user_rules_and_disable():
    settings = RedactSettings.model_validate({
        "rules": [{"name": "order", "pattern": r"ORD-(\d{6})", "group": 1}],
        "disable": ["card_number"]})
    redactor = Redactor(settings)
    out, fired = fired_by(redactor, "order ORD-123456 card 4111111111111111")
    assert out == "order ORD-[REDACTED] card 4111111111111111" and fired == {"order"}


def test_stage_reports_each_rule_once(fates):
    stage = RedactStage(Redactor(RedactSettings()), fates)
    record = make_record(f"a {JWT} b {JWT}", raw=f"x {JWT}", attrs={"password": "p", "t": JWT})
    assert stage(record) is record
    assert fates.events == [("changed", "redacted", "jwt"), ("changed", "redacted", "secret_key")]
    assert JWT not in json.dumps(record)


def test_stage_leaves_clean_records_untouched(fates):
    stage = RedactStage(Redactor(RedactSettings()), fates)
    record = make_record("Calling Kling adapter", attrs={"job_id": "job-e5b17904-7003", "scene": 1})
    before = json.loads(json.dumps(record))
    assert stage(record) == before and fates.events == []


def test_redaction_is_idempotent(redactor):
    once = redactor.redact_text(f'authorization="Bearer {JWT}" password=x1y2z3')
    assert redactor.redact_text(once) == once


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
def test_secrets_corpus_lines(redactor):
    """Every value of secrets.json disappears from every line; alice@example.com stays."""
    secrets = json.loads((CORPUS / "secrets.json").read_text())
    for line in (CORPUS / "input" / "auth.log").read_text().splitlines():
        out = redactor.redact_text(line)
        assert not any(secret in out for secret in secrets), out
        if "alice@example.com" in line:
            assert "alice@example.com" in out
