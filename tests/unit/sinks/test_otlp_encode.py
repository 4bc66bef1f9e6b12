"""OTLP encoding (pure): resources, severities, attributes, the JSON shape, request sizes.

Every body is decoded back with the official ``opentelemetry-proto`` classes (JSON through
``google.protobuf.json_format``, as the test receiver does)."""

from __future__ import annotations

import gzip

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)

from shipper.metrics import Metrics
from shipper.sinks.otlp import OtlpSink
from shipper.sinks.otlp_values import SEVERITY, resource_of
from shipper.sinks.settings import OtlpSinkSettings
from tests.receivers.harness import make_record
from tests.receivers.otlp import JSON, PROTOBUF, OtlpReceiver, py_value

TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


def sink(**kw):
    kw.setdefault("compression", "none")
    return OtlpSink(OtlpSinkSettings(url="http://127.0.0.1:1", **kw),
                    metrics=Metrics(collectors=False), wall_clock=lambda: 1_700_000_000.5)


def decode(payload, json=False):
    body = payload.body
    if payload.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return OtlpReceiver._decode(body, JSON if json else PROTOBUF)


def logs(export):
    return [(rl, log) for rl in export.resource_logs for sl in rl.scope_logs
            for log in sl.log_records]


def test_one_resource_logs_per_distinct_pod_container_in_a_request():
    a = make_record(1)
    b = make_record(2, k8s={**a["k8s"], "container": "sidecar"})
    export = decode(sink().encode([a, b, make_record(3)])[0])
    assert len(export.resource_logs) == 2
    counts = [len(rl.scope_logs[0].log_records) for rl in export.resource_logs]
    assert counts == [2, 1]
    assert all(rl.scope_logs[0].scope.name == "shipper" for rl in export.resource_logs)


def test_resource_attributes_follow_the_k8s_semantic_conventions():
    k8s = {"namespace": "video", "pod": "enc-1", "pod_uid": "u-1", "node": "n1",
           "container": "app", "labels": {"job-name": "enc", "app.kubernetes.io/name": "encoder"},
           "cronjob": "nightly"}
    assert dict(resource_of(k8s)) == {
        "k8s.namespace.name": "video", "k8s.pod.name": "enc-1", "k8s.pod.uid": "u-1",
        "k8s.node.name": "n1", "k8s.container.name": "app", "k8s.job.name": "enc",
        "k8s.cronjob.name": "nightly", "service.name": "encoder",
        "service.instance.id": "video.enc-1.app"}


@pytest.mark.parametrize(("k8s", "service"), [
    ({"pod": "p", "annotations": {"resource.opentelemetry.io/service.name": "annotated"},
      "labels": {"app.kubernetes.io/instance": "inst", "app.kubernetes.io/name": "nm"}}, "annotated"),
    ({"pod": "p", "labels": {"app.kubernetes.io/instance": "inst", "app.kubernetes.io/name": "nm"}},
     "inst"),
    ({"pod": "p", "labels": {"app.kubernetes.io/name": "nm", "job-name": "j"}}, "nm"),
    ({"pod": "p", "owner": {"kind": "Job", "name": "owned"}}, "owned"),
    ({"pod": "p", "labels": {"batch.kubernetes.io/job-name": "j"}}, "j"),
    ({"pod": "p"}, "p"),
    ({}, "unknown_service"),
])
def test_service_name_fallback_chain(k8s, service):
    assert dict(resource_of(k8s))["service.name"] == service


def test_resource_annotations_and_configured_attributes_set_resource_attributes():
    k8s = {"namespace": "n", "pod": "p", "container": "c", "annotations": {
        "resource.opentelemetry.io/service.instance.id": "i-9",
        "resource.opentelemetry.io/deployment.environment.name": "prod"}}
    got = dict(resource_of(k8s, {"deployment.environment.name": "staging"}))
    assert got["service.instance.id"] == "i-9"
    assert got["deployment.environment.name"] == "staging"


def test_severity_map_covers_every_level_with_otel_numbers_and_short_names():
    export = decode(sink().encode([make_record(i, level=lvl) for i, lvl in enumerate(SEVERITY)])[0])
    got = [(log.severity_number, log.severity_text) for _, log in logs(export)]
    assert got == [(1, "TRACE"), (5, "DEBUG"), (9, "INFO"), (13, "WARN"), (17, "ERROR"),
                   (21, "FATAL")]


def test_log_record_fields_times_body_ids_and_attributes():
    record = make_record(7, logger="stages.demux", stream="stderr", trace_id=TRACE, span_id=SPAN,
                         attributes={"user": {"id": 5, "tags": ["a", 1.5, True, None]},
                                     "huge": 2**70})
    (_, log), = logs(decode(sink().encode([record])[0]))
    assert log.time_unix_nano == 1714557607007000000
    assert log.observed_time_unix_nano == 1_700_000_000_500_000_000
    assert py_value(log.body) == "frame 7 done"
    assert log.trace_id.hex() == TRACE and log.span_id.hex() == SPAN
    attrs = {kv.key: py_value(kv.value) for kv in log.attributes}
    assert attrs == {"user": {"id": 5, "tags": ["a", 1.5, True, None]}, "huge": str(2**70),
                     "job_id": "job-abc123", "correlation_id": "req-7", "shard_index": 3,
                     "logger": "stages.demux", "log.file.path": "/var/log/app/a.log",
                     "log.iostream": "stderr"}
    assert "raw 7" not in str(attrs)  # the raw line stays home


