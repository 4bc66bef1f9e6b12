"""The pure-Python twin of the ``JsonLines`` kernel (``_compiled.pyx``, its last block): a
plain file's chunk of lines -> records, with the JSON object lines finished in one place
(decode, orjson, key mapping, the :class:`~shipper.record.Record`).

The reference is ``FileParser``'s per-line path for one line of a plain file
(``_plain_line``: ``_decoded`` -> ``LineParser.json`` -> ``JsonLineParser.parse`` ->
``_complete``). A line is finished here only when the result is the same by construction:

- its bytes hold no NUL, ESC or CR (``_decoded``'s fast path) and decode as UTF-8; else
  the reference takes it;
- a line that does not start with ``{`` is a text line: its common cases are finished
  here (``pure_text_route``, with the ``TextRoute`` the constructor was given), the others
  go to ``text_line`` with its text, as the reference does;
- a line that starts with ``{`` but that orjson refuses, that is not an object, or that
  holds more ``{``/``[`` than ``max_depth`` and is longer than ``2 * max_depth`` (so
  that it might nest too deep) goes to the reference;
- the object is mapped by ``JsonLineParser.parse``. The compiled kernel does the common
  shape inline instead (a string message; a ``"level"`` word of ``text_levels``, a
  pino/bunyan number under ``"level"`` that ``normalize_level`` knows, then with
  ``tidy_node``, or, ``"level"`` absent or null, a word under the first other level
  key present, or, no level key holding a value, the level the event implies
  (``implied_level``, once the message left the object); no ``source``; a string
  ``logger`` or none of ``logger_name``/``name``/winston's ``label``: the same steps in
  the same order) and calls ``parse`` for any other shape, on the object untouched.
  It finds the keys it reads in one pass over the
  object (an absent key and a JSON null told apart where the reference's ``in`` tells
  them apart) and deletes each with the object's own key. Its times take the
  normalizer's two fast paths without the call (a canonical string of
  ``good_second``; an epoch float of the last epoch second, read from the
  normalizer) and call it for anything else.

Before the first record it makes after the reference or ``text_line`` ran (and at the
start of a chunk), the joiner's pending record goes out first, as in the reference.

``wrapped`` (a CRI-wrapped line's bytes) and ``wrapped_text`` (a docker json-file line's
inner text, decoded by the unwrapper) finish one JSON object line of a runtime-wrapped
file with its stream and wrapper time by the same rules; their reference is
``FileParser._line``. For text, ``_decoded``'s checks are NUL, ESC and CR in the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import orjson

from shipper.kernels.pure_text_route import Joiner, TextLines, TextRoute
from shipper.record import Record

__all__ = ["JsonLines", "JsonMapper", "Joiner", "TextRoute"]


class Stamps(Protocol):
    """What the compiled kernel reads of ``timestamps.TimestampNormalizer`` to take its
    two fast paths inline: ``good_second`` (and the last epoch second with its
    formatted prefix, read the same way); the twin calls the normalizer."""

    good_second: str


class JsonMapper(Protocol):
    """What the kernel needs of ``json_line.JsonLineParser``: ``parse`` maps an object of
    any shape; the compiled kernel's inline common shape uses the rest (its keys, level
    words, the timestamp normalizer and its two entries, the bare-request step)."""

    @property
    def stamps(self) -> Stamps: ...
    @property
    def message_keys(self) -> Sequence[str]: ...
    @property
    def level_keys(self) -> Sequence[str]: ...
    @property
    def time_keys(self) -> Sequence[str]: ...
    @property
    def text_levels(self) -> Mapping[str, str]: ...
    @property
    def method_initials(self) -> frozenset[str]: ...
    @property
    def impossible(self) -> str: ...

    def parse(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def from_string(self, text: str) -> str | None: ...
    def from_epoch(self, value: float) -> str: ...
    def bare_request(self, message: str, attributes: dict[str, Any]) -> None: ...
    def normalize_level(self, value: Any) -> str | None: ...
    def tidy_node(self, obj: dict[str, Any]) -> None: ...
    def implied_level(self, obj: dict[str, Any], message: str | None) -> str: ...


#: ``(offset, text, stream, wrapper time, truncated, out)``: ``FileParser._text_line``
TextLine = Callable[[int, str, None, None, frozenset[int], list[Record]], None]
#: ``(offset, raw, truncated, out) -> JSON records made (0 or 1)``: the reference,
#: ``FileParser._plain_line``
PlainLine = Callable[[int, bytes, frozenset[int], list[Record]], int]
#: ``(record, wrapper time) -> timestamp``: ``FileParser._fallback_time``
FallbackTime = Callable[[dict[str, Any], str | None], str]

class JsonLines(TextLines):
    """One plain file's lines -> records (see the module docstring); one per
    ``FileParser``."""

    def __init__(self, path: str, joiner: Joiner, mapper: JsonMapper, text_line: TextLine,
                 plain_line: PlainLine, fallback_time: FallbackTime, max_depth: int,
                 route: TextRoute | None = None) -> None:
        self.restart(path)
        self._joiner = joiner
        self._mapper = mapper
        self._parse = mapper.parse
        self._text_line = text_line
        self._plain_line = plain_line
        self._fallback_time = fallback_time
        self._max_depth = max_depth
        self._long = 2 * max_depth  # a shorter line cannot nest more than max_depth
        self._route = route

    def restart(self, path: str) -> None:
        """The lines of ``path`` from now on (at ``__init__``, and for another file: its
        joiner reset by the caller)."""
        self._path = path

    def feed(self, lines: list[tuple[int, bytes]], truncated: frozenset[int],
             out: list[Record]) -> int:
        """Append the records of ``lines`` to ``out``; return how many were JSON lines."""
        joiner, plain_line, text_line, record_of, text_of = (
            self._joiner, self._plain_line, self._text_line, self._record, self._text)
        json_lines = text_lines = 0
        settled = False  # True while the joiner is known to hold nothing
        for offset, raw in lines:
            if 0 in raw or 27 in raw or 13 in raw:
                json_lines += plain_line(offset, raw, truncated, out)
                settled = False
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                json_lines += plain_line(offset, raw, truncated, out)
                settled = False
                continue
            if text[:1] != "{":
                got = text_of(offset, text, None, None, truncated, out)
                if got == 0:
                    text_line(offset, text, None, None, truncated, out)
                elif got == 1:
                    if text_lines == 0:
                        self._count_key("text")
                    text_lines += 1
                settled = False
                continue
            record = record_of(offset, raw, text, truncated, None, None)
            if record is None:
                json_lines += plain_line(offset, raw, truncated, out)
                settled = False
                continue
            if not settled:
                if joiner.pending is not None:
                    out.append(joiner.take())  # type: ignore[arg-type]
                if joiner.dangling is not None:  # a key block cut by a flush ends here
                    joiner.dangling = None
                settled = True
            out.append(record)
            json_lines += 1
        if text_lines:
            self._route.formats["text"] += text_lines  # type: ignore[union-attr]
        return json_lines

    def wrapped(self, offset: int, raw: bytes, stream: str | None, wrapper_time: str | None,
                truncated: frozenset[int]) -> Record | None:
        """The record of one runtime-wrapped (CRI) JSON object line with its stream and
        wrapper time, or ``None`` for ``FileParser._line`` (the reference) to take it."""
        if raw[:1] != b"{" or 0 in raw or 27 in raw or 13 in raw:
            return None
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return None
        return self._record(offset, raw, text, truncated, stream, wrapper_time)

    def wrapped_text(self, offset: int, text: str, stream: str | None,
                     wrapper_time: str | None, truncated: frozenset[int]) -> Record | None:
        """The record of one docker json-file inner line (text the unwrapper decoded) that
        is a JSON object, with its stream and wrapper time, or ``None`` for
        ``FileParser._line`` (the reference) to take it: the same rules as for bytes, on
        the text (``_decoded``'s checks are NUL, ESC and CR in the text)."""
        if text[:1] != "{" or "\x00" in text or "\x1b" in text or "\r" in text:
            return None
        if len(text) > self._long and text.count("{") + text.count("[") > self._max_depth:
            return None
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        if obj.__class__ is not dict:
            return None
        return self._finish(offset, obj, text, truncated, stream, wrapper_time)

    def _record(self, offset: int, raw: bytes, text: str, truncated: frozenset[int],
                stream: str | None, wrapper_time: str | None) -> Record | None:
        """The record of a JSON object line, or ``None`` for the reference to handle (the
        twin maps every object with ``JsonLineParser.parse``; the compiled kernel does the
        common shape inline)."""
        if len(raw) > self._long and raw.count(b"{") + raw.count(b"[") > self._max_depth:
            return None
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if obj.__class__ is not dict:
            return None
        return self._finish(offset, obj, text, truncated, stream, wrapper_time)

    def _finish(self, offset: int, obj: dict[str, Any], text: str, truncated: frozenset[int],
                stream: str | None, wrapper_time: str | None) -> Record:
        """The record of the decoded object ``obj`` of the line ``text``."""
        record = Record(self._parse(obj))
        record.raw = text
        return self._placed(record, offset, truncated, stream, wrapper_time)
