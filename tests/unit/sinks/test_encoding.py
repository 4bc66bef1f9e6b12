"""Records are encoded once, when a sink takes them: one NDJSON blob per envelope, every
record JSON cannot hold shipped as text; and a sink that sends the buffered NDJSON as it
is (http, stdout, loki's lines) produces the bytes it would from the records."""

from __future__ import annotations

import orjson
import pytest

from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.sinks.batch import Envelope, Lines, Span
from shipper.sinks.encoding import TEXT_LIMIT, encode_records
from shipper.sinks.http import HttpSink
from shipper.sinks.loki import LokiSink
from shipper.sinks.settings import (
    HttpSinkSettings,
    LokiSinkSettings,
    StdoutSinkSettings,
)
from shipper.sinks.stdout import StdoutSink
from tests.receivers.harness import make_record


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __repr__(self) -> str:
        raise RuntimeError("no")


def rows(records: list[dict]) -> list[dict]:
    enc = encode_records(records, levels=False)
    return [orjson.loads(line) for line in enc.data.splitlines()]


def test_offsets_levels_and_internal_keys():
    records = [make_record(i, level=lvl) for i, lvl in enumerate(["info", "error", "warning"])]
    enc = encode_records(records, levels=True)
    assert enc.high == b"\x00\x01\x01" and enc.unencodable == 0
    start = 0
    for record, end in zip(records, enc.ends):
        got = orjson.loads(enc.data[start:end])
        assert got == record and b"raw " not in enc.data[start:end]
        assert enc.data[end - 1:end] == b"\n"
        start = end


@pytest.mark.parametrize("bad, error", [
    (nested(300), "TypeError"),                  # orjson.loads takes up to 1,023 levels
    ({"big": 2**70}, "TypeError"),                 # ints past 64 bits
    ({"obj": Unprintable()}, "TypeError"),         # default=str raises (orjson wraps it)
])
def test_a_record_json_cannot_hold_becomes_text_and_its_neighbours_are_intact(bad, error):
    records = [make_record(0), make_record(1, attributes=bad), make_record(2)]
    enc = encode_records(records, levels=False)
    out = [orjson.loads(line) for line in enc.data.splitlines()]
    assert enc.unencodable == 1 and enc.error
    assert out[0]["attributes"] == {"i": 0} and out[2]["attributes"] == {"i": 2}
    text = out[1]
    assert text["attributes"] == {"unencodable": True, "unencodable_error": error}
    assert text["message"] == "frame 1 done" and text["level"] == "info"
    assert text["k8s"]["pod"] == "encoder-7d9f-abcde" and text["job_id"] == "job-abc123"
    assert "raw 1" not in str(text)


def test_a_message_that_is_not_text_is_shipped_as_a_bounded_repr():
    record = {"message": nested(2000), "level": "info"}
    (text,) = rows([record])
    assert text["attributes"]["unencodable"] is True
    assert "'message': {'a': {'a':" in text["message"] and len(text["message"]) <= TEXT_LIMIT


def test_lone_surrogates_are_escaped_not_lost():
    (text,) = rows([{"message": "before \udc80 after", "level": "warning"}])
    assert text["message"] == "before \\udc80 after" and text["level"] == "warning"


def lines_of(records: list[dict]) -> Lines:
    enc = encode_records(records, levels=False)
    env = Envelope(enc.data, enc.ends, None, AckToken("f", 0, pending=1), 0.0)
    lines = Lines()
    lines.add(Span(env, enc.data, enc.ends, 0))
    return lines


@pytest.mark.parametrize("sink", [
    HttpSink(HttpSinkSettings(name="h", url="http://127.0.0.1:9", compression="none"),
             metrics=Metrics(collectors=False)),
    StdoutSink(StdoutSinkSettings(), metrics=Metrics(collectors=False)),
    LokiSink(LokiSinkSettings(url="http://127.0.0.1:9", encoding="json"),
             metrics=Metrics(collectors=False)),
], ids=["http", "stdout", "loki"])
def test_sending_the_buffered_ndjson_gives_the_bytes_encoding_the_records_would(sink):
    records = [make_record(i) for i in range(5)]
    from_records = sink.encode([dict(r) for r in records])
    from_lines = sink.encode_lines(lines_of(records))
    assert [p.body for p in from_lines] == [p.body for p in from_records]
    assert [p.headers for p in from_lines] == [p.headers for p in from_records]


def test_halves_of_a_batch_split_it_by_records():
    lines = lines_of([make_record(i) for i in range(7)])
    first, second = lines.halves()
    assert (first.count, second.count) == (3, 4)
    assert [r["attributes"]["i"] for r in first.records() + second.records()] == list(range(7))
    assert first.ndjson() + second.ndjson() == lines.ndjson()
