"""The tailer: discovers files, follows them through rotation and emits line chunks.

``Tailer.run(emit, stop, on_closed)`` is the only entry point. Blocking work (globbing,
stat, ``os.pread``, splitting) runs in threads (:func:`asyncio.to_thread`; the reads of
chunks in the tailer's own :class:`~shipper.sources.hop.Reader`, a lighter hop); the event
loop only decides and awaits ``emit`` through :mod:`~shipper.sources.emitting` (a bounded
queue behind it gives backpressure: the tailer simply stops reading); every
``poll_interval`` of waiting, the tailer refreshes ``shipper_file_lag_bytes`` (one ``fstat``
per open file, in a thread) and notices a stop, then waits on. Between reads it sleeps until
an inotify event (:mod:`~shipper.sources.waking`) or the stat poll: every ``poll_interval``,
or every ``sources.inotify_poll_interval`` while inotify watches every directory that
matters (an idle sidecar then wakes that seldom).
Rotation handling:

- rename-and-create: the old file stays open by descriptor, is read to EOF and let go
  ``sources.rotate_grace`` seconds later; the new file at the path is read from its start;
- truncation / copytruncate: size below what was seen, other first bytes or other bytes
  before the read offset mean "read again from the start"; the copy copytruncate made
  is read from that offset on (:mod:`~shipper.sources.copies`);
- deleted while open: read to EOF through the descriptor, then closed.

Where a file starts (checkpoints, files renamed or copied while stopped) is decided by
:class:`~shipper.sources.resume.Resumer`. On stop, every file is drained exactly to the
end it had when the stop was seen (:mod:`~shipper.sources.stopping`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from shipper.metrics import Metrics
from shipper.sources.copies import Generation
from shipper.sources.emitting import Emit, Emitter
from shipper.sources.files import (
    AT_EOF,
    IDENTIFIED,
    NOT_READY,
    TRUNCATED,
    Chunk,
    OpenFile,
)
from shipper.sources.fileset import OPEN_BATCH_CHUNKS, FileSet
from shipper.sources.globs import PathMatcher
from shipper.sources.hop import Reader
from shipper.sources.reads import Outcome, drain_step, drain_steps, hop_chunks, read_some
from shipper.sources.recovery import Checkpoints
from shipper.sources.resume import Resumer, process_started
from shipper.sources.rounds import ReadRounds
from shipper.sources.settings import TailSettings
from shipper.sources.stopping import StopPoint
from shipper.sources.survey import Survey, survey
from shipper.sources.waking import Waker

OnClosed = Callable[[str], Awaitable[None]]

log = logging.getLogger("shipper.sources")

__all__ = ["Chunk", "TailSettings", "Tailer"]


class Tailer:
    """Tails the files matched by ``settings.paths`` (see the module docstring); the
    top-level :class:`~shipper.config.Settings` is a :class:`TailSettings`."""

    def __init__(self, settings: TailSettings, *, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic,
                 checkpoints: Checkpoints | None = None, root: str = "/",
                 sinks_buffered: Callable[[], int] = lambda: 0) -> None:
        self.settings = settings
        #: the most bytes a sink holds in its buffer (how many chunks a read hop takes)
        self._sinks_buffered = sinks_buffered
        self._metrics = metrics
        self._clock = clock
        self._checkpoints = checkpoints
        self._matcher = PathMatcher(tuple(settings.paths), tuple(settings.exclude), root,
                                    follow_symlinks=settings.follow_symlinks,
                                    symlink_roots=tuple(settings.symlink_roots))
        self._files = FileSet(metrics, settings.max_line_bytes, self._matcher.links)
        self._resumer = Resumer(checkpoints, self._files, clock, settings.max_line_bytes)
        self._stop_point = StopPoint(self._files, self._matcher, settings.drain_on_exit)
        self._waker = Waker(settings.sources.inotify, settings.sources.max_inotify_watches)
        self._reader = Reader()  # the thread of the per-chunk reads (shipper.sources.hop)
        self._emitter = Emitter(settings, metrics, self._files, self._stop_point, checkpoints)
        self._on_closed: OnClosed | None = None
        self._rounds = ReadRounds(settings.poll_interval, clock)
        #: the last scan found inotify watching every directory that matters
        self._covered = False
        #: rotated generations renamed after this wall-clock time may hold unread lines
        self._since = process_started() - 1.0

    @property
    def lag_bytes(self) -> int:
        """Bytes written to the open files and not read yet (as of the last look)."""
        return self._files.lag

    @property
    def open_files(self) -> int:
        """Number of descriptors the tailer holds (tests check for leaks)."""
        return self._files.open_count

    async def run(self, emit: Emit, stop: asyncio.Event,
                  on_closed: OnClosed | None = None) -> None:
        """Tail until done (``once``) or until ``stop`` is set (then drain if configured)."""
        self._emitter.bind(emit, stop)
        self._on_closed = on_closed
        try:
            if self.settings.once:
                await self._run_once()
            else:
                await self._follow(stop)
        finally:
            self._waker.stop()
            self._reader.stop()
            self._files.close_all()

    # -- modes -----------------------------------------------------------------------------

    async def _run_once(self) -> None:
        self._since = await self._resumer.start(self._matcher, self._since)
        done = {f.ident for f in self._files}
        for f in self._files:
            await self._let_go(f, drain=True)
        # each file's first drain step in the thread that opens it
        first = self._resumer.first_step(self.settings.read_chunk_bytes, done)
        paths = await asyncio.to_thread(self._matcher.scan)
        budget = OPEN_BATCH_CHUNKS * self.settings.read_chunk_bytes
        while paths:  # small files: many per thread hop, as many bytes as a few reads
            await _let_processor_in()
            opened, paths = await self._files.open_some(paths, first, budget)
            for f, outcome in opened:
                again = f.ident in done  # a second name (hard link) of a file read
                done.add(f.ident)
                await self._let_go(f, drain=not again, first=outcome)

    async def _follow(self, stop: asyncio.Event) -> None:
        self._waker.start()
        waking = asyncio.create_task(self._waker.wake_on(stop), name="tailer-stop-wake")
        try:
            await self._follow_until(stop)
        finally:
            waking.cancel()

    async def _follow_until(self, stop: asyncio.Event) -> None:
        self._since = await self._resumer.start(self._matcher, self._since)
        last_scan: float | None = None
        while not stop.is_set():
            self._waker.clear()
            now = self._clock()
            if (self._waker.rescan or last_scan is None
                    or (now - last_scan >= self.settings.poll_interval
                        and now - last_scan >= self._interval())):
                self._waker.rescan = False
                last_scan = now
                await self._scan()
                self._rounds.look_everywhere()  # new files are read at once
            if not await self._read_round():
                await self._waker.sleep(self._rounds.sleep_at_most(self._interval()))
        await self._stop_point.note()
        await self._stop_point.open_the_rest()
        for f in sorted(self._files, key=lambda f: f.path):
            await self._let_go(f, drain=self.settings.drain_on_exit)

    # -- discovery and rotation ---------------------------------------------------------------

    async def _scan(self) -> None:
        files = self._files
        found = await asyncio.to_thread(survey, self._matcher, dict(files.files), files.seen(),
                                        self._since)
        now = self._clock()
        for ident, state in found.tracked.items():
            f = self._files.get(ident)
            if f is not None:
                await self._apply(f, state, found, now)
        fresh = [p for ident, p in found.paths.items() if ident not in files]
        files.forget_unmatched(found)
        if fresh:
            await files.open(fresh)
        if found.missed:
            for f in await files.open(await self._resumer.missed(found)):
                f.let_go_at = now
                log.info("reading a rotated file that was never followed",
                         extra={"path": f.path})
        if self._waker.watch(found.dirs):
            self._waker.rescan = True  # a file made in a directory before its watch
        self._covered = not found.blind and self._waker.covers(found.dirs)
        self._metrics.file_lag_bytes.set(files.lag)

    def _interval(self) -> float:
        """How long the stat poll waits: longer while inotify covers every change (the
        last scan said so and no rotated file waits for its grace to end)."""
        poll = self.settings.poll_interval
        if not self._covered or any(f.let_go_at is not None for f in self._files):
            return poll
        return max(poll, self.settings.sources.inotify_poll_interval)

    async def _apply(self, f: OpenFile, state: tuple[bool, bool, bool], found: Survey,
                     now: float) -> None:
        moved, gone, replaced = state
        if replaced and not gone:
            await self._truncated(f)
        if moved and f.ident in found.paths:
            f.path = found.paths[f.ident]
        elif (moved or gone) and f.let_go_at is None:
            f.let_go_at = now + self.settings.sources.rotate_grace
            if not gone:
                self._metrics.files_rotated_total.labels(kind="rename").inc()
            log.info("file rotated away, reading it to EOF",
                     extra={"path": f.path, "deleted": gone})

    async def _truncated(self, f: OpenFile) -> None:
        old, gone = f.key, Generation.of(f)
        f.restart()
        self._metrics.files_rotated_total.labels(kind="truncate").inc()
        log.info("file truncated, reading it again from the start", extra={"path": f.path})
        if gone is not None:
            await self._resumer.take_copy(gone)
        if old is not None:
            await self._closed(old, retire=True)

    # -- reading -------------------------------------------------------------------------------

    async def _read_round(self) -> bool:
        """One hop of reads (:class:`ReadRounds` says which files); whether it found
        something (read again at once)."""
        order = self._rounds.order(self._files)
        return bool(order) and await self._read_in_turn(order)

    async def _read_in_turn(self, order: list[OpenFile]) -> bool:
        await _let_processor_in()
        chunk = self.settings.read_chunk_bytes
        budget = hop_chunks(self._sinks_buffered()) * chunk
        results = await self._reader.run(partial(read_some, order, chunk, budget))
        progressed = False
        for f, result in results:
            found = await self._handle(f, result)
            self._rounds.found(f, found)
            progressed |= found
        await self._let_go_due(order)  # a quiet file's grace is checked in a full round
        return progressed

    async def _handle(self, f: OpenFile, result: Outcome) -> bool:
        """Act on one read outcome; ``True`` if something happened (read again soon)."""
        if isinstance(result, Chunk):
            await self._emitter.deliver(f, result)
            return bool(result.lines) or not result.eof
        if result == IDENTIFIED:
            await self._resumer.place(f)
            return True
        if result == TRUNCATED:
            await self._truncated(f)
            return True
        if isinstance(result, OSError):
            log.warning("cannot read file", extra={"path": f.path, "error": str(result)})
        return False

    async def _drain(self, f: OpenFile, result: Outcome | None = None) -> None:
        """Read ``f`` to its limit (its end now, unless set at stop), last partial line too.
        ``result``: the first step, already read. A thread hop reads up to four chunks
        while the sinks keep up (:func:`~shipper.sources.reads.hop_chunks`), emitted one
        after another; the size comes with the first read, the read after a placement
        with the placement."""
        pending: list[Outcome] = [] if result is None else [result]
        while f.fd >= 0:
            if not pending:
                await _let_processor_in()
                most = hop_chunks(self._sinks_buffered())
                pending = await self._reader.run(partial(
                    drain_steps, f, self.settings.read_chunk_bytes, most))
            result = pending.pop(0)
            if isinstance(result, Chunk):  # (first: a Chunk compared with a str costs a call)
                await self._emitter.deliver(f, result)
                if result.eof:
                    return
            elif result == IDENTIFIED:  # its next read (none: placing failed, identify again)
                placed = await self._resumer.place(f, then=partial(
                    drain_step, f, self.settings.read_chunk_bytes))
                pending = [] if placed is None else [placed]
            else:
                await self._handle(f, result)
                if result in (AT_EOF, NOT_READY) or isinstance(result, OSError):
                    return

    async def _let_go_due(self, files: list[OpenFile]) -> None:
        now = self._clock()
        for f in files:
            if f.let_go_at is not None and now >= f.let_go_at and (
                    f.eof_sent or f.identity is None) and self._files.get(f.ident) is f:
                await self._let_go(f, drain=True, retire=True)

    async def _let_go(self, f: OpenFile, *, drain: bool, retire: bool = False,
                      first: Outcome | None = None) -> None:
        if drain:
            await self._drain(f, first)
        key = f.key
        self._files.remove(f)
        if key is not None:
            await self._closed(key, retire=retire)

    async def _closed(self, key: str, *, retire: bool) -> None:
        if retire and self._checkpoints is not None:
            self._checkpoints.retire(key)
        if self._on_closed is not None:
            await self._on_closed(key)


async def _let_processor_in() -> None:
    """One turn of the event loop before a read: what was just emitted (eagerly, see
    :class:`~shipper.sources.emitting.Emitter`) is processed before more is read, so the
    loop's thread idles while a read runs. The sinks' writer threads need that idle time:
    with reads overlapping the processing, stdout fell behind until its 32 MiB buffer was
    full (+31 MiB peak RSS)."""
    await asyncio.sleep(0)
