"""8. A record ``orjson.dumps`` refuses (nesting past 254 levels, an integer past 64 bits, a
lone surrogate) never stops a sink: every sink type (and the disk-buffer front) ships it as
text marked ``attributes.unencodable``, counts it, and delivers the records around it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from shipper.buffer.disk import DiskBuffer
from shipper.sinks.datadog import DatadogSink
from shipper.sinks.forward import ForwardSink
from shipper.sinks.http import HttpSink
from shipper.sinks.loki import LokiSink
from shipper.sinks.settings import (
    DatadogSinkSettings,
    ForwardSinkSettings,
    HttpSinkSettings,
    LokiSinkSettings,
    StdoutSinkSettings,
)
from shipper.sinks.stdout import StdoutSink
from tests.receivers.datadog import DatadogReceiver
from tests.receivers.forward import ForwardReceiver
from tests.receivers.harness import Recorder, make_record, new_metrics, ship
from tests.receivers.http import NdjsonReceiver
from tests.receivers.loki import LokiReceiver

pytestmark = pytest.mark.integration

KEY = "dd-key-0123456789abcdef"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def bad_records() -> list[dict[str, Any]]:
    """Records JSON cannot hold, between good ones (as ``orjson.loads`` can produce them)."""
    deep = make_record(1, attributes=nested(300))
    deep["message"] = "deep one"
    return [make_record(0), deep,
            make_record(2, attributes={"big": 2**70}),
            make_record(3, message="lone \udc80 surrogate"),
            make_record(4)]


def unencodable(metrics) -> float:
    return sum(metrics.value("shipper_records_failed_total", sink=name, reason="unencodable")
               for name in ("stdout", "h", "loki", "datadog", "forward"))


async def test_stdout_ships_unencodable_records_as_text(tmp_path):
    out = tmp_path / "out.ndjson"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600)
    metrics = new_metrics()
    try:
        sink = StdoutSink(StdoutSinkSettings(), metrics=metrics, fd=fd)
        tokens = await ship(sink, [bad_records(), [make_record(5)]])
    finally:
        os.close(fd)
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert all(t.complete for t in tokens)
    assert [r["message"] for r in rows][:2] == ["frame 0 done", "deep one"]
    assert rows[-1]["message"] == "frame 5 done" and len(rows) == 6
    marked = [r for r in rows if r["attributes"].get("unencodable")]
    assert len(marked) == 3 == unencodable(metrics)
    assert "lone \\udc80 surrogate" in [r["message"] for r in marked]
    assert all(r["k8s"]["pod"] == "encoder-7d9f-abcde" for r in marked)


async def test_http_ships_unencodable_records_as_text():
    metrics = new_metrics()
    async with NdjsonReceiver() as rx:
        sink = HttpSink(HttpSinkSettings(name="h", url=rx.url, batch={"max_wait": 0.01}),
                        metrics=metrics, sleep=Recorder())
        tokens = await ship(sink, [bad_records()])
    assert tokens[0].complete and len(rx.records) == 5
    assert sum(bool(r["attributes"].get("unencodable")) for r in rx.records) == 3
    assert unencodable(metrics) == 3


async def test_loki_ships_unencodable_records_as_text():
    metrics = new_metrics()
    async with LokiReceiver() as rx:
        sink = LokiSink(LokiSinkSettings(url=rx.url, batch={"max_wait": 0.01}),
                        metrics=metrics, sleep=Recorder())
        tokens = await ship(sink, [bad_records()])
    assert tokens[0].complete and len(rx.entries) == 5
    assert sum('"unencodable":true' in e.line for e in rx.entries) == 3
    assert unencodable(metrics) == 3


async def test_datadog_ships_unencodable_records_as_text(tmp_path):
    key_file = tmp_path / "api-key"
    key_file.write_text(KEY)
    metrics = new_metrics()
    now = 1714561200.0  # 2024-05-01T11:00Z: make_record's records are an hour old
    async with DatadogReceiver(KEY, clock=lambda: now) as rx:
        sink = DatadogSink(DatadogSinkSettings(url=rx.url, api_key_file=key_file,
                                               batch={"max_wait": 0.01}),
                           metrics=metrics, sleep=Recorder(), state_dir=tmp_path,
                           wall_clock=lambda: now)
        tokens = await ship(sink, [bad_records()])
    assert tokens[0].complete and len(rx.entries) == 5
    assert sum(bool(e.get("attributes", {}).get("unencodable")) for e in rx.entries) == 3
    assert unencodable(metrics) == 3


async def test_forward_ships_unencodable_records_as_text():
    metrics = new_metrics()
    async with ForwardReceiver() as rx:
        sink = ForwardSink(ForwardSinkSettings(url=rx.url, batch={"max_wait": 0.01}),
                           metrics=metrics, sleep=Recorder())
        tokens = await ship(sink, [bad_records()])
    assert tokens[0].complete and len(rx.events) == 5
    assert sum(bool(e.record["attributes"].get("unencodable")) for e in rx.events) == 3
    assert unencodable(metrics) == 3


async def test_disk_buffer_front_ships_unencodable_records_as_text(tmp_path: Path):
    metrics = new_metrics()
    cfg = HttpSinkSettings(name="h", url="http://127.0.0.1:9", batch={"max_wait": 0.01},
                           buffer={"type": "disk", "fsync": "never"})
    async with NdjsonReceiver() as rx:
        cfg = cfg.model_copy(update={"url": rx.url})
        disk = DiskBuffer(tmp_path / "buf", 1 << 20, "never", metrics, sink="h")
        sink = HttpSink(cfg, metrics=metrics, sleep=Recorder(), disk=disk)
        tokens = await ship(sink, [bad_records()])
    assert tokens[0].complete and len(rx.records) == 5
    assert sum(bool(r["attributes"].get("unencodable")) for r in rx.records) == 3
    assert unencodable(metrics) == 3


async def test_a_record_a_sink_encoder_refuses_is_shipped_as_text_not_a_dead_sink():
    """Past JSON, a sink's own encoder may refuse a record (here Loki's protobuf builder
    with a value it cannot take): record by record, it is shipped as text and counted; a
    record it refuses even as text is dead-lettered (counted), never a dead sink."""
    metrics = new_metrics()

    class PickyLoki(LokiSink):
        def _payloads(self, records, streams):
            if any("explodes" in r["attributes"] for r in records):
                raise ValueError("the encoder refuses this one")
            return super()._payloads(records, streams)

        def encode_lines(self, lines):  # a batch encoded from side data refuses it too
            if any("explodes" in r["attributes"] for r in lines.records()):
                raise ValueError("the encoder refuses this one")
            return super().encode_lines(lines)

    async with LokiReceiver() as rx:
        sink = PickyLoki(LokiSinkSettings(url=rx.url, batch={"max_wait": 0.01}),
                         metrics=metrics, sleep=Recorder())
        tokens = await ship(sink, [[make_record(0), make_record(1, attributes={"explodes": 1}),
                                    make_record(2)]])
    assert tokens[0].complete and len(rx.entries) == 3
    assert unencodable(metrics) == 1
    assert metrics.value("shipper_records_failed_total", sink="loki", reason="dead-letter") == 0
