"""The processor task encodes a batch once when more than one takes exactly its records
(the live tail's ring, the sinks whose route gives them every record), and leaves each to
encode its own otherwise: the bytes every sink ships and the tail replays are unchanged."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from shipper.acks import AckToken
from shipper.components import Observers, build_observers
from shipper.config import Settings
from shipper.delivery import Delivery
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.routes import Router
from shipper.server.tail import TailHub
from shipper.server.tail_records import TailFilter
from shipper.sinks.encoding import Encoded, TakesEncoded
from shipper.sinks.settings import SinkMatch, StdoutSinkSettings
from shipper.sinks.stdout import StdoutSink
from shipper.stages import CountingFates
from shipper.stream import Batch


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("SHIPPER_"):
            monkeypatch.delenv(key)


def rec(i: int, level: str = "info", **extra: Any) -> Record:
    record = Record({"timestamp": f"2026-01-02T12:00:{i % 60:02d}.000Z", "level": level,
                     "message": f"line {i}", "attributes": {"n": i}, "k8s": {"pod": "p"},
                     **extra})
    record.raw = f"raw line {i}"
    return record


def ndjson(records: list[Record]) -> bytes:
    return b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records)


class CountingDumps:
    """``orjson.dumps`` that counts the records it is asked to encode (alone or in lists)."""

    def __init__(self) -> None:
        self.real = orjson.dumps
        self.records = 0

    def __call__(self, obj: Any, *args: Any, **kwargs: Any) -> bytes:
        if isinstance(obj, dict) and "message" in obj:
            self.records += 1
        elif isinstance(obj, list):
            self.records += sum(isinstance(o, dict) and "message" in o for o in obj)
        return self.real(obj, *args, **kwargs)


class Spy:
    """A sink worker that takes encoded envelopes, recording how each batch came."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.put_calls: list[list[Record]] = []
        self.encoded: list[tuple[list[Record], Encoded]] = []

    async def put(self, records: list[Record], token: AckToken) -> None:
        self.put_calls.append(records)

    async def put_encoded(self, records: list[Record], encoded: Encoded,
                          token: AckToken) -> None:
        self.encoded.append((records, encoded))


class PlainSink:
    """A sink worker with ``put`` only (no encoded envelopes)."""

    def __init__(self) -> None:
        self.name = "plain"
        self.got: list[list[Record]] = []

    async def put(self, records: list[Record], token: AckToken) -> None:
        self.got.append(records)


