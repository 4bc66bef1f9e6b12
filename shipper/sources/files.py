"""One open, tailed file: its descriptor, identity, line splitter and content witnesses.

Every method here is blocking and is called from the tailer's worker threads; the tailer
never touches the same file from two threads at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from shipper.sources.identity import (
    CHECK_BYTES,
    FINGERPRINT_BYTES,
    FileIdentity,
    Witness,
    check_of,
    fingerprint_of,
    holds,
    read_fingerprint,
)
from shipper.sources.lines import LineSplitter
from shipper.sources.links import LinkPolicy

#: witnesses of past chunk ends kept per file (to recognise a copy of a shorter state)
HISTORY = 64


@dataclass(slots=True)
class Chunk:
    """Lines read from one file in one go (the unit of emission and acknowledgement)."""

    file_key: str
    path: str
    lines: list[tuple[int, bytes]]
    truncated: frozenset[int]
    end_offset: int
    eof: bool
    #: what the file held before offsets of this chunk (its last line, its end), for
    #: the checkpoint (``shipper.sources.identity.Witness``)
    witnesses: tuple[Witness, ...] = ()


# read outcomes besides a Chunk
IDENTIFIED = "identified"
NOT_READY = "not-ready"
AT_EOF = "eof"
TRUNCATED = "truncated"


class OpenFile:
    """A tailed file, kept open by descriptor so rotation never loses its tail.

    After its first line is known (``head``), the tailer gives it an ``identity`` and a
    starting offset (:meth:`seek`). ``tail`` holds the last bytes before the read offset,
    so the witness of every chunk end comes from the bytes actually read.
    """

    __slots__ = (
        "bytes_read",
        "dev",
        "eof_sent",
        "fd",
        "head",
        "history",
        "ident",
        "identity",
        "ino",
        "let_go_at",
        "limit",
        "path",
        "size",
        "splitter",
        "stamp",
        "tail",
        "witness",
        "witnessing",
    )

    def __init__(self, path: str, fd: int, st: os.stat_result, max_line_bytes: int) -> None:
        self.path = path
        self.fd = fd
        self.dev = st.st_dev
        self.ino = st.st_ino
        #: ``(dev, ino)``: the file set's key of this file (asked for often; never changes)
        self.ident = (st.st_dev, st.st_ino)
        self.size = st.st_size
        self.stamp = _stamp(st)
        self.splitter = LineSplitter(max_line_bytes)
        self.identity: FileIdentity | None = None
        self.head: str | None = None
        self.let_go_at: float | None = None
        self.eof_sent = False
        self.bytes_read = 0
        self.tail = b""
        self.witness: Witness | None = None
        self.history: list[Witness] = []
        #: take witnesses (for checkpoints, and to tell copies and rewrites in follow
        #: mode); off for a file read once without a checkpoint store, where nothing
        #: would look at them (they cost a hash of up to 512 bytes per chunk end)
        self.witnessing = True
        #: read no further than this offset (the end seen when the shipper was stopped)
        self.limit: int | None = None

    @classmethod
    def open(cls, path: str, max_line_bytes: int, links: LinkPolicy | None = None) -> OpenFile:
        """Open ``path`` for reading as ``links`` allows (``OSError`` if it cannot be)."""
        fd, st = (links or LinkPolicy("always")).open_stat(path)
        return cls(path, fd, st, max_line_bytes)

    @property
    def key(self) -> str | None:
        return self.identity.key if self.identity else None

    @property
    def lag(self) -> int:
        return max(0, self.size - self.splitter.offset)

    def identify(self, force: bool = False) -> bool:
        """Read the fingerprint once it is stable (``force``: whatever is there)."""
        self.head = read_fingerprint(self.fd, force=force)
        return self.head is not None

    def seek(self, offset: int) -> None:
        """Continue at ``offset`` (a verified checkpoint, or 0), loading the bytes before it."""
        self.splitter.reset(offset)
        start = max(0, offset - CHECK_BYTES)
        self.tail = os.pread(self.fd, offset - start, start) if offset else b""
        self.witness = None
        self.history = []
        if self.witnessing and len(self.tail) == offset - start:
            self._witness(offset)

    def read(self, nbytes: int, final: bool) -> Chunk | str:
        """Read the next chunk, or say why not (``IDENTIFIED``, ``NOT_READY``, ...)."""
        if self.identity is None:
            if self.head is not None:
                return NOT_READY  # the tailer has not placed it yet
            return IDENTIFIED if self.identify(force=final) else NOT_READY
        splitter = self.splitter
        if self.limit is not None:
            nbytes = min(nbytes, self.limit - splitter.offset)
            final = final or nbytes <= 0
        data = os.pread(self.fd, nbytes, splitter.offset) if nbytes > 0 else b""
        return self.took(data, nbytes, final)

    def read_head(self, nbytes: int) -> tuple[bytes, int]:
        """The first read of a file just opened, read once from its start: its first
        ``nbytes`` (no further than ``limit``), and ``head`` taken from them when they
        hold its first line or :data:`FINGERPRINT_BYTES` (else as :meth:`identify` with
        ``force`` takes it). Once placed at 0, :meth:`took` of what this returns is the
        read that would follow (one ``pread`` a small file instead of two)."""
        if self.limit is not None:
            nbytes = min(nbytes, self.limit)
        data = os.pread(self.fd, nbytes, 0) if nbytes > 0 else b""
        self.head = fingerprint_of(data[:FINGERPRINT_BYTES])
        if self.head is None:  # not stable in these bytes: as ``identify`` takes it
            self.identify(force=True)
        return data, nbytes

    def took(self, data: bytes, nbytes: int, final: bool) -> Chunk | str:
        """:meth:`read` once ``data`` (``nbytes`` asked for, at the offset) was read."""
        if not data:
            return self._at_end(final)
        splitter = self.splitter
        base = splitter.offset
        self.bytes_read += len(data)
        before = splitter.consumed if self.witnessing else 0
        lines, truncated = splitter.feed(data)
        eof = len(data) < nbytes or splitter.offset == self.limit
        if eof and final:
            more, cut = splitter.flush()
            lines.extend(more)
            truncated |= cut
        last = None
        if self.witnessing:  # else no witness is taken, and ``tail`` is never looked at
            last = self._last_line(lines, data, base, before)
            self._advance(data, base, before)
        self.size = max(self.size, splitter.offset)
        return self._chunk(lines, truncated, eof, last)

    def _at_end(self, final: bool) -> Chunk | str:
        self.size = os.fstat(self.fd).st_size
        if self.size < self.splitter.offset:
            return TRUNCATED
        if final and self.splitter.pending_bytes:
            before = self.splitter.consumed
            lines, truncated = self.splitter.flush()
            self._advance(b"", self.splitter.offset, before)
            return self._chunk(lines, truncated, True)
        if not self.eof_sent:
            return self._chunk([], set(), True)
        return AT_EOF

    def _chunk(self, lines: list[tuple[int, bytes]], truncated: set[int], eof: bool,
               last: Witness | None = None) -> Chunk:
        self.eof_sent = eof
        assert self.identity is not None
        end = self.splitter.consumed
        witnesses: tuple[Witness, ...] = (last,) if last is not None and last.at < end else ()
        if self.witness is not None and self.witness.at == end:
            witnesses += (self.witness,)
        return Chunk(self.identity.key, self.path, lines, frozenset(truncated), end, eof,
                     witnesses)

    def _last_line(self, lines: list[tuple[int, bytes]], data: bytes, base: int,
                   before: int) -> Witness | None:
        """The witness of the start of the chunk's last line: the offset the checkpoint
        stops at while that line may still be continued (a multi-line record)."""
        if not lines or lines[-1][0] <= before:
            return None
        window = self._window(data, base, lines[-1][0])
        return None if window is None else Witness(lines[-1][0], check_of(window),
                                                   max(self.size, base + len(data)))

    def _window(self, data: bytes, base: int, at: int) -> bytes | None:
        """The bytes before offset ``at`` (inside ``data``, read at ``base``), or ``None``
        when they are not all at hand."""
        cut = at - base
        if cut < 0 or (cut < CHECK_BYTES and len(self.tail) < min(CHECK_BYTES, base)):
            return None
        window = data[max(0, cut - CHECK_BYTES):cut]
        if len(window) < CHECK_BYTES and self.tail:
            need = min(len(self.tail), CHECK_BYTES - len(window))
            window = self.tail[len(self.tail) - need:] + window
        return window

    def _advance(self, data: bytes, base: int, before: int) -> None:
        """Keep ``tail`` and the witness of the consumed offset up to date (per chunk)."""
        consumed = self.splitter.consumed
        if consumed != before and self.witnessing:
            window = self._window(data, base, consumed)
            self.witness = None
            if window is not None:
                self.witness = Witness(consumed, check_of(window), max(self.size, consumed))
                self._remember(self.witness)
        if len(data) >= CHECK_BYTES:
            self.tail = data[-CHECK_BYTES:]
        elif data:
            self.tail = (self.tail + data)[-CHECK_BYTES:]

    def _witness(self, offset: int) -> None:
        self.witness = Witness(offset, check_of(self.tail), max(self.size, offset))
        self._remember(self.witness)

    def _remember(self, witness: Witness) -> None:
        history = self.history
        history.append(witness)
        if len(history) > HISTORY:  # keep the recent half, thin out the older half
            half = HISTORY // 2
            self.history = history[:-half][1::2] + history[-half:]

    def content_replaced(self) -> bool:
        """Truncated or rewritten in place since it was read (blocking)?

        Files only grow: a smaller size, other first bytes, or other bytes before the read
        offset than were read there all mean new content. Unchanged size and times skip
        the reads.
        """
        st = os.fstat(self.fd)
        stamp, seen = _stamp(st), self.size
        if stamp == self.stamp:
            return False
        self.stamp, self.size = stamp, st.st_size
        if st.st_size < max(seen, self.splitter.offset):
            return True
        if self.head is not None and read_fingerprint(self.fd) != self.head:
            return True
        witness = self.witness
        return witness is not None and not holds(self.fd, st.st_size, witness, same_file=False)

    def restart(self) -> None:
        """Read again from the start (after a truncation); identity is recomputed."""
        self.identity = None
        self.head = None
        self.splitter.reset(0)
        self.eof_sent = False
        self.tail = b""
        self.witness = None
        self.history = []
        self.size = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
