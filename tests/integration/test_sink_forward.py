"""The forward sink against a Fluentd forward input: PackedForward, EventTime, chunk acks."""

from __future__ import annotations

import pytest

from shipper.sinks.forward import ForwardSink
from shipper.sinks.settings import ForwardSinkSettings
from tests.receivers.forward import ForwardReceiver
from tests.receivers.harness import Recorder, make_record, new_metrics, ship

pytestmark = pytest.mark.integration


def fwd(rx, **overrides):
    cfg = {"url": rx.url, "tag": "app.video", "batch": {"max_wait": 0.01}, **overrides}
    return ForwardSink(ForwardSinkSettings(**cfg), metrics=new_metrics(), sleep=Recorder())


async def test_packed_forward_events_with_nanosecond_event_time_are_acked():
    async with ForwardReceiver() as rx:
        tokens = await ship(fwd(rx), [[make_record(i) for i in range(4)], [make_record(9)]])
    assert all(t.complete for t in tokens)
    assert [e.record["message"] for e in rx.events] == [f"frame {i} done" for i in (0, 1, 2, 3, 9)]
    assert {e.tag for e in rx.events} == {"app.video"}
    assert rx.events[1].time_ns == 1714557601001000000
    assert "_raw" not in rx.events[0].record
    assert rx.errors == []


async def test_missing_ack_times_out_and_the_chunk_is_resent_once_stored():
    async with ForwardReceiver(drop_acks=1) as rx:
        sink = fwd(rx, timeout=0.2)
        tokens = await ship(sink, [[make_record(1), make_record(2)]])
    assert tokens[0].complete
    assert len(rx.events) == 2  # the resend has the same chunk id: stored once
    assert len(rx.chunks) == 1


async def test_unreachable_aggregator_is_retried_until_close_deadline():
    sink = ForwardSink(ForwardSinkSettings(url="tcp://127.0.0.1:1", batch={"max_wait": 0}),
                       metrics=new_metrics(), sleep=Recorder())
    tokens = await ship(sink, [[make_record(1)]], deadline=0.1)
    assert not tokens[0].complete
