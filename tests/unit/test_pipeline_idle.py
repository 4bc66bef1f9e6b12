"""An idle pipeline sleeps: no tick of the processor task and no tick of the counters
while nothing is read, held or in flight; what arrives still ships at once, counted, a
quiet multi-line record still ships after ``flush_after`` and a reload is applied at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.unit.test_pipeline import FakeSink, finished, make, new_metrics


def counting(monkeypatch: Any, owner: Any, name: str) -> list[float]:
    """Wrap ``owner.name`` to record when it is called."""
    calls: list[float] = []
    original = getattr(owner, name)

    def wrapper(*args: Any, **kw: Any) -> Any:
        calls.append(time.monotonic())
        return original(*args, **kw)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


async def test_an_idle_pipeline_does_not_tick(tmp_path, monkeypatch):
    """Before: 10 counter flushes and 10 processor flushes a second while idle."""
    log = tmp_path / "app.log"
    log.write_text("")
    sink, metrics = FakeSink(), new_metrics()
    pipeline, stop = make(tmp_path, monkeypatch, sink, metrics=metrics)
    ticks = counting(monkeypatch, pipeline, "_flush_counts")
    flushes = counting(monkeypatch, pipeline.processor, "flush")
    run = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.5)
    ticks_before, flushes_before = len(ticks), len(flushes)
    await asyncio.sleep(1.5)
    assert len(ticks) - ticks_before <= 1  # the pod facts' refresh (every 5 s) at most
    assert len(flushes) == flushes_before
    with log.open("a") as fh:
        fh.write('{"message": "hello"}\n')
    started = time.monotonic()
    while not sink.records and time.monotonic() - started < 2.0:
        await asyncio.sleep(0.01)
    assert sink.messages() == ["hello"]
    await asyncio.sleep(0.3)  # the counters flow within a tick of the activity
    assert metrics.value("shipper_records_parsed_total", format="json") == 1
    stop.set()
    assert await finished(run, 10)


async def test_a_quiet_multiline_record_ships_after_flush_after(tmp_path, monkeypatch):
    """The processor task ticks while a record is pending: it ships ~``flush_after`` late."""
    log = tmp_path / "app.log"
    log.write_text("2025-07-06T10:30:00Z INFO first\n")
    sink = FakeSink()
    pipeline, stop = make(tmp_path, monkeypatch, sink,
                          parse={"multiline": {"flush_after": "200ms"}})
    run = asyncio.create_task(pipeline.run())
    started = time.monotonic()
    while not sink.records and time.monotonic() - started < 3.0:
        await asyncio.sleep(0.01)
    assert sink.messages() == ["first"]
    assert time.monotonic() - started < 1.5
    stop.set()
    assert await finished(run, 10)


async def test_a_change_is_applied_at_once_while_idle(tmp_path, monkeypatch):
    """A reload's change wakes the processor task waiting without a timeout."""
    (tmp_path / "app.log").write_text("")
    pipeline, stop = make(tmp_path, monkeypatch, FakeSink())
    run = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.5)
    applied: list[float] = []

    async def change() -> None:
        applied.append(time.monotonic())

    asked = time.monotonic()
    await asyncio.wait_for(pipeline.delivery.between(change), 1.0)
    assert applied[0] - asked < 0.05
    stop.set()
    assert await finished(run, 10)
