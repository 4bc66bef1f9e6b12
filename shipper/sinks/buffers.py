"""A sink worker's buffer behind one protocol: memory or disk, chosen once at construction.

The worker (:mod:`shipper.sinks.base`) only calls :class:`SinkBuffer`: ``put`` an
envelope's encoded records, ``next_lines`` (the next batch, once full or ``max_wait`` old;
``None`` when closing and empty), ``settle`` a batch once its records are delivered or
dead-lettered, ``close``/``fail``/``release`` at the end, and the gauges' ``records``,
``bytes`` and ``oldest``; ``leftovers`` after closing, for a successor (a reload).

* :class:`MemoryQueue`: the sink's :class:`~shipper.sinks.membuffer.MemoryBuffer`; an
  envelope is acknowledged once all its records are settled (or shed).
* :class:`~shipper.sinks.diskqueue.DiskQueue` (``buffer.type: disk``): an envelope is
  acknowledged once durably buffered; a settled batch is committed. ``durable``: what is
  left at shutdown is sent after a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from shipper.acks import AckToken
from shipper.errors import SinkStoppedError
from shipper.record import Record
from shipper.sinks.batch import RECORD_OVERHEAD, Envelope, Lines, Side, SinkMetrics
from shipper.sinks.diskqueue import DiskQueue
from shipper.sinks.encoding import Encoded
from shipper.sinks.membuffer import MemoryBuffer


class SinkBuffer(Protocol):
    #: what is left at shutdown is sent again after a restart (disk), not read from files
    durable: bool

    @property
    def records(self) -> int: ...

    @property
    def bytes(self) -> int: ...

    def oldest(self) -> float | None: ...

    async def open(self) -> None: ...

    async def put(self, encoded: Encoded, token: AckToken, side: Side | None = None) -> None: ...

    async def next_lines(self, max_records: int, max_bytes: int,
                         max_wait: float) -> Lines | None: ...

    async def settle(self, lines: Lines) -> None: ...

    def close(self) -> None: ...

    def fail(self, error: SinkStoppedError) -> None: ...

    async def release(self) -> None: ...

    def leftovers(self) -> list[Leftover]: ...


#: records a closed buffer still holds, with the token their delivery acknowledges
Leftover = tuple[list[Record], AckToken]


class MemoryQueue:
    """The memory buffer seen through :class:`SinkBuffer`."""

    durable = False

    def __init__(self, buffer: MemoryBuffer, clock: Callable[[], float]) -> None:
        self.buffer = buffer
        self._clock = clock

    @property
    def records(self) -> int:
        return self.buffer.records

    @property
    def bytes(self) -> int:
        return self.buffer.bytes

    def oldest(self) -> float | None:
        return self.buffer.oldest_unsettled

    async def open(self) -> None:
        """Nothing to recover: a memory buffer starts empty."""

    async def put(self, encoded: Encoded, token: AckToken, side: Side | None = None) -> None:
        env = Envelope(encoded.data, encoded.ends, encoded.high, token, self._clock())
        if side is not None and env.count:
            env.side = side
            env.overhead = RECORD_OVERHEAD - (-side.nbytes // env.count)  # rounded up
        await self.buffer.put(env)

    async def next_lines(self, max_records: int, max_bytes: int,
                         max_wait: float) -> Lines | None:
        """Wait for records, then take them once a limit or ``max_wait`` is reached."""
        buf = self.buffer
        while True:
            while not buf.queued_records:
                if buf.closing:
                    return None
                await buf.wait_data()
            while not (buf.closing or buf.queued_records >= max_records
                       or buf.queued_bytes >= max_bytes):
                oldest = buf.oldest_queued
                remaining = (oldest + max_wait - self._clock()) if oldest is not None else 0
                if remaining <= 0:
                    break
                await buf.wait_data(remaining)
            lines = buf.take(max_records, max_bytes)
            if lines.count:
                return lines

    async def settle(self, lines: Lines) -> None:
        self.buffer.settle(lines)

    def close(self) -> None:
        self.buffer.close()

    def fail(self, error: SinkStoppedError) -> None:
        self.buffer.fail(error)

    async def release(self) -> None:
        """Nothing to release."""

    def leftovers(self) -> list[Leftover]:
        """What the closed buffer could not settle, decoded back into records."""
        return [(_records_of(env), env.token) for env in self.buffer.leftovers()]


def _records_of(env: Envelope) -> list[Record]:
    view = memoryview(env.data)
    return [orjson.loads(view[env.start(i):env.ends[i]]) for i in range(env.count)]


def build_buffer(settings: Any, disk: Any, *, metrics: SinkMetrics, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]]) -> SinkBuffer:
    """The buffer ``settings`` (a sink's ``buffer`` section) asks for: ``disk`` is the
    sink's :class:`~shipper.buffer.disk.DiskBuffer` with ``type: disk``, else ``None``."""
    shed = metrics.failed("buffer-full").inc
    if disk is not None:
        return DiskQueue(disk, when_full=settings.when_full, clock=clock, on_drop=shed,
                         on_write_error=metrics.retries.inc, sleep=sleep)
    return MemoryQueue(MemoryBuffer(settings.memory_bytes, max_records=settings.max_events,
                                    when_full=settings.when_full, on_shed=shed), clock)
