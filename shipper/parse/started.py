"""The line path of a file with a user start pattern (``parse.multiline.start``).

:class:`StartedLines` stands in for ``FileParser._line`` in such a file: a line the pattern
matches starts a record (parsed as any line, JSON included), every other line continues the
pending record (:class:`~shipper.parse.multiline.StartJoiner`), lines before the first match
are records of their own, and private-key blocks hold as in every file. ``FileParser`` hands
it its own decoding, parsing and completion steps, so both paths make the same records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipper.parse import pem
from shipper.parse.multiline import NONE, StartJoiner
from shipper.record import Record

if TYPE_CHECKING:
    from shipper.parse.counts import ParseCounts

#: ``(record, offset, text, stream, wrapper_time, truncated)``: file, offset, time fallback
Complete = Callable[[dict[str, Any], int, str, "str | None", "str | None", frozenset[int]],
                    Record]


class StartedLines:
    """One file's lines -> records, the start pattern deciding where a record begins."""

    def __init__(self, joiner: StartJoiner, counts: ParseCounts,
                 decode: Callable[[bytes | str], str],
                 parse: Callable[[str], tuple[str, dict[str, Any]]],
                 complete: Complete) -> None:
        self._joiner = joiner
        self._counts = counts
        self._decode = decode
        self._parse = parse
        self._complete = complete

    def line(self, offset: int, data: bytes | str, stream: str | None,
             wrapper_time: str | None, truncated: frozenset[int], out: list[Record]) -> None:
        """As ``FileParser._line``: completed records go to ``out``, in order."""
        text = self._decode(data)
        joiner = self._joiner
        if joiner.takes(text, offset, joiner.accepts(text), self._counts.formats, out):
            return
        if not text or text.isspace():
            self._counts.errors["empty_line"] += 1
            return
        self._record(offset, text, stream, wrapper_time, truncated, out)

    def _record(self, offset: int, text: str, stream: str | None, wrapper_time: str | None,
                truncated: frozenset[int], out: list[Record]) -> None:
        """A line that continues nothing: held if it may go on, else shipped now."""
        joiner = self._joiner
        fmt, fields = self._parse(text)
        self._counts.formats[fmt] += 1
        opened = pem.header(text) if fmt != "json" and "-----BEGIN" in text else None
        if opened is not None and "-----BEGIN" not in fields["message"]:
            fields.update(message=text, attributes={})  # the BEGIN line stays whole
        record = self._complete(fields, offset, text, stream, wrapper_time, truncated)
        joiner.seen = joiner.seen or joiner.starts(text)
        if joiner.seen or opened is not None:  # held: it may go on (after a flush too)
            previous = joiner.start(record, NONE, opened)
            if previous is not None:
                out.append(previous)
            return
        if joiner.pending is not None:  # a key block before the first start line
            out.append(joiner.take())  # type: ignore[arg-type]
        joiner.dangling = None
        out.append(record)
