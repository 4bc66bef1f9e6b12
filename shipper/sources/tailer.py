"""The tailer: discovers files, follows them through rotation and emits line chunks.

``Tailer.run(emit, stop, on_closed)`` is the only entry point. Blocking work (globbing,
stat, ``os.pread``, splitting) runs in threads via :func:`asyncio.to_thread`; the event
loop only decides and awaits ``emit`` (a bounded queue behind it gives backpressure: the
tailer simply stops reading). Rotation handling:

- rename-and-create: the old file stays open by descriptor, is read to EOF and let go
  ``rotate_grace`` seconds later; the new file at the path is read from its start;
- truncation / copytruncate: size below the read offset (or other first bytes) means
  "read again from the start", the NUL run a writer leaves is skipped;
- deleted while open: read to EOF through the descriptor, then closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

from shipper.metrics import Metrics
from shipper.sources.files import AT_EOF, IDENTIFIED, NOT_READY, TRUNCATED, Chunk, OpenFile
from shipper.sources.fileset import FileSet
from shipper.sources.globs import PathMatcher
from shipper.sources.inotify import Inotify
from shipper.sources.reads import Outcome, read_one, read_some, size_of
from shipper.sources.recovery import Checkpoints, find_renamed, resume_offset
from shipper.sources.settings import TailSettings
from shipper.sources.survey import Survey, survey

Emit = Callable[[Chunk], Awaitable[None]]
OnClosed = Callable[[str], Awaitable[None]]

log = logging.getLogger("shipper.sources")

__all__ = ["Chunk", "TailSettings", "Tailer"]


class Tailer:
    """Tails the files matched by ``settings.paths`` (see the module docstring)."""

    def __init__(self, settings: TailSettings, *, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic,
                 checkpoints: Checkpoints | None = None, root: str = "/") -> None:
        self.settings = settings
        self._metrics = metrics
        self._clock = clock
        self._checkpoints = checkpoints
        self._matcher = PathMatcher(settings.paths, settings.exclude, root)
        self._files = FileSet(metrics, settings.max_line_bytes)
        self._emit: Emit | None = None
        self._on_closed: OnClosed | None = None
        self._wake: asyncio.Event | None = None
        self._inotify: Inotify | None = None
        self._rescan = True
        self._turn = 0
        #: rotated generations renamed after this wall-clock time may hold unread lines
        self._since = time.time() - 1.0

    @property
    def open_files(self) -> int:
        """Number of descriptors the tailer holds (tests check for leaks)."""
        return self._files.open_count

    async def run(self, emit: Emit, stop: asyncio.Event,
                  on_closed: OnClosed | None = None) -> None:
        """Tail until done (``once``) or until ``stop`` is set (then drain if configured)."""
        self._emit, self._on_closed = emit, on_closed
        self._wake = asyncio.Event()
        try:
            if self.settings.once:
                await self._run_once()
            else:
                await self._follow(stop)
        finally:
            self._stop_inotify()
            self._files.close_all()

    # -- modes -----------------------------------------------------------------------------

    async def _run_once(self) -> None:
        await self._recover_renamed()
        for f in self._files:
            await self._let_go(f, drain=True)
        for path in await asyncio.to_thread(self._matcher.scan):
            for f in await self._files.open([path]):
                await self._let_go(f, drain=True)

    async def _follow(self, stop: asyncio.Event) -> None:
        self._start_inotify()
        await self._recover_renamed()
        last_scan: float | None = None
        while not stop.is_set():
            assert self._wake is not None
            self._wake.clear()
            now = self._clock()
            if self._rescan or last_scan is None or now - last_scan >= self.settings.poll_interval:
                self._rescan = False
                last_scan = now
                await self._scan()
            if not await self._read_round():
                await self._sleep()
        if self.settings.drain_on_exit:
            await self._scan()
        for f in sorted(self._files, key=lambda f: f.path):
            await self._let_go(f, drain=self.settings.drain_on_exit)

    async def _sleep(self) -> None:
        assert self._wake is not None
        try:
            async with asyncio.timeout(self.settings.poll_interval):
                await self._wake.wait()
        except TimeoutError:
            return

    # -- discovery and rotation ---------------------------------------------------------------

    async def _scan(self) -> None:
        files = self._files
        found = await asyncio.to_thread(survey, self._matcher, dict(files.files), files.seen(),
                                        self._since, files.fingerprints())
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
            for f in await files.open(sorted(found.missed.values())):
                f.let_go_at = now
                log.info("reading a rotated file that was never followed",
                         extra={"path": f.path})
        self._watch(found)
        self._metrics.file_lag_bytes.set(files.lag)

    async def _apply(self, f: OpenFile, state: tuple[bool, bool, bool], found: Survey,
                     now: float) -> None:
        moved, gone, replaced = state
        if replaced and not gone:
            await self._truncated(f)
        if moved and f.ident in found.paths:
            f.path = found.paths[f.ident]
        elif (moved or gone) and f.let_go_at is None:
            f.let_go_at = now + self.settings.rotate_grace
            if not gone:
                self._metrics.files_rotated_total.labels(kind="rename").inc()
            log.info("file rotated away, reading it to EOF",
                     extra={"path": f.path, "deleted": gone})

    async def _recover_renamed(self) -> None:
        """Finish files renamed while the shipper was down (found by identity)."""
        if self._checkpoints is None:
            return
        self._since = self._checkpoints.rotated_since(self._since)
        entries = self._checkpoints.entries()
        self._files.seed_fingerprints(e.fingerprint for e in entries)
        paths = await asyncio.to_thread(find_renamed, entries)
        now = self._clock()
        for f in await self._files.open(paths):
            f.let_go_at = now
            log.info("resuming a file renamed while stopped", extra={"path": f.path})

    async def _truncated(self, f: OpenFile) -> None:
        old = f.key
        f.restart()
        self._metrics.files_rotated_total.labels(kind="truncate").inc()
        log.info("file truncated, reading it again from the start", extra={"path": f.path})
        if old is not None:
            await self._closed(old, retire=True)

    # -- reading -------------------------------------------------------------------------------

    async def _read_round(self) -> bool:
        files = list(self._files)
        if not files:
            return False
        self._turn = (self._turn + 1) % len(files)
        order = files[self._turn:] + files[: self._turn]
        budget = self.settings.read_chunk_bytes
        results = await asyncio.to_thread(read_some, order, budget)
        progressed = False
        for f, result in results:
            progressed |= await self._handle(f, result)
        await self._let_go_due()
        return progressed

    async def _handle(self, f: OpenFile, result: Outcome) -> bool:
        """Act on one read outcome; ``True`` if something happened (read again soon)."""
        if isinstance(result, Chunk):
            await self._deliver(f, result)
            return bool(result.lines) or not result.eof
        if result == IDENTIFIED:
            self._files.identified(f)
            self._resume(f)
            return True
        if result == TRUNCATED:
            await self._truncated(f)
            return True
        if isinstance(result, OSError):
            log.warning("cannot read file", extra={"path": f.path, "error": str(result)})
        return False

    async def _deliver(self, f: OpenFile, chunk: Chunk) -> None:
        metrics = self._metrics
        if f.bytes_read:
            metrics.bytes_read_total.inc(f.bytes_read)
            f.bytes_read = 0
        if chunk.lines:
            metrics.lines_read_total.inc(len(chunk.lines))
        if chunk.truncated:
            metrics.parse_errors_total.labels(kind="truncated_line").inc(len(chunk.truncated))
        if (chunk.lines or chunk.eof) and self._emit is not None:
            await self._emit(chunk)

    def _resume(self, f: OpenFile) -> None:
        offset = resume_offset(self._checkpoints, f, self._files.files)
        if offset:
            f.splitter.reset(offset)
            log.info("resuming file at its checkpoint", extra={"path": f.path, "offset": offset})

    async def _drain(self, f: OpenFile) -> None:
        """Read ``f`` to its current end, including a last line without newline."""
        limit = await asyncio.to_thread(size_of, f)
        while f.fd >= 0:
            result = await asyncio.to_thread(read_one, f, self.settings.read_chunk_bytes)
            await self._handle(f, result)
            if result in (AT_EOF, NOT_READY) or isinstance(result, OSError):
                return
            if isinstance(result, Chunk) and (result.eof or f.splitter.offset > limit):
                return

    async def _let_go_due(self) -> None:
        now = self._clock()
        for f in self._files:
            if f.let_go_at is not None and now >= f.let_go_at and (
                    f.eof_sent or f.identity is None):
                await self._let_go(f, drain=True, retire=True)

    async def _let_go(self, f: OpenFile, *, drain: bool, retire: bool = False) -> None:
        if drain:
            await self._drain(f)
        key = f.key
        self._files.remove(f)
        if key is not None:
            await self._closed(key, retire=retire)

    async def _closed(self, key: str, *, retire: bool) -> None:
        if retire and self._checkpoints is not None:
            self._checkpoints.retire(key)
        if self._on_closed is not None:
            await self._on_closed(key)

    # -- inotify -------------------------------------------------------------------------------

    def _start_inotify(self) -> None:
        if not self.settings.use_inotify:
            return
        self._inotify = Inotify.create(self.settings.max_inotify_watches)
        if self._inotify is not None:
            asyncio.get_running_loop().add_reader(self._inotify.fileno(), self._on_inotify)

    def _on_inotify(self) -> None:
        assert self._inotify is not None and self._wake is not None
        try:
            if self._inotify.read_events():
                self._rescan = True
        except OSError as exc:
            log.warning("inotify failed, polling only", extra={"error": str(exc)})
            self._stop_inotify()
        self._wake.set()

    def _watch(self, found: Survey) -> None:
        if self._inotify is not None:
            for directory in found.dirs - self._inotify.watched:
                self._inotify.add_dir(directory)

    def _stop_inotify(self) -> None:
        if self._inotify is not None:
            asyncio.get_running_loop().remove_reader(self._inotify.fileno())
            self._inotify.close()
            self._inotify = None
