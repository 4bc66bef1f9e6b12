"""The Datadog sink against a receiver enforcing the logs intake's headers, limits and
time window (entries over 18 h old are accepted, then dropped without a word)."""

from __future__ import annotations

import pytest

from shipper.sinks.datadog import DatadogSink
from shipper.sinks.settings import DatadogSinkSettings
from tests.receivers.datadog import DatadogReceiver
from tests.receivers.harness import Recorder, make_record, new_metrics, ship

pytestmark = pytest.mark.integration

KEY = "dd-key-0123456789abcdef"
#: 2024-05-01T11:00:00Z: an hour after make_record's timestamps (the sink's and intake's now)
NOW = 1714561200.0


def intake(key=KEY, now=NOW):
    return DatadogReceiver(key, clock=lambda: now)


def dd(rx, tmp_path, metrics=None, now=NOW, **overrides):
    key_file = tmp_path / "api-key"
    key_file.write_text(KEY + "\n")
    cfg = {"url": rx.url, "api_key_file": key_file, "batch": {"max_wait": 0.01},
           "tags": ["env:test"], **overrides}
    return DatadogSink(DatadogSinkSettings(**cfg), metrics=metrics or new_metrics(),
                       sleep=Recorder(), state_dir=tmp_path, wall_clock=lambda: now)


async def test_entries_carry_reserved_attributes_tags_and_job_facets(tmp_path):
    async with intake() as rx:
        tokens = await ship(dd(rx, tmp_path), [[make_record(1, level="warning")]])
    assert tokens[0].complete
    assert rx.seen[0].headers["Content-Encoding"] == "gzip"
    entry = rx.entries[0]
    assert entry["message"] == "frame 1 done" and entry["status"] == "warning"
    assert entry["hostname"] == "node-a" and entry["service"] == "encoder"
    assert entry["ddsource"] == "kubernetes"
    assert entry["ddtags"] == ("kube_namespace:video,pod_name:encoder-7d9f-abcde,"
                               "kube_container_name:worker,kube_app_name:encoder,env:test")
    assert entry["job_id"] == "job-abc123" and entry["correlation_id"] == "req-1"
    assert "raw 1" not in str(entry)  # the raw line stays home


async def test_more_than_1000_records_are_split_into_requests_of_at_most_1000(tmp_path):
    records = [make_record(i) for i in range(2500)]
    async with intake() as rx:
        await ship(dd(rx, tmp_path, batch={"max_records": 5000, "max_bytes": 64 << 20,
                                           "max_wait": 0.01}), [records])
    assert len(rx.entries) == 2500 and len(rx.seen) == 3


async def test_payloads_stay_under_5mb_uncompressed(tmp_path):
    records = [make_record(i, message="y" * 400_000) for i in range(30)]
    async with intake() as rx:
        tokens = await ship(dd(rx, tmp_path, batch={"max_records": 100, "max_bytes": 64 << 20,
                                                    "max_wait": 0.01}), [records])
    assert tokens[0].complete and len(rx.entries) == 30 and len(rx.seen) >= 3


async def test_oversize_entry_is_truncated_under_1mb_and_counted(tmp_path):
    async with intake() as rx:
        sink = dd(rx, tmp_path)
        await ship(sink, [[make_record(1, message="z" * 1_500_000)]])
    assert len(rx.entries) == 1 and rx.entries[0]["message"].endswith("[truncated]")
    assert sink._m.failed("truncated")._value.get() == 1  # shipper_records_failed_total{reason}


async def test_wrong_api_key_is_fatal_and_dead_lettered_without_the_key(tmp_path, caplog):
    metrics = new_metrics()
    async with intake("another-key") as rx:
        tokens = await ship(dd(rx, tmp_path, metrics=metrics), [[make_record(1)]])
    assert tokens[0].complete and rx.entries == []
    dead = (tmp_path / "dead-letter" / "datadog.ndjson").read_text()
    assert "403" in dead and KEY not in dead and KEY not in caplog.text
    assert metrics.value("shipper_records_failed_total", sink="datadog", reason="dead-letter") == 1


async def test_api_key_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DD_API_KEY", KEY)
    async with intake() as rx:
        sink = DatadogSink(DatadogSinkSettings(url=rx.url, batch={"max_wait": 0.01}),
                           metrics=new_metrics(), wall_clock=lambda: NOW)
        await ship(sink, [[make_record(1)]])
    assert len(rx.entries) == 1


async def test_records_older_than_18h_are_dead_lettered_and_counted_not_lost_silently(tmp_path):
    """The intake answers 202 to an entry over 18 h old and drops it: the sink must not send
    it, but dead-letter it with the reason, counted; the fresh records are delivered."""
    later = NOW + 18 * 3600 + 60  # make_record's records are now 19 h old
    fresh = [make_record(i, timestamp="2024-05-02T04:00:00.000Z") for i in range(3)]
    old = [make_record(i) for i in range(10, 15)]
    metrics = new_metrics()
    async with intake(now=later) as rx:
        tokens = await ship(dd(rx, tmp_path, metrics=metrics, now=later), [fresh + old])
    assert tokens[0].complete
    assert rx.ignored == []  # nothing sent only to be dropped by the intake
    assert [e["message"] for e in rx.entries] == [r["message"] for r in fresh]
    dead = [line for line in (tmp_path / "dead-letter" / "datadog.ndjson").read_text().splitlines()]
    assert len(dead) == 5 and all("older than 18 h" in line for line in dead)
    assert metrics.value("shipper_records_failed_total", sink="datadog", reason="dead-letter") == 5
    assert metrics.value("shipper_records_forwarded_total", sink="datadog") == 3


async def test_a_stale_record_alone_makes_no_request(tmp_path):
    async with intake(now=NOW + 86400) as rx:
        tokens = await ship(dd(rx, tmp_path, now=NOW + 86400), [[make_record(1)]])
    assert tokens[0].complete and rx.seen == []


async def test_the_receiver_answers_like_the_intake():
    """401 without a key, 403 with a wrong one, 400 on bad JSON, 413 over 5 MB, 202 with
    an entry over 1 MB truncated and entries out of the time window ignored."""
    import aiohttp
    import orjson

    def post(session, rx, body, key=KEY):
        headers = {"Content-Type": "application/json", **({"DD-API-KEY": key} if key else {})}
        return session.post(rx.url, data=body, headers=headers)

    async with intake() as rx, aiohttp.ClientSession() as session:
        statuses = []
        for body, key in ((b"[]", None), (b"[]", "wrong"), (b"[{not json", KEY),
                          (b"[" + b"1" * (6 << 20) + b"]", KEY)):
            async with post(session, rx, body, key) as response:
                statuses.append(response.status)
        entries = [{"message": "x" * (1100 << 10)},
                   {"message": "old", "timestamp": "2024-04-30T16:00:00Z"},
                   {"message": "ahead", "timestamp": 1714561200000 + 3 * 3600_000}]
        async with post(session, rx, orjson.dumps(entries)) as response:
            statuses.append(response.status)
    assert statuses == [401, 403, 400, 413, 202]
    assert rx.truncated == 1 and len(orjson.dumps(rx.entries[0])) <= 1 << 20
    assert [e["message"] for e in rx.ignored] == ["old", "ahead"]
