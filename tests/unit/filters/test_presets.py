"""Noise presets: health, polling, auth_success, third_party, and the warning/status guard."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.filters.presets import NoiseStage
from shipper.filters.settings import FilterSettings
from shipper.stages import RecordingFates

from .conftest import make_record


def noise(settings: FilterSettings | None = None) -> tuple[NoiseStage, RecordingFates]:
    fates = RecordingFates()
    return NoiseStage(settings or FilterSettings(), fates), fates


def json_request(method: str, path: str, status: int | str, level: str = "info", **extra):
    return make_record("Request completed", level,
                       attrs={"method": method, "path": path, "status": status, **extra})


@pytest.mark.parametrize("status,dropped", [(200, True), (204, True), (302, True), (399, True),
                                            (400, False), (404, False), (500, False), (503, False)])
def test_health_status_boundary(status, dropped):
    """A health check is noise only when answered below 400."""
    stage, fates = noise()
    out = stage(json_request("GET", "/healthz", status))
    assert (out is None) is dropped
    assert fates.events == ([("dropped", "noise", "health")] if dropped else [])


@pytest.mark.parametrize("path", ["/health", "/healthz", "/livez", "/readyz", "/ready", "/ping",
                                  "/metrics", "/api/v1/health", "/svc/readyz/", "/health?full=1"])
def test_health_paths_also_under_a_prefix(path):
    stage, _ = noise()
    assert stage(json_request("GET", path, 200)) is None


@pytest.mark.parametrize("path", ["/healthcheck-report", "/api/v1/jobs", "/metricsx", "/"])
def test_non_health_paths_kept(path):
    stage, _ = noise()
    assert stage(json_request("GET", path, 200)) is not None


def test_health_needs_get_or_head():
    stage, _ = noise()
    assert stage(json_request("HEAD", "/health", 200)) is None
    assert stage(json_request("POST", "/health", 200)) is not None


@pytest.mark.parametrize("level", ["warning", "error", "critical"])
def test_warning_or_above_never_noise(level):
    """Guard: a record at warning or above matching every preset is kept."""
    stage, fates = noise()
    assert stage(json_request("GET", "/healthz", 200, level=level)) is not None
    assert stage(make_record("User authenticated", level)) is not None
    assert stage(make_record("x", level, logger="urllib3.connectionpool")) is not None
    assert fates.events == []


@pytest.mark.parametrize("attrs", [
    {"http.method": "GET", "http.path": "/healthz", "http.status_code": 200},
    {"request_method": "GET", "uri": "/healthz", "status_code": "200"},
    {"method": "get", "url": "http://10.0.0.1:8080/healthz?x=1", "http_status": 200},
    {"http": {"method": "GET", "url": "/ready", "status_code": 200}},
])
def test_json_request_key_variants(attrs):
    stage, _ = noise()
    assert stage(make_record("request", attrs=attrs)) is None


def test_access_log_record_from_kube_probe():
    """Access-log records (parser fields) from kube-probe on any path are health noise."""
    stage, _ = noise()
    line = '10.244.0.1 - - [03/Jan/2026:09:10:29 +0000] "GET /ready-check HTTP/1.1" 200 2 "-" "kube-probe/1.31"'
    record = make_record(line, attrs={"method": "GET", "path": "/ready-check", "status": 200,
                                      "user_agent": "kube-probe/1.31"})
    assert stage(record) is None
    failing = make_record(line, attrs={"method": "GET", "path": "/ready-check", "status": 500,
                                       "user_agent": "kube-probe/1.31"})
    assert stage(failing) is not None


@pytest.mark.parametrize("message", [
    "GET /healthz 200 0.4ms",
    "GET /health 200",
    '10.42.1.2 - - [06/Jul/2025:10:30:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"',
    '10.42.3.4:41234 - "GET /health HTTP/1.1" 200 OK',
    "INFO GET /api/v1/jobs/job-9f1c 200 12.3ms",
    "GET /api/v1/jobs/job-e5b17904-7003-1627-52f1-6346299539c1 200",
    "GET /tasks/42/status 204",
])
def test_free_text_request_lines_are_noise(message):
    stage, _ = noise()
    assert stage(make_record(message)) is None


@pytest.mark.parametrize("message", [
    "GET /healthz 503 0.4ms",
    "GET /api/v1/jobs/job-9f1c 404 1ms",
    "POST /api/v1/jobs/job-9f1c 200 1ms",
    "GET /api/v1/generate 200",
    "fetched GET page",
])
def test_free_text_non_noise_kept(message):
    stage, _ = noise()
    assert stage(make_record(message)) is not None


def test_polling_routes_and_status():
    stage, fates = noise()
    assert stage(json_request("GET", "/api/v1/jobs/job-e5b17904", 200)) is None
    assert fates.reset() == [("dropped", "noise", "polling")]
    assert stage(json_request("GET", "/api/v1/jobs/job-e5b17904", 404)) is not None
    assert stage(json_request("GET", "/api/v1/jobs", 200)) is not None
    assert stage(json_request("DELETE", "/api/v1/jobs/x", 200)) is not None
    assert stage(json_request("GET", "/exports/abc/status", 200)) is None


def test_polling_routes_configurable():
    stage, _ = noise(FilterSettings(polling_routes=["/runs/{run}/progress"]))
    assert stage(json_request("GET", "/v2/runs/77/progress", 200)) is None
    assert stage(json_request("GET", "/api/v1/jobs/x", 200)) is not None


def test_request_without_status_is_not_noise():
    """``Request started`` carries no status: it is not known to have succeeded."""
    stage, _ = noise()
    assert stage(make_record("Request started", attrs={"method": "GET", "path": "/jobs/1"})) is not None


@pytest.mark.parametrize("message", [
    "User authenticated", "user alice authenticated successfully", "authentication succeeded",
    "Token verified", "JWT token verified for user-1", "Successfully authenticated",
    "login successful",
])
def test_auth_success_is_noise(message):
    stage, fates = noise()
    assert stage(make_record(message, "debug")) is None
    assert fates.events == [("dropped", "noise", "auth_success")]


@pytest.mark.parametrize("message", [
    "Token verification failed", "User not authenticated", "authentication failed for bob",
    "Invalid JWT token", "token verified? no: expired", "user could not be authenticated",
])
def test_failed_auth_never_noise(message):
    stage, _ = noise()
    assert stage(make_record(message, "info")) is not None


def test_third_party_loggers_below_warning():
    stage, fates = noise()
    assert stage(make_record("Starting new HTTPS connection", "debug", logger="urllib3.connectionpool")) is None
    assert stage(make_record("x", "info", logger="PIL.PngImagePlugin")) is None
    assert stage(make_record("x", "debug", logger="kubernetes.client.rest")) is None
    assert fates.events == [("dropped", "noise", "third_party")] * 3
    assert stage(make_record("x", "debug", logger="urllib3x")) is not None
    assert stage(make_record("x", "debug", logger="myapp.urllib3")) is not None
    assert stage(make_record("Retrying", "warning", logger="urllib3.connectionpool")) is not None


def test_third_party_logger_from_raw_when_parser_gave_none():
    stage, _ = noise()
    raw = "DEBUG:PIL.PngImagePlugin:STREAM b'IHDR' 16 13"
    assert stage(make_record("STREAM b'IHDR' 16 13", "debug", raw=raw)) is None


def test_third_party_list_configurable():
    stage, _ = noise(FilterSettings(third_party_loggers=["noisy"]))
    assert stage(make_record("x", "debug", logger="noisy.sub")) is None
    assert stage(make_record("x", "debug", logger="urllib3")) is not None


@pytest.mark.parametrize("presets", [{"health": False}, ["polling", "auth_success", "third_party"]])
def test_preset_switched_off_by_name(presets):
    """Mapping form and list form both switch ``health`` off and leave the others on."""
    settings = FilterSettings.model_validate({"presets": presets})
    stage, _ = noise(settings)
    assert stage(json_request("GET", "/healthz", 200)) is not None
    assert stage(json_request("GET", "/jobs/1", 200)) is None


def test_all_presets_off():
    settings = FilterSettings.model_validate({"presets": False})
    stage, _ = noise(settings)
    assert not stage.active
    assert stage(make_record("User authenticated")) is not None


def test_bench_noise_lines_all_dropped():
    """The peer-benchmark noise shapes (text and JSON) are dropped by the defaults."""
    stage, _ = noise()
    records = [
        make_record('10.42.1.1 - - [06/Jul/2025:10:30:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"'),
        make_record('10.42.9.9:40000 - "GET /health HTTP/1.1" 200 OK'),
        make_record("GET /health 200"),
        make_record("GET /api/v1/jobs/job-0d7f 200 3.1ms"),
        make_record("GET /api/v1/jobs/job-0d7f 200", attrs={"client": "10.42.0.1", "duration_ms": 3.2}),
        make_record("User authenticated", attrs={"user_id": "u-12", "method": "jwt"}),
    ]
    assert [stage(r) for r in records] == [None] * len(records)


_LEGACY_RAW = st.tuples(
    st.sampled_from(["TRACE:", "DEBUG:", "INFO:", "INFO", "info:", "WARNING:", "ERROR:", " INFO:",
                     "", "DEBUGX:", "TRACE"]),
    st.sampled_from(["urllib3.connectionpool", "urllib3", "botocore.hooks", "app.api", "PIL",
                     "", "a b", "kubernetes.client.rest", "asyncio"]),
    st.sampled_from([":", "", " :", ":x"]), st.text(max_size=12)).map("".join)


@settings(max_examples=300, deadline=None)
@given(raw=_LEGACY_RAW)
def test_a_legacy_logger_prefix_is_read_as_the_regex_alone_reads_it(raw):
    """The cheap prefix gate before the ``LEVEL:logger:`` regex changes no answer: a
    record without a ``logger`` field is third-party noise exactly when the regex finds a
    configured logger at the start of its raw line."""
    stage, _ = noise()
    match = re.match(r"^(?:TRACE|DEBUG|INFO):([\w.]+):", raw)
    loggers = FilterSettings().third_party_loggers
    expected = match is not None and any(
        match.group(1) == name or match.group(1).startswith(name + ".") for name in loggers)
    assert stage._third_party(make_record("m", raw=raw)) is expected


def test_remembered_auth_verdicts_stay_bounded_and_keep_their_answers():
    """The auth verdicts the stage remembers never exceed SEEN_MAX messages, and a message
    judged again (remembered or forgotten) gets the same answer."""
    from shipper.filters.presets import SEEN_MAX

    stage, fates = noise()
    messages = [f"user u-{i} authenticated" if i % 2 else f"user u-{i} not authenticated"
                for i in range(SEEN_MAX * 2 + 3)]
    for _ in range(2):
        kept = [stage(make_record(m)) is not None for m in messages]
        assert kept == [i % 2 == 0 for i in range(len(messages))]
        assert len(stage._auth_seen) <= SEEN_MAX
    assert fates.reset() == [("dropped", "noise", "auth_success")] * (len(messages) // 2 * 2)
