"""A sink's disk buffer: framed records in segment files that survive restarts.

``append`` writes framed records (length + CRC32) to the newest segment; ``read`` hands out
the oldest unread ones as a batch; ``commit(batch_id)`` marks a batch delivered, deletes
segments that are wholly delivered and persists the read position (``cursor.json``,
temp + rename). A restart resumes at the last committed position: unacknowledged batches
are sent again (at least once). A corrupt or truncated record is skipped and counted in
``shipper_records_failed_total{sink, reason="buffer-corrupt"}``. All file I/O runs in a
thread; one lock serialises operations. Disk use is at most ``max_bytes + segment_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Literal

from shipper.buffer import frames
from shipper.buffer.segments import Position, SegmentLog
from shipper.errors import BufferError_, BufferFullError

FsyncPolicy = Literal["always", "batch", "never"]

log = logging.getLogger("shipper.buffer")


class DiskBuffer:
    """See the module docstring. ``metrics`` is a :class:`shipper.metrics.Metrics` or None."""

    def __init__(self, dir: str | os.PathLike[str], max_bytes: int, fsync: FsyncPolicy = "batch",
                 metrics: Any = None, *, sink: str = "", segment_bytes: int = 8_388_608,
                 fsync_interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if fsync not in ("always", "batch", "never"):
            raise ValueError(f"unknown fsync policy {fsync!r}")
        self.dir = Path(dir)
        self.max_bytes = max_bytes
        self.sink = sink or self.dir.name
        self._metrics = metrics
        self._fsync = fsync
        self._fsync_interval = fsync_interval
        self._clock = clock
        self._last_sync = clock()
        self._log = SegmentLog(self.dir, segment_bytes)
        self._lock = asyncio.Lock()
        self._opened = False
        self._records = 0
        self._next_batch = 0
        self._outstanding: dict[int, tuple[Position, int, bool]] = {}
        self._order: list[int] = []
        self._failing = False

    # -- gauges ----------------------------------------------------------------------------

    @property
    def records(self) -> int:
        """Records written and not yet committed."""
        return self._records

    @property
    def bytes(self) -> int:
        """Framed bytes written and not yet committed."""
        return self._log.pending_bytes

    # -- API -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Recover segments and position (called by the first operation if not before)."""
        async with self._lock:
            await self._ensure_open()

    async def append(self, items: list[bytes]) -> None:
        """Append records durably per the fsync policy (``BufferFullError`` at the cap)."""
        if not items:
            return
        data = frames.encode(items)
        async with self._lock:
            await self._ensure_open()
            if self._log.pending_bytes + len(data) > self.max_bytes:
                raise BufferFullError(
                    f"disk buffer of sink {self.sink} is full ({self.max_bytes} bytes)")
            await asyncio.to_thread(self._write, data)
            self._records += len(items)

    async def read(self, max_items: int, max_bytes: int) -> tuple[int, list[bytes]]:
        """The next unread records (at least one if any, at most ``max_items``)."""
        async with self._lock:
            await self._ensure_open()
            items, end, corrupt = await asyncio.to_thread(
                self._log.read, max(1, max_items), max(1, max_bytes))
            self._count_corrupt(corrupt)
            batch_id = self._next_batch
            self._next_batch += 1
            # an empty batch is done at once (it may still move the position past damage)
            self._outstanding[batch_id] = (end, len(items) + corrupt, not items)
            self._order.append(batch_id)
            if not items:
                await self._advance()
            return batch_id, items

    async def commit(self, batch_id: int) -> None:
        """Mark a batch delivered; the persisted position advances over done batches.

        Committing a batch twice, or an empty batch, is harmless.
        """
        async with self._lock:
            entry = self._outstanding.get(batch_id)
            if entry is not None:
                self._outstanding[batch_id] = (entry[0], entry[1], True)
            await self._advance()

    async def close(self) -> None:
        """Flush to disk and close every descriptor."""
        async with self._lock:
            if self._opened:
                await asyncio.to_thread(self._log.close, self._fsync != "never")
                self._opened = False

    # -- internals -------------------------------------------------------------------------

    async def _ensure_open(self) -> None:
        if self._opened:
            return
        records, corrupt = await asyncio.to_thread(self._log.recover)
        self._records = records
        self._opened = True
        if corrupt:
            log.warning("disk buffer has damaged records; they will be skipped",
                        extra={"sink": self.sink, "damaged": corrupt})

    def _write(self, data: bytes) -> None:
        try:
            self._log.append(data, self._want_sync())
        except OSError as exc:
            if not self._failing:
                log.warning("disk buffer write failed", extra={
                    "sink": self.sink, "error": exc.strerror or str(exc)})
            self._failing = True
            raise BufferError_(f"disk buffer of sink {self.sink}: {exc.strerror or exc}") from exc
        if self._failing:
            log.info("disk buffer writes work again", extra={"sink": self.sink})
            self._failing = False

    def _want_sync(self) -> bool:
        if self._fsync == "always":
            return True
        if self._fsync == "never":
            return False
        now = self._clock()
        if now - self._last_sync >= self._fsync_interval:
            self._last_sync = now
            return True
        return False

    async def _advance(self) -> None:
        end = self._pop_done()
        if end is not None and end != self._log.committed:
            await asyncio.to_thread(self._log.commit, end, self._want_sync())

    def _pop_done(self) -> Position | None:
        end: Position | None = None
        while self._order and self._outstanding[self._order[0]][2]:
            batch = self._outstanding.pop(self._order.pop(0))
            end = batch[0]
            self._records -= batch[1]
        return end

    def _count_corrupt(self, corrupt: int) -> None:
        if not corrupt:
            return
        log.warning("skipped damaged disk buffer records", extra={
            "sink": self.sink, "records": corrupt})
        if self._metrics is not None:
            self._metrics.records_failed_total.labels(
                sink=self.sink, reason="buffer-corrupt").inc(corrupt)
