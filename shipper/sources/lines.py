"""Split raw file bytes into ``(offset, line)`` pairs, keeping the partial last line.

Pure and synchronous (the tailer calls it from its reader thread). A line longer than
``max_line_bytes`` is cut at that size, the rest up to its newline is discarded, and its
offset lands in ``truncated``. A run of NUL bytes at the start of a line (what a writer
leaves behind after a truncation) is skipped, so it never becomes a record. The split of a
chunk's complete lines is the ``split_lines`` kernel (compiled or pure, ``shipper.kernels``).
"""

from __future__ import annotations

from shipper.kernels import split_lines

NUL = b"\x00"
NEWLINE = b"\n"

Lines = list[tuple[int, bytes]]


class LineSplitter:
    """Incremental line splitter for one file; ``offset`` is the next byte to feed."""

    __slots__ = ("_discarding", "_partial", "_partial_offset", "max_line_bytes", "offset")

    def __init__(self, max_line_bytes: int, offset: int = 0) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self.max_line_bytes = max_line_bytes
        self.reset(offset)

    def reset(self, offset: int = 0) -> None:
        """Forget any partial line and continue at ``offset`` (resume, truncation)."""
        self.offset = offset
        self._partial = bytearray()
        self._partial_offset = offset
        self._discarding = False

    @property
    def consumed(self) -> int:
        """Offset after the last complete (or discarded) line: safe to resume from."""
        return self._partial_offset if self._partial else self.offset

    @property
    def pending_bytes(self) -> int:
        return len(self._partial)

    def feed(self, data: bytes) -> tuple[Lines, set[int]]:
        """Consume ``data`` (the bytes at ``offset``); return complete lines and cut ones."""
        lines: Lines = []
        truncated: set[int] = set()
        base = self.offset
        self.offset += len(data)
        start = self._finish_pending(data, base, lines, truncated)
        last_nl = data.rfind(NEWLINE)
        if last_nl >= start:
            self._split_body(data, start, last_nl, base, lines, truncated)
            start = last_nl + 1
        if start < len(data):
            self._add_partial(data, start, base, lines, truncated)
        return lines, truncated

    def flush(self) -> tuple[Lines, set[int]]:
        """Return the partial last line as a line (final read of a file), if any."""
        lines: Lines = []
        truncated: set[int] = set()
        if self._partial:
            self._emit(bytes(self._partial), self._partial_offset, lines, truncated)
            self._partial = bytearray()
        self._partial_offset = self.offset
        self._discarding = False
        return lines, truncated

    # -- internals -----------------------------------------------------------------------

    def _finish_pending(self, data: bytes, base: int, lines: Lines, truncated: set[int]) -> int:
        """Handle a discarded tail or a partial line from the previous feed; return start."""
        if not self._discarding and not self._partial:
            return 0
        nl = data.find(NEWLINE)
        if nl < 0:
            if not self._discarding:
                self._add_partial(data, 0, base, lines, truncated)
            return len(data)
        if self._discarding:
            self._discarding = False
        else:
            self._partial += data[:nl]
            self._emit(bytes(self._partial), self._partial_offset, lines, truncated)
            self._partial = bytearray()
        self._partial_offset = base + nl + 1
        return nl + 1

    def _split_body(self, data: bytes, start: int, end: int, base: int,
                    lines: Lines, truncated: set[int]) -> None:
        """Split ``data[start:end]`` (which ends right before a newline) into lines."""
        split_lines(data, start, end, base, self.max_line_bytes, lines, truncated)
        self._partial_offset = base + end + 1

    def _add_partial(self, data: bytes, start: int, base: int,
                     lines: Lines, truncated: set[int]) -> None:
        """Keep ``data[start:]`` (no newline in it) as the partial line, bounded in size."""
        if not self._partial:
            skip = len(data) - start - len(data[start:].lstrip(NUL))
            start += skip
            self._partial_offset = base + start
            if start >= len(data):
                return
        self._partial += data[start:]
        if len(self._partial) > self.max_line_bytes:
            truncated.add(self._partial_offset)
            lines.append((self._partial_offset, bytes(self._partial[: self.max_line_bytes])))
            self._partial = bytearray()
            self._discarding = True
            self._partial_offset = self.offset

    def _emit(self, line: bytes, offset: int, lines: Lines, truncated: set[int]) -> None:
        if line[:1] == NUL:
            stripped = line.lstrip(NUL)
            offset += len(line) - len(stripped)
            line = stripped
            if not line:
                return
        if len(line) > self.max_line_bytes:
            truncated.add(offset)
            line = line[: self.max_line_bytes]
        lines.append((offset, line))
