"""The disk-buffer front of a sink worker (``buffer.type: disk``).

``put`` appends the envelope's encoded records to the sink's
:class:`~shipper.buffer.disk.DiskBuffer` and acknowledges it at once: the records are
durably buffered, so the file checkpoint may move on. The worker's batcher reads batches
back with :meth:`next_batch` and commits each once its records are delivered or
dead-lettered (in any order). What was not delivered when the process stopped is sent
again from the disk after a restart.

When the buffer is full, ``block`` waits for room; ``drop_newest`` / ``drop_oldest`` shed
records below ``warning`` first (the new envelope's and the unread ones on disk), newest or
oldest first, then the others; every shed record is counted. While closing, a full buffer
is not waited for: the envelope is left unacknowledged (read again from its file).
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections.abc import Awaitable, Callable
from itertools import accumulate
from typing import Any

import orjson

from shipper.acks import AckToken
from shipper.buffer.frames import HEADER
from shipper.errors import BufferError_, BufferFullError, SinkStoppedError
from shipper.sinks.batch import Envelope, Lines, Side, Span
from shipper.sinks.encoding import HIGH_LEVELS, Encoded

log = logging.getLogger("shipper.sinks")

#: waits between attempts to write to a buffer whose disk failed (full, I/O error)
WRITE_RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)


def is_high(payload: bytes) -> bool:
    """Whether a buffered record is at ``warning`` or above."""
    try:
        record = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return isinstance(record, dict) and record.get("level") in HIGH_LEVELS


class _Incoming:
    """An envelope's records on their way into the buffer (minus those shed)."""

    def __init__(self, encoded: Encoded) -> None:
        view = memoryview(encoded.data)
        starts = [0, *encoded.ends[:-1]]
        self.items: list[Any] = [view[a:b - 1] for a, b in zip(starts, encoded.ends, strict=True)]
        self.high: list[bool] = list(map(bool, encoded.high or bytes(len(self.items))))

    @property
    def framed(self) -> int:
        return sum(HEADER.size + len(item) for item in self.items)

    def trim(self, need: int, *, newest_first: bool, low_only: bool) -> int:
        """Shed records in age order until ``need`` bytes are freed; how many."""
        order = range(len(self.items) - 1, -1, -1) if newest_first else range(len(self.items))
        drop: set[int] = set()
        for index in order:
            if need <= 0:
                break
            if low_only and self.high[index]:
                continue
            drop.add(index)
            need -= HEADER.size + len(self.items[index])
        self.items = [item for i, item in enumerate(self.items) if i not in drop]
        self.high = [flag for i, flag in enumerate(self.high) if i not in drop]
        return len(drop)


