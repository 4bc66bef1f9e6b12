"""The tailer's set of open files, and what it remembers about files it has seen.

:class:`FileSet` owns the open :class:`~shipper.sources.files.OpenFile` objects by
device/inode, the bounded memory of identities and fingerprints ever tracked (to tell a
missed rotated generation from a copytruncate copy), and the paths that could not be
opened (reported once per reason, retried on every scan). Opening runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Iterable, Iterator

from shipper.metrics import Metrics
from shipper.sources.files import OpenFile
from shipper.sources.survey import Survey

Ident = tuple[int, int]

log = logging.getLogger("shipper.sources")
MAX_SEEN = 65_536


class FileSet:
    """Open files by identity; ``metrics.files_watched`` follows its size."""

    def __init__(self, metrics: Metrics, max_line_bytes: int) -> None:
        self._metrics = metrics
        self._max_line_bytes = max_line_bytes
        self.files: dict[Ident, OpenFile] = {}
        self._seen: dict[Ident, None] = {}
        self._fingerprints: dict[str, None] = {}
        self._unreadable: dict[str, str] = {}

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

    def seen(self) -> set[Ident]:
        """A copy of the identities ever tracked (for a survey in a thread)."""
        return set(self._seen)

    def fingerprints(self) -> set[str]:
        """A copy of the fingerprints ever read (for a survey in a thread)."""
        return set(self._fingerprints)

    async def open(self, paths: list[str]) -> list[OpenFile]:
        """Open the paths not yet open (in a thread); report the ones that fail."""
        opened = await asyncio.to_thread(open_all, paths, self._max_line_bytes)
        result: list[OpenFile] = []
        for path, got in opened:
            if isinstance(got, OSError):
                self._report_unreadable(path, got)
                continue
            if self._unreadable.pop(path, None) is not None:
                log.info("file is readable again", extra={"path": path})
            if got.ident in self.files:
                got.close()
                continue
            self.files[got.ident] = got
            _remember(self._seen, got.ident)
            result.append(got)
        self._metrics.files_watched.set(len(self.files))
        return result

    def identified(self, f: OpenFile) -> None:
        """``f`` has its fingerprint now: remember it (copytruncate copies are skipped)."""
        assert f.identity is not None
        _remember(self._fingerprints, f.identity.fingerprint)

    def seed_fingerprints(self, fingerprints: Iterable[str]) -> None:
        """Fingerprints read by an earlier run (from its checkpoints)."""
        for fingerprint in fingerprints:
            _remember(self._fingerprints, fingerprint)

    def remove(self, f: OpenFile) -> None:
        """Close ``f`` and forget it (its identity stays remembered)."""
        f.close()
        self.files.pop(f.ident, None)
        self._metrics.files_watched.set(len(self.files))

    def close_all(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()
        self._metrics.files_watched.set(0)

    def forget_unmatched(self, found: Survey) -> None:
        """Unreadable paths no longer matched are forgotten; failed stats are noted."""
        matched = set(found.paths.values())
        for path in [p for p in self._unreadable if p not in matched and p not in found.failed]:
            del self._unreadable[path]
        for path in found.failed:
            self._unreadable.setdefault(path, "stat failed")

    def _report_unreadable(self, path: str, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        if self._unreadable.get(path) != reason:
            log.warning("cannot open file, will retry", extra={"path": path, "error": reason})
        self._unreadable[path] = reason


def _remember(memory: dict, item: object) -> None:
    """Add ``item`` to an insertion-ordered dict used as a bounded set."""
    memory[item] = None
    if len(memory) > MAX_SEEN:
        del memory[next(iter(memory))]


def open_all(paths: list[str], max_line_bytes: int) -> list[tuple[str, OpenFile | OSError]]:
    """Open each path (blocking); the error instead of the file when one fails."""
    out: list[tuple[str, OpenFile | OSError]] = []
    for path in paths:
        try:
            out.append((path, OpenFile.open(path, max_line_bytes)))
        except OSError as exc:
            out.append((path, exc))
    return out
