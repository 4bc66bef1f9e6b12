"""The pure-Python twin of ``_compiled.pyx``: the same functions, the same results.

Each function is the reference for its compiled twin (the equivalence tests compare them
on the corpus, the golden lines and generated inputs). ``shipper.kernels`` picks one.
"""

from __future__ import annotations

import re

#: bumped with every change of a signature or a result: a stale extension is not used
KERNEL_API = 1

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
