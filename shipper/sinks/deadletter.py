"""The dead-letter file: records a sink will never deliver, kept as NDJSON for replay.

``<state_dir>/dead-letter/<sink>.ndjson``, one ``{"sink", "reason", "status", "record"}``
object per line, appended in a thread. Without a state directory the records are only
counted (and that is logged once). The file is capped at ``max_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson

from shipper.errors import SinkError
from shipper.record import Record, public_view

log = logging.getLogger("shipper.sinks")


class DeadLetter:
    def __init__(self, state_dir: Path | None, sink: str, max_bytes: int) -> None:
        self.path = Path(state_dir) / "dead-letter" / f"{sink}.ndjson" if state_dir else None
        self._sink = sink
        self._max_bytes = max_bytes
        self._warned = False

    async def write(self, records: list[Record], error: SinkError) -> bool:
        """Append the records; False when they could not be kept (no state dir, full, I/O)."""
        lines = b"".join(
            orjson.dumps({"sink": self._sink, "reason": str(error), "status": error.status,
                          "record": public_view(record)},
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        if size + len(lines) > self._max_bytes:
            self._warn_once("dead-letter file %s is full (%d bytes)", self.path, size)
            return False
        with self.path.open("ab") as handle:
            handle.write(lines)
        return True

    def _warn_once(self, message: str, *args: object) -> None:
        if not self._warned:
            self._warned = True
            log.warning("sink %s: " + message, self._sink, *args)
