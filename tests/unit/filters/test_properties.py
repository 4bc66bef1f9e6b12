"""Property tests: presets never drop warning+; generated secrets never survive redaction."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from shipper.filters.presets import NoiseStage
from shipper.filters.redact import Redactor
from shipper.filters.secrets import luhn_ok
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.stages import RecordingFates

from .conftest import make_record

NOISE = NoiseStage(FilterSettings(), RecordingFates())
REDACTOR = Redactor(RedactSettings())
ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"

messages = st.one_of(
    st.sampled_from(["GET /healthz 200 0.4ms", "User authenticated", "token verified",
                     "GET /api/v1/jobs/x 200", '"GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"']),
    st.text(max_size=80),
)
attrs = st.fixed_dictionaries({}, optional={
    "method": st.sampled_from(["GET", "HEAD", "POST"]), "path": st.sampled_from(["/health", "/jobs/1", "/x"]),
    "status": st.integers(100, 599), "user_agent": st.sampled_from(["kube-probe/1.31", "curl/8"])})


@given(message=messages, level=st.sampled_from(["warning", "error", "critical"]), attrs=attrs,
       logger=st.sampled_from([None, "urllib3.connectionpool", "botocore", "app"]))
def test_presets_never_drop_warning_or_above(message, level, attrs, logger):
    record = make_record(message, level, attrs=attrs)
    if logger:
        record["logger"] = logger
    assert NOISE(record) is record


@given(message=messages, level=st.sampled_from(["trace", "debug", "info"]),
       status=st.integers(400, 599), path=st.sampled_from(["/health", "/jobs/1", "/readyz"]))
def test_failing_requests_never_noise(message, level, status, path):
    record = make_record(f"GET {path} {status} 1ms", level,
                         attrs={"method": "GET", "path": path, "status": status,
                                "user_agent": "kube-probe/1.31"})
    assert NOISE(record) is record


def _luhn_complete(prefix: str, length: int, body: str) -> str:
    digits = (prefix + body)[: length - 1]
    for check in "0123456789":
        if luhn_ok(digits + check):
            return digits + check
    raise AssertionError("unreachable")


cards = st.builds(_luhn_complete, st.sampled_from(["4", "51", "55", "2221", "34", "37", "6011", "35"]),
                  st.sampled_from([13, 15, 16, 19]), st.text("0123456789", min_size=20, max_size=20)).map(
    lambda number: number)
jwts = st.builds(lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}", st.text(B64URL, min_size=8, max_size=40),
                 st.text(B64URL, min_size=8, max_size=80), st.text(B64URL, min_size=16, max_size=60))
aws_ids = st.builds(lambda p, s: p + s, st.sampled_from(["AKIA", "ASIA"]),
                    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16))
aws_secrets = st.text(ALNUM + "/+", min_size=40, max_size=40)
tokens = st.one_of(
    st.builds(lambda p, s: p + s, st.sampled_from(["ghp_", "gho_", "ghs_"]), st.text(ALNUM, min_size=36, max_size=40)),
    st.builds(lambda p, s: p + s, st.sampled_from(["xoxb-", "xoxp-"]), st.text(ALNUM + "-", min_size=12, max_size=40)),
    st.builds(lambda s: "AIza" + s, st.text(B64URL, min_size=35, max_size=35)),
)
passwords = st.text(ALNUM + "!#$%^*()[]{}<>?/|~", min_size=6, max_size=30)
key_names = st.sampled_from(["password", "Password", "DB_PASSWORD", "db-passwd", "pwd", "secret",
                             "client_secret", "clientSecret", "token", "access_token", "refreshToken",
                             "api_key", "apiKey", "X-Api-Key", "private_key"])
secret_in_context = st.one_of(
    cards.map(lambda c: (c, f"paid with card {c} today")),
    cards.map(lambda c: (c, f"card={c[:4]} {c[4:8]} {c[8:12]} {c[12:]}" if len(c) == 16 else f"card={c}")),
    jwts.map(lambda j: (j, f"jwt={j} user=alice@example.com")),
    jwts.map(lambda j: (j, f'authorization="Bearer {j}"')),
    aws_ids.map(lambda k: (k, f"loaded key {k} for s3")),
    aws_secrets.map(lambda s: (s, f"aws_secret_access_key={s}")),
    tokens.map(lambda t: (t, f"using {t} now")),
    st.tuples(key_names, passwords).map(lambda kv: (kv[1], f"{kv[0]}={kv[1]} next=1")),
    st.tuples(key_names, passwords).map(lambda kv: (kv[1], f'{{"{kv[0]}": "{kv[1]}", "n": 1}}')),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(case=secret_in_context, prefix=st.text(max_size=20).filter(lambda s: "\\" not in s))
def test_generated_secrets_never_survive(case, prefix):
    secret, text = case
    assume(secret not in prefix)
    assume(secret not in "[REDACTED]")  # a "secret" like "[REDAC" is found in the mask itself
    out = REDACTOR.redact_text(prefix + " " + text)
    assert secret not in out
    record = make_record(text, attrs={"nested": [{"value": text}]}, raw=text)
    # a "secret" spelled like a part of every record ("offset", "path") is not the line's
    skeleton = make_record("", attrs={"nested": [{"value": ""}]}, raw="")
    assume(secret not in str(skeleton))
    REDACTOR.redact_record(record)
    assert secret not in str(record)
