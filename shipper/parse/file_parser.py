"""``FileParser``: one file's lines -> records (runtime unwrap, decode, parse, multi-line).

See docs/ARCHITECTURE.md ("Parsing"). One instance per file, used from one task; it keeps
the file's runtime wrapper, partial CRI/docker pieces and the pending multi-line record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shipper.kernels import JsonLines
from shipper.kernels.pure_text_route import TextRoute
from shipper.parse import pem
from shipper.parse.counts import ParseCounts
from shipper.parse.decode import clean_line
from shipper.parse.detect import LineParser
from shipper.parse.families.consoles import last_state
from shipper.parse.multiline import (
    BLOCK_INITIALS,
    NONE,
    MultilineJoiner,
    StartJoiner,
    start_state,
)
from shipper.parse.runtime import RuntimeFormat, RuntimeUnwrapper, detect_runtime
from shipper.parse.settings import ParseSettings
from shipper.parse.skipping import taken_next
from shipper.parse.start_pattern import start_pattern_for
from shipper.parse.started import StartedLines
from shipper.parse.text import SINGLE_LINE_FORMATS
from shipper.parse.timestamps import TimestampNormalizer, format_epoch
from shipper.record import Record

_dict_new = dict.__new__
_dict_update = dict.update


class FileParser:
    """Turns ``(offset, bytes)`` lines of one file into records."""

    def __init__(self, path: str, settings: ParseSettings, counts: ParseCounts,
                 clock: Callable[[], float] = time.time,
                 runtime_format: RuntimeFormat = "auto",
                 stamps: TimestampNormalizer | None = None) -> None:
        """``stamps``: a normalizer shared with other files (it holds caches only, no
        state of a file), else one of its own."""
        self._path = path
        self._counts = counts
        self._clock = clock
        self._multiline = settings.multiline
        self._runtime: RuntimeFormat = runtime_format
        self._unwrapper: RuntimeUnwrapper | None = None
        if runtime_format in ("cri", "docker"):
            self._unwrapper = RuntimeUnwrapper(runtime_format, settings.multiline.max_bytes,
                                               counts.errors)
        if stamps is None:
            stamps = TimestampNormalizer(settings.default_timezone, clock)
        self._lines = LineParser(stamps,
                                 counts.errors, settings.max_json_depth)
        self._stamps = self._lines.stamps
        self._json = self._lines.json
        self._text = self._lines.text
        self._joiner = MultilineJoiner(settings.multiline.max_lines,
                                       settings.multiline.max_bytes, counts.errors)
        self._on_line = self._wrapped_line
        self._started: StartedLines | None = None
        start = start_pattern_for(path, settings.multiline.start)
        if start is not None:  # the user's start pattern replaces the continuation rules
            self._joiner = joiner = StartJoiner(
                start.matches, settings.multiline.max_lines, settings.multiline.max_bytes,
                counts.errors)
            self._started = StartedLines(joiner, counts, self._decoded, self._parsed,
                                         self._complete)
            self._on_line = self._started.line
        #: the kernel takes a wrapped file's inner lines (else ``_on_line``: the reference)
        self._wrapped_batch = self._started is None
        self._last_feed = clock()
        self._read_time: str | None = None
        self._kernel = JsonLines(path, self._joiner, self._lines.json_parser,
                                 self._text_line, self._plain_line, self._fallback_time,
                                 settings.max_json_depth, self.text_route())

    def text_route(self) -> TextRoute:
        """What the ``JsonLines`` kernel needs to finish common text lines itself."""
        return TextRoute(self._text, self._record, self._wrapped_line, self._counts.formats,
                         SINGLE_LINE_FORMATS, BLOCK_INITIALS)

    @property
    def pending(self) -> bool:
        """True while a multi-line record or a partial runtime line is held."""
        return self._joiner.pending is not None or bool(
            self._unwrapper is not None and self._unwrapper.pending)

    @property
    def pending_offset(self) -> int | None:
        """Offset of the first line of anything held (the checkpoint must stay at or
        before it so a restart re-reads what was not shipped); ``None`` when idle."""
        offsets = []
        if self._joiner.pending is not None:
            offsets.append(self._joiner.pending["file"]["offset"])
        if self._unwrapper is not None and self._unwrapper.pending:
            offsets.append(self._unwrapper.pending_offset)
        return min(offsets) if offsets else None

    def feed(self, lines: list[tuple[int, bytes]],
             truncated: frozenset[int] = frozenset()) -> list[Record]:
        """Completed records for these lines, in order (a record that may continue on
        the next line is held until that line arrives or ``flush`` lets it go)."""
        if not lines:
            return []
        out: list[Record] = []
        self._last_feed = self._clock()
        self._read_time = None
        if self._runtime == "auto":
            self._detect(lines)
        unwrapper = self._unwrapper
        if unwrapper is None and self._started is None:
            # the ``JsonLines`` kernel finishes the JSON object lines (most lines of most
            # files) and the common text lines itself, hands the others to ``_text_line``
            # and anything unusual to ``_plain_line``; ``json`` is counted once a chunk
            json_lines = self._kernel.feed(lines, truncated, out)
            if json_lines:
                self._counts.formats["json"] += json_lines
        elif unwrapper is None:
            for offset, raw in lines:
                self._on_line(offset, raw, None, None, truncated, out)
        elif self._wrapped_batch:  # the kernel takes each inner line as _wrapped_line does
            self._kernel.wrapped_lines(unwrapper.unwrap(lines), truncated, out)
        else:  # unwrap counts the lines that are not wrapped (runtime_mismatch)
            for offset, data, stream, wrapper_time in unwrapper.unwrap(lines):
                self._on_line(offset, data, stream, wrapper_time, truncated, out)
        return out

    def unwrapped(self, lines: list[tuple[int, bytes]]) -> list[Any] | None:
        """The lines :meth:`feed_skipping` takes for ``lines``: a plain file's as they
        are, a wrapped file's inner lines (unwrapped now: they must be fed), ``None`` for
        no lines or a file with a start pattern (``feed`` takes those). The runtime is
        detected from ``lines`` when not known yet, as ``feed`` would first."""
        if self._runtime == "auto" and lines:
            self._detect(lines)
        if self._started is not None or not lines:
            return None
        self._last_feed = self._clock()
        self._read_time = None
        return lines if self._unwrapper is None else self._unwrapper.unwrap(lines)

    def feed_skipping(self, lines: list[Any], truncated: frozenset[int],
                      skips: list[tuple[int, str | None]]) -> tuple[list[Record], list[int]]:
        """``feed`` of the lines :meth:`unwrapped` gave, but the lines at ``skips``
        (single-line ``access`` records proven noise from their data, with their time or
        ``None``: :mod:`shipper.filters.raw_noise`) are not parsed where that leaves the
        parser as parsing them would. Returns the records and, per line of ``skips`` (in
        order), how many records come before it, or -1 when it was parsed."""
        out: list[Record] = []
        marks: list[int] = []
        feed = self._kernel.feed if self._unwrapper is None else self._inner_lines
        joiner, start, json_lines = self._joiner, 0, 0
        from_string, formats = self._stamps.from_string, self._counts.formats
        for i, when in skips:
            if i > start:
                json_lines += feed(lines[start:i], truncated, out)
                start = i
            held = joiner.pending is not None
            if joiner.dangling is not None or held and not (
                    joiner._state == NONE and taken_next(lines, i)) or not (
                    from_string(when) if when is not None else self._timeless(lines[i])):
                marks.append(-1)
                continue
            formats["access"] += 1
            marks.append(len(out) + held)
            start = i + 1
        if start < len(lines):
            json_lines += feed(lines[start:], truncated, out)
        if json_lines:
            self._counts.formats["json"] += json_lines
        return out, marks

    def _inner_lines(self, inners: list[Any], truncated: frozenset[int],
                     out: list[Record]) -> int:
        """A wrapped file's inner lines into ``out`` (the kernel counts their formats)."""
        self._kernel.wrapped_lines(inners, truncated, out)
        return 0

    def _timeless(self, line: tuple[Any, ...]) -> bool:
        """Whether a skipped line without a time of its own takes one as parsing it would:
        the wrapper's (of an inner line; not an impossible one, which parsing counts as
        ``bad_timestamp``), else the read time (taken now)."""
        stamp = self._stamps.from_string(line[3]) if len(line) == 4 and line[3] else None
        if stamp is None:
            _ = self._read_time or self._now()
        return stamp is None or bool(stamp)

    def flush(self, now: float | None = None, force: bool = False) -> list[Record]:
        """The held record (and partial runtime lines) once the file has been quiet for
        ``multiline.flush_after`` seconds, or at once with ``force``."""
        if not self.pending:
            return []
        if not force:
            now = self._clock() if now is None else now
            if now - self._last_feed < self._multiline.flush_after:
                return []
        out: list[Record] = []
        if self._unwrapper is not None:
            for inner in self._unwrapper.drain():
                self._on_line(inner.offset, inner.data, inner.stream, inner.time,
                              frozenset(), out)
        record = self._joiner.take()
        if record is not None:
            out.append(record)
        return out

    def _detect(self, lines: list[tuple[int, bytes]]) -> None:
        for _offset, raw in lines:
            if raw.strip():
                kind = detect_runtime(raw)
                self._runtime = kind
                if kind != "plain":
                    self._unwrapper = RuntimeUnwrapper(
                        kind, self._multiline.max_bytes, self._counts.errors)
                return

    def _plain_line(self, offset: int, raw: bytes, truncated: frozenset[int],
                    out: list[Record]) -> int:
        """One line of a plain file, the reference the kernel is held to (``_line``
        with the JSON line's format counted by the caller): 1 for a JSON record, else 0."""
        text = self._decoded(raw)
        fields = self._json(text) if text[:1] == "{" else None
        if fields is None:
            self._text_line(offset, text, None, None, truncated, out)
            return 0
        joiner = self._joiner
        if joiner.pending is not None:
            out.append(joiner.take())  # type: ignore[arg-type]
        if joiner.dangling is not None:  # a key block cut by a flush ends here
            joiner.dangling = None
        out.append(self._complete(fields, offset, text, None, None, truncated))
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
        joiner = self._joiner
        if joiner.pending is not None:
            out.append(joiner.take())  # type: ignore[arg-type]
        if joiner.dangling is not None:  # a key block cut by a flush ends here
            joiner.dangling = None
        out.append(record)

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
            done = self._complete(record, offset, text, stream, wrapper_time, truncated)
            if joiner.pending is not None:
                out.append(joiner.take())  # type: ignore[arg-type]
            if joiner.dangling is not None:  # a key block cut by a flush ends here
                joiner.dangling = None
            out.append(done)
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
        done = self._complete(record, offset, text, stream, wrapper_time, truncated)
        if joiner.pending is not None:
            out.append(joiner.take())  # type: ignore[arg-type]
        if joiner.dangling is not None:  # a key block cut by a flush ends here
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
