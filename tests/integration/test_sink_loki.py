"""The Loki sink against a receiver that decodes snappy+protobuf with Loki's push schema
and validates streams like Loki (labels, order, limits)."""

from __future__ import annotations

import base64

import pytest
import snappy

from shipper.sinks.loki import LokiSink
from shipper.sinks.settings import LokiSinkSettings
from tests.receivers.harness import Recorder, make_record, new_metrics, ship
from tests.receivers.loki import LokiReceiver

pytestmark = pytest.mark.integration


def loki(rx, **overrides):
    cfg = {"url": rx.url, "batch": {"max_wait": 0.01}, **overrides}
    return LokiSink(LokiSinkSettings(**cfg), metrics=new_metrics(), sleep=Recorder())


async def test_protobuf_push_has_low_cardinality_labels_and_ids_as_structured_metadata():
    async with LokiReceiver() as rx:
        tokens = await ship(loki(rx), [[make_record(i) for i in range(3)]])
    assert tokens[0].complete
    assert rx.seen[0].headers["Content-Type"] == "application/x-protobuf"
    assert {e.line.count("frame") for e in rx.entries} == {1}
    entry = rx.entries[0]
    assert entry.labels == {"namespace": "video", "app": "encoder", "container": "worker"}
    assert entry.metadata == {"level": "info", "job_id": "job-abc123", "correlation_id": "req-0",
                              "shard_index": "3", "pod": "encoder-7d9f-abcde", "node": "node-a"}
    assert all("raw " not in e.line for e in rx.entries)  # the raw lines stay home


async def test_entries_are_sorted_per_stream_even_when_records_arrive_out_of_order():
    records = [make_record(i) for i in (5, 1, 3)] + [make_record(2, level="error")]
    async with LokiReceiver() as rx:
        await ship(loki(rx), [records])
    stamps = [e.ts_ns for e in rx.entries]
    assert stamps == sorted(stamps) and len(stamps) == 4  # one stream: level is metadata
    assert [e.metadata["level"] for e in rx.entries].count("error") == 1


async def test_receiver_refuses_entries_too_far_behind_like_loki_and_keeps_the_rest():
    """Loki 3.x accepts disorder within 1 h of a stream's newest entry; older entries of a
    push are ignored (400 naming them) while the rest of the push is stored."""
    import aiohttp

    async with LokiReceiver() as rx:
        async def push(*seconds: int) -> tuple[int, str]:
            req = rx.schema.PushRequest()
            stream = req.streams.add(labels='{app="x"}')
            for s in seconds:
                stream.entries.add(line=f"l{s}").timestamp.seconds = s
            body = snappy.compress(req.SerializeToString())
            async with aiohttp.ClientSession() as session, session.post(
                    rx.url + rx.path, data=body,
                    headers={"Content-Type": "application/x-protobuf"}) as resp:
                return resp.status, await resp.text()

        base = 1_714_557_600
        assert await push(base + 2, base + 1) == (204, "")  # disorder within the hour: fine
        status, text = await push(base - 7200, base + 3)
    assert status == 400
    assert text.startswith("entry with timestamp 2024-05-01 08:00:00 +0000 UTC ignored, reason: "
                           "'entry too far behind, entry timestamp is: 2024-05-01T08:00:00Z, "
                           "oldest acceptable timestamp is: 2024-05-01T09:00:02Z',\n")
    assert text.endswith("user 'fake', total ignored: 1 out of 2 for stream: {app=\"x\"}")
    assert [e.line for e in rx.entries] == ["l1714557602", "l1714557601", "l1714557603"]


async def test_json_encoding_with_gzip_tenant_and_basic_auth():
    auth = "Basic " + base64.b64encode(b"loki:pw").decode()
    async with LokiReceiver(tenant="team-a", auth=auth) as rx:
        tokens = await ship(loki(rx, encoding="json", compression="gzip", tenant_id="team-a",
                                 username="loki", password="pw"), [[make_record(1)]])
    assert tokens[0].complete and len(rx.entries) == 1
    assert rx.seen[0].headers["Content-Encoding"] == "gzip"
    assert rx.entries[0].metadata["job_id"] == "job-abc123"


async def test_demoted_unbounded_label_travels_as_structured_metadata_and_is_counted():
    async with LokiReceiver() as rx:
        sink = loki(rx, labels={"namespace": ["k8s.namespace"], "pod": ["k8s.pod"]},
                    unbounded_labels="demote")
        await ship(sink, [[make_record(1), make_record(2)]])
    assert rx.entries[0].labels == {"namespace": "video"}
    assert rx.entries[0].metadata["pod"] == "encoder-7d9f-abcde"
    assert sink._m.failed("label-demoted")._value.get() == 2  # shipper_records_failed_total{reason}


async def test_oversize_line_is_truncated_to_the_loki_limit_and_counted():
    async with LokiReceiver() as rx:
        sink = loki(rx)
        tokens = await ship(sink, [[make_record(1, message="x" * 300_000)]])
    assert tokens[0].complete
    assert len(rx.entries[0].line.encode()) <= 256_000  # Loki would refuse a longer one
    assert sink._m.failed("truncated")._value.get() == 1  # shipper_records_failed_total{reason}


async def test_too_many_labels_from_static_config_are_rejected_by_the_receiver_limit():
    async with LokiReceiver(max_labels=2) as rx:
        metrics = new_metrics()
        sink = LokiSink(LokiSinkSettings(url=rx.url, name="l", batch={"max_wait": 0}),
                        metrics=metrics)
        tokens = await ship(sink, [[make_record(1)]])
    assert tokens[0].complete and rx.entries == []
    assert metrics.value("shipper_records_failed_total", sink="l", reason="dead-letter") == 1
