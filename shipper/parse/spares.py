"""Parsers of files let go, handed on to new files: :class:`SpareParsers`.

A :class:`~shipper.parse.file_parser.FileParser` is a dozen objects (its kernel, the
line parsers and their layout families, the multi-line joiner): ~10 µs to make, and its
first lines cost more than the next ones. With 1,000 small files a parser per file was
a fifth of what each file cost over its lines. An idle parser of a file let go (nothing
held, no start pattern) is kept, up to a few, and restarted for the next new file
(:meth:`FileParser.restart`), which gives the records a new parser would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shipper.parse.file_parser import FileParser
from shipper.parse.runtime import RuntimeFormat, runtime_format_for

#: idle parsers kept for new files: files are opened a few at a time, and one spare
#: serves any number of files opened and let go one after another
KEEP = 8


class SpareParsers:
    """``parser(path)``: a spare restarted for ``path``, else a new one from ``make``
    (``formats``: ``parse.formats``, the runtime format of each path); ``spare(parser)``:
    keep the parser of a file let go, if it is idle."""

    def __init__(self, make: Callable[[str, RuntimeFormat], FileParser],
                 formats: Mapping[str, RuntimeFormat], keep: int = KEEP) -> None:
        self._make = make
        self._formats = formats
        self._keep = keep
        self._spares: list[FileParser] = []

    def __len__(self) -> int:
        return len(self._spares)

    def parser(self, path: str) -> FileParser:
        """A spare that takes ``path`` (one it refuses, for a start pattern or another
        runtime format, stays for other files), else a new parser."""
        runtime, spares = runtime_format_for(path, self._formats), self._spares
        if spares and spares[-1].restart(path, runtime):
            return spares.pop()
        return self._make(path, runtime)

    def spare(self, parser: FileParser) -> None:
        """Keep ``parser`` for a new file (its own file let go: nothing reads it again)."""
        if len(self._spares) < self._keep and parser.idle:
            self._spares.append(parser)