def test_invalid_trace_id_is_kept_as_an_attribute_not_sent_as_an_id():
    (_, log), = logs(decode(sink().encode([make_record(1, trace_id="xyz", span_id="0" * 16)])[0]))
    assert log.trace_id == b"" and log.span_id == b""
    attrs = {kv.key: py_value(kv.value) for kv in log.attributes}
    assert attrs["trace_id"] == "xyz" and attrs["span_id"] == "0" * 16


def test_json_shape_follows_the_otlp_json_spec():
    record = make_record(2, level="error", trace_id=TRACE, span_id=SPAN,
                         attributes={"n": 12, "m": {"k": [1]}})
    payload = sink(encoding="json").encode([record])[0]
    assert payload.headers["Content-Type"] == "application/json"
    doc = orjson.loads(payload.body)
    rl = doc["resourceLogs"][0]
    assert {"key": "k8s.pod.name", "value": {"stringValue": "encoder-7d9f-abcde"}} in \
        rl["resource"]["attributes"]
    log = rl["scopeLogs"][0]["logRecords"][0]
    assert log["timeUnixNano"] == "1714557602002000000"          # int64 as a string
    assert log["observedTimeUnixNano"] == "1700000000500000000"
    assert log["severityNumber"] == 17 and log["severityText"] == "ERROR"  # enum as a number
    assert log["traceId"] == TRACE and log["spanId"] == SPAN        # hex, not base64
    assert log["body"] == {"stringValue": "frame 2 done"}
    attrs = {a["key"]: a["value"] for a in log["attributes"]}
    assert attrs["n"] == {"intValue": "12"} and attrs["shard_index"] == {"intValue": "3"}
    assert attrs["m"] == {"kvlistValue": {"values": [
        {"key": "k", "value": {"arrayValue": {"values": [{"intValue": "1"}]}}}]}}
    # and the official classes read it back (hex ids as the Collector reads them)
    (_, decoded), = logs(decode(payload, json=True))
    assert decoded.trace_id.hex() == TRACE and decoded.severity_number == 17


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_requests_are_split_at_max_request_bytes_and_none_is_empty(encoding):
    records = [make_record(i, message="x" * 3000) for i in range(200)]
    records += [make_record(i, k8s={"pod": f"other-{i % 3}"}) for i in range(30)]
    payloads = sink(encoding=encoding, max_request_bytes="64KiB").encode(records)
    assert len(payloads) > 5
    seen = []
    for payload in payloads:
        assert 0 < len(payload.body) <= 64 * 1024 and payload.raw_bytes == len(payload.body)
        export = decode(payload, json=encoding == "json")
        got = logs(export)
        assert got and len(got) == payload.count
        assert len({rl.resource.SerializeToString() for rl in export.resource_logs}) == \
            len(export.resource_logs)  # one ResourceLogs per resource in each request
        seen += [py_value(log.body) for _, log in got]
    assert sorted(seen) == sorted(r["message"] for r in records)


def test_no_request_at_all_for_no_records():
    assert sink().encode([]) == []


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_a_record_bigger_than_a_request_is_shortened_and_counted(encoding):
    s = sink(encoding=encoding, max_request_bytes="16KiB")
    big = make_record(1, message="y" * 40_000)
    wide = make_record(2, attributes={f"k{i}": "v" * 100 for i in range(400)})
    payloads = s.encode([big, make_record(3), wide])
    assert all(len(p.body) <= 16 * 1024 for p in payloads)
    got = [log for p in payloads for _, log in logs(decode(p, json=encoding == "json"))]
    assert len(got) == 3 and s.counts["truncated"] == 2
    assert py_value(got[0].body).endswith("[truncated]")
    wide_attrs = {kv.key: py_value(kv.value) for kv in got[2].attributes}
    assert wide_attrs["otlp.attributes_dropped"] is True and wide_attrs["job_id"] == "job-abc123"


def test_gzip_is_the_default_compression_and_the_protobuf_content_type():
    s = OtlpSink(OtlpSinkSettings(url="http://127.0.0.1:1"), metrics=Metrics(collectors=False))
    payload = s.encode([make_record(1)])[0]
    assert payload.headers == {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    assert len(ExportLogsServiceRequest.FromString(gzip.decompress(payload.body)).resource_logs) == 1


def test_deep_nesting_beyond_the_limit_is_sent_as_json_text():
    deep: dict = {"leaf": 1}
    for _ in range(40):
        deep = {"d": deep}
    (_, log), = logs(decode(sink().encode([make_record(1, attributes={"deep": deep})])[0]))
    value = {kv.key: py_value(kv.value) for kv in log.attributes}["deep"]
    for _ in range(20):
        value = value["d"]
    assert isinstance(value, str) and orjson.loads(value)["d"]["d"] is not None