class Recorder:
    """An observer that keeps NDJSON: what it was handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Record], Encoded | None]] = []

    def __call__(self, records: list[Record], encoded: Encoded | None = None) -> None:
        self.calls.append((records, encoded))


def delivery(sinks: list[Any], observers: Observers, matches: list[dict | None] | None = None,
             ) -> Delivery:
    routes = [None if m is None else SinkMatch.model_validate(m)
              for m in (matches or [None] * len(sinks))]
    return Delivery(asyncio.Queue(4), processor=None, sinks=sinks, observers=observers,
                    checkpoints=None, flush_at_end=True, on_isolated=lambda *a: None,
                    on_checkpoint=lambda: None, clock=lambda: 0.0, monotonic=lambda: 0.0,
                    router=Router(routes, CountingFates()))


async def shipped(records: list[Record], tmp_path: Path, monkeypatch,
                  observers: Observers) -> tuple[bytes, int]:
    """What a real stdout sink writes of ``records`` delivered with ``observers``, and how
    many records were encoded on the way."""
    counter = CountingDumps()
    out = tmp_path / "stdout"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        sink = StdoutSink(StdoutSinkSettings(name="stdout"), fd=fd,
                          metrics=Metrics(collectors=False))
        await sink.start()
        monkeypatch.setattr(orjson, "dumps", counter)
        await delivery([sink], observers)._deliver(Batch(records, "f", 100))
        monkeypatch.setattr(orjson, "dumps", counter.real)
        await sink.close(5.0)
    finally:
        os.close(fd)
    return out.read_bytes(), counter.records


async def test_the_default_path_encodes_each_record_once_for_the_tail_and_stdout(
        tmp_path, monkeypatch):
    """Server on (the wiring ``build_observers`` makes), one stdout sink: each record is
    encoded once (main encoded it twice: the ring's JSON array and the sink's NDJSON), and
    the sink writes the same bytes."""
    records = [rec(i, ("info", "error")[i % 2], job_id=f"j{i % 3}") for i in range(200)]
    expected = ndjson(records)
    observers, _server = build_observers(Settings(), Metrics(collectors=False))
    data, encoded = await shipped(records, tmp_path, monkeypatch, observers)
    assert data == expected
    assert encoded == len(records)


async def test_tail_and_stdout_from_one_encoding_are_those_of_two(tmp_path, monkeypatch):
    """The ring's replay and the stdout sink's bytes are the same whether the batch was
    encoded once for both or by each on its own (a record JSON cannot hold included: the
    sink ships its text form, the ring its plain fields)."""
    deep: object = "bottom"
    for _ in range(400):
        deep = [deep]
    batches = [[rec(i, job_id="j") for i in range(50)],
               [rec(50, nested=deep), rec(51, level="error")]]
    results = []
    for shared in (True, False):
        tail = TailHub(ring_size=100, max_clients=1, client_queue=100)
        observers = (Observers(publish_encoded=[tail.publish]) if shared
                     else Observers(publish=[tail.publish]))
        out = b""
        for records in batches:
            data, _ = await shipped([Record(r) for r in records], tmp_path, monkeypatch,
                                    observers)
            out += data
        results.append((out, tail.recent(TailFilter(), 1000), tail.ring_bytes))
    assert results[0] == results[1]
    out, replay, _ = results[0]
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[50]["attributes"]["unencodable"] is True
    assert "not encodable" in json.loads(replay[50])["attributes"]["tail_note"]
    assert len(replay) == 52 and len(lines) == 52


async def test_one_encoding_is_handed_to_the_tail_and_every_sink_getting_everything():
    recorder = Recorder()
    first, second = Spy("a"), Spy("b")
    records = [rec(i) for i in range(5)]
    await delivery([first, second], Observers(publish_encoded=[recorder]))._deliver(
        Batch(records, "f", 10))
    ((seen, encoded),) = recorder.calls
    assert encoded is not None and encoded.data == ndjson(records)
    assert seen is records and not first.put_calls and not second.put_calls
    assert [e for _, e in first.encoded] == [encoded] == [e for _, e in second.encoded]
    assert first.encoded[0][1] is encoded and second.encoded[0][1] is encoded


async def test_a_lone_consumer_encodes_its_own():
    """No tail (server off) and one sink; or the tail and sinks that take only ``put``:
    nothing is encoded ahead, each encodes its own as before."""
    spy = Spy("a")
    await delivery([spy], Observers())._deliver(Batch([rec(1)], "f", 10))
    assert len(spy.put_calls) == 1 and not spy.encoded
    recorder, plain = Recorder(), PlainSink()
    await delivery([plain], Observers(publish_encoded=[recorder]))._deliver(
        Batch([rec(2)], "f", 20))
    assert recorder.calls[0][1] is None and len(plain.got) == 1


async def test_a_sink_given_part_of_the_records_encodes_its_part_itself():
    """Routes: the ``errors`` sink gets a subset (its own ``put``); the sink getting every
    record and the tail share one encoding of them."""
    recorder, errors, everything = Recorder(), Spy("errors"), Spy("all")
    records = [rec(0), rec(1, "error"), rec(2)]
    d = delivery([errors, everything], Observers(publish_encoded=[recorder]),
                 [{"min_level": "error"}, None])
    await d._deliver(Batch(records, "f", 10))
    assert errors.put_calls == [[records[1]]] and not errors.encoded
    ((part, encoded),) = everything.encoded
    assert part == records and encoded.data == ndjson(records)
    assert recorder.calls[0][1] is encoded


async def test_records_routed_to_one_sink_only_are_shared_with_the_tail():
    """A sink whose part is every record routed (the others dropped as ``no_route``) takes
    the one encoding the tail keeps."""
    recorder, errors = Recorder(), Spy("errors")
    records = [rec(0), rec(1, "error"), rec(2, "critical")]
    d = delivery([errors], Observers(publish_encoded=[recorder]), [{"min_level": "error"}])
    await d._deliver(Batch(records, "f", 10))
    ((part, encoded),) = errors.encoded
    assert part == records[1:] and encoded.data == ndjson(records[1:])
    assert recorder.calls == [(records[1:], encoded)]


def test_every_sink_type_takes_encoded_envelopes():
    """The capability the processor task checks (once per set of sinks)."""
    sink = StdoutSink(StdoutSinkSettings(name="s"), metrics=Metrics(collectors=False))
    assert isinstance(sink, TakesEncoded) and not isinstance(PlainSink(), TakesEncoded)


async def test_replaced_sinks_are_checked_again_for_the_capability():
    recorder, spy, plain = Recorder(), Spy("a"), PlainSink()
    d = delivery([plain], Observers(publish_encoded=[recorder]))
    d.replace_sinks([spy], Router([None], CountingFates()), d.shares)
    await d._deliver(Batch([rec(1)], "f", 10))
    assert len(spy.encoded) == 1 and recorder.calls[0][1] is spy.encoded[0][1]


async def test_the_records_handed_on_hold_no_raw_line():
    """Delivery lets each record's raw line go (``release_raw``) before the observers and
    sinks get them, whichever way they take them: nothing downstream holds the lines."""
    recorder, spy, plain = Recorder(), Spy("a"), PlainSink()
    records = [rec(i) for i in range(7)]
    await delivery([spy], Observers(publish_encoded=[recorder]))._deliver(
        Batch(records, "f", 10))
    alone = [rec(i) for i in range(3)]
    await delivery([plain], Observers())._deliver(Batch(alone, "f", 20))
    assert [r.raw for r in recorder.calls[0][0]] == [None] * 7
    assert [r.raw for r in spy.encoded[0][0]] == [None] * 7
    assert [r.raw for r in plain.got[0]] == [None] * 3
