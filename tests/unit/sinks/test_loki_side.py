"""The Loki sink's side data (computed at ``put`` while the records are dicts): batches
encoded from it are the batches the decoding path encodes, through the memory buffer's
sheds and a 413's halves, counted in the buffer's bytes, and a payload that carries its
whole batch decodes its records only when Loki refuses part of it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import snappy

from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.sinks.batch import Lines, Span
from shipper.sinks.loki import LokiSink
from shipper.sinks.loki_side import LokiSide
from shipper.sinks.proto import load_push_schema
from shipper.sinks.settings import LokiSinkSettings
from tests.receivers.harness import make_record
from tests.unit.sinks.test_loki_wire import CONFIGS, varied_records

NOW = 1_751_800_000.0  # 2025-07-06T11:06:40Z: after varied_records' timestamps
SCHEMA = load_push_schema()


def sink(**kw: Any) -> LokiSink:
    return LokiSink(LokiSinkSettings(url="http://127.0.0.1:3100", name="l", **kw),
                    metrics=Metrics(collectors=False), wall_clock=lambda: NOW)


def token() -> AckToken:
    return AckToken("f", 0, pending=1)


async def buffered(s: LokiSink, *envelopes: list[dict[str, Any]]) -> Lines:
    """The envelopes put into the sink's memory buffer, taken back as one batch."""
    for records in envelopes:
        await s.put(records, token())
    return s.queue.buffer.take(100_000, 1 << 30)  # type: ignore[attr-defined]


def undecorated(lines: Lines) -> Lines:
    """The same batch without side data (as a disk buffer gives it back)."""
    bare = Lines()
    for span in lines.spans:
        bare.add(Span(span.env, span.data, span.ends, span.lo))
    return bare


def shape(payloads: list[Any]) -> list[tuple[bytes, dict[str, str], int, int]]:
    return [(p.body, p.headers, p.count, getattr(p, "total", p.count)) for p in payloads]


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("extra", [*CONFIGS, {"max_line_bytes": 200}])
async def test_side_payloads_are_the_decoding_paths_payloads(extra, encoding):
    """Varied records (several streams and tenants, odd timestamps and values, lines over
    ``max_line_bytes``) in two envelopes: the same bodies, headers and counts."""
    records = varied_records(300)
    fast, slow = sink(encoding=encoding, **extra), sink(encoding=encoding, **extra)
    lines = await buffered(fast, records[:170], records[170:])
    assert all(isinstance(span.side, LokiSide) for span in lines.spans)
    got = fast.encode_lines(lines)
    assert shape(got) == shape(slow.encode_lines(undecorated(lines)))
    assert fast.counts == slow.counts


def one_stream_records(n: int) -> list[dict[str, Any]]:
    """Records of one stream and tenant (the usual envelope), metadata varied."""
    return [{"timestamp": f"2025-07-06T10:{i // 60 % 60:02d}:{i % 60:02d}.{i:03d}Z",
             "level": ["info", "error"][i % 2], "message": f"m{i}", "job_id": f"job-{i % 3}",
             "k8s": {"namespace": "ns", "container": "c", "pod": "p"}} for i in range(n)]


@pytest.mark.parametrize("records", [one_stream_records(250), varied_records(250)],
                         ids=["one-stream", "varied"])
async def test_batches_cut_through_envelopes_are_the_decoding_paths(records):
    """Envelopes of 100 records taken 70 at a time: spans from an envelope's start that
    stop short of its end, from its middle to its end, and whole ones. Each batch's
    payloads are the decoding path's (the side data is sliced where a span is not its
    whole envelope, and a one-stream envelope's rows go to its stream at once)."""
    fast, slow = sink(), sink()
    for start in range(0, len(records), 100):
        await fast.put(records[start:start + 100], token())
    taken = 0
    while taken < len(records):
        lines = fast.queue.buffer.take(70, 1 << 30)  # type: ignore[attr-defined]
        assert lines.count and all(isinstance(span.side, LokiSide) for span in lines.spans)
        assert shape(fast.encode_lines(lines)) == shape(slow.encode_lines(undecorated(lines)))
        taken += lines.count
    assert fast.counts == slow.counts


