"""Segment files and the read/committed positions of a disk buffer (all blocking).

Segments are ``seg-<seq>.buf`` files of framed records. After a restart writing always
starts a new segment, so a torn write can only be at the end of an old one, where the
reader skips it. ``cursor.json`` holds the committed position ``(seq, offset)`` (every
record before it is delivered) and the ranges delivered after it, out of order
(``acked``): a restart skips those instead of sending them again. Start-up
(:mod:`shipper.buffer.recovery`) sets aside whatever state it cannot use.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from shipper.buffer import frames

Position = tuple[int, int]
Range = tuple[Position, Position]
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


@dataclass(slots=True)
class Read:
    """One read: the records, where they start and end, what was skipped on the way."""

    items: list[bytes] = field(default_factory=list)
    start: Position = (0, 0)
    end: Position = (0, 0)
    #: lengths of damaged regions skipped
    regions: list[int] = field(default_factory=list)
    #: delivered ranges (from ``cursor.json``) jumped over before ``start``
    jumped: list[Range] = field(default_factory=list)


class SegmentLog:
    """The segment files of one buffer directory (see the module docstring)."""

    def __init__(self, directory: Path, segment_bytes: int) -> None:
        self.dir = directory
        self.segment_bytes = segment_bytes
        self.segments: dict[int, Segment] = {}
        self.writer: Segment | None = None
        self._wfd = -1
        self.committed: Position = (0, 0)
        self.read_pos: Position = (0, 0)
        #: delivered ranges after the committed position, to skip when reading
        self.skips: list[Range] = []
        #: valid frames seen and their bytes (the mean sizes damaged regions)
        self.frames_seen = 0
        self.frame_bytes = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes on disk from the committed position on (what the size cap counts)."""
        seq, offset = self.committed
        return sum(s.size for s in self.segments.values() if s.seq >= seq) - offset

    @property
    def mean_frame(self) -> float:
        return self.frame_bytes / self.frames_seen if self.frames_seen else 0.0

    def note_frames(self, items: list[bytes]) -> None:
        self.frames_seen += len(items)
        self.frame_bytes += sum(map(len, items)) + frames.HEADER.size * len(items)

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
        writer = self.writer
        if writer is not None and writer.size < self.segment_bytes:
            return writer
        self.seal()
        seq = max(self.segments, default=self.committed[0] - 1) + 1
        path = self.dir / f"seg-{seq:016d}.buf"
        self._wfd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self.writer = self.segments[seq] = Segment(seq, path, 0)
        return self.writer

    def seal(self) -> None:
        """Close the segment being written: the next append starts a new one."""
        if self._wfd >= 0:
            os.close(self._wfd)
            self._wfd = -1
        self.writer = None

    def _undo(self, size: int) -> None:
        try:
            os.ftruncate(self._wfd, size)
        except OSError as exc:
            log.warning("cannot undo a partial disk buffer write",
                        extra={"dir": str(self.dir), "error": exc.strerror})

    # -- reading -----------------------------------------------------------------------------

    def read(self, max_items: int, max_bytes: int) -> Read:
        """Next records from the read position, never across a delivered range."""
        out = Read()
        size = 0
        seq, offset = self.read_pos
        while len(out.items) < max_items and size < max_bytes:
            skip = self._skip_at((seq, offset))
            if skip is not None:
                if out.items or out.regions:
                    break
                self.skips.pop(0)
                out.jumped.append(skip)
                seq, offset = skip[1]
                continue
            segment = self.segments.get(seq)
            if segment is None:
                break
            if offset >= segment.size:
                nxt = min((s for s in self.segments if s > seq), default=None)
                if segment is self.writer or nxt is None:
                    break
                seq, offset = nxt, 0
                continue
            if not out.items and not out.regions:
                out.start = (seq, offset)
            got = self._decode_at(segment, offset, max_items - len(out.items), max_bytes - size)
            if not got.items and not got.consumed:
                break
            out.items += got.items
            out.regions += got.regions
            size += sum(len(i) for i in got.items)
            offset += got.consumed
        if not out.items and not out.regions:
            out.start = (seq, offset)
        self.read_pos = out.end = (seq, offset)
        self.note_frames(out.items)
        return out

    def _skip_at(self, pos: Position) -> Range | None:
        """The delivered range ``pos`` is in (the first of :attr:`skips`), else ``None``."""
        while self.skips and self.skips[0][1] <= pos:
            self.skips.pop(0)
        if self.skips and self.skips[0][0] <= pos:
            return self.skips[0]
        return None

    def _limit(self, segment: Segment, offset: int) -> tuple[int, bool]:
        """Where reading this segment must stop (a delivered range starts there, or its
        end) and whether that is a hard end (nothing of the frame continues past it)."""
        for (start_seq, start_off), _ in self.skips:
            if start_seq == segment.seq and start_off > offset:
                return start_off, True
        return segment.size, segment is not self.writer

    def _decode_at(self, segment: Segment, offset: int, max_items: int,
                   max_bytes: int) -> frames.Decoded:
        stop, hard = self._limit(segment, offset)
        want = min(stop - offset, max(max_bytes, 65536) + frames.HEADER.size * 64)
        buf = segment.read_at(want, offset)
        done = hard and offset + len(buf) >= stop
        got = frames.decode(buf, max_items, max_bytes, final=done)
        if got.need and not got.items and got.consumed == 0:
            buf = segment.read_at(min(got.need, stop - offset), offset)
            done = hard and offset + len(buf) >= stop
            got = frames.decode(buf, max_items, max_bytes, final=done or len(buf) < got.need)
        return got

    # -- committing --------------------------------------------------------------------------

    def commit(self, end: Position, acked: list[Range], sync: bool) -> None:
        """Persist ``end`` as delivered (and ``acked`` ranges after it); delete segments
        wholly before it."""
        self.committed = end
        self._drop_before(end[0])
        data = json.dumps({"version": 2, "seq": end[0], "offset": end[1],
                           "acked": [[*a, *b] for a, b in acked]}).encode()
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
        for old in [s for s in self.segments.values() if s.seq < seq and s is not self.writer]:
            old.close()
            old.path.unlink(missing_ok=True)
            del self.segments[old.seq]

    def close(self, sync: bool) -> None:
        if self._wfd >= 0:
            if sync:
                os.fsync(self._wfd)
            os.close(self._wfd)
            self._wfd = -1
        self.writer = None
        for segment in self.segments.values():
            segment.close()
