"""The stdout sink writes a batch of several envelopes' spans span by span (``writev``, no
copy of the batch joined into one bytes): the same bytes in the same order, the bytes
metric the same, and a partial ``writev`` goes on where it stopped."""

from __future__ import annotations

import os
from typing import Any

import orjson
import pytest

from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.sinks import stdout
from shipper.sinks.batch import Payload
from shipper.sinks.settings import StdoutSinkSettings
from shipper.sinks.stdout import StdoutSink, write_views


def _partial_writev(limit: int) -> Any:
    """An ``os.writev`` that writes at most ``limit`` bytes a call (a full pipe's way)."""
    real_write = os.write

    def writev(fd: int, buffers: list[memoryview]) -> int:
        return real_write(fd, b"".join(bytes(view) for view in buffers)[:limit])

    return writev


@pytest.mark.parametrize(("limit", "iov_max"), [(1, 1024), (7, 2), (1000, 1), (5, 3)])
def test_write_views_writes_every_byte_in_order_after_partial_writes(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, limit: int, iov_max: int) -> None:
    parts = [b"abc\n", b"", b"defghij\n", b"k\n", b"", b"lmnopqrstuvwxyz\n", b"0123456789\n"]
    monkeypatch.setattr(os, "writev", _partial_writev(limit))
    monkeypatch.setattr(stdout, "IOV_MAX", iov_max)
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        write_views(fd, [memoryview(part) for part in parts])
    finally:
        os.close(fd)
    assert (tmp_path / "out").read_bytes() == b"".join(parts)


class Recording(StdoutSink):
    """Records each payload's body size, bytes metric figure and number of spans."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[int, int, int]] = []

    async def send(self, payload: Payload) -> None:
        spans = len(payload.lines.spans) if payload.lines is not None else 0
        self.sent.append((len(payload.body), payload.raw_bytes, spans))
        await super().send(payload)


async def test_batches_of_several_envelopes_are_written_span_by_span_unchanged(
        tmp_path: Any) -> None:
    """Envelopes of 300 records with the default 512-record batch: batches take parts of
    two envelopes; each is written without a joined copy (empty body), every record once,
    in order, and ``raw_bytes`` (the bytes metric) is what was written."""
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    sink = Recording(StdoutSinkSettings(), metrics=Metrics(collectors=False), fd=fd)
    await sink.start()
    records = [Record({"level": "info", "message": f"line {i} " + "x" * (i % 37)})
               for i in range(900)]
    tokens = [AckToken("f", i, pending=1) for i in range(3)]
    for i, token in enumerate(tokens):
        await sink.put(records[300 * i:300 * (i + 1)], token)
    await sink.close(10)
    os.close(fd)
    out = (tmp_path / "out").read_bytes()
    assert out == b"".join(orjson.dumps(record) + b"\n" for record in records)
    assert all(token.complete for token in tokens)
    assert any(body == 0 and spans > 1 for body, _raw, spans in sink.sent)
    assert all(body in (0, raw) for body, raw, _spans in sink.sent)
    assert sum(raw for _body, raw, _spans in sink.sent) == len(out)