async def test_a_413_half_and_a_shed_envelope_keep_each_records_side_data():
    """``drop_newest`` sheds the records below warning of the new envelope and of the
    queued one (both rebuilt, their side data cut the same way); the batch's halves
    encode as the decoding path encodes them."""
    s = sink(buffer={"max_events": 30, "when_full": "drop_newest"})
    ref = sink()
    records = [make_record(i, message=f"m{i}", level=("error" if i % 3 else "info"))
               for i in range(40)]
    lines = await buffered(s, records[:20], records[20:])
    assert lines.count == 26 and {r["level"] for r in lines.records()} == {"error"}
    for half in lines.halves():
        assert shape(s.encode_lines(half)) == shape(ref.encode_lines(undecorated(half)))
    kept = [orjson.loads(line) for line in lines.lines()]
    assert [r["message"] for r in kept] == [r["message"] for r in lines.records()]


async def test_side_data_is_counted_in_the_memory_buffer_and_released_when_settled():
    s = sink()
    records = [make_record(i) for i in range(50)]
    lines = await buffered(s, records)
    side = lines.spans[0].side
    assert side is not None and side.nbytes > 0
    buffer = s.queue.buffer  # type: ignore[attr-defined]
    assert buffer.bytes >= lines.nbytes + side.nbytes
    buffer.settle(lines)
    assert buffer.bytes == 0 and buffer.records == 0


async def test_long_metadata_values_are_counted_by_their_length():
    """A structured-metadata value kept in the side data (a 4 KB stack trace) is counted
    in the memory buffer as long as it is, so the buffer's byte bound holds for it."""
    s = sink(structured_metadata={"stack": "stack"})
    records = []
    for i in range(20):
        record = make_record(i)
        record["stack"] = f"frame {i}\n" * 500
        records.append(record)
    lines = await buffered(s, records)
    side = lines.spans[0].side
    assert side is not None
    kept = sum(len(value) for meta in side.metas for _, value in meta)
    assert kept >= 20 * 4000
    assert side.nbytes >= kept + 100 * 20


def test_line_message_keeps_no_side_data():
    assert sink(line="message").side([make_record(1)]) is None
    assert isinstance(sink().side([make_record(1)]), LokiSide)


class Scripted:
    def __init__(self, *answers: tuple[int, str]) -> None:
        self.answers, self.sent = list(answers), []

    async def post(self, url, body, headers):
        self.sent.append(SCHEMA.PushRequest.FromString(snappy.uncompress(body)))
        status, text = self.answers.pop(0)
        return status, {}, text


async def test_a_partly_refused_whole_batch_payload_sends_again_the_right_records():
    """The payload carries its batch (``lines``, no records decoded); Loki refuses two
    entries as too far behind: those two go again rewritten, the payload then holds
    exactly their records, decoded from the batch."""
    s = sink()
    records = [make_record(i) for i in range(5)]  # 2024-05-01T10:00:00 .. 10:00:04
    stream = '{app="encoder", container="worker", namespace="video"}'
    refusal = ("entry with timestamp 2024-05-01 10:00:00.000 +0000 UTC ignored, reason: 'entry "
               "too far behind, entry timestamp is: 2024-05-01T10:00:00Z, oldest acceptable "
               "timestamp is: 2024-05-01T10:00:02Z',\n"
               f"user 'fake', total ignored: 2 out of 5 for stream: {stream}")
    lines = await buffered(s, records)
    (payload,) = s.encode_lines(lines)
    assert payload.lines is lines and payload.records == [] and payload.count == 5
    s._transport = Scripted((400, refusal), (204, ""))  # type: ignore[assignment]
    await s.send(payload)
    first, second = (push.streams[0].entries for push in s._transport.sent)
    assert len(first) == 5 and len(second) == 2
    assert [r["message"] for r in payload.records] == ["frame 0 done", "frame 1 done"]
    assert payload.lines is None and payload.count == 2


@pytest.mark.parametrize("message", ["plain ascii", "é non-ascii ü"])
@pytest.mark.parametrize("over", [0, 1])
async def test_a_line_exactly_at_max_line_bytes_is_kept_one_byte_more_is_cut(message, over):
    """ASCII spans are decoded at once and cut, others record by record: a record whose
    JSON is exactly ``max_line_bytes`` long is its line either way, one byte longer is
    truncated (counted), as on the decoding path."""
    records = [make_record(i, message=message) for i in range(3)]
    size = len(orjson.dumps(records[1]))
    fast, slow = sink(max_line_bytes=size - over), sink(max_line_bytes=size - over)
    lines = await buffered(fast, records)
    assert shape(fast.encode_lines(lines)) == shape(slow.encode_lines(undecorated(lines)))
    assert fast.counts["truncated"] == slow.counts["truncated"] >= over
