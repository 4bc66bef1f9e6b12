"""The tailer's set of open files, and what it remembers about files it has seen.

:class:`FileSet` owns the open :class:`~shipper.sources.files.OpenFile` objects by
device/inode and bounded memories: identities ever read (so a rotated generation is not
read twice), identities known to be byte copies, first-line fingerprints and keys used in
this run, recently truncated generations (to recognise their copies), and the paths that
could not be opened or were refused (reported once per path, retried on every scan).
Opening runs in a thread, through the :class:`~shipper.sources.links.LinkPolicy`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from shipper.metrics import Metrics
from shipper.sources.copies import Generation
from shipper.sources.files import OpenFile
from shipper.sources.links import LinkPolicy, RefusedPath
from shipper.sources.reads import Outcome
from shipper.sources.survey import Survey

Ident = tuple[int, int]

log = logging.getLogger("shipper.sources")
MAX_SEEN = 65_536
MAX_GONE = 256
#: files opened (and first read) in one thread hop by :meth:`FileSet.open_some`
OPEN_BATCH_FILES = 64
#: ``read_chunk_bytes`` one such hop reads at most (the tailer's budget, ``--once``): one
#: held ~3 files of 200 lines a hop and 1,000 of them cost 14% more CPU than one file of
#: their lines; four (~13 files) 10%, with 1.5 MiB more peak RSS (eight: no less CPU)
OPEN_BATCH_CHUNKS = 4


class FileSet:
    """Open files by identity; ``metrics.files_watched`` reads its size when it is
    collected (not set on every open and close: two gauge updates a file)."""

    def __init__(self, metrics: Metrics, max_line_bytes: int, links: LinkPolicy) -> None:
        self._metrics = metrics
        self._max_line_bytes = max_line_bytes
        self.links = links
        self.files: dict[Ident, OpenFile] = {}
        #: identities read or open, each with its first line's fingerprint once known
        self._seen: dict[Ident, str | None] = {}
        self._copies: dict[Ident, None] = {}
        self._fingerprints: dict[str, None] = {}
        self._keys: dict[str, None] = {}
        self.gone: deque[Generation] = deque(maxlen=MAX_GONE)
        self._unreadable: dict[str, str] = {}
        self._refused: dict[str, str] = {}
        metrics.files_watched.set_function(self.__len__)

    def __iter__(self) -> Iterator[OpenFile]:
        return iter(list(self.files.values()))

    def __len__(self) -> int:
        return len(self.files)

    def __contains__(self, ident: object) -> bool:
        return ident in self.files

    def get(self, ident: Ident) -> OpenFile | None:
        return self.files.get(ident)

    @property
    def open_count(self) -> int:
        """Number of descriptors held (tests check for leaks)."""
        return sum(1 for f in self.files.values() if f.fd >= 0)

    @property
    def lag(self) -> int:
        return sum(f.lag for f in self.files.values())

    def seen(self) -> dict[Ident, str | None]:
        """Identities read, open, or known to be copies (for a survey in a thread), each
        with the fingerprint of the file read under it when known: an inode the file
        system gave to a new file after that one was deleted is another file."""
        return {**dict.fromkeys(self._copies), **self._seen}

    def read_before(self) -> set[Ident]:
        """Identities read or open (a copy search skips them; known copies it may take)."""
        return set(self._seen) | set(self.files)

    def knows(self, fingerprint: str | None) -> bool:
        return fingerprint is not None and fingerprint in self._fingerprints

    def key_taken(self, key: str) -> bool:
        """Used by a file of this run (safe to call from a thread: one dict look-up)."""
        return key in self._keys

    async def open(self, paths: list[str]) -> list[OpenFile]:
        """Open the paths not yet open (in a thread); report the ones that fail."""
        return [f for f, _ in await self.open_then(paths, None)]

    async def open_then(self, paths: list[str], then: Callable[[OpenFile], Outcome] | None,
                        ) -> list[tuple[OpenFile, Outcome | None]]:
        """:meth:`open`, and ``then`` on each file opened, in the same thread (one hop
        instead of two): each file tracked with what ``then`` returned."""
        opened = await _hop(paths, self._max_line_bytes, self.links, then)
        return self._track(opened)

    async def open_some(self, paths: list[str], then: Callable[[OpenFile], Outcome],
                        budget: int) -> tuple[list[tuple[OpenFile, Outcome | None]], list[str]]:
        """:meth:`open_then` on the first paths, in one thread hop, until ``then`` read
        ``budget`` bytes or :data:`OPEN_BATCH_FILES` files were opened (many small files
        cost one hop, not one each; what is held stays bounded); the paths left over."""
        opened = await _hop(paths, self._max_line_bytes, self.links, then, budget)
        return self._track(opened), paths[len(opened):]

    def _track(self, opened: list[Opened]) -> list[tuple[OpenFile, Outcome | None]]:
        result: list[tuple[OpenFile, Outcome | None]] = []
        for path, got, outcome in opened:
            if isinstance(got, OSError):
                self._report_unreadable(path, got)
            elif self.adopt(got):
                if self._unreadable.pop(path, None) is not None:
                    log.info("file is readable again", extra={"path": path})
                result.append((got, outcome))
        return result

    def adopt(self, f: OpenFile) -> bool:
        """Track an opened file (closed instead if its identity is already open)."""
        if f.ident in self.files:
            f.close()
            return False
        self.files[f.ident] = f
        _remember(self._seen, f.ident)
        if f.identity is not None:
            self.identified(f)
        return True

    def identified(self, f: OpenFile) -> None:
        """``f`` has its identity now: remember its fingerprint and key."""
        assert f.identity is not None
        if f.ident in self._seen:
            self._seen[f.ident] = f.identity.fingerprint
        _remember(self._fingerprints, f.identity.fingerprint)
        _remember(self._keys, f.identity.key)

    def seed(self, read: Iterable[tuple[Ident, str]]) -> None:
        """Identities an earlier run read, with their fingerprints (from its checkpoints)."""
        for ident, fingerprint in read:
            _remember(self._seen, ident, fingerprint)
            _remember(self._fingerprints, fingerprint)

    def mark_copies(self, idents: Iterable[Ident]) -> None:
        for ident in idents:
            _remember(self._copies, ident)

    def remove(self, f: OpenFile) -> None:
        """Close ``f`` and forget it (its identity stays remembered)."""
        f.close()
        self.files.pop(f.ident, None)

    def close_all(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()

    def forget_unmatched(self, found: Survey) -> None:
        """Unreadable paths no longer matched are forgotten; failed stats are noted;
        refused links are counted and logged once per path."""
        matched = set(found.paths.values())
        for path in [p for p in self._unreadable if p not in matched and p not in found.failed]:
            del self._unreadable[path]
        for path in found.failed:
            self._unreadable.setdefault(path, "stat failed")
        for path in [p for p in self._refused if p not in found.refused]:
            del self._refused[path]
        for path, reason in found.refused.items():
            self._refuse(path, reason)

    def _report_unreadable(self, path: str, exc: OSError) -> None:
        if isinstance(exc, RefusedPath):
            self._refuse(path, exc.reason)
            return
        reason = exc.strerror or str(exc)
        if self._unreadable.get(path) != reason:
            log.warning("cannot open file, will retry", extra={"path": path, "error": reason})
        self._unreadable[path] = reason

    def _refuse(self, path: str, reason: str) -> None:
        if self._refused.get(path) == reason:
            return
        if len(self._refused) >= MAX_SEEN:
            del self._refused[next(iter(self._refused))]
        self._refused[path] = reason
        self._metrics.files_refused_total.labels(reason=reason).inc()
        log.warning("symbolic link not followed (see follow_symlinks)",
                    extra={"path": path, "reason": reason})


def _remember(memory: dict, item: object, value: object = None) -> None:  # type: ignore[type-arg]
    """Add ``item`` to an insertion-ordered dict used as a bounded set (or map)."""
    memory[item] = value
    if len(memory) > MAX_SEEN:
        del memory[next(iter(memory))]


Opened = tuple[str, OpenFile | OSError, Outcome | None]


def open_all(paths: list[str], max_line_bytes: int, links: LinkPolicy,
             then: Callable[[OpenFile], Outcome] | None = None,
             budget: int | None = None) -> list[Opened]:
    """Open each path (blocking); the error instead of the file when one fails; with
    ``then``, what it returns for each file opened. With ``budget``, only the first paths:
    until ``then`` read that many bytes or :data:`OPEN_BATCH_FILES` were opened. A second
    name of a file opened here gets no ``then`` (the first one's is the file's)."""
    out: list[Opened] = []
    idents: set[Ident] = set()
    used = 0
    links = links.pinned()  # the roots resolved once for the batch, not once a file
    for path in paths:
        if budget is not None and out and (used >= budget or len(out) >= OPEN_BATCH_FILES):
            break  # (at least one path each time: the caller's loop always moves on)
        try:
            f = OpenFile.open(path, max_line_bytes, links)
        except OSError as exc:
            out.append((path, exc, None))
            continue
        again = f.ident in idents
        idents.add(f.ident)
        try:
            outcome = None if then is None or again else then(f)
        except BaseException:  # nobody will track them: no descriptor left behind
            f.close()
            _close_opened(out)
            raise
        out.append((path, f, outcome))
        used += f.bytes_read
    return out


async def _hop(paths: list[str], max_line_bytes: int, links: LinkPolicy,
               then: Callable[[OpenFile], Outcome] | None,
               budget: int | None = None) -> list[Opened]:
    """:func:`open_all` in a thread. A caller cancelled meanwhile (shutdown) does not stop
    the thread: what it opens, nothing tracks, so it is closed once the thread ends."""
    future = asyncio.ensure_future(
        asyncio.to_thread(open_all, paths, max_line_bytes, links, then, budget))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(_close_when_done)
        raise


def _close_when_done(future: asyncio.Future[list[Opened]]) -> None:
    if not future.cancelled() and future.exception() is None:
        _close_opened(future.result())


def _close_opened(opened: list[Opened]) -> None:
    for _, got, _ in opened:
        if isinstance(got, OpenFile):
            got.close()
