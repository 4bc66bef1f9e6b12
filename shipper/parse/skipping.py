"""Which next line takes a held record whatever the record is (for
:meth:`~shipper.parse.file_parser.FileParser.feed_skipping`).

A line dropped unparsed (raw noise) between a held record and the next line leaves the
record held one line longer: the same records come out, in the same order, when the next
line never continues a record in block state ``NONE`` (:func:`~shipper.parse.multiline.
continues`): it starts with a digit or ``{`` (``MultilineJoiner.accepts`` says no at once)
or with ``INFO:`` (no indentation, traceback, Java or Ruby frame can start so), and its
bytes decode to itself from that first character on (no NUL, ESC or CR).
"""

from __future__ import annotations

#: first bytes of a line that never continues a record in state ``NONE``
_NEVER_ON = frozenset(b"0123456789{")


def taken_next(lines: list[tuple[int, bytes]], i: int) -> bool:
    """Whether ``lines[i + 1]`` exists and never continues a record in state ``NONE``."""
    if i + 1 >= len(lines):
        return False
    data = lines[i + 1][1]
    if not data or (data[0] not in _NEVER_ON and not data.startswith(b"INFO:")):
        return False
    return 0 not in data and 13 not in data and 27 not in data
