"""One file's state in the processor (:class:`FileStream`) and what the processor hands on
(:class:`Batch`).

A :class:`FileStream` lives from a file's first chunk until the tailer lets the file go:
its parser (and so the multi-line record being assembled), its path, the end offset of its
last chunk and the acknowledgements of what was delivered from it (:mod:`shipper.acks`).
:class:`FileStreams` holds them by file key. Closing a file frees its stream, unless
deliveries from it are still unacknowledged: then the stream waits among the closed ones
until they are (:meth:`FileStreams.prune`), so a file that comes back under the same key
goes on with the same acknowledgements, in order. Nothing is kept per file once a file is
closed and acknowledged, however many rotated generations go by.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass

from shipper.acks import FileAcks
from shipper.parse import FileParser
from shipper.record import Record
from shipper.sources.files import Chunk


class FileStream:
    """One open file: parser, path, end offset of its last chunk, acknowledgements. Once
    the file is closed its parser may be parsing another file (the processor hands idle
    parsers on): of a closed stream only the key, path, end and acks are read, and a
    stream whose file comes back gets a parser again (:meth:`FileStreams.get`)."""

    __slots__ = ("acks", "end", "key", "parser", "path")

    def __init__(self, key: str, path: str, parser: FileParser,
                 acks: FileAcks | None = None) -> None:
        self.key = key
        self.path = path
        self.end = 0
        self.parser = parser
        self.acks = acks if acks is not None else FileAcks()

    def read(self, chunk: Chunk, *, final: bool = False) -> list[Record]:
        """The records the chunk completes, in order (with ``final``, the held one too)."""
        self.path, self.end = chunk.path, chunk.end_offset
        records = self.parser.feed(chunk.lines, chunk.truncated)
        if final:
            records.extend(self.parser.flush(force=True))
        return records

    @property
    def safe_offset(self) -> int:
        """Where the file may be read again from once what was read is delivered: the
        start of a record still held, else the end of the last chunk."""
        held = self.parser.pending_offset
        return self.end if held is None else held


@dataclass(slots=True)
class Batch:
    """Records to deliver, in order, and the offset their file is safe at once they are.
    ``file_key`` is ``None`` (and ``stream`` too) for records of no file in particular
    (dedupe summaries drained from the stages); their delivery moves no checkpoint."""

    records: list[Record]
    file_key: str | None
    safe_offset: int
    stream: FileStream | None = None


class FileStreams:
    """The streams of the open files by key, and the closed ones still unacknowledged."""

    def __init__(self, new_parser: Callable[[str], FileParser]) -> None:
        self._new_parser = new_parser  # path -> the parser of a new file
        self._open: dict[str, FileStream] = {}
        self._closed: dict[str, FileStream] = {}
        #: open streams given out since they were last seen holding nothing: only they
        #: can hold a pending record (a look at 1,000 quiet files costs nothing)
        self._fed: dict[str, FileStream] = {}

    def __len__(self) -> int:
        """Streams kept: open, or closed with deliveries not yet acknowledged."""
        return len(self._open) + len(self._closed)

    def get(self, key: str, path: str) -> FileStream:
        """The file's stream; for a file not open, a new one (with a parser of its own)."""
        stream = self._open.get(key)
        if stream is not None:
            self._fed[key] = stream
            return stream
        stream = self._closed.pop(key, None)
        if stream is None:
            stream = FileStream(key, path, self._new_parser(path))
        else:  # back before its deliveries were acknowledged: the same acks, a parser again
            stream.parser = self._new_parser(path)
        self._open[key] = self._fed[key] = stream
        return stream

    def held(self, busy: Container[str] = ()) -> Iterator[FileStream]:
        """The open streams holding a pending record, but those in ``busy`` (in the order
        they were first fed; the event loop's thread only, as :meth:`get`)."""
        for key, stream in list(self._fed.items()):
            if self._open.get(key) is not stream or not stream.parser.pending:
                del self._fed[key]  # let go, or holds nothing until it is fed again
            elif key not in busy:
                yield stream

    def close(self, key: str) -> FileStream | None:
        """Let the file go: its stream (``None`` if it had none), kept only while
        deliveries from it await acknowledgement."""
        stream = self._open.pop(key, None)
        if stream is not None and stream.acks.tokens:
            self._closed[key] = stream
        return stream

    def prune(self) -> None:
        """Forget the closed streams whose deliveries are all acknowledged."""
        if self._closed:
            self._closed = {k: s for k, s in self._closed.items() if s.acks.tokens}
