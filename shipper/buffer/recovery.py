"""Start-up of a disk buffer: find its segments and position, set aside what is damaged.

Nothing found on disk may stop the shipper. What cannot be used is renamed ``*.corrupt``
(one warning each, ``shipper_state_set_aside_total{kind}``):

* ``buffer-segment``: a ``seg-*.buf`` whose name is not ``seg-<digits>.buf`` or repeats a
  sequence number, that is not a regular file, or that cannot be opened. The records it
  held (valid frames plus the estimate for damaged regions) count as lost.
* ``buffer-cursor``: a ``cursor.json`` that is not the expected JSON, holds a negative or
  non-integer position, points past its segment's end or inside a frame, or holds bad
  ``acked`` ranges. Reading starts again at the oldest segment (duplicates, no loss).

A directory where the buffer directory should be is set aside the same way.
Damaged frames inside usable segments are skipped when read, and counted then.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipper.buffer import frames
from shipper.buffer.segments import BLOCK, CURSOR, Position, Range, Segment, SegmentLog

log = logging.getLogger("shipper.buffer")

_SEGMENT_NAME = re.compile(r"seg-(\d{1,19})\.buf")


@dataclass(slots=True)
class Recovered:
    #: records waiting (valid frames + estimated records in damaged regions)
    records: int = 0
    #: estimated records in damaged regions among them
    damaged: int = 0
    #: kind -> files set aside
    set_aside: dict[str, int] = field(default_factory=dict)
    #: records lost with the segments set aside
    lost: int = 0


def recover(seglog: SegmentLog) -> Recovered:
    """Fill ``seglog`` from its directory; what is waiting and what was set aside."""
    out = Recovered()
    _ensure_dir(seglog.dir, out)
    _scan_segments(seglog, out)
    seglog.committed, seglog.skips = _load_cursor(seglog, out)
    seglog.read_pos = seglog.committed
    for old in [s for s in seglog.segments.values() if s.seq < seglog.committed[0]]:
        old.path.unlink(missing_ok=True)
        del seglog.segments[old.seq]
    _count_waiting(seglog, out)
    return out


def set_aside(path: Path, kind: str, out: Recovered, why: str) -> None:
    """Rename ``path`` to ``path.corrupt`` (replacing an older one) and say so once."""
    target = path.with_name(path.name + ".corrupt")
    try:
        if target.is_dir() and not target.is_symlink():
            target = path.with_name(f"{path.name}.{os.getpid()}.corrupt")
        os.replace(path, target)
    except OSError as exc:
        log.warning("disk buffer: cannot set aside %s (%s); ignoring it", path.name,
                    exc.strerror, extra={"dir": str(path.parent), "kind": kind})
    else:
        log.warning("disk buffer: %s %s, set aside as %s", path.name, why, target.name,
                    extra={"dir": str(path.parent), "kind": kind})
    out.set_aside[kind] = out.set_aside.get(kind, 0) + 1


def _ensure_dir(directory: Path, out: Recovered) -> None:
    if directory.exists() and not directory.is_dir():
        set_aside(directory, "buffer-segment", out, "is not a directory")
    directory.mkdir(parents=True, exist_ok=True)


def _scan_segments(seglog: SegmentLog, out: Recovered) -> None:
    for path in sorted(seglog.dir.iterdir()):
        name = path.name
        if name.endswith(".tmp"):
            _remove_temp(path)
            continue
        if not (name.startswith("seg-") and name.endswith(".buf")):
            continue
        match = _SEGMENT_NAME.fullmatch(name)
        why = _unusable(path, match, seglog)
        if why:
            out.lost += _records_in(path, seglog.mean_frame)
            set_aside(path, "buffer-segment", out, why)
            continue
        assert match is not None
        seq = int(match.group(1))
        seglog.segments[seq] = Segment(seq, path, path.stat().st_size)


def _unusable(path: Path, match: re.Match[str] | None, seglog: SegmentLog) -> str:
    if match is None:
        return "is not named seg-<number>.buf"
    if int(match.group(1)) in seglog.segments:
        return "repeats a segment number"
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file"
        os.close(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError as exc:
        return f"cannot be opened ({exc.strerror})"
    return ""


def _records_in(path: Path, mean_frame: float) -> int:
    """Records a file set aside held, as far as its frames tell (0 if unreadable)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return 0
        data = path.read_bytes()
    except OSError:
        return 0
    got = frames.decode(data, 1 << 40, 1 << 62, final=True)
    mean = mean_frame or _mean(got.items)
    return len(got.items) + frames.estimate_records(got.regions, mean)


