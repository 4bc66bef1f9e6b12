"""The batch pre-scan: exact hit mapping, and stages give the same result with and without it."""

from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shipper.config import ParseSettings
from shipper.filters.prescan import BatchScan, flexible, re2_available
from shipper.filters.presets import NoiseStage
from shipper.filters.redact import RedactStage, Redactor
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.parse import FileParser, ParseCounts
from shipper.stages import RecordingFates

needs_re2 = pytest.mark.skipif(not re2_available(), reason="google-re2 not installed")


@needs_re2
def test_hits_are_the_indices_of_matching_texts_and_unjudgeable_ones():
    scan = BatchScan(flexible("password") + "|kube")
    texts = ["plain", "PASS-_word=1", None, "x", "café", "a kube b", ""]
    assert scan.hits(texts) == {1, 2, 4, 5}


@needs_re2
def test_a_clean_batch_has_no_hits():
    assert BatchScan("secret").hits(["a", "b", "c" * 1000]) == set()


# -- equivalence: prepare() + stage == stage alone, on parsed lines ------------------------

WORDS = ["password", "Pass-Word", "api_key", "APIKEY", "token", "Authorization", "bearer",
         "GET", "get", "HEAD", "kube-probe/1.29", "/health", "/jobs/7", "authenticated",
         "User", "verified", "login succeeded", "successfully logged in", "urllib3.pool",
         "logger", "msg", "status", "200", "404", "4111 1111 1111 1111", "4111111111111111",
         "eyJhbGciOi.eyJzdWIiOi.sig", "AKIAABCDEFGHIJKLMNOP", "x", "=", ":", " ", "-",
         "\\u0070assword", "\\u0047ET", "é", "\\n", '"', "{", "}", "ghp_" + "a" * 36]

fragments = st.lists(st.sampled_from(WORDS), max_size=12).map("".join)


@st.composite
def lines(draw) -> str:
    kind = draw(st.sampled_from(["json", "text", "logfmt"]))
    if kind == "json":
        obj = draw(st.dictionaries(fragments, st.one_of(fragments, st.integers(-2**62, 2**62)), max_size=5))
        text = orjson.dumps(obj).decode()
        # JSON escapes of secret names: the raw line differs from the parsed text
        return text.replace("p", "\\u0070") if draw(st.booleans()) else text
    if kind == "logfmt":
        return " ".join(f"{draw(fragments) or 'k'}={draw(fragments)}" for _ in range(3))
    return draw(fragments)


def _parse(batch: list[str]) -> list[dict]:
    parser = FileParser("/a.log", ParseSettings(), ParseCounts(), clock=lambda: 1.7e9)
    lines_ = [(i, line.encode()) for i, line in enumerate(batch)]
    return parser.feed(lines_) + parser.flush(force=True)


def _run(stage, records, prepared: bool, fates: RecordingFates):
    if prepared:
        stage.prepare(records, {})
    out = []
    for record in records:
        result = stage(record)
        out.append((copy.deepcopy(result), fates.reset()))
    stage.release()
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(lines(), min_size=1, max_size=8))
def test_redaction_is_the_same_with_the_prescan(batch):
    """The pre-scan is a sound superset: no record it lets skip would have been changed."""
    fates_a, fates_b = RecordingFates(), RecordingFates()
    plain = RedactStage(Redactor(RedactSettings()), fates_a)
    scanned = RedactStage(Redactor(RedactSettings()), fates_b)
    records = _parse(batch)
    assert _run(plain, copy.deepcopy(records), False, fates_a) == \
        _run(scanned, records, True, fates_b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(lines(), min_size=1, max_size=8))
def test_noise_presets_are_the_same_with_the_prescan(batch):
    """Every record a preset drops is still dropped when the batch was pre-scanned."""
    fates_a, fates_b = RecordingFates(), RecordingFates()
    plain = NoiseStage(FilterSettings(), fates_a)
    scanned = NoiseStage(FilterSettings(), fates_b)
    records = _parse(batch)
    assert _run(plain, copy.deepcopy(records), False, fates_a) == \
        _run(scanned, records, True, fates_b)


def test_secret_in_path_fields_disables_the_skip():
    """Attributes added after parsing (path-template fields) are not on the raw line."""
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    record = _parse(["plain line"])[0]
    record["attributes"]["password"] = "hunter22"
    stage.prepare([record], {"password": "hunter22"})
    assert stage(record)["attributes"]["password"] == "[REDACTED]"


def test_records_after_release_are_checked_in_full():
    """A stage used without a live pre-scan (dedupe drains, explain) checks every record."""
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    records = _parse(["hello world"])
    stage.prepare(records, {})
    stage.release()
    records[0]["message"] = "password=hunter22"
    assert stage(records[0])["message"] == "password=[REDACTED]"


@pytest.mark.parametrize("line", [
    '{"msg":"x","\\u0070assword":"hunter22"}',
    '{"msg":"Bearer abcdefghijklmnopqrstuvwxyz0123"}',
    '{"msg":"card","n":4111111111111111}',
    "login ok pass-_word=hunter22",
])
def test_lines_with_secrets_are_redacted_after_the_prescan(line):
    """JSON escapes, card-sized integers and split key names still reach the redactor."""
    stage = RedactStage(Redactor(RedactSettings()), RecordingFates())
    records = _parse([line])
    stage.prepare(records, {})
    text = orjson.dumps({k: v for k, v in stage(records[0]).items() if k != "_raw"})
    stage.release()
    assert b"[REDACTED]" in text
