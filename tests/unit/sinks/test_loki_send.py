"""Loki's retry classification per status code, and the send loop on a 400 for part of a
push (a scripted transport answers; what the sink sends next is decoded)."""

from __future__ import annotations

import pytest
import snappy

from shipper.errors import FatalSinkError, PayloadTooLargeError, RetryableSinkError
from shipper.metrics import Metrics
from shipper.sinks.loki import LokiSink
from shipper.sinks.proto import load_push_schema
from shipper.sinks.settings import LokiSinkSettings
from tests.receivers.harness import make_record

NOW = 1_714_559_400.0  # 2024-05-01T10:30:00Z
SCHEMA = load_push_schema()
STREAM = '{app="encoder", container="worker", namespace="video"}'


def sink(**kw) -> LokiSink:
    return LokiSink(LokiSinkSettings(url="http://127.0.0.1:3100", name="l", **kw),
                    metrics=Metrics(collectors=False), wall_clock=lambda: NOW)


class Scripted:
    """Stands in for the transport: answers from a list, keeps each body sent."""

    def __init__(self, *answers: tuple[int, str]) -> None:
        self.answers, self.sent = list(answers), []

    async def post(self, url, body, headers):
        self.sent.append((SCHEMA.PushRequest.FromString(snappy.uncompress(body)), headers))
        status, text = self.answers.pop(0)
        return status, {"Retry-After": "7"} if status == 429 else {}, text


@pytest.mark.parametrize("status", [200, 204])
def test_2xx_is_delivered(status):
    assert sink().classify(status, {}) is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retried(status):
    with pytest.raises(RetryableSinkError) as caught:
        sink().classify(status, {"Retry-After": "7"})
    assert caught.value.retry_after == 7.0


def test_413_splits_the_batch():
    with pytest.raises(PayloadTooLargeError):
        sink().classify(413, {})


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_are_final(status):
    with pytest.raises(FatalSinkError):
        sink().classify(status, {})


async def test_a_400_that_is_not_lokis_partial_answer_is_final_never_retried_blindly():
    s = sink()
    s._transport = Scripted((400, "error at least one valid stream is required"))
    with pytest.raises(FatalSinkError, match="HTTP 400"):
        await s.send(s.encode([make_record(1)])[0])
    assert len(s._transport.sent) == 1


async def test_a_400_too_far_behind_sends_again_only_the_ignored_entries_rewritten():
    """After a restart Loki has newer entries than the sink knows: the ignored ones go
    again at Loki's newest (its cutoff + 1 h), the others are not sent twice."""
    s = sink()
    records = [make_record(i) for i in range(5)]  # 10:00:00 .. 10:00:04
    refusal = ("entry with timestamp 2024-05-01 10:00:00.000 +0000 UTC ignored, reason: 'entry "
               "too far behind, entry timestamp is: 2024-05-01T10:00:00Z, oldest acceptable "
               "timestamp is: 2024-05-01T10:00:02Z',\n"
               f"user 'fake', total ignored: 2 out of 5 for stream: {STREAM}")
    s._transport = Scripted((400, refusal), (204, ""))
    payload = s.encode(records)[0]
    await s.send(payload)
    first, second = (push.streams[0].entries for push, _ in s._transport.sent)
    assert len(first) == 5 and len(second) == 2
    assert [e.timestamp.seconds for e in second] == [1_714_561_202] * 2  # cutoff + 1 h
    assert [m.name for m in second[0].structuredMetadata][-1] == "original_timestamp"
    assert [r["message"] for r in payload.records] == ["frame 0 done", "frame 1 done"]
    assert s._m.forwarded._value.get() == 3  # the 3 Loki took; the 2 when Delivery sees 2xx
    assert s._m.failed("timestamp-rewritten")._value.get() == 2


async def test_entries_refused_again_after_one_rewrite_are_dead_lettered_not_looped():
    s = sink()
    refusal = ("entry with timestamp 2024-05-01 10:00:00 +0000 UTC ignored, reason: 'entry too "
               "far behind, entry timestamp is: 2024-05-01T10:00:00Z, oldest acceptable "
               f"timestamp is: 2024-05-01T11:00:00Z',\nuser 'fake', total ignored: 1 out of 1 "
               f"for stream: {STREAM}")
    s._transport = Scripted((400, refusal), (400, refusal))
    payload = s.encode([make_record(1)])[0]
    await s.send(payload)
    assert len(s._transport.sent) == 2 and payload.records == []
    assert s._m.failed("dead-letter")._value.get() == 1


async def test_validation_refusals_dead_letter_only_the_named_entries():
    s = sink()
    records = [make_record(1), make_record(2, message="x" * 5000), make_record(3)]
    payload = s.encode(records)[0]
    length = len(payload.streams[0].entries[1].line.encode())
    refusal = (f"Max entry size '1000' bytes exceeded for stream '{STREAM}' while adding an "
               f"entry with length '{length}' bytes")
    s._transport = Scripted((400, refusal))
    await s.send(payload)
    assert len(s._transport.sent) == 1 and payload.records == []
    assert s._m.forwarded._value.get() == 2
    assert s._m.failed("dead-letter")._value.get() == 1


async def test_429_is_raised_for_the_worker_to_retry_with_retry_after():
    s = sink()
    s._transport = Scripted((429, "Ingestion rate limit exceeded"))
    with pytest.raises(RetryableSinkError) as caught:
        await s.send(s.encode([make_record(1)])[0])
    assert caught.value.retry_after == 7.0


def test_streams_with_entries_that_may_be_behind_lokis_newest_are_pushed_alone():
    """Entries older than max_behind - max_ahead - 5 min (45 min) may be refused by Loki
    and it names refusals of only the last stream of a push: such a stream goes alone;
    recent streams share a push."""
    s = sink()
    other = {"k8s": {"namespace": "other"}}
    recent = [make_record(1), make_record(2, **other)]  # 10:00, 30 min before NOW
    old = [make_record(3, timestamp="2024-05-01T09:20:00Z"),
           make_record(4, timestamp="2024-05-01T09:20:00Z", **other)]
    assert [len(p.streams) for p in s.encode(recent)] == [2]
    assert [len(p.streams) for p in s.encode(old)] == [1, 1]


async def test_a_refusal_naming_a_shard_of_a_stream_uses_the_cutoff():
    """Loki may split a busy stream (``__stream_shard__``); the ignored entries are then
    those before its cutoff (to the second), not the first N of the whole stream."""
    s = sink()
    records = [make_record(i) for i in range(5)]  # 10:00:00.000 .. 10:00:04.004
    shard = STREAM[:-1] + ', __stream_shard__="1"}'
    refusal = ("entry with timestamp 2024-05-01 10:00:01.001 +0000 UTC ignored, reason: 'entry "
               "too far behind, entry timestamp is: 2024-05-01T10:00:01Z, oldest acceptable "
               "timestamp is: 2024-05-01T10:00:01Z',\n"
               f"user 'fake', total ignored: 1 out of 2 for stream: {shard}")
    s._transport = Scripted((400, refusal), (204, ""))
    await s.send(s.encode(records)[0])
    again = s._transport.sent[1][0].streams[0].entries
    assert len(again) == 2  # 10:00:00 and 10:00:01 (in the cutoff's second): sent again
