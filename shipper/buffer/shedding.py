"""Making room in a full disk buffer for ``when_full: drop_newest`` / ``drop_oldest``.

Only records not yet read can be shed (what was read is in flight). A segment holding
unread records is rewritten without the shed ones: the part before the read position is
copied unchanged (positions of batches in flight stay valid), the rest re-framed, written
to ``<segment>.tmp`` and renamed over the segment (a crash leaves either file whole).
Segments that hold a delivered range still to be skipped are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from shipper.buffer import frames
from shipper.buffer.segments import Segment, SegmentLog

#: ``keep(payload)``: True for a record this pass must not shed
Keep = Callable[[bytes], bool]


@dataclass(slots=True)
class Shed:
    freed: int = 0
    records: int = 0
    regions: list[int] = field(default_factory=list)
    #: why shedding stopped early (the file system refused the rewrite), if it did
    error: str = ""


def shed(seglog: SegmentLog, need: int, *, newest_first: bool, keep: Keep | None,
         sync: bool) -> Shed:
    """Shed unread records (those ``keep`` refuses, or any with ``keep=None``) in age
    order until ``need`` bytes are freed or none is left to shed."""
    out = Shed()
    read_seq = seglog.read_pos[0]
    candidates = sorted((s for s in seglog.segments.values() if s.seq >= read_seq
                         and not _holds_skip(seglog, s)), key=lambda s: s.seq,
                        reverse=newest_first)
    for segment in candidates:
        if out.freed >= need:
            break
        if segment is seglog.writer:
            seglog.seal()
        start = seglog.read_pos[1] if segment.seq == read_seq else 0
        try:
            _rewrite(seglog, segment, start, need, newest_first, keep, sync, out)
        except OSError as exc:  # e.g. no space left for the rewritten copy
            out.error = exc.strerror or type(exc).__name__
            break
    return out


def _holds_skip(seglog: SegmentLog, segment: Segment) -> bool:
    return any(a[0] <= segment.seq <= b[0] for a, b in seglog.skips)


def _rewrite(seglog: SegmentLog, segment: Segment, start: int, need: int, newest_first: bool,
             keep: Keep | None, sync: bool, out: Shed) -> None:
    if start >= segment.size:
        return
    tail = segment.read_at(segment.size - start, start)
    got = frames.decode(tail, 1 << 40, 1 << 62, final=True)
    drop = _choose(got.items, need - out.freed, newest_first, keep)
    if not drop and not got.regions:
        return
    kept = [item for i, item in enumerate(got.items) if i not in drop]
    data = segment.read_at(start, 0) + frames.encode(kept) if start else frames.encode(kept)
    tmp = segment.path.with_name(segment.path.name + ".tmp")
    try:
        _write_file(tmp, data, sync)
        os.replace(tmp, segment.path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    segment.close()
    out.freed += segment.size - len(data)
    out.records += len(drop)
    out.regions += got.regions
    segment.size = len(data)


def _choose(items: list[bytes], need: int, newest_first: bool, keep: Keep | None) -> set[int]:
    """Indices to shed, in age order, until ``need`` bytes are freed."""
    order = range(len(items) - 1, -1, -1) if newest_first else range(len(items))
    drop: set[int] = set()
    freed = 0
    for index in order:
        if freed >= need:
            break
        if keep is not None and keep(items[index]):
            continue
        drop.add(index)
        freed += frames.HEADER.size + len(items[index])
    return drop


def _write_file(path: os.PathLike[str], data: bytes, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
