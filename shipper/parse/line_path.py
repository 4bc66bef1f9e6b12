"""``LinePath``: the line-at-a-time path of a file's parser, and the record made of a line.

:class:`~shipper.parse.file_parser.FileParser` is a ``LinePath``: the ``JsonLines``
kernel finishes most lines itself and hands the others to the methods here (its
reference: what it does must equal what they do), as do wrapped files with a start
pattern and the lines a flush drains. A line is decoded (:meth:`LinePath._decoded`),
parsed as a JSON object or text, continues or opens the pending multi-line record
(the file's joiner) or is finished (:meth:`LinePath._complete`: the fields made a
:class:`~shipper.record.Record` of this file, its time taken from the wrapper or the
read time when it has none).

A base class, not a part held by the parser: the kernel calls these methods bound to
the parser, and the text path reaches the parser's state with no hop more a line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipper.kernels import JsonLines
from shipper.parse import pem
from shipper.parse.counts import ParseCounts
from shipper.parse.decode import clean_line
from shipper.parse.families.consoles import last_state
from shipper.parse.multiline import BLOCK_INITIALS, NONE, MultilineJoiner, start_state
from shipper.parse.text import SINGLE_LINE_FORMATS
from shipper.parse.timestamps import TimestampNormalizer, format_epoch
from shipper.record import Record

_dict_new = dict.__new__
_dict_update = dict.update


class LinePath:
    """One line of a file at a time into records (see the module docstring); the state
    it reads is the parser's, set by :class:`~shipper.parse.file_parser.FileParser`."""

    _path: str
    _counts: ParseCounts
    _clock: Callable[[], float]
    _read_time: str | None
    _stamps: TimestampNormalizer
    _json: Callable[[str], dict[str, Any] | None]
    _text: Callable[[str], tuple[str, dict[str, Any]]]
    _joiner: MultilineJoiner
    _kernel: JsonLines

    def _plain_line(self, offset: int, raw: bytes, truncated: frozenset[int],
                    out: list[Record]) -> int:
        """One line of a plain file, the reference the kernel is held to (``_line``
        with the JSON line's format counted by the caller): 1 for a JSON record, else 0."""
        text = self._decoded(raw)
        fields = self._json(text) if text[:1] == "{" else None
        if fields is None:
            self._text_line(offset, text, None, None, truncated, out)
            return 0
        self._settle(self._complete(fields, offset, text, None, None, truncated), out)
        return 1

    def _wrapped_line(self, offset: int, data: bytes | str, stream: str | None,
                      wrapper_time: str | None, truncated: frozenset[int],
                      out: list[Record]) -> None:
        """A line out of the runtime unwrapper (CRI bytes, docker text): a JSON object
        line the kernel finishes (its stream and wrapper time with it), else ``_line``,
        the reference it is held to."""
        if data.__class__ is bytes:
            record = self._kernel.wrapped(offset, data, stream, wrapper_time, truncated) \
                if data[:1] == b"{" else None
        elif data.__class__ is str and data[:1] == "{":  # docker's text
            record = self._kernel.wrapped_text(offset, data, stream, wrapper_time, truncated)
        else:
            record = None
        if record is None:
            self._line(offset, data, stream, wrapper_time, truncated, out)
            return
        self._counts.formats["json"] += 1
        self._settle(record, out)

    def _line(self, offset: int, data: bytes | str, stream: str | None,
              wrapper_time: str | None, truncated: frozenset[int], out: list[Record]) -> None:
        text = self._decoded(data)
        # JSON objects first: a line opening with "{" never continues a record (see
        # multiline.continues) and a JSON record is never held (unless it opens a key block)
        record = self._json(text) if text[:1] == "{" else None
        if record is None:
            self._text_line(offset, text, stream, wrapper_time, truncated, out)
        else:
            self._record(record, "json", offset, text, stream, wrapper_time, truncated, out)

    def _text_line(self, offset: int, text: str, stream: str | None,
                   wrapper_time: str | None, truncated: frozenset[int],
                   out: list[Record]) -> None:
        """A line that is not a JSON object: it continues the pending record, or it is
        parsed as text."""
        joiner = self._joiner
        accepted = joiner.pending is not None and text[:1] != "{" and joiner.accepts(text)
        if (accepted or joiner.dangling is not None) and joiner.takes(
                text, offset, accepted, self._counts.formats, out):
            return
        if not text or text.isspace():
            self._counts.errors["empty_line"] += 1
            return
        fmt, record = self._text(text)
        if fmt in SINGLE_LINE_FORMATS and "-----BEGIN" not in text:  # ``_record``, inlined
            self._counts.formats[fmt] += 1  # for the records complete on their line
            self._settle(self._complete(record, offset, text, stream, wrapper_time, truncated),
                         out)
            return
        self._record(record, fmt, offset, text, stream, wrapper_time, truncated, out)

    def _record(self, record: dict[str, Any], fmt: str, offset: int, text: str,
                stream: str | None, wrapper_time: str | None, truncated: frozenset[int],
                out: list[Record]) -> None:
        """A parsed line: held (it may go on over the next lines) or finished."""
        joiner = self._joiner
        self._counts.formats[fmt] += 1
        # a line opening a private-key block is held whatever its format (pem.py); a
        # valid JSON object escapes its newlines, so its key lines cannot follow it raw
        opened = pem.header(text) if fmt != "json" and "-----BEGIN" in text else None
        if fmt not in SINGLE_LINE_FORMATS or opened is not None:  # may go on: held
            level, state = start_state(text) if text[0] in BLOCK_INITIALS else (None, NONE)
            if level is not None:  # a traceback/panic block keeps its first line whole
                record.update(level=level, message=text, attributes={})
            elif opened is not None and "-----BEGIN" not in record["message"]:
                record.update(message=text, attributes={})  # so does a key block
            previous = joiner.start(
                self._complete(record, offset, text, stream, wrapper_time, truncated),
                state, opened)
            if previous is not None:
                out.append(previous)
            return
        self._settle(self._complete(record, offset, text, stream, wrapper_time, truncated), out)

    def _settle(self, done: Record, out: list[Record]) -> None:
        """A record complete on its line goes out, after the pending one (if any); a key
        block cut by a flush ends here."""
        joiner = self._joiner
        if joiner.pending is not None:
            out.append(joiner.take())  # type: ignore[arg-type]
        if joiner.dangling is not None:
            joiner.dangling = None
        out.append(done)

    def _parsed(self, text: str) -> tuple[str, dict[str, Any]]:
        """``(format, record)`` of a line (the parsing of ``_line``, as a call)."""
        record = self._json(text) if text[:1] == "{" else None
        return ("json", record) if record is not None else self._text(text)

    def _decoded(self, data: bytes | str) -> str:
        """The text of a line. Fast path (nearly every line): bytes without NUL or ESC
        decode as they are, with CR to their last state (``0 in data`` is a memchr;
        ``b"\x00" in data`` costs ~0.8 us a line); docker's text without NUL, ESC or CR
        is the text; anything else goes through ``_clean``."""
        if data.__class__ is bytes:
            if 0 not in data and 27 not in data:
                try:
                    text = data.decode()
                except UnicodeDecodeError:
                    return self._clean(data)
                # CRLF, a progress bar's updates: ``_clean``'s last step, without its calls
                return text if 13 not in data else last_state(text)
        elif "\x00" not in data and "\x1b" not in data and "\r" not in data:
            return data  # type: ignore[return-value]  # docker's text, nothing to clean
        return self._clean(data)

    def _complete(self, fields: dict[str, Any], offset: int, text: str, stream: str | None,
                  wrapper_time: str | None, truncated: frozenset[int]) -> Record:
        """The parsed fields made a :class:`Record` of this file, its line beside it (made
        as the ``JsonLines`` kernel makes it: ``Record.__init__``'s frame costs ~1k
        instructions a line; both slots are set here)."""
        record: Record = _dict_new(Record)
        _dict_update(record, fields)
        record.raw = text
        record.before = None
        if not record["timestamp"]:  # none, or IMPOSSIBLE (""); the read time for none
            record["timestamp"] = self._read_time or self._now() if record["timestamp"] is None \
                and wrapper_time is None else self._fallback_time(record, wrapper_time)
        if stream is not None:
            record["stream"] = stream
        record["file"] = {"path": self._path, "offset": offset}
        if truncated and offset in truncated:
            record["attributes"]["truncated"] = True
        return record

    def _fallback_time(self, record: dict[str, Any], wrapper_time: str | None) -> str:
        """The CRI/docker wrapper's time, else the read time, for a line without a
        possible time of its own; an impossible one (already kept in the attributes by
        the parser) is counted once as ``bad_timestamp``."""
        bad = record["timestamp"] is not None
        stamp = self._stamps.from_string(wrapper_time) if wrapper_time else None
        if not stamp:
            if stamp is not None:  # the wrapper's own time is impossible: keep it too
                bad = True
                record["attributes"].setdefault("invalid_timestamp", wrapper_time)
            stamp = self._read_time or self._now()  # ``_now``'s cached value, no call
        if bad:
            self._counts.errors["bad_timestamp"] += 1
        return stamp

    def _now(self) -> str:
        if self._read_time is None:
            self._read_time = format_epoch(self._clock())
        return self._read_time

    def _clean(self, data: bytes | str) -> str:
        """The slow path of ``_decoded`` (:func:`~shipper.parse.decode.clean_line`)."""
        return clean_line(data, self._counts.errors)