def _mean(items: list[bytes]) -> float:
    return (sum(map(len, items)) / len(items) + frames.HEADER.size) if items else 0.0


def _remove_temp(path: Path) -> None:
    try:
        if path.is_file():
            path.unlink()
    except OSError as exc:
        log.warning("disk buffer: cannot remove %s (%s)", path.name, exc.strerror)


def _load_cursor(seglog: SegmentLog, out: Recovered) -> tuple[Position, list[Range]]:
    first: Position = (min(seglog.segments, default=0), 0)
    path = seglog.dir / CURSOR
    if not path.exists() and not path.is_symlink():
        return first, []
    try:
        doc = json.loads(path.read_bytes())
        committed, skips = _parse_cursor(doc)
        problem = _check_position(seglog, committed) or next(
            (p for a, b in skips
             if (p := _check_position(seglog, a) or _check_position(seglog, b))),
            "")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        problem = f"is unreadable ({type(exc).__name__})"
    if problem:
        set_aside(path, "buffer-cursor", out, problem + "; re-sending from the oldest record")
        return first, []
    if committed[0] not in seglog.segments:  # its segment was delivered and deleted
        committed = (min((s for s in seglog.segments if s > committed[0]), default=committed[0]), 0)
    return committed, skips


def _parse_cursor(doc: Any) -> tuple[Position, list[Range]]:
    if not isinstance(doc, dict):
        raise TypeError("not an object")
    committed = (_count(doc["seq"]), _count(doc["offset"]))
    skips: list[Range] = []
    for row in doc.get("acked") or []:
        if not isinstance(row, list) or len(row) != 4:
            raise ValueError("bad acked range")
        start, end = (_count(row[0]), _count(row[1])), (_count(row[2]), _count(row[3]))
        if not committed <= start < end or (skips and start < skips[-1][1]):
            raise ValueError("acked ranges out of order")
        skips.append((start, end))
    return committed, skips


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("a position must be a non-negative integer")
    return value


def _check_position(seglog: SegmentLog, pos: Position) -> str:
    """Why ``pos`` cannot be a frame boundary of an existing segment (``""``: it can)."""
    segment = seglog.segments.get(pos[0])
    if segment is None:
        return ""
    if pos[1] > segment.size:
        return f"points past the end of {segment.path.name}"
    if pos[1] < segment.size and segment.read_at(len(frames.MAGIC), pos[1]) != frames.MAGIC:
        return f"points inside a record of {segment.path.name}"
    return ""


def _count_waiting(seglog: SegmentLog, out: Recovered) -> None:
    """Records from the committed position on (delivered ranges excluded)."""
    regions: list[int] = []
    for segment in sorted(seglog.segments.values(), key=lambda s: s.seq):
        pos = seglog.committed[1] if segment.seq == seglog.committed[0] else 0
        while pos < segment.size:
            skip = next(((a, b) for a, b in seglog.skips if a <= (segment.seq, pos) < b), None)
            if skip is not None:
                pos = skip[1][1] if skip[1][0] == segment.seq else segment.size
                continue
            stop = next((a[1] for a, _ in seglog.skips if a[0] == segment.seq and a[1] > pos),
                        segment.size)
            got = _decode_run(segment, pos, stop)
            seglog.note_frames(got.items)
            out.records += len(got.items)
            regions += got.regions
            pos += max(got.consumed, 1)
        segment.close()
    out.damaged = frames.estimate_records(regions, seglog.mean_frame)
    out.records += out.damaged


def _decode_run(segment: Segment, pos: int, stop: int) -> frames.Decoded:
    buf = segment.read_at(min(BLOCK, stop - pos), pos)
    got = frames.decode(buf, 1 << 30, 1 << 62, final=pos + len(buf) >= stop)
    if got.need:
        more = frames.decode(segment.read_at(min(got.need, stop - pos - got.consumed),
                                             pos + got.consumed), 1 << 30, 1 << 62, final=True)
        got.items += more.items
        got.regions += more.regions
        got.consumed += more.consumed
    return got
