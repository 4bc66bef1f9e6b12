"""Segment files and the committed read position of a disk buffer (all blocking).

Segments are ``seg-<seq>.buf`` files of framed records. After a restart writing always
starts a new segment, so a torn write can only be at the end of an old one, where the
reader skips it. ``cursor.json`` holds the committed position ``(seq, offset)``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from shipper.buffer import frames

Position = tuple[int, int]
CURSOR = "cursor.json"
BLOCK = 1_048_576

log = logging.getLogger("shipper.buffer")


@dataclass(slots=True)
class Segment:
    seq: int
    path: Path
    size: int
    rfd: int = -1

    def read_at(self, size: int, offset: int) -> bytes:
        if self.rfd < 0:
            self.rfd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        return os.pread(self.rfd, size, offset)

    def close(self) -> None:
        if self.rfd >= 0:
            os.close(self.rfd)
            self.rfd = -1


class SegmentLog:
    """The segment files of one buffer directory (see the module docstring)."""

    def __init__(self, directory: Path, segment_bytes: int) -> None:
        self.dir = directory
        self.segment_bytes = segment_bytes
        self._segments: dict[int, Segment] = {}
        self._writer: Segment | None = None
        self._wfd = -1
        self._committed: Position = (0, 0)
        self._read: Position = (0, 0)

    @property
    def committed(self) -> Position:
        return self._committed

    @property
    def pending_bytes(self) -> int:
        seq, offset = self._committed
        return sum(s.size for s in self._segments.values() if s.seq >= seq) - offset

    # -- recovery ----------------------------------------------------------------------------

    def recover(self) -> tuple[int, int]:
        """Find segments and the committed position; return (records, damaged) waiting."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.dir.glob("seg-*.buf")):
            seq = int(path.stem.split("-", 1)[1])
            self._segments[seq] = Segment(seq, path, path.stat().st_size)
        self._committed = self._load_cursor()
        self._drop_before(self._committed[0])
        self._read = self._committed
        return self._count_waiting()

    def _load_cursor(self) -> Position:
        first = min(self._segments, default=0)
        try:
            doc = json.loads((self.dir / CURSOR).read_bytes())
            seq, offset = int(doc["seq"]), int(doc["offset"])
        except FileNotFoundError:
            return (first, 0)
        except (ValueError, KeyError, TypeError, OSError):
            log.warning("disk buffer position is unreadable, re-sending from the oldest record",
                        extra={"dir": str(self.dir)})
            return (first, 0)
        segment = self._segments.get(seq)
        if segment is None:
            return (min((s for s in self._segments if s > seq), default=seq), 0)
        return (seq, min(offset, segment.size))

    def _count_waiting(self) -> tuple[int, int]:
        records = damaged = 0
        seq, offset = self._committed
        for segment in sorted(self._segments.values(), key=lambda s: s.seq):
            if segment.seq < seq:
                continue
            pos = offset if segment.seq == seq else 0
            while pos < segment.size:
                buf = segment.read_at(min(BLOCK, segment.size - pos), pos)
                final = pos + len(buf) >= segment.size
                got = frames.decode(buf, 1 << 30, 1 << 62, final=final)
                if got.need:
                    buf = segment.read_at(got.need, pos + got.consumed)
                    got2 = frames.decode(buf, 1 << 30, 1 << 62, final=True)
                    got.items += got2.items
                    got.corrupt += got2.corrupt
                    got.consumed += got2.consumed
                records += len(got.items) + got.corrupt
                damaged += got.corrupt
                pos += max(got.consumed, 1)
        return records, damaged

    # -- writing -----------------------------------------------------------------------------

    def append(self, data: bytes, sync: bool) -> None:
        """Write ``data`` whole to the newest segment, or undo the part written and raise."""
        writer = self._writable()
        before = writer.size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._wfd, view):]
            if sync:
                os.fsync(self._wfd)
        except OSError:
            self._undo(before)
            raise
        writer.size = before + len(data)

    def _writable(self) -> Segment:
        writer = self._writer
        if writer is not None and writer.size < self.segment_bytes:
            return writer
        if self._wfd >= 0:
            os.close(self._wfd)
            self._wfd = -1
        seq = max(self._segments, default=self._committed[0] - 1) + 1
        path = self.dir / f"seg-{seq:016d}.buf"
        self._wfd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._writer = self._segments[seq] = Segment(seq, path, 0)
        return self._writer

    def _undo(self, size: int) -> None:
        try:
            os.ftruncate(self._wfd, size)
        except OSError as exc:
            log.warning("cannot undo a partial disk buffer write",
                        extra={"dir": str(self.dir), "error": exc.strerror})

    # -- reading and committing --------------------------------------------------------------

    def read(self, max_items: int, max_bytes: int) -> tuple[list[bytes], Position, int]:
        """Next records from the read position; returns (items, end position, damaged)."""
        items: list[bytes] = []
        damaged = size = 0
        seq, offset = self._read
        while len(items) < max_items and size < max_bytes:
            segment = self._segments.get(seq)
            if segment is None:
                break
            if offset >= segment.size:
                nxt = min((s for s in self._segments if s > seq), default=None)
                if segment is self._writer or nxt is None:
                    break
                seq, offset = nxt, 0
                continue
            got = self._decode_at(segment, offset, max_items - len(items), max_bytes - size)
            if not got.items and not got.consumed:
                break
            items += got.items
            damaged += got.corrupt
            size += sum(len(i) for i in got.items)
            offset += got.consumed
        self._read = (seq, offset)
        return items, self._read, damaged

    def _decode_at(self, segment: Segment, offset: int, max_items: int,
                   max_bytes: int) -> frames.Decoded:
        want = min(segment.size - offset, max(max_bytes, 65536) + frames.HEADER.size * 64)
        buf = segment.read_at(want, offset)
        done = segment is not self._writer and offset + len(buf) >= segment.size
        got = frames.decode(buf, max_items, max_bytes, final=done)
        if got.need and not got.items and got.consumed == 0:
            buf = segment.read_at(got.need, offset)
            done = segment is not self._writer and offset + len(buf) >= segment.size
            got = frames.decode(buf, max_items, max_bytes, final=done or len(buf) < got.need)
        return got

    def commit(self, end: Position, sync: bool) -> None:
        """Persist ``end`` as delivered and delete segments wholly before it."""
        self._committed = end
        self._drop_before(end[0])
        data = json.dumps({"version": 1, "seq": end[0], "offset": end[1]}).encode()
        tmp = self.dir / (CURSOR + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.dir / CURSOR)

    def _drop_before(self, seq: int) -> None:
        for old in [s for s in self._segments.values() if s.seq < seq and s is not self._writer]:
            old.close()
            old.path.unlink(missing_ok=True)
            del self._segments[old.seq]

    def close(self, sync: bool) -> None:
        if self._wfd >= 0:
            if sync:
                os.fsync(self._wfd)
            os.close(self._wfd)
            self._wfd = -1
        self._writer = None
        for segment in self._segments.values():
            segment.close()
