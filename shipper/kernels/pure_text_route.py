"""The pure-Python twin of the ``JsonLines`` kernel's text lines (``_compiled.pyx``,
``JsonLines._text`` and ``wrapped_lines``): the common text lines of a file finished in
the kernel's loop, without ``FileParser``'s per-line Python glue.

The reference is ``FileParser._text_line`` (and for a runtime-wrapped file's inner line,
``FileParser._wrapped_line``). A text line is finished here only when the result is the
same by construction:

- no key block is open or cut by a flush (``dangling``): the joiner's state is ``NONE``;
  else ``text_line`` (the reference) takes the line, nothing done;
- with a record pending, a line that ``accepts`` takes (it refuses a digit first in
  state ``NONE`` without a call, and leaves the state ``NONE`` whenever it refuses) goes
  into it as ``takes`` puts it;
- a blank line goes to ``text_line`` (it counts ``empty_line``);
- the line is parsed as the reference parses it (``TextParser.parse``; the compiled
  kernel first calls ``stamped_line`` itself, the parser's own first step);
- a line holding ``-----BEGIN`` (a key block may open) or, for a format that may go on,
  a line ``start_state`` looks at (its first character in ``BLOCK_INITIALS``, but for a
  ``2`` without ``":  "``, where it finds nothing) goes to the route's ``record``
  (``FileParser._record``, the reference after the parse);
- a format complete on its line (``SINGLE_LINE_FORMATS``) is counted and made a record;
  the pending record (if any) goes out first, as ``take`` gives it;
- any other format is made a record and held, as ``MultilineJoiner.start`` holds it in
  state ``NONE`` (the previous pending record goes out, joined by ``take`` if it has
  continuation lines); ``text`` records are counted once a chunk, the key put in the
  counts where the reference first counts it, so the counts keep their order.

``wrapped_lines`` takes a runtime-wrapped file's inner lines (``RuntimeUnwrapper.unwrap``):
CRI bytes as ``feed`` takes a plain file's lines (with their stream and wrapper time, JSON
lines counted once a chunk in the same way), anything else through ``wrapped_line``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from shipper.record import Record

#: ``(fields, format, offset, text, stream, wrapper time, truncated, out)``:
#: ``FileParser._record``, a parsed line held or finished (the reference after the parse)
RecordLine = Callable[[dict[str, Any], str, int, str, str | None, str | None, frozenset[int],
                       list[Record]], None]
#: ``(offset, data, stream, wrapper time, truncated, out)``: ``FileParser._wrapped_line``
WrappedLine = Callable[[int, bytes | str, str | None, str | None, frozenset[int],
                        list[Record]], None]
#: ``(offset, text, stream, wrapper time, truncated, out)``: ``FileParser._text_line``
AnyTextLine = Callable[[int, str, str | None, str | None, frozenset[int], list[Record]], None]
_NONE = 0  # multiline.NONE
_dict_new = dict.__new__
_dict_update = dict.update


class Joiner(Protocol):
    """What the kernel needs of ``multiline.MultilineJoiner``; a text line held or
    finished here reads and sets its state as ``accepts``, ``start`` and ``take`` do."""

    pending: Record | None
    dangling: Record | None
    _state: int
    _parts: list[str] | None
    _size: int
    _header: str | None

    def take(self) -> Record | None: ...
    def accepts(self, text: str) -> bool: ...
    def takes(self, text: str, offset: int, accepted: bool, formats: Counter[str],
              out: list[Record]) -> bool: ...


class TextRoute(NamedTuple):
    """What the kernel needs to finish a text line itself: the text parser, the
    references, the format counts and ``text``'s and ``multiline``'s constants."""

    parse: Callable[[str], tuple[str, dict[str, Any]]]  # TextParser.parse
    record: RecordLine
    wrapped_line: WrappedLine
    formats: Counter[str]
    single: frozenset[str]  # text.SINGLE_LINE_FORMATS
    block_initials: frozenset[str]  # multiline.BLOCK_INITIALS


class TextLines:
    """The text half of the ``JsonLines`` twin (see the module docstring)."""

    _path: str
    _joiner: Joiner
    _route: TextRoute | None
    _text_line: Any  # AnyTextLine (the plain loop calls it without a stream)
    _fallback_time: Callable[[dict[str, Any], str | None], str]

    def _record(self, offset: int, raw: bytes, text: str, truncated: frozenset[int],
                stream: str | None, wrapper_time: str | None) -> Record | None:
        raise NotImplementedError  # JsonLines'

    def wrapped_lines(self, inners: list[tuple[int, bytes | str, str | None, str | None]],
                      truncated: frozenset[int], out: list[Record]) -> None:
        """Append the records of a runtime-wrapped file's inner lines to ``out``."""
        route, joiner, text_line = self._route, self._joiner, self._text_line
        assert route is not None, "wrapped_lines needs the text route"
        json_lines = text_lines = 0
        settled = False  # True while the joiner is known to hold nothing
        for offset, data, stream, wrapper_time in inners:
            text = None
            if data.__class__ is bytes and not (0 in data or 27 in data or 13 in data):
                try:
                    text = data.decode()
                except UnicodeDecodeError:
                    text = None
            if text is None:
                route.wrapped_line(offset, data, stream, wrapper_time, truncated, out)
            elif text[:1] != "{":
                got = self._text(offset, text, stream, wrapper_time, truncated, out)
                if got == 0:
                    text_line(offset, text, stream, wrapper_time, truncated, out)
                elif got == 1:
                    if text_lines == 0:
                        self._count_key("text")
                    text_lines += 1
            else:
                record = self._record(offset, data, text, truncated,  # type: ignore[arg-type]
                                      stream, wrapper_time)
                if record is None:
                    route.wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                else:
                    if not settled:
                        if joiner.pending is not None:
                            out.append(joiner.take())  # type: ignore[arg-type]
                        if joiner.dangling is not None:  # a key block cut by a flush ends
                            joiner.dangling = None
                    if json_lines == 0:
                        self._count_key("json")
                    out.append(record)
                    json_lines += 1
                    settled = True
                    continue
            settled = False
        if text_lines:
            route.formats["text"] += text_lines
        if json_lines:
            route.formats["json"] += json_lines

    def _count_key(self, key: str) -> None:
        """Put ``key`` in the format counts where the reference would first count it."""
        formats = self._route.formats  # type: ignore[union-attr]
        if key not in formats:
            formats[key] = 0

    def _text(self, offset: int, text: str, stream: str | None, wrapper_time: str | None,
              truncated: frozenset[int], out: list[Record]) -> int:
        """0: not the common case, nothing done (the caller calls ``text_line``); 1: a
        held ``text`` record (the caller counts it); 2: any other line done."""
        route, joiner = self._route, self._joiner
        if route is None or not text or joiner.dangling is not None or joiner._state != _NONE:
            return 0
        pending = joiner.pending
        if pending is not None and not "0" <= text[0] <= "9" and joiner.accepts(text):
            joiner.takes(text, offset, True, route.formats, out)
            return 2
        if text.isspace():
            return 0  # counted as empty_line by the reference
        fmt, fields = route.parse(text)
        if "-----BEGIN" in text:
            route.record(fields, fmt, offset, text, stream, wrapper_time, truncated, out)
            return 2
        single = fmt in route.single  # complete on its line, else held
        if not single and text[0] in route.block_initials and (
                text[0] != "2" or ":  " in text):  # ``start_state`` may find a block
            route.record(fields, fmt, offset, text, stream, wrapper_time, truncated, out)
            return 2
        record = self._fields_record(offset, fields, text, truncated, stream, wrapper_time)
        if pending is not None and joiner._parts is not None:
            pending = joiner.take()  # its lines joined (state NONE: no key block left)
        if single:
            joiner.pending = None
        else:  # ``MultilineJoiner.start(record, NONE)`` with no key block open
            joiner.pending = record
            joiner._size = len(record["message"])
            if joiner._header is not None:
                joiner._header = None
        if pending is not None:
            out.append(pending)
        if single:
            out.append(record)
        elif fmt == "text":
            return 1
        route.formats[fmt] += 1
        return 2

    def _fields_record(self, offset: int, fields: dict[str, Any], text: str,
                       truncated: frozenset[int], stream: str | None,
                       wrapper_time: str | None) -> Record:
        """``FileParser._complete``: the parsed fields made a record of this file."""
        record: Record = _dict_new(Record)  # as ``_complete`` makes it, no ``__init__``
        _dict_update(record, fields)
        record.raw = text
        record.before = None
        return self._placed(record, offset, truncated, stream, wrapper_time)

    def _placed(self, record: Record, offset: int, truncated: frozenset[int],
                stream: str | None, wrapper_time: str | None) -> Record:
        """``record`` given its time (when it has none), stream, file and truncation, as
        ``FileParser._complete`` does; the JSON lines' ``_finish`` ends the same way."""
        if not record["timestamp"]:  # none, or IMPOSSIBLE ("")
            record["timestamp"] = self._fallback_time(record, wrapper_time)
        if stream is not None:
            record["stream"] = stream
        record["file"] = {"path": self._path, "offset": offset}
        if truncated and offset in truncated:
            record["attributes"]["truncated"] = True
        return record
