"""Record framing of disk buffer segments: magic, length, CRC32, payload.

A frame is ``MAGIC (4) | length (u32 LE) | crc32(payload) (u32 LE) | payload``. The magic
lets a reader find the next frame after a corrupt one (a CRC mismatch, a bad length) so
one damaged record costs one record, and a torn write at the end of a segment costs only
what was torn. Payloads are UTF-8 JSON, which never holds the byte ``0xF5``: a magic
marker is always a frame start.

A damaged region (from a bad frame to the next magic marker) may have held several frames
if the damage erased markers too; :func:`estimate_records` turns its length into a count
of records using the mean size of the valid frames seen.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

MAGIC = b"\xf5SB1"
HEADER = struct.Struct("<4sII")
MAX_RECORD = 64 * 1024 * 1024


def encode(items: Sequence[bytes | memoryview]) -> bytes:
    """Frames for ``items``, concatenated."""
    parts: list[bytes | memoryview] = []
    pack = HEADER.pack
    for item in items:
        parts.append(pack(MAGIC, len(item), zlib.crc32(item)))
        parts.append(item)
    return b"".join(parts)


@dataclass(slots=True)
class Decoded:
    items: list[bytes] = field(default_factory=list)
    #: bytes of the buffer fully handled (frames returned or skipped)
    consumed: int = 0
    #: damaged frames or runs skipped
    corrupt: int = 0
    #: length in bytes of each damaged region skipped
    regions: list[int] = field(default_factory=list)
    #: size a complete next frame needs (0 when not waiting for more bytes)
    need: int = 0


def decode(buf: bytes, max_items: int, max_bytes: int, *, final: bool) -> Decoded:
    """Frames from the start of ``buf``; ``final``: nothing follows ``buf`` in its segment.

    Always returns at least one item when a complete valid frame is available, even if it
    is larger than ``max_bytes``.
    """
    out = Decoded()
    pos, size, end = 0, 0, len(buf)
    while pos < end and len(out.items) < max_items:
        if end - pos < HEADER.size:
            if final:
                pos = _resync(buf, pos, out)
                continue
            return _wait(out, pos, HEADER.size)
        magic, length, crc = HEADER.unpack_from(buf, pos)
        if magic != MAGIC or length > MAX_RECORD:
            pos = _resync(buf, pos, out)
            continue
        stop = pos + HEADER.size + length
        if stop > end:
            if final:
                pos = _resync(buf, pos, out)
                continue
            return _wait(out, pos, HEADER.size + length)
        payload = buf[pos + HEADER.size:stop]
        if zlib.crc32(payload) != crc:
            pos = _resync(buf, pos, out)
            continue
        if out.items and size + length > max_bytes:
            break
        out.items.append(payload)
        size += length
        pos = stop
    out.consumed = pos
    return out


def _resync(buf: bytes, pos: int, out: Decoded) -> int:
    """Skip to the next magic after ``pos`` (or to the end), counting one corruption."""
    out.corrupt += 1
    nxt = buf.find(MAGIC, pos + 1)
    nxt = nxt if nxt >= 0 else len(buf)
    out.regions.append(nxt - pos)
    return nxt


def _wait(out: Decoded, pos: int, need: int) -> Decoded:
    """A frame continues past ``buf``: stop here and say how many bytes it needs."""
    out.consumed = pos
    out.need = need
    return out


def estimate_records(regions: list[int], mean_frame: float) -> int:
    """Records a list of damaged regions held: each at least one, a longer one as many
    frames of the mean size as fit in it (``mean_frame`` 0: unknown, one per region)."""
    if mean_frame <= 0:
        return len(regions)
    return sum(max(1, round(length / mean_frame)) for length in regions)
