"""Datadog encoding (pure): reserved attributes, ddtags, limits and truncation."""

from __future__ import annotations

import gzip

import orjson

from shipper.metrics import Metrics
from shipper.sinks.datadog import DatadogSink
from shipper.sinks.settings import DatadogSinkSettings
from tests.receivers.harness import make_record


def sink(**kw):
    return DatadogSink(DatadogSinkSettings(url="http://127.0.0.1:1/api/v2/logs", **kw),
                       metrics=Metrics(collectors=False))


def entries(payload):
    return orjson.loads(gzip.decompress(payload.body))


def test_levels_map_to_datadog_statuses_and_trace_is_debug():
    s = sink()
    got = [s.encoder.entry(make_record(1, level=lvl))["status"]
           for lvl in ("trace", "debug", "info", "warning", "error", "critical")]
    assert got == ["debug", "debug", "info", "warning", "error", "critical"]


def test_configured_service_wins_and_missing_k8s_facts_are_left_out():
    s = sink(service="video-api", source="python")
    entry = s.encoder.entry({"timestamp": "2024-05-01T10:00:00Z", "level": "info", "message": "m"})
    assert entry["service"] == "video-api" and entry["ddsource"] == "python"
    assert "hostname" not in entry and "ddtags" not in entry


def test_record_fields_do_not_override_reserved_attributes():
    entry = sink().encoder.entry(make_record(1, status="weird", ddsource="nope"))
    assert entry["status"] == "info" and entry["ddsource"] == "kubernetes"


def test_arrays_hold_at_most_max_entries():
    payloads = sink(max_entries=10).encode([make_record(i) for i in range(25)])
    assert [len(entries(p)) for p in payloads] == [10, 10, 5]
    assert [len(p.records) for p in payloads] == [10, 10, 5]


def test_arrays_stay_under_the_payload_byte_limit():
    payloads = sink(max_payload_bytes=4096).encode([make_record(i) for i in range(40)])
    assert len(payloads) > 1
    assert all(p.raw_bytes <= 4096 for p in payloads)
    assert sum(len(entries(p)) for p in payloads) == 40


def test_oversize_entry_message_is_truncated_and_counted():
    s = sink(max_entry_bytes=2048)
    payload = s.encode([make_record(1, message="m" * 10_000)])[0]
    entry = entries(payload)[0]
    assert len(orjson.dumps(entry)) <= 2048 and entry["message"].endswith("[truncated]")
    assert s.counts["truncated"] == 1


def test_uncompressed_option():
    payload = sink(compression="none").encode([make_record(1)])[0]
    assert orjson.loads(payload.body)[0]["message"] == "frame 1 done"
    assert "Content-Encoding" not in payload.headers


def test_bare_intake_address_gets_the_v2_logs_path():
    from shipper.sinks.datadog import intake_url
    assert intake_url("https://http-intake.logs.datadoghq.eu") == \
        "https://http-intake.logs.datadoghq.eu/api/v2/logs"
    assert intake_url("http://127.0.0.1:8080/custom") == "http://127.0.0.1:8080/custom"
