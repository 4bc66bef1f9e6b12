"""A sink's disk buffer: framed records in segment files that survive restarts.

``append`` writes framed records (length + CRC32) to the newest segment; ``read`` hands out
the oldest unread ones as a batch; ``commit(batch_id)`` marks a batch delivered. Batches
may be committed in any order: the persisted position (``cursor.json``, temp + rename)
advances over the delivered prefix, and the batches delivered beyond it are persisted as
``acked`` ranges, so a restart re-sends only what was not delivered (at least once; one
batch stuck in retries no longer holds everything after it back). Wholly delivered
segments are deleted.

Damaged records are skipped and counted in
``shipper_records_failed_total{sink, reason="buffer-corrupt"}``, in records: a damaged
region counts as many records as frames of the mean size fit in it (at least one, see
:func:`shipper.buffer.frames.estimate_records`). Damaged state is set aside at start-up
(:mod:`shipper.buffer.recovery`). All file I/O runs in a thread; one lock serialises
operations. Disk use is at most ``max_bytes + segment_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shipper.buffer import frames, recovery, shedding
from shipper.buffer.segments import Position, Range, SegmentLog
from shipper.errors import BufferError_, BufferFullError

FsyncPolicy = Literal["always", "batch", "never"]

log = logging.getLogger("shipper.buffer")
#: ``bytes`` under another name: the class has a ``bytes`` property
Data = bytes

#: at most this many append-time marks (older marks merge: lag stays an upper bound)
MAX_STAMPS = 1024


@dataclass(slots=True)
class _Batch:
    start: Position
    end: Position
    records: int
    done: bool


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
        self._outstanding: OrderedDict[int, _Batch] = OrderedDict()
        self._persisted: list[Range] = []
        #: (end position of a run of appends, time of its first append), oldest first
        self._stamps: list[tuple[Position, float]] = []
        self._failing = False

    # -- gauges ----------------------------------------------------------------------------

    @property
    def records(self) -> int:
        """Records written and not yet delivered."""
        return max(0, self._records)

    @property
    def bytes(self) -> int:
        """Framed bytes on disk from the committed position on."""
        return self._log.pending_bytes

    def oldest(self) -> float | None:
        """When the oldest undelivered record was appended (an upper bound on its age)."""
        committed = self._log.committed
        while self._stamps and self._stamps[0][0] <= committed:
            self._stamps.pop(0)
        return self._stamps[0][1] if self._stamps and self._records > 0 else None

    # -- API -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Recover segments and position (called by the first operation if not before)."""
        async with self._lock:
            await self._ensure_open()

    async def append(self, items: Sequence[Data | memoryview]) -> None:
        """Append records durably per the fsync policy (``BufferFullError`` at the cap;
        an empty buffer takes any append)."""
        if not items:
            return
        data = frames.encode(items)
        async with self._lock:
            await self._ensure_open()
            pending = self._log.pending_bytes
            if pending and pending + len(data) > self.max_bytes:
                raise BufferFullError(
                    f"disk buffer of sink {self.sink} is full ({self.max_bytes} bytes)")
            await asyncio.to_thread(self._write, data)
            self._records += len(items)
            self._stamp()

    async def read(self, max_items: int, max_bytes: int) -> tuple[int, list[Data]]:
        """The next unread records (at least one if any, at most ``max_items``)."""
        async with self._lock:
            await self._ensure_open()
            got = await asyncio.to_thread(self._log.read, max(1, max_items), max(1, max_bytes))
            for start, end in got.jumped:  # delivered before the restart: done already
                self._outstanding[self._new_id()] = _Batch(start, end, 0, True)
            lost = self._count_corrupt(got.regions)
            batch_id = self._new_id()
            # an empty batch is done at once (it may still move the position past damage)
            self._outstanding[batch_id] = _Batch(got.start, got.end, len(got.items) + lost,
                                                 False)
            if not got.items:
                self._done(batch_id)
            if got.jumped or not got.items:
                await self._advance()
            return batch_id, got.items

    async def commit(self, batch_id: int) -> None:
        """Mark a batch delivered (in any order); committing twice is harmless."""
        async with self._lock:
            self._done(batch_id)
            await self._advance()

    @property
    def room(self) -> int:
        return self.max_bytes - self._log.pending_bytes

    async def shed(self, need: int, *, newest_first: bool, keep: shedding.Keep | None) -> int:
        """Drop unread records to free ``need`` bytes (see :mod:`shipper.buffer.shedding`);
        the number of records shed."""
        async with self._lock:
            await self._ensure_open()
            got = await asyncio.to_thread(shedding.shed, self._log, need,
                                          newest_first=newest_first, keep=keep,
                                          sync=self._fsync != "never")
            lost = self._count_corrupt(got.regions)
            self._records -= got.records + lost
            if got.error:
                log.warning("disk buffer: cannot rewrite a segment to shed records (%s); "
                            "new records are shed instead", got.error, extra={"sink": self.sink})
            return got.records

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
        got = await asyncio.to_thread(recovery.recover, self._log)
        self._records = got.records
        self._persisted = list(self._log.skips)
        self._opened = True
        if got.records:  # waiting since before this start: their age counts from now
            end = max(((seg.seq, seg.size) for seg in self._log.segments.values()),
                      default=(0, 0))
            self._stamps = [(end, self._clock())]
        for kind, count in got.set_aside.items():
            if self._metrics is not None:
                self._metrics.state_set_aside_total.labels(kind=kind).inc(count)
        if got.lost:
            self._failed_records(got.lost)
        if got.damaged:
            log.warning("disk buffer has damaged records; they will be skipped", extra={
                "sink": self.sink, "damaged_records_estimated": got.damaged})

    def _new_id(self) -> int:
        self._next_batch += 1
        return self._next_batch - 1

    def _done(self, batch_id: int) -> None:
        batch = self._outstanding.get(batch_id)
        if batch is not None and not batch.done:
            batch.done = True
            self._records -= batch.records

    def _stamp(self) -> None:
        end = (self._log.writer.seq, self._log.writer.size) if self._log.writer else (0, 0)
        now = self._clock()
        if self._stamps and now - self._stamps[-1][1] < 1.0:
            self._stamps[-1] = (end, self._stamps[-1][1])
        else:
            self._stamps.append((end, now))
        if len(self._stamps) > MAX_STAMPS:  # merge neighbours: keep each run's first time
            pairs = zip(self._stamps[::2], self._stamps[1::2], strict=False)
            odd = self._stamps[-1:] if len(self._stamps) % 2 else []
            self._stamps = [(later[0], first[1]) for first, later in pairs] + odd

    def _write(self, data: Data) -> None:
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
        """Persist the delivered prefix and the delivered ranges beyond it, if changed."""
        end = self._log.committed
        while self._outstanding:
            batch = next(iter(self._outstanding.values()))
            if not batch.done:
                break
            self._outstanding.popitem(last=False)
            end = max(end, batch.end)
        acked = self._acked_ranges() + self._log.skips
        if end != self._log.committed or acked != self._persisted:
            await asyncio.to_thread(self._log.commit, end, acked, self._want_sync())
            self._persisted = acked

    def _acked_ranges(self) -> list[Range]:
        ranges: list[Range] = []
        for batch in self._outstanding.values():
            if not batch.done or batch.start == batch.end:
                continue
            if ranges and ranges[-1][1] == batch.start:
                ranges[-1] = (ranges[-1][0], batch.end)
            else:
                ranges.append((batch.start, batch.end))
        return ranges

    def _count_corrupt(self, regions: list[int]) -> int:
        """Records lost in damaged regions (estimated), logged and counted."""
        if not regions:
            return 0
        lost = frames.estimate_records(regions, self._log.mean_frame)
        log.warning("skipped damaged disk buffer records", extra={
            "sink": self.sink, "records": lost, "regions": len(regions)})
        self._failed_records(lost)
        return lost

    def _failed_records(self, count: int) -> None:
        if self._metrics is not None:
            self._metrics.records_failed_total.labels(
                sink=self.sink, reason="buffer-corrupt").inc(count)
