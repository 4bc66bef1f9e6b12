"""The Datadog sink against a receiver enforcing the logs intake's headers and limits."""

from __future__ import annotations

import pytest

from shipper.sinks.datadog import DatadogSink
from shipper.sinks.settings import DatadogSinkSettings
from tests.receivers.datadog import DatadogReceiver
from tests.receivers.harness import Recorder, make_record, new_metrics, ship

pytestmark = pytest.mark.integration

KEY = "dd-key-0123456789abcdef"


def dd(rx, tmp_path, metrics=None, **overrides):
    key_file = tmp_path / "api-key"
    key_file.write_text(KEY + "\n")
    cfg = {"url": rx.url, "api_key_file": key_file, "batch": {"max_wait": 0.01},
           "tags": ["env:test"], **overrides}
    return DatadogSink(DatadogSinkSettings(**cfg), metrics=metrics or new_metrics(),
                       sleep=Recorder(), state_dir=tmp_path)


async def test_entries_carry_reserved_attributes_tags_and_job_facets(tmp_path):
    async with DatadogReceiver(KEY) as rx:
        tokens = await ship(dd(rx, tmp_path), [[make_record(1, level="warning")]])
    assert tokens[0].complete
    assert rx.seen[0].headers["Content-Encoding"] == "gzip"
    entry = rx.entries[0]
    assert entry["message"] == "frame 1 done" and entry["status"] == "warning"
    assert entry["hostname"] == "node-a" and entry["service"] == "encoder"
    assert entry["ddsource"] == "kubernetes"
    assert entry["ddtags"] == ("kube_namespace:video,pod_name:encoder-7d9f-abcde,"
                               "kube_container_name:worker,env:test")
    assert entry["job_id"] == "job-abc123" and entry["correlation_id"] == "req-1"
    assert "_raw" not in entry


async def test_more_than_1000_records_are_split_into_requests_of_at_most_1000(tmp_path):
    records = [make_record(i) for i in range(2500)]
    async with DatadogReceiver(KEY) as rx:
        await ship(dd(rx, tmp_path, batch={"max_records": 5000, "max_bytes": 64 << 20,
                                           "max_wait": 0.01}), [records])
    assert len(rx.entries) == 2500 and len(rx.seen) == 3


async def test_payloads_stay_under_5mb_uncompressed(tmp_path):
    records = [make_record(i, message="y" * 400_000) for i in range(30)]
    async with DatadogReceiver(KEY) as rx:
        tokens = await ship(dd(rx, tmp_path, batch={"max_records": 100, "max_bytes": 64 << 20,
                                                    "max_wait": 0.01}), [records])
    assert tokens[0].complete and len(rx.entries) == 30 and len(rx.seen) >= 3


async def test_oversize_entry_is_truncated_under_1mb_and_counted(tmp_path):
    async with DatadogReceiver(KEY) as rx:
        sink = dd(rx, tmp_path)
        await ship(sink, [[make_record(1, message="z" * 1_500_000)]])
    assert len(rx.entries) == 1 and rx.entries[0]["message"].endswith("[truncated]")
    assert sink._m.failed("truncated")._value.get() == 1  # shipper_records_failed_total{reason}


async def test_wrong_api_key_is_fatal_and_dead_lettered_without_the_key(tmp_path, caplog):
    metrics = new_metrics()
    async with DatadogReceiver("another-key") as rx:
        tokens = await ship(dd(rx, tmp_path, metrics=metrics), [[make_record(1)]])
    assert tokens[0].complete and rx.entries == []
    dead = (tmp_path / "dead-letter" / "datadog.ndjson").read_text()
    assert "403" in dead and KEY not in dead and KEY not in caplog.text
    assert metrics.value("shipper_records_failed_total", sink="datadog", reason="dead-letter") == 1


async def test_api_key_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DD_API_KEY", KEY)
    async with DatadogReceiver(KEY) as rx:
        sink = DatadogSink(DatadogSinkSettings(url=rx.url, batch={"max_wait": 0.01}),
                           metrics=new_metrics())
        await ship(sink, [[make_record(1)]])
    assert len(rx.entries) == 1
