"""Which next line takes a held record whatever the record is (for
:meth:`~shipper.parse.file_parser.FileParser.feed_skipping`).

A line dropped unparsed (raw noise) between a held record and the next line leaves the
record held one line longer: the same records come out, in the same order, when the next
line never continues a record in block state ``NONE`` (:func:`~shipper.parse.multiline.
continues`): it starts with a digit or ``{`` (``MultilineJoiner.accepts`` says no at once)
or with ``INFO:`` (no indentation, traceback, Java or Ruby frame can start so), and its
data decode to itself from that first character on (no NUL, ESC or CR). The lines are a
plain file's ``(offset, bytes)`` or a wrapped file's inner lines ``(offset, data, stream,
wrapper time)``, their data bytes (CRI) or text (docker json-file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: first bytes of a line that never continues a record in state ``NONE``
_NEVER_ON = frozenset(b"0123456789{")
_NEVER_ON_TEXT = frozenset("0123456789{")


def taken_next(lines: Sequence[tuple[Any, ...]], i: int) -> bool:
    """Whether ``lines[i + 1]`` exists and never continues a record in state ``NONE``."""
    if i + 1 >= len(lines):
        return False
    data = lines[i + 1][1]
    if data.__class__ is str:
        text: str = data
        if not text or (text[0] not in _NEVER_ON_TEXT and not text.startswith("INFO:")):
            return False
        return "\x00" not in text and "\r" not in text and "\x1b" not in text
    raw: bytes = data
    if not raw or (raw[0] not in _NEVER_ON and not raw.startswith(b"INFO:")):
        return False
    return 0 not in raw and 13 not in raw and 27 not in raw
