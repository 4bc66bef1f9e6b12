"""The disk-buffer front of a sink worker (``buffer.type: disk``).

``put`` appends the records (JSON, internal keys removed) to the sink's
:class:`~shipper.buffer.disk.DiskBuffer` and acknowledges the envelope at once: the records
are durably buffered, so the file checkpoint may move on. The worker's batcher then reads
batches back with :meth:`next_batch` and, once every record of a batch is delivered or
dead-lettered, commits it. Batches that were read but not committed when the process
stopped are sent again after a restart (at least once).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import orjson

from shipper.acks import AckToken
from shipper.errors import BufferError_, BufferFullError
from shipper.record import Record, public_view

log = logging.getLogger("shipper.sinks")

#: waits between attempts to write to a buffer whose disk failed (full, I/O error)
WRITE_RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)


class DiskQueue:
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
        self.oldest_unread: float | None = None
        self.closing = False

    async def open(self) -> None:
        await self.buffer.open()
        self._unread = self.buffer.records  # recovered from a previous run
        if self._unread:
            self.oldest_unread = self._clock()
            self._data.set()

    async def put(self, records: list[Record], token: AckToken) -> None:
        items = [orjson.dumps(public_view(r), default=str) for r in records]
        while True:
            try:
                await self.buffer.append(items)
                break
            except BufferFullError:
                if self._when_full == "drop_newest" or self.closing:
                    self._on_drop(len(items))
                    token.done()  # accounted for: counted as failed
                    return
                self._room.clear()
                await self._room.wait()
            except BufferError_ as exc:
                await self._write_failed(exc)
        if self._write_failures:
            log.warning("disk buffer writable again", extra={"failed_attempts": self._write_failures})
            self._write_failures = 0
        self._unread += len(items)
        if self.oldest_unread is None:
            self.oldest_unread = self._clock()
        self._data.set()
        token.done()  # durably buffered

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

    def wake(self) -> None:
        """Closing, or room was made: let waiting readers and writers look again."""
        self._data.set()
        self._room.set()

    async def next_batch(self, max_records: int, max_bytes: int,
                         max_wait: float) -> tuple[int, list[Record]] | None:
        """The next batch once full or ``max_wait`` old; ``None`` when closing and empty."""
        while self._unread <= 0:
            if self.closing:
                return None
            self._data.clear()
            await self._data.wait()
        deadline = (self.oldest_unread or self._clock()) + max_wait
        while self._unread < max_records and not self.closing:
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._data.clear()
            try:
                await asyncio.wait_for(self._data.wait(), remaining)
            except TimeoutError:
                break
        batch_id, items = await self.buffer.read(max_records, max_bytes)
        self._unread = max(0, self._unread - len(items)) if items else 0
        self.oldest_unread = self._clock() if self._unread else None
        return batch_id, [orjson.loads(item) for item in items]

    async def commit(self, batch_id: int) -> None:
        await self.buffer.commit(batch_id)
        self._room.set()
