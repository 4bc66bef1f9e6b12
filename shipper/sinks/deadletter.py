"""The dead-letter file: records a sink will never deliver, kept as NDJSON for replay.

``<state_dir>/dead-letter/<sink>.ndjson``, one ``{"sink", "reason", "status", "record"}``
object per line, appended in a thread. Without a state directory the records are only
counted (and that is logged once). The file is capped at ``max_bytes``. Like the rest of
the state directory it is private: the file is ``0600`` and its directory ``0700``, also
when they existed before with a wider mode.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import orjson

from shipper.errors import SinkError
from shipper.record import Record

log = logging.getLogger("shipper.sinks")

FILE_MODE = 0o600
DIR_MODE = 0o700


class DeadLetter:
    """``redact`` scrubs the reason (a backend's error text may echo what it was sent, a
    key included); by default the built-in redaction rules, built on first use."""

    def __init__(self, state_dir: Path | None, sink: str, max_bytes: int,
                 redact: Callable[[str], str] | None = None) -> None:
        self.path = Path(state_dir) / "dead-letter" / f"{sink}.ndjson" if state_dir else None
        self._sink = sink
        self._max_bytes = max_bytes
        self._warned = False
        self._redact = redact

    def _reason(self, error: SinkError) -> str:
        if self._redact is None:
            from shipper.filters.redact import Redactor
            from shipper.filters.settings import RedactSettings

            self._redact = Redactor(RedactSettings()).redact_text
        return self._redact(str(error))

    async def write(self, records: list[Record], error: SinkError) -> bool:
        """Append the records; False when they could not be kept (no state dir, full, I/O)."""
        reason = self._reason(error)
        lines = b"".join(
            orjson.dumps({"sink": self._sink, "reason": reason, "status": error.status,
                          "record": record},
                         option=orjson.OPT_APPEND_NEWLINE, default=str)
            for record in records)
        if self.path is None:
            self._warn_once("no state_dir: %d record(s) rejected by the receiver are only counted",
                            len(records))
            return True
        try:
            return await asyncio.to_thread(self._append, lines)
        except OSError as exc:
            self._warn_once("cannot write dead-letter file %s: %s", self.path, exc.strerror)
            return False

    def _append(self, lines: bytes) -> bool:
        assert self.path is not None
        _private_dir(self.path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(self.path, flags, FILE_MODE)
        try:
            info = os.fstat(fd)
            if stat.S_IMODE(info.st_mode) != FILE_MODE:
                os.fchmod(fd, FILE_MODE)
            if info.st_size + len(lines) > self._max_bytes:
                self._warn_once("dead-letter file %s is full (%d bytes)", self.path, info.st_size)
                return False
            view = memoryview(lines)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        return True

    def _warn_once(self, message: str, *args: object) -> None:
        if not self._warned:
            self._warned = True
            log.warning("sink %s: " + message, self._sink, *args)


def _private_dir(path: Path) -> None:
    """Create ``path`` (and parents) owner-only, or narrow it to ``0700`` if it is wider."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)