class DiskQueue:
    """The disk buffer seen through :class:`~shipper.sinks.buffers.SinkBuffer`."""

    durable = True

    def __init__(self, buffer: Any, *, when_full: str, clock: Callable[[], float],
                 on_drop: Callable[[int], None], on_write_error: Callable[[], None] = lambda: None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.buffer = buffer
        self._when_full = when_full
        self._clock = clock
        self._on_drop = on_drop
        self._on_write_error = on_write_error
        self._sleep = sleep
        self._write_failures = 0
        self._data = asyncio.Event()
        self._room = asyncio.Event()
        self._unread = 0
        #: when the oldest unread record became unread (a batch waits ``max_wait`` from it)
        self._unread_since: float | None = None
        self._stopped: SinkStoppedError | None = None
        self.closing = False

    async def open(self) -> None:
        await self.buffer.open()
        self._unread = self.buffer.records  # recovered from a previous run
        if self._unread:
            self._unread_since = self._clock()
            self._data.set()

    def oldest(self) -> float | None:
        oldest: float | None = self.buffer.oldest()
        return oldest

    @property
    def records(self) -> int:
        return int(self.buffer.records)

    @property
    def bytes(self) -> int:
        return int(self.buffer.bytes)

    async def put(self, encoded: Encoded, token: AckToken, side: Side | None = None) -> None:
        """Buffer the records durably, then acknowledge the envelope (side data is not
        kept: what is read back is decoded by the encoder)."""
        batch = _Incoming(encoded)
        while True:
            if self._stopped is not None:
                raise self._stopped
            try:
                await self.buffer.append(batch.items)
                break
            except BufferFullError:
                if self.closing:
                    return  # not acknowledged: read again from its file after a restart
                if self._when_full == "block":
                    self._room.clear()
                    await self._room.wait()
                    continue
                await self._make_room(batch)
                if not batch.items:
                    token.done()  # every record accounted for (counted as shed)
                    return
            except BufferError_ as exc:
                if self.closing:
                    return  # not acknowledged: read again from its file after a restart
                await self._write_failed(exc)
        self._write_ok()
        if not self._unread:
            self._unread_since = self._clock()
        self._unread += len(batch.items)
        self._data.set()
        token.done()  # durably buffered

    async def _make_room(self, batch: _Incoming) -> None:
        """Shed below-warning records first, in the policy's age order, then any."""
        newest = self._when_full == "drop_newest"
        for low_only in (True, False):
            steps = ("incoming", "disk") if newest else ("disk", "incoming")
            for step in steps:
                need = self.buffer.bytes + batch.framed - self.buffer.max_bytes
                if need <= 0 or not batch.items or not self.buffer.bytes:
                    return
                if step == "incoming":
                    self._on_drop(batch.trim(need, newest_first=newest, low_only=low_only))
                elif low_only or not newest:
                    shed = await self.buffer.shed(need, newest_first=newest,
                                                  keep=is_high if low_only else None)
                    self._unread = max(0, self._unread - shed)
                    self._on_drop(shed)

    async def _write_failed(self, exc: BufferError_) -> None:
        """The disk said no (full file system, I/O error): report once, count every
        attempt, hold the records (backpressure) and try again after a pause."""
        if not self._write_failures:
            log.warning("disk buffer write failed; holding records and retrying",
                        extra={"error": str(exc)})
        self._on_write_error()
        delay = WRITE_RETRY_DELAYS[min(self._write_failures, len(WRITE_RETRY_DELAYS) - 1)]
        self._write_failures += 1
        await self._sleep(delay)

    def _write_ok(self) -> None:
        if self._write_failures:
            log.warning("disk buffer writable again",
                        extra={"failed_attempts": self._write_failures})
            self._write_failures = 0

    def close(self) -> None:
        """Closing: let waiting readers and writers look again."""
        self.closing = True
        self._data.set()
        self._room.set()

    def fail(self, error: SinkStoppedError) -> None:
        self._stopped = error
        self.close()

    async def next_batch(self, max_records: int, max_bytes: int,
                         max_wait: float) -> tuple[int, Lines] | None:
        """The next batch once full or ``max_wait`` old; ``None`` when closing and empty."""
        while True:
            while self._unread <= 0:
                if self.closing:
                    return None
                self._data.clear()
                await self._data.wait()
            await self._gather(max_records, max_wait)
            batch_id, items = await self.buffer.read(max_records, max_bytes)
            self._unread = max(0, self._unread - len(items)) if items else 0
            self._unread_since = self._clock() if self._unread else None
            if items:
                return batch_id, _lines(items, self._clock())

    async def _gather(self, max_records: int, max_wait: float) -> None:
        """Wait until a batch is full, ``max_wait`` passed, or closing."""
        deadline = (self._unread_since or self._clock()) + max_wait
        while self._unread < max_records and not self.closing:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            self._data.clear()
            try:
                await asyncio.wait_for(self._data.wait(), remaining)
            except TimeoutError:
                return

    async def next_lines(self, max_records: int, max_bytes: int,
                         max_wait: float) -> Lines | None:
        """:meth:`next_batch` with its id kept on the batch for :meth:`settle`."""
        got = await self.next_batch(max_records, max_bytes, max_wait)
        if got is None:
            return None
        got[1].commit_id = got[0]
        return got[1]

    async def commit(self, batch_id: int) -> None:
        await self.buffer.commit(batch_id)
        self._room.set()

    async def settle(self, lines: Lines) -> None:
        """Every record of the batch is delivered or dead-lettered: commit it."""
        if lines.commit_id is not None:
            await self.commit(lines.commit_id)

    async def release(self) -> None:
        await self.buffer.close()

    def leftovers(self) -> list[tuple[list[Any], AckToken]]:
        """Nothing to hand over: every acknowledged envelope is on disk, where the
        successor of the same name reads it (an unwritten one was never acknowledged)."""
        return []


def _lines(items: list[bytes], now: float) -> Lines:
    """Records read back from disk as a batch (one envelope acknowledged by ``commit``)."""
    data = b"\n".join(items) + b"\n"
    ends = array("I", accumulate(len(item) + 1 for item in items))
    env = Envelope(data, ends, None, AckToken("", 0, pending=1), now, remaining=len(items))
    lines = Lines()
    lines.add(Span(env, data, ends, 0))
    return lines
