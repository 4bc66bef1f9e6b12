"""``FileParser``: one file's lines -> records (runtime unwrap, decode, parse, multi-line).

See docs/ARCHITECTURE.md ("Parsing"). One instance per file at a time, used from one task;
it keeps the file's runtime wrapper, partial CRI/docker pieces and the pending multi-line
record. Once its file is let go with nothing held it may parse another file
(:meth:`FileParser.restart`, :mod:`shipper.parse.spares`).
The line-at-a-time path and the making of a record are in :mod:`shipper.parse.line_path`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shipper.kernels import JsonLines
from shipper.kernels.pure_text_route import TextRoute
from shipper.parse.counts import ParseCounts
from shipper.parse.detect import LineParser
from shipper.parse.line_path import LinePath
from shipper.parse.multiline import BLOCK_INITIALS, NONE, MultilineJoiner, StartJoiner
from shipper.parse.runtime import RuntimeFormat, RuntimeUnwrapper, detect_runtime
from shipper.parse.settings import ParseSettings
from shipper.parse.skipping import taken_next
from shipper.parse.start_pattern import start_pattern_for
from shipper.parse.started import StartedLines
from shipper.parse.text import SINGLE_LINE_FORMATS
from shipper.parse.timestamps import TimestampNormalizer
from shipper.record import Record


class FileParser(LinePath):
    """Turns ``(offset, bytes)`` lines of one file into records (line by line where the
    kernel does not: :class:`~shipper.parse.line_path.LinePath`)."""

    def __init__(self, path: str, settings: ParseSettings, counts: ParseCounts,
                 clock: Callable[[], float] = time.time,
                 runtime_format: RuntimeFormat = "auto",
                 stamps: TimestampNormalizer | None = None) -> None:
        """``stamps``: a normalizer shared with other files (it holds caches only, no
        state of a file), else one of its own."""
        self._counts = counts
        self._clock = clock
        self._multiline = settings.multiline
        self._runtime_format = runtime_format  # as configured (``_runtime``: as detected)
        self._begin(path)
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
        self._kernel = JsonLines(path, self._joiner, self._lines.json_parser,
                                 self._text_line, self._plain_line, self._fallback_time,
                                 settings.max_json_depth, self.text_route())

    def _begin(self, path: str) -> None:
        """What the parser knows of its file, as at its first line: the path, the runtime
        as configured (``auto`` detected from the first line, ``_detect``, which then
        makes the unwrapper), no line fed yet."""
        self._path = path
        self._runtime: RuntimeFormat = self._runtime_format
        self._unwrapper: RuntimeUnwrapper | None = None
        if self._runtime in ("cri", "docker"):
            self._unwrapper = RuntimeUnwrapper(self._runtime, self._multiline.max_bytes,
                                               self._counts.errors)
        self._last_feed = self._clock()
        self._read_time: str | None = None

    @property
    def idle(self) -> bool:
        """Nothing of its file held, and no start pattern: :meth:`restart` may take it."""
        return self._started is None and not self.pending

    def restart(self, path: str, runtime_format: RuntimeFormat = "auto") -> bool:
        """Parse another file's lines from now on, as a new parser for ``path`` would
        (the file let go, its parser ``idle``); ``False``, nothing changed, when it cannot:
        something is held, or either file has a start pattern or the runtime formats
        differ. What a parser keeps across files is what holds for any file (the level
        words the kernel met); what it knew of its file (runtime, pending lines, rich's
        last time) goes."""
        if (not self.idle or runtime_format != self._runtime_format
                or start_pattern_for(path, self._multiline.start) is not None):
            return False
        self._begin(path)
        self._joiner.restart()
        self._lines.forget()
        self._kernel.restart(path)
        return True

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
