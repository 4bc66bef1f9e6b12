"""Every kind of secret in the catalogue is replaced, by the rule named for it, and its
near miss is kept; plus the edges of the context-dependent kinds (URL credentials, AWS
secret keys, cookies, signed URLs) and the rule list the settings accept."""

from __future__ import annotations

import pytest

from shipper.filters.redact import Redactor
from shipper.filters.secrets import RULE_NAMES, builtin_rules
from shipper.filters.settings import RedactSettings
from tests.unit.helpers import rec

from .secret_samples import AWS_KEY_ID, AWS_SECRET, GIT_SHA, NEAR_MISSES, SAMPLES

REDACTOR = Redactor(RedactSettings())
IDS = [f"{i}-{s.kind}" for i, s in enumerate(SAMPLES)]


def redact(text: str) -> tuple[str, set[str]]:
    fired: set[str] = set()
    return REDACTOR.redact_text(text, fired), fired


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_each_kind_is_replaced_by_its_rule(sample):
    out, fired = redact(sample.text)
    assert [s for s in sample.secrets if s in out] == []
    assert "[REDACTED" in out
    assert sample.kind in fired, fired


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_each_near_miss_is_kept(sample):
    assert redact(sample.near_miss) == (sample.near_miss, set())


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_each_kind_is_replaced_once_and_for_all(sample):
    """Redaction is idempotent: a second pass changes nothing and fires nothing."""
    once, _ = redact(sample.text)
    assert redact(once) == (once, set())


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_each_kind_in_hash_mode_hides_the_secret_and_correlates(sample):
    hashed = Redactor(RedactSettings(replacement="hash", hash_key="k"))
    first, second = hashed.redact_text(sample.text), hashed.redact_text(sample.text)
    assert first == second and "[REDACTED:" in first
    assert [s for s in sample.secrets if s in first] == []


@pytest.mark.parametrize("text", NEAR_MISSES + [
    "user alice@example.com logged in", "ssh git@github.com:org/repo.git",
    "https://example.com:8443/users/@alice?page=2", "postgres://db:5432/app",
    "http://[::1]:8080/x", "risk-free rate", "task-scheduler-v2 started", "asks-for-more",
    "SKIPPED 12 TASKS", f"aws s3 cp done, etag {GIT_SHA}",
    "secret /api/v1/namespaces/default/secrets/Abc12def/status/a1",  # a path, not a key
    "signature verification failed", "cookie consent", "AccountName=acct",
    "sig=short? no: design sign assign", "hvs.config", "SG.1", "npm_config_cache=/tmp",
    "pk_live_51H8abcdefghijklmnopqrstu",  # a publishable key is public
])
def test_look_alikes_are_kept(text):
    assert redact(text) == (text, set())


def test_url_password_keeps_user_host_and_path():
    out, fired = redact("connect postgres://app:s3cr3t!Pw@db.internal:5432/orders?ssl=1")
    assert out == "connect postgres://app:[REDACTED]@db.internal:5432/orders?ssl=1"
    assert fired == {"url_password"}


def test_url_password_with_an_at_sign_inside_and_json_escaped_slashes():
    out, _ = redact('{"dsn": "mysql:\\/\\/root:p@ss:w0rd@mysql:3306\\/shop"}')
    assert "p@ss:w0rd" not in out and "@mysql:3306" in out
    out, _ = redact("redis://:only-a-password@redis:6379/0")
    assert out == "redis://:[REDACTED]@redis:6379/0"


def test_url_password_does_not_run_across_json_fields():
    text = '{"a":"x://u:p","b":"c@d"}'
    assert redact(text) == (text, set())


def test_aws_secret_key_needs_context_and_a_generated_look():
    assert AWS_SECRET not in redact(f"{AWS_KEY_ID} {AWS_SECRET}")[0]        # key id before
    assert AWS_SECRET not in redact(f"{AWS_SECRET} is the AWS one")[0]      # context after
    assert AWS_SECRET not in redact(f"secret: {AWS_SECRET}")[0]
    assert redact(f"build {AWS_SECRET} done")[0].count(AWS_SECRET) == 1     # no context
    lower = AWS_SECRET.lower().replace("/", "a").replace("+", "b")
    assert lower in redact(f"aws {lower}")[0]                              # one case only


def test_aws_secret_key_next_to_its_key_id_in_another_attribute():
    record = rec({"message": "creds", "attributes": {"id": AWS_KEY_ID, "sk": AWS_SECRET,
                                                     "etag": GIT_SHA}})
    fired = REDACTOR.redact_record(record)
    assert record["attributes"] == {"id": "[REDACTED]", "sk": "[REDACTED]", "etag": GIT_SHA}
    assert fired == {"aws_access_key_id", "aws_secret_key"}


def test_cookie_header_forms():
    assert redact("Cookie: a=1; sid=abcdef123456")[0] == "Cookie: [REDACTED]"
    out, _ = redact('{"headers": {"Set-Cookie": "sid=abcdef123456; Path=/"}, "n": 1}')
    assert out == '{"headers": {"Set-Cookie": "[REDACTED]"}, "n": 1}'
    assert redact("cookie=abcdef123456 user=bob")[0] == "cookie=[REDACTED] user=bob"


def test_cookie_key_in_attributes_is_masked_whatever_secret_keys_says():
    redactor = Redactor(RedactSettings(secret_keys=["password"]))
    record = rec({"message": "m", "attributes": {"headers": {"Cookie": "sid=abc",
                                                             "Accept": "*/*"}}})
    assert redactor.redact_record(record) == {"cookie"}
    assert record["attributes"]["headers"] == {"Cookie": "[REDACTED]", "Accept": "*/*"}


def test_signed_url_keeps_the_unsigned_parameters():
    out, fired = redact("GET /b?X-Amz-Date=20260101T000000Z&X-Amz-Signature=abc123def&x=1")
    assert out == "GET /b?X-Amz-Date=20260101T000000Z&X-Amz-Signature=[REDACTED]&x=1"
    assert fired == {"url_signature"}


def test_pgp_and_openssh_private_key_blocks():
    for kind in ("PGP PRIVATE KEY BLOCK", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"):
        out, fired = redact(f"-----BEGIN {kind}-----\nabcDEF123\n-----END {kind}-----\nafter")
        assert out == "[REDACTED]\nafter" and fired == {"private_key"}


def test_rule_names_are_the_rules_and_the_settings_accept_each():
    assert [r.name for r in builtin_rules(["password"])] == list(RULE_NAMES)
    for name in RULE_NAMES:
        redactor = Redactor(RedactSettings(disable=[name]))
        assert name not in redactor.rule_names


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_a_disabled_kind_is_left_alone(sample):
    """``redact.disable`` switches a kind off (another rule may still catch the value)."""
    redactor = Redactor(RedactSettings(disable=[sample.kind]))
    fired: set[str] = set()
    redactor.redact_text(sample.text, fired)
    assert sample.kind not in fired


def test_scans_keep_their_flags_to_themselves():
    """Scans are joined into one alternation: a global ``(?i)`` in one of them would
    make every later alternative case-insensitive (and the pre-scan far less selective)."""
    import re

    for rule in builtin_rules(["password"]):
        for scan in (rule.scan, rule.text_scan):
            assert scan is None or not re.search(r"\(\?[aiLmsux]+\)", scan), rule.name
