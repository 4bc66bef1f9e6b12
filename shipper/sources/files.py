"""One open, tailed file: its descriptor, identity and line splitter.

Every method here is blocking and is called from the tailer's reader thread; the tailer
never touches the same file from two threads at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from shipper.sources.identity import FileIdentity, read_fingerprint
from shipper.sources.lines import LineSplitter


@dataclass(slots=True)
class Chunk:
    """Lines read from one file in one go (the unit of emission and acknowledgement)."""

    file_key: str
    path: str
    lines: list[tuple[int, bytes]]
    truncated: frozenset[int]
    end_offset: int
    eof: bool


# read outcomes besides a Chunk
IDENTIFIED = "identified"
NOT_READY = "not-ready"
AT_EOF = "eof"
TRUNCATED = "truncated"


class OpenFile:
    """A tailed file, kept open by descriptor so rotation never loses its tail."""

    __slots__ = ("path", "fd", "dev", "ino", "splitter", "identity", "size",
                 "let_go_at", "eof_sent", "bytes_read")

    def __init__(self, path: str, fd: int, st: os.stat_result, max_line_bytes: int) -> None:
        self.path = path
        self.fd = fd
        self.dev = st.st_dev
        self.ino = st.st_ino
        self.size = st.st_size
        self.splitter = LineSplitter(max_line_bytes)
        self.identity: FileIdentity | None = None
        self.let_go_at: float | None = None
        self.eof_sent = False
        self.bytes_read = 0

    @classmethod
    def open(cls, path: str, max_line_bytes: int) -> "OpenFile":
        """Open ``path`` for reading (``OSError`` if it cannot be)."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        return cls(path, fd, st, max_line_bytes)

    @property
    def ident(self) -> tuple[int, int]:
        return (self.dev, self.ino)

    @property
    def key(self) -> str | None:
        return self.identity.key if self.identity else None

    @property
    def lag(self) -> int:
        return max(0, self.size - self.splitter.offset)

    def identify(self, force: bool = False) -> bool:
        """Compute the fingerprint once it is stable (``force``: whatever is there)."""
        fingerprint = read_fingerprint(self.fd, force=force)
        if fingerprint is None:
            return False
        self.identity = FileIdentity(self.dev, self.ino, fingerprint)
        return True

    def read(self, nbytes: int, final: bool) -> "Chunk | str":
        """Read the next chunk, or say why not (``IDENTIFIED``, ``NOT_READY``, ...)."""
        if self.identity is None:
            return IDENTIFIED if self.identify(force=final) else NOT_READY
        splitter = self.splitter
        data = os.pread(self.fd, nbytes, splitter.offset)
        if not data:
            return self._at_end(final)
        self.bytes_read += len(data)
        lines, truncated = splitter.feed(data)
        eof = len(data) < nbytes
        if eof and final:
            more, cut = splitter.flush()
            lines.extend(more)
            truncated |= cut
        self.size = max(self.size, splitter.offset)
        return self._chunk(lines, truncated, eof)

    def _at_end(self, final: bool) -> "Chunk | str":
        self.size = os.fstat(self.fd).st_size
        if self.size < self.splitter.offset:
            return TRUNCATED
        if final and self.splitter.pending_bytes:
            lines, truncated = self.splitter.flush()
            return self._chunk(lines, truncated, True)
        if not self.eof_sent:
            return self._chunk([], set(), True)
        return AT_EOF

    def _chunk(self, lines: list[tuple[int, bytes]], truncated: set[int], eof: bool) -> Chunk:
        self.eof_sent = eof
        assert self.identity is not None
        return Chunk(self.identity.key, self.path, lines, frozenset(truncated),
                     self.splitter.consumed, eof)

    def content_replaced(self) -> bool:
        """Truncated in place (size below the read offset, or other first bytes)?"""
        self.size = os.fstat(self.fd).st_size
        if self.size < self.splitter.offset:
            return True
        if self.identity is None:
            return False
        return read_fingerprint(self.fd) != self.identity.fingerprint

    def restart(self) -> None:
        """Read again from the start (after a truncation); identity is recomputed."""
        self.identity = None
        self.splitter.reset(0)
        self.eof_sent = False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
