"""Loki encoding (pure): label strings, streams, order, structured metadata, limits."""

from __future__ import annotations

import orjson
import snappy

from shipper.metrics import Metrics
from shipper.sinks.loki import LokiSink, label_string, push_url
from shipper.sinks.proto import load_push_schema
from shipper.sinks.settings import LokiSinkSettings
from tests.receivers.harness import make_record
from tests.receivers.loki import parse_labels

NOW = 1_714_559_400.0  # 2024-05-01T10:30:00Z, just after make_record's timestamps
SCHEMA = load_push_schema()


def sink(**kw):
    return LokiSink(LokiSinkSettings(url="http://127.0.0.1:3100", **kw),
                    metrics=Metrics(collectors=False), wall_clock=lambda: NOW)


def decode(s, payload):
    return SCHEMA.PushRequest.FromString(snappy.uncompress(payload.body))


def test_push_url_appends_the_push_path_only_to_a_bare_address():
    assert push_url("http://loki:3100") == "http://loki:3100/loki/api/v1/push"
    assert push_url("http://loki:3100/") == "http://loki:3100/loki/api/v1/push"
    assert push_url("https://gw/loki/api/v1/push") == "https://gw/loki/api/v1/push"


def test_label_string_sorts_names_and_escapes_values_so_loki_can_parse_them():
    text = label_string({"b": 'say "hi"\\', "a": "x\ny"})
    assert text == '{a="x\\ny", b="say \\"hi\\"\\\\"}'
    assert parse_labels(text) == {"a": "x\ny", "b": 'say "hi"\\'}


def test_one_stream_per_label_set_with_entries_in_timestamp_order():
    s = sink()
    records = [make_record(3), make_record(1), make_record(2, level="error")]
    push = decode(s, s.encode(records)[0])
    by_labels = {st.labels: [e.timestamp.seconds for e in st.entries] for st in push.streams}
    key = '{app="encoder", container="worker", namespace="video"}'
    assert list(by_labels) == [key] and by_labels[key] == sorted(by_labels[key])


def test_ids_are_structured_metadata_never_labels():
    push = decode(s := sink(), s.encode([make_record(1)])[0])
    entry = push.streams[0].entries[0]
    assert "job_id" not in push.streams[0].labels
    assert {p.name: p.value for p in entry.structuredMetadata} == {
        "level": "info", "job_id": "job-abc123", "correlation_id": "req-1", "shard_index": "3",
        "pod": "encoder-7d9f-abcde", "node": "node-a"}


def test_app_label_falls_back_to_the_plain_app_label_and_missing_labels_are_omitted():
    rec = make_record(1)
    rec["k8s"] = {"namespace": "ns", "labels": {"app": "legacy"}}
    push = decode(s := sink(), s.encode([rec])[0])
    assert push.streams[0].labels == '{app="legacy", namespace="ns"}'


def test_a_record_without_any_label_gets_a_fallback_stream():
    rec = {"timestamp": "2024-05-01T10:00:00Z", "message": "m"}
    push = decode(s := sink(labels={"namespace": ["k8s.namespace"]}), s.encode([rec])[0])
    assert push.streams[0].labels == '{job="shipper"}'


def test_message_line_mode_and_nanosecond_timestamps():
    rec = make_record(1, timestamp="2024-05-01T10:00:00.123456789Z")
    entry = decode(s := sink(line="message"), s.encode([rec])[0]).streams[0].entries[0]
    assert entry.line == "frame 1 done"
    assert (entry.timestamp.seconds, entry.timestamp.nanos) == (1714557600, 123456789)


def test_invalid_timestamp_uses_the_clock_and_is_counted():
    s = sink()
    entry = decode(s, s.encode([make_record(1, timestamp="yesterday")])[0]).streams[0].entries[0]
    assert entry.timestamp.seconds == int(NOW) and s.counts["timestamp-missing"] == 1


def test_record_line_is_truncated_to_max_line_bytes_as_valid_json_when_possible():
    s = sink(max_line_bytes=2048)
    entry = decode(s, s.encode([make_record(1, message="é" * 5000)])[0]).streams[0].entries[0]
    assert len(entry.line.encode()) <= 2048
    assert orjson.loads(entry.line)["message"].endswith("[truncated]")
    assert s.counts["truncated"] == 1


def test_json_encoding_shape():
    s = sink(encoding="json")
    payload = s.encode([make_record(1)])[0]
    data = orjson.loads(payload.body)
    stream = data["streams"][0]
    assert stream["stream"]["namespace"] == "video"
    ts, line, meta = stream["values"][0]
    assert ts == "1714557601001000000" and meta["job_id"] == "job-abc123"
    assert payload.headers["Content-Type"] == "application/json"
    assert orjson.loads(line)["message"] == "frame 1 done"


def test_encode_does_not_mutate_shared_records():
    rec = make_record(1, message="x" * 5000)
    before = orjson.dumps(rec)
    sink(max_line_bytes=1024).encode([rec])
    assert orjson.dumps(rec) == before
