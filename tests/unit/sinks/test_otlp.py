"""The OTLP sink's protocol rules: the endpoint path, the outcome of every HTTP status
(OTLP/HTTP retries only 429/502/503/504 and never splits on 413), ``partial_success``
and error bodies (``google.rpc.Status``)."""

from __future__ import annotations

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceResponse,
)
from pydantic import ValidationError

from shipper.errors import FatalSinkError, PayloadTooLargeError, RetryableSinkError
from shipper.metrics import Metrics
from shipper.sinks import _worker_class
from shipper.sinks.otlp import (
    OtlpSink,
    classify_otlp,
    logs_url,
    partial_success,
    status_message,
)
from shipper.sinks.settings import OtlpSinkSettings, parse_sink_flag
from tests.receivers.otlp import _status

NOW = 1_700_000_000.0


def outcome(status: int, headers: dict[str, str] | None = None) -> Exception | None:
    try:
        classify_otlp(status, headers, sink="otlp", now=NOW)
    except (RetryableSinkError, FatalSinkError, PayloadTooLargeError) as exc:
        return exc
    return None


@pytest.mark.parametrize("status", [200, 202, 204])
def test_2xx_is_delivered(status):
    assert outcome(status) is None


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_only_429_502_503_504_are_retryable(status):
    exc = outcome(status)
    assert type(exc) is RetryableSinkError and exc.status == status and exc.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 500, 501,
                                    505, 507, 599])
def test_every_other_status_is_final_413_and_500_included(status):
    exc = outcome(status)
    assert type(exc) is FatalSinkError and exc.status == status  # never a split, never a retry


def test_retry_after_seconds_and_http_date_are_honoured():
    assert outcome(429, {"Retry-After": "7"}).retry_after == 7.0
    exc = outcome(503, {"Retry-After": "Tue, 14 Nov 2023 22:13:40 GMT"})  # NOW + 20 s
    assert exc.retry_after == pytest.approx(20.0)


def test_the_sinks_classify_is_the_otlp_one_not_the_generic_http_one():
    s = OtlpSink(OtlpSinkSettings(url="http://127.0.0.1:1"), metrics=Metrics(collectors=False))
    with pytest.raises(FatalSinkError):
        s.classify(413, {})  # the generic rule would raise PayloadTooLargeError (split)
    with pytest.raises(FatalSinkError):
        s.classify(500, {})  # the generic rule would retry
    with pytest.raises(RetryableSinkError):
        s.classify(502, {})


@pytest.mark.parametrize(("url", "expected"), [
    ("http://collector:4318", "http://collector:4318/v1/logs"),
    ("http://collector:4318/", "http://collector:4318/v1/logs"),
    ("http://loki:3100/otlp", "http://loki:3100/otlp/v1/logs"),
    ("https://otlp.datadoghq.com/v1/logs", "https://otlp.datadoghq.com/v1/logs"),
])
def test_the_logs_path_is_appended_to_a_base_endpoint(url, expected):
    assert logs_url(url) == expected


def test_partial_success_in_protobuf_and_json_responses():
    response = ExportLogsServiceResponse()
    response.partial_success.rejected_log_records = 3
    response.partial_success.error_message = "too old"
    assert partial_success(response.SerializeToString(), "application/x-protobuf") == (3, "too old")
    body = orjson.dumps({"partialSuccess": {"rejectedLogRecords": "2", "errorMessage": "bad"}})
    assert partial_success(body, "application/json") == (2, "bad")
    assert partial_success(b"", "application/x-protobuf") == (0, "")
    assert partial_success(b"\xff\xfe garbage", "application/x-protobuf") == (0, "")
    assert partial_success(b"{not json", "application/json") == (0, "")


def test_error_body_message_from_a_status_in_either_encoding_or_text():
    assert status_message(_status(3, "cannot decode", "application/x-protobuf"),
                          "application/x-protobuf") == "cannot decode"
    assert status_message(_status(3, "bad json", "application/json"),
                          "application/json") == "bad json"
    assert status_message(b"entry too far\nbehind", "text/plain") == "entry too far behind"
    assert len(status_message(b"x" * 5000, "text/plain")) == 300


def test_settings_defaults_flag_and_worker_class():
    s = OtlpSinkSettings(url="http://127.0.0.1:4318")
    assert (s.encoding, s.compression, s.max_request_bytes) == ("protobuf", "gzip", 4 << 20)
    assert parse_sink_flag("otlp=http://127.0.0.1:4318") == {
        "type": "otlp", "name": "otlp", "url": "http://127.0.0.1:4318"}
    assert _worker_class("otlp") is OtlpSink
    with pytest.raises(ValidationError, match="encodings"):
        OtlpSinkSettings(url="http://127.0.0.1:4318", encodings="json")
    with pytest.raises(ValidationError):
        OtlpSinkSettings(url="grpc://127.0.0.1:4317")
    with pytest.raises(ValidationError):
        OtlpSinkSettings(url="http://127.0.0.1:4318", max_request_bytes="1KiB")


def test_every_sink_type_is_allowed_by_the_helm_values_schema():
    """A sink type the chart's schema does not list cannot be configured through Helm."""
    import json
    from pathlib import Path

    from shipper.sinks.settings import SINK_TYPES

    schema = json.loads((Path(__file__).resolve().parents[3] / "helm" / "shipper"
                         / "values.schema.json").read_text())
    enum = next(e for e in _enums(schema) if "loki" in e)
    assert set(SINK_TYPES) <= set(enum)


def _enums(node):
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield node["enum"]
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)
