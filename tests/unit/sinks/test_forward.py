"""Forward encoding (pure): PackedForward layout, EventTime ext type 0, chunk option."""

from __future__ import annotations

import struct

import msgpack

from shipper.metrics import Metrics
from shipper.sinks.forward import ForwardSink, event_time
from shipper.sinks.settings import ForwardSinkSettings
from tests.receivers.harness import make_record


def sink(**kw):
    return ForwardSink(ForwardSinkSettings(tag="t", **kw), metrics=Metrics(collectors=False))


def test_event_time_is_ext_0_with_big_endian_seconds_and_nanos():
    ext = event_time(1714557600_123456789)
    assert ext.code == 0 and ext.data == struct.pack(">II", 1714557600, 123456789)


def test_packed_forward_message_layout_and_deterministic_chunk_id():
    s = sink()
    payload = s.encode([make_record(1), make_record(2)])[0]
    tag, entries, options = msgpack.unpackb(payload.body, raw=False)
    assert tag == "t" and isinstance(entries, bytes)
    assert options == {"size": 2, "chunk": payload.batch_id}
    events = list(msgpack.Unpacker(__import__("io").BytesIO(entries), raw=False))
    assert [e[1]["message"] for e in events] == ["frame 1 done", "frame 2 done"]
    assert all(isinstance(e[0], msgpack.ExtType) and "_raw" not in e[1] for e in events)
    assert s.encode([make_record(1), make_record(2)])[0].batch_id == payload.batch_id


def test_no_chunk_option_without_acks():
    payload = sink(require_ack=False).encode([make_record(1)])[0]
    assert msgpack.unpackb(payload.body, raw=False)[2] == {"size": 1}
