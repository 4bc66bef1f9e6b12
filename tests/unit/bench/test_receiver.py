"""The bench's loopback receiver counts the records the sinks' request bodies hold (not
the requests), and the sinks scenario calls a run complete only when that count is what
the paired stdout run shipped."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest

from bench.receiver import DATADOG_PATH, LOKI_PATH, RecordCounter
from bench.sinks import complete
from shipper.metrics import Metrics
from shipper.sinks.datadog import DatadogSink
from shipper.sinks.http import HttpSink
from shipper.sinks.loki import LokiSink
from shipper.sinks.settings import DatadogSinkSettings, HttpSinkSettings, LokiSinkSettings
from tests.unit.sinks.test_datadog_side import odd_records
from tests.unit.sinks.test_loki_wire import varied_records

NOW = 1_751_800_000.0
COUNT = RecordCounter()


def _sink(kind: str, **kw: Any) -> Any:
    cls, settings = {"http": (HttpSink, HttpSinkSettings), "loki": (LokiSink, LokiSinkSettings),
                     "datadog": (DatadogSink, DatadogSinkSettings)}[kind]
    return cls(settings(url="http://127.0.0.1:1", name="s", **kw),
               metrics=Metrics(collectors=False), wall_clock=lambda: NOW)


@pytest.mark.parametrize(("kind", "path", "kw"), [
    ("http", "/ingest", {}), ("http", "/ingest", {"compression": "none"}),
    ("loki", LOKI_PATH, {}), ("loki", LOKI_PATH, {"encoding": "json", "compression": "gzip"}),
    ("loki", LOKI_PATH, {"encoding": "json"}), ("datadog", DATADOG_PATH, {"max_age": None})])
def test_each_sinks_bodies_count_as_the_records_they_carry(kind, path, kw):
    """Varied records (several Loki streams and tenants; for Datadog those its encoder
    takes) encoded by the sink itself: the bodies' counts add up to the records, whatever
    the framing."""
    records = odd_records(120) if kind == "datadog" else varied_records(120)
    payloads = _sink(kind, **kw).encode(records)
    counted = sum(COUNT(path, p.headers.get("Content-Type", ""), p.body)
                  for p in payloads if p.body)
    assert counted == sum(p.count for p in payloads if p.body) == len(records)


def test_a_body_cut_short_or_not_the_protocol_is_refused_not_counted():
    records = varied_records(10)
    loki = _sink("loki").encode(records)[0]
    ndjson = b"".join(orjson.dumps(r) + b"\n" for r in records)
    for path, kind, body in [(LOKI_PATH, "application/x-protobuf", loki.body[:-7]),
                             ("/ingest", "application/x-ndjson", ndjson[:-9]),
                             (DATADOG_PATH, "application/json", gzip.compress(b'{"a": 1}'))]:
        with pytest.raises(Exception):  # noqa: B017 - whichever decoder's error
            COUNT(path, kind, body)
    assert COUNT("/ingest", "application/x-ndjson", gzip.compress(ndjson)) == 10


def test_a_run_is_complete_only_with_every_shipped_record_decoded():
    assert complete({"requests": 3, "records": 500, "undecoded": 0, "shipped": 500})
    assert not complete({"requests": 3, "records": 499, "undecoded": 0, "shipped": 500})
    assert not complete({"requests": 3, "records": 501, "undecoded": 0, "shipped": 500})
    assert not complete({"requests": 3, "records": 500, "undecoded": 1, "shipped": 500})
    assert not complete({"requests": 3, "bytes": 10, "shipped": 500})  # an old receiver
