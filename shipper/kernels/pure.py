"""The pure-Python twin of ``_compiled.pyx``: the same functions, the same results (the Loki
sink's twins live in :mod:`shipper.kernels.pure_loki`, re-exported here; the ``JsonLines``
class's in :mod:`shipper.kernels.pure_json`).

Each function is the reference for its compiled twin (the equivalence tests compare them
on the corpus, the golden lines and generated inputs). ``shipper.kernels`` picks one.
"""

from __future__ import annotations

import re

from shipper.kernels.pure_loki import READ_BARE as READ_BARE
from shipper.kernels.pure_loki import READ_K8S as READ_K8S
from shipper.kernels.pure_loki import READ_SECTION as READ_SECTION
from shipper.kernels.pure_loki import ReadOut as ReadOut
from shipper.kernels.pure_loki import ReadStep as ReadStep
from shipper.kernels.pure_loki import WireEntry as WireEntry
from shipper.kernels.pure_loki import loki_push as loki_push
from shipper.kernels.pure_loki import loki_read as loki_read
from shipper.kernels.pure_loki import loki_stamps as loki_stamps

#: bumped with every change of a signature or a result: a stale extension is not used
KERNEL_API = 118

NUL = b"\x00"
NEWLINE = b"\n"

#: ISO date-time anywhere we accept one (groups: date, time, fraction, zone); compile
#: with ``re.ASCII`` (``\d`` must not take other scripts' digits). Owned here because
#: ``iso_prefix`` is its reference matcher; ``shipper.parse.timestamps`` re-exports it.
ISO_PATTERN = (
    r"(\d{4}-\d{2}-\d{2}|\d{4}/\d{2}/\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?"
    r"(?: ?(Z|z|UTC|GMT|[+-]\d{2}:?\d{2})(?![\w:]))?"
)
_KEY = re.compile(r"[A-Za-z_@][\w.\-/@]*")
_TS_PREFIX = re.compile(ISO_PATTERN, re.ASCII)

IsoPrefix = tuple[str, str, str | None, str | None, int]


def split_lines(data: bytes, start: int, end: int, base: int, limit: int,
                lines: list[tuple[int, bytes]], truncated: set[int]) -> None:
    """Append the lines of ``data[start:end]`` (which ends right before a newline) to
    ``lines`` as ``(offset, line)``, ``offset`` counted from ``base`` (the file offset of
    ``data[0]``). Leading NUL bytes of a line are skipped (a line of NULs only is dropped);
    a line longer than ``limit`` is cut to ``limit`` and its offset added to ``truncated``."""
    segment = data[start:end]
    offset = base + start
    has_nul = NUL in segment
    for line in segment.split(NEWLINE):
        size = len(line)
        if has_nul and line[:1] == NUL:
            stripped = line.lstrip(NUL)
            if stripped:
                at = offset + size - len(stripped)
                if len(stripped) > limit:
                    truncated.add(at)
                    stripped = stripped[:limit]
                lines.append((at, stripped))
        elif size > limit:
            truncated.add(offset)
            lines.append((offset, line[:limit]))
        else:
            lines.append((offset, line))
        offset += size + 1


def trailing_pairs(message: str) -> tuple[str, dict[str, str] | None]:
    """The run of ``key=value`` words that ends ``message``, moved out of it, for a
    message without double quotes: ``"Progress a=1 b=2"`` -> ``("Progress", {"a": "1",
    "b": "2"})``; ``(message, None)`` when its last word is no pair. Words are split as
    ``str.split()`` does; a key is ``[A-Za-z_@][\\w.\\-/@]*``; the value is everything after
    the word's first ``=``."""
    words = message.split()
    found = []
    for word in reversed(words):
        key, eq, value = word.partition("=")
        # an ASCII identifier is a key; anything else asks the key pattern
        if not eq or not (key.isidentifier() and key.isascii() or _KEY.fullmatch(key)):
            break
        found.append((key, value))
    if not found:
        return message, None
    found.reverse()
    head = "" if len(found) == len(words) else message.rsplit(None, len(found))[0]
    return head, dict(found)


def iso_prefix(text: str) -> IsoPrefix | None:
    """The ISO 8601 date-time that starts ``text`` (``ISO_PATTERN``): ``(date, clock,
    fraction, zone, end)``, fraction and zone ``None`` when absent, ``end`` the index
    after the match; ``None`` when ``text`` does not start with one."""
    match = _TS_PREFIX.match(text)
    if match is None:
        return None
    date, clock, frac, zone = match.groups()
    return date, clock, frac, zone, match.end()


#: the CRI time ``YYYY-MM-DDTHH:MM:SS[.d{1,9}](Z|[+-]HH:MM)`` with every digit made ``0``:
#: a stamp is one exactly when its ``translate(_ZERO_DIGITS)`` is one of these shapes
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_CRI_STAMP_SHAPES = frozenset(b"0000-00-00T00:00:00" + fraction + zone
                              for fraction in [b""] + [b"." + b"0" * n for n in range(1, 10)]
                              for zone in (b"Z", b"+00:00", b"-00:00"))
_CRI_STREAMS = {b"stdout": "stdout", b"stderr": "stderr"}
#: ``(offset, content, stream, time)``; typed as the list it appends to holds them (the
#: runtime unwrapper's, where docker lines add str content and absent streams and times)
CriInner = tuple[int, bytes | str, str | None, str | None]


def cri_whole_lines(lines: list[tuple[int, bytes]], start: int,
                    out: list[CriInner]) -> int:
    """Unwrap the whole CRI lines ``<time> <stdout|stderr> F[ <content>]`` of ``lines``
    from index ``start`` on, appending ``(offset, content, stream, time)`` to ``out``;
    stop at the first line that is anything else (a ``P`` piece, no wrapper, a tag
    followed by neither a space nor the end) and return its index (``len(lines)`` when
    every line was whole). The caller unwraps that line itself."""
    if start < 0:
        raise ValueError("cri_whole_lines: need start >= 0")
    stream_of = _CRI_STREAMS.get
    shapes, zero = _CRI_STAMP_SHAPES, _ZERO_DIGITS
    append = out.append
    index = start
    for offset, raw in lines[start:] if start else lines:
        parts = raw.split(b" ", 3)  # time, stream, tag, content
        if len(parts) != 4:
            if len(parts) != 3:
                return index
            parts.append(b"")  # the line ends after the tag
        stamp, stream_bytes, tag, content = parts
        stream = stream_of(stream_bytes)
        if stream is None or tag != b"F" or stamp.translate(zero) not in shapes:
            return index
        append((offset, content, stream, stamp.decode()))
        index += 1
    return index


def text_indices(data: bytes, offsets: list[int]) -> list[int]:
    """For each offset of ``data`` (NUL-separated texts; ascending offsets, each in
    ``0 <= offset < len(data)``), the index of the text it is in: the NULs in
    ``data[:offset + 1]`` (a NUL belongs to the text after it, whose left edge it is).
    Maps a pre-scan's hits to texts (:meth:`shipper.filters.prescan.Re2.texts`)."""
    out: list[int] = []
    counted = text = 0
    size = len(data)
    for offset in offsets:
        if offset < 0 or offset >= size or offset + 1 < counted:
            raise ValueError("text_indices: need ascending offsets in 0 <= offset < len(data)")
        text += data.count(NUL, counted, offset + 1)
        counted = offset + 1
        out.append(text)
    return out
