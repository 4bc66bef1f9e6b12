"""The Loki sink against a receiver that applies Loki 3.x's rules (partial accept, 400
texts): entries behind or ahead, refusals of part of a push, tenants, trace context."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from shipper.sinks.loki import LokiSink
from shipper.sinks.settings import LokiSinkSettings
from tests.receivers.harness import Recorder, make_record, new_metrics, ship
from tests.receivers.loki import LokiReceiver

pytestmark = pytest.mark.integration


def loki(rx, metrics=None, **overrides):
    cfg = {"url": rx.url, "name": "l", "batch": {"max_wait": 0.01}, **overrides}
    return LokiSink(LokiSinkSettings(**cfg), metrics=metrics or new_metrics(), sleep=Recorder())


def at(delta: timedelta, i: int, **extra) -> dict:
    stamp = (datetime.now(UTC) + delta).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return make_record(i, timestamp=stamp, **extra)


def messages(rx) -> list[str]:
    import json
    return sorted(json.loads(e.line)["message"] for e in rx.entries)


async def test_after_a_restart_entries_loki_finds_too_far_behind_are_sent_again_rewritten():
    """A new sink (nothing remembered) sends entries 2 h behind what Loki already has: Loki
    answers 400 for them; they go again at its newest time, the rest is not duplicated."""
    async with LokiReceiver() as rx:
        await ship(loki(rx), [[at(timedelta(0), 0)]])
        metrics = new_metrics()
        late = [at(timedelta(hours=-2), i) for i in range(1, 21)]
        recent = [at(timedelta(minutes=-1), i) for i in range(21, 26)]
        tokens = await ship(loki(rx, metrics), [late + recent])
    assert tokens[0].complete
    assert messages(rx) == sorted(f"frame {i} done" for i in range(26))  # each once
    assert [s.status for s in rx.seen] == [204, 400, 204]
    assert rx.discarded == {"too_far_behind": 20}
    assert metrics.value("shipper_records_forwarded_total", sink="l") == 25
    assert metrics.value("shipper_records_failed_total", sink="l", reason="timestamp-rewritten") == 20
    assert metrics.value("shipper_sink_requests_total", sink="l", outcome="partial") == 1
    assert all("original_timestamp" in e.metadata for e in rx.entries[-20:])


async def test_accept_lets_loki_refuse_and_dead_letters_drop_counts_them_unsent():
    for action in ("accept", "drop"):
        async with LokiReceiver() as rx:
            metrics = new_metrics()
            sink = loki(rx, metrics, out_of_order_action=action,
                        batch={"max_records": 1, "max_wait": 0.01})  # two pushes
            tokens = await ship(sink, [[at(timedelta(0), 0)], [at(timedelta(hours=-2), 1)]])
        assert all(t.complete for t in tokens) and messages(rx) == ["frame 0 done"]
        dead = metrics.value("shipper_records_failed_total", sink="l", reason="dead-letter")
        dropped = metrics.value("shipper_records_dropped_total", reason="out-of-order", rule="l")
        assert (dead, dropped) == ((1, 0) if action == "accept" else (0, 1))
        assert metrics.value("shipper_records_failed_total", sink="l", reason="unencodable") == 0


async def test_a_push_with_one_invalid_entry_delivers_the_others_once():
    async with LokiReceiver(max_line_bytes=2000) as rx:
        metrics = new_metrics()
        records = [at(timedelta(0), i) for i in range(5)]
        records[2]["message"] = "x" * 5000
        tokens = await ship(loki(rx, metrics), [records])
    assert tokens[0].complete and len(rx.seen) == 1
    assert messages(rx) == [f"frame {i} done" for i in (0, 1, 3, 4)]
    assert metrics.value("shipper_records_failed_total", sink="l", reason="dead-letter") == 1
    assert metrics.value("shipper_records_forwarded_total", sink="l") == 4


async def test_timestamps_far_in_the_future_are_sent_now_with_the_original_instant():
    async with LokiReceiver() as rx:
        metrics = new_metrics()
        await ship(loki(rx, metrics), [[at(timedelta(hours=3), 1), at(timedelta(minutes=5), 2)]])
    assert rx.discarded == {} and len(rx.entries) == 2
    clamped = [e for e in rx.entries if "original_timestamp" in e.metadata]
    assert len(clamped) == 1 and abs(clamped[0].ts_ns / 1e9 - time.time()) < 60
    assert metrics.value("shipper_records_failed_total", sink="l", reason="timestamp-clamped") == 1


async def test_one_request_per_tenant_from_a_record_field_with_the_static_default():
    def team(i: int, name: str | None) -> dict:
        record = at(timedelta(0), i)
        if name:
            record["k8s"]["labels"]["team"] = name
        return record

    async with LokiReceiver(multi_tenant=True) as rx:
        sink = loki(rx, tenant_from="k8s.labels.team", tenant_id="ops")
        tokens = await ship(sink, [[team(0, "media"), team(1, None), team(2, "media"),
                                    team(3, "bad tenant\n")]])
    assert tokens[0].complete
    assert sorted(s.headers["X-Scope-OrgID"] for s in rx.seen) == ["media", "ops"]
    by_tenant = {(e.tenant, e.line.count("frame 0") + e.line.count("frame 2")) for e in rx.entries}
    assert by_tenant == {("media", 1), ("ops", 0)}
    assert sink._m.failed("tenant-invalid")._value.get() == 1


async def test_trace_context_and_level_travel_as_structured_metadata():
    async with LokiReceiver() as rx:
        record = at(timedelta(0), 1, trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
                    span_id="00f067aa0ba902b7", level="error")
        await ship(loki(rx), [[record, at(timedelta(0), 2)]])
    with_trace, without = sorted(rx.entries, key=lambda e: "trace_id" not in e.metadata)
    assert with_trace.metadata["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert with_trace.metadata["span_id"] == "00f067aa0ba902b7"
    assert with_trace.metadata["level"] == "error" and "level" not in with_trace.labels
    assert "trace_id" not in without.metadata and "span_id" not in without.metadata


async def test_after_a_restart_every_stream_behind_lokis_newest_is_recovered():
    """Loki names the refused entries of only the last stream of a push; a stream whose
    entries may be behind Loki's newest (older than 45 min) goes alone, so none is refused
    unseen (pushed together, 10 of 12 were lost)."""
    def rec(i: int, delta: timedelta, container: str) -> dict:
        record = at(delta, i)
        record["k8s"]["container"] = container
        return record

    async with LokiReceiver() as rx:
        await ship(loki(rx), [[rec(0, timedelta(0), "a"), rec(1, timedelta(0), "b")]])
        late = [rec(i, timedelta(hours=-2), "ab"[i % 2]) for i in range(2, 12)]
        tokens = await ship(loki(rx), [late])
    assert tokens[0].complete
    assert messages(rx) == sorted(f"frame {i} done" for i in range(12))
    assert rx.discarded == {"too_far_behind": 10}  # refused once, then sent rewritten
