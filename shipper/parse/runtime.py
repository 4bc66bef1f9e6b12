"""Container-runtime wrappers: CRI (containerd/CRI-O) and docker json-file.

``RuntimeUnwrapper.push(offset, raw)`` takes one physical line and returns the inner line
once it is complete (partial ``P`` pieces / docker pieces without a trailing ``\\n`` are
joined, per stream, with no separator, capped at ``max_bytes``), or ``None`` while a
piece is held. ``RuntimeUnwrapper.unwrap(lines)`` does the same for a chunk's lines in one
call (what ``FileParser.feed`` uses): whole CRI lines with nothing held go through the
kernel ``cri_whole_lines``, every other line through ``push``. ``detect_runtime`` picks
the wrapper from a file's first line.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Mapping
from typing import Literal, NamedTuple

import orjson

from shipper.kernels import cri_whole_lines

#: the runtimes that wrap each line (``RuntimeUnwrapper``)
WrapperFormat = Literal["cri", "docker"]
#: what ``detect_runtime`` decides from a file's first line
DetectedFormat = Literal[WrapperFormat, "plain"]
#: a file's runtime format as configured (``parse.formats``): ``auto`` detects it
RuntimeFormat = Literal["auto", DetectedFormat]

_CRI = re.compile(
    rb"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) "
    rb"(stdout|stderr) ([PF])(?: |$)"
)
_STREAMS = {b"stdout": "stdout", b"stderr": "stderr"}  # no decode per line


class Inner(NamedTuple):
    """A complete inner line: offset of its first piece, bytes, stream, wrapper time."""

    offset: int
    data: bytes | str
    stream: str | None
    time: str | None


#: an inner line as ``unwrap`` gives it: ``Inner``'s fields, a plain tuple
InnerLine = tuple[int, bytes | str, str | None, str | None]

_new_tuple = tuple.__new__


def _inner(offset: int, data: bytes | str, stream: str | None, time: str | None) -> Inner:
    # a NamedTuple's generated ``__new__`` costs ~0.9 us here; the tuple constructor ~0.3
    return _new_tuple(Inner, (offset, data, stream, time))


class _Partial:
    __slots__ = ("offset", "pieces", "size", "time")

    def __init__(self, offset: int, time: str | None) -> None:
        self.offset = offset
        self.pieces: list[bytes | str] = []
        self.size = 0
        self.time = time


def detect_runtime(first_line: bytes) -> DetectedFormat:
    """Which wrapper a file uses, judged from its first non-empty line."""
    if first_line.startswith(b'{"log":'):
        try:
            obj = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return "plain"
        if isinstance(obj, dict) and isinstance(obj.get("log"), str):
            return "docker"
        return "plain"
    if first_line[:1].isdigit() and _CRI.match(first_line):
        return "cri"
    return "plain"


class RuntimeUnwrapper:
    """Unwraps one file's CRI or docker lines; holds partial pieces per stream."""

    def __init__(self, kind: WrapperFormat, max_bytes: int,
                 errors: Counter[str]) -> None:
        self.kind = kind
        self._max_bytes = max_bytes
        self._errors = errors
        self._partials: dict[str | None, _Partial] = {}

    @property
    def pending(self) -> bool:
        return bool(self._partials)

    @property
    def pending_offset(self) -> int | None:
        """Offset of the earliest held piece (``None`` when nothing is held)."""
        return min((held.offset for held in self._partials.values()), default=None)

    def unwrap(self, lines: list[tuple[int, bytes]]) -> list[InnerLine]:
        """The inner lines of ``lines``, in order: what ``push`` gives line after line,
        with a line that is not wrapped passed on as ``(offset, raw, None, None)`` and
        counted as ``runtime_mismatch``. While nothing is held, a run of whole CRI lines
        is one ``cri_whole_lines`` call (no regex, method call or ``Inner`` per line) and
        a whole docker line is decoded once, here. Those whole lines read with nothing
        held (and the lines not wrapped) are plain tuples, what ``push`` gives an
        ``Inner``: raw noise (``probe_lines``) looks only at the former."""
        out: list[InnerLine] = []
        if self.kind == "docker":
            for offset, raw in lines:
                if self._partials or not self._docker_whole(offset, raw, out):
                    self._pushed(offset, raw, out)
            return out
        index, count = 0, len(lines)
        while index < count:
            if not self._partials:
                index = cri_whole_lines(lines, index, out)
                if index == count:
                    break
            self._pushed(*lines[index], out)
            index += 1
        return out

    def _pushed(self, offset: int, raw: bytes, out: list[InnerLine]) -> None:
        """``push`` one line into ``out``; a line that is not wrapped goes as it is."""
        inners = self.push(offset, raw)
        if inners is None:
            self._errors["runtime_mismatch"] += 1
            out.append((offset, raw, None, None))
        else:
            out += inners

    @staticmethod
    def _docker_whole(offset: int, raw: bytes, out: list[InnerLine]) -> bool:
        """Append a whole docker line (valid UTF-8 JSON, ``log`` ending in a newline) the
        way ``push`` would with nothing held; False (nothing appended) for anything else."""
        if raw[:1] != b"{":
            return False
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return False
        log = obj.get("log") if obj.__class__ is dict else None
        if log.__class__ is not str or log[-1:] != "\n":
            return False
        stream, stamp = obj.get("stream"), obj.get("time")
        out.append((offset, log[:-1], stream if stream.__class__ is str else None,
                    stamp if stamp.__class__ is str else None))
        return True

    def push(self, offset: int, raw: bytes) -> list[Inner] | None:
        """Completed inner lines (often none while pieces are held); ``None`` if ``raw``
        is not wrapped at all (the caller then parses it as a plain line)."""
        if self.kind == "cri":
            return self._push_cri(offset, raw)
        return self._push_docker(offset, raw)

    def _push_cri(self, offset: int, raw: bytes) -> list[Inner] | None:
        match = _CRI.match(raw)
        if match is None:
            return None
        stamp, stream, tag = match.groups()
        if tag == b"F" and not self._partials:  # a whole line with nothing held: as is
            return [_inner(offset, raw[match.end():], _STREAMS[stream], stamp.decode())]
        return self._piece(offset, raw[match.end():], _STREAMS[stream], stamp.decode(),
                           tag == b"P")

    def _push_docker(self, offset: int, raw: bytes) -> list[Inner] | None:
        if not raw.startswith(b"{"):
            return None
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            try:
                obj = orjson.loads(raw.decode("utf-8", "replace"))
            except orjson.JSONDecodeError:
                return None
        if not isinstance(obj, dict) or not isinstance(obj.get("log"), str):
            return None
        log: str = obj["log"]
        partial = not log.endswith("\n")
        text = log if partial else log[:-1]
        stream = obj.get("stream")
        stamp = obj.get("time")
        return self._piece(offset, text, stream if isinstance(stream, str) else None,
                           stamp if isinstance(stamp, str) else None, partial)

    def _piece(self, offset: int, data: bytes | str, stream: str | None,
               stamp: str | None, partial: bool) -> list[Inner]:
        held = self._partials.get(stream)
        if held is None:
            if not partial:
                return [_inner(offset, data, stream, stamp)]
            self._start(offset, data, stream, stamp)
            return []
        if held.size + len(data) > self._max_bytes:
            # the joined line would pass the cap: emit what is held, go on with this piece
            self._errors["partial_capped"] += 1
            done = [self._take(stream)]
            if partial:
                self._start(offset, data, stream, stamp)
            else:
                done.append(_inner(offset, data, stream, stamp))
            return done
        held.pieces.append(data)
        held.size += len(data)
        return [] if partial else [self._take(stream)]

    def _start(self, offset: int, data: bytes | str, stream: str | None,
               stamp: str | None) -> None:
        held = self._partials[stream] = _Partial(offset, stamp)
        held.pieces.append(data[:self._max_bytes])
        held.size = len(held.pieces[0])

    def _take(self, stream: str | None) -> Inner:
        held = self._partials.pop(stream)
        if isinstance(held.pieces[0], bytes):
            joined: bytes | str = b"".join(held.pieces)  # type: ignore[arg-type]
        else:
            joined = "".join(held.pieces)  # type: ignore[arg-type]
        return _inner(held.offset, joined, stream, held.time)

    def drain(self) -> list[Inner]:
        """Every held partial line as it is (flush on quiet or at the end of a file)."""
        return [self._take(stream) for stream in list(self._partials)]


def runtime_format_for(path: str, formats: Mapping[str, RuntimeFormat]) -> RuntimeFormat:
    """The ``parse.formats`` override whose glob matches ``path`` (or its tail), else auto."""
    for pattern, choice in formats.items():
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, "*/" + pattern):
            return choice
    return "auto"
