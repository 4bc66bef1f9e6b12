"""Rust layouts: ``tracing_subscriber::fmt``, ``env_logger`` and panic messages.

* tracing (format ``rust_tracing``): ``2026-01-02T10:00:00.123456Z  INFO app::mod: msg k=v``:
  the level padded to five characters, then optionally ``[name ]ThreadId(01)``, the spans
  (``request{id=1}:db{q=1}: `` ; the last one must carry fields, since a bare name cannot be
  told from a target) to ``attributes.span`` as printed, the target to ``logger``, an
  optional ``src/main.rs:12:`` to ``caller``, then the message and its fields (``k=v``).
  The time must carry its zone and six or nine fraction digits (as tracing prints it), so a
  generic ``2026-01-02T10:00:00Z ERROR name: msg`` line is not taken for one.
* env_logger (format ``env_logger``): ``[2026-01-02T10:00:00Z INFO  app::mod] msg`` and the
  older ``[INFO  app] msg``; the module path goes to ``logger``.
* panics (format ``rust_panic``, level ``error``): ``thread 'main' panicked at
  src/main.rs:2:5:`` (Rust 1.73+) or ``... panicked at 'msg', src/main.rs:2:5``; the thread
  goes to ``attributes.thread``, the location to ``caller``, and the message, backtrace and
  ``note:`` lines that follow join the record (``multiline.continues``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.parse.timestamps import ISO_PATTERN, TimestampNormalizer

#: ``partial.partial_record``: (timestamp, level, message, logger) -> record
Finish = Callable[[str | None, str | None, str, str | None], dict[str, Any]]

_LEVELS = {"TRACE": "trace", "DEBUG": "debug", "INFO": "info", "WARN": "warning",
           "ERROR": "error"}
#: tracing pads the level to five characters, right-aligned
_PADDED = frozenset({"  INFO ", "  WARN ", " ERROR ", " DEBUG ", " TRACE "})
_TARGET = r"([A-Za-z_][\w\-]*(?:::[\w\-]+)*)"
_TAIL = r":(?: ([\w.\-/]+\.rs):(\d+):)?(?: (.*)|$)"
_TRACING = re.compile(
    r"(?:(?:(\S+) )?ThreadId\((\d+)\) )?"
    r"((?:[\w\-]+(?:\{[^}]*\})?:)*[\w\-]+\{[^}]*\}: )?" + _TARGET + _TAIL, re.S | re.ASCII)
#: the common case without thread ids or spans, first (a third of the cost)
_PLAIN_TRACING = re.compile(_TARGET + _TAIL, re.S | re.ASCII)
_ENV_LOGGER = re.compile(r"\[(?:" + ISO_PATTERN + r" )?(TRACE|DEBUG|INFO|WARN|ERROR) +"
                         r"([A-Za-z_][\w\-]*(?:::[\w\-]+)*)?\] ?(.*)", re.S | re.ASCII)
#: ``thread 'main' panicked at src/main.rs:2:5:`` or ``... at 'msg', src/main.rs:2:5`` (the
#: column is missing before Rust 1.42)
_PANIC = re.compile(r"thread '([^']*)' panicked at (?:'.*', )?([^\s:']+):(\d+)(?::\d+)?", re.S)


class RustLayouts:
    """Recognisers for the Rust layouts of one file (its normalizer, the record builder)."""

    def __init__(self, stamps: TimestampNormalizer, finish: Finish) -> None:
        self._stamps = stamps
        self._finish = finish

    def after_stamp(self, stamp: str | None, rest: str, frac: str | None,
                    zone: str | None) -> tuple[str, dict[str, Any]] | None:
        """``rest`` follows a date-time at the start of the line (its fraction and zone:
        tracing prints micro- or nanoseconds and always a zone)."""
        padded = rest[:7]
        if padded not in _PADDED or zone is None or frac is None or len(frac) not in (6, 9):
            return None
        match = _PLAIN_TRACING.match(rest, 7)
        if match is not None:
            name = thread_id = spans = None
            target, file, line, message = match.groups()
        else:
            match = _TRACING.match(rest, 7)
            if match is None:
                return None
            name, thread_id, spans, target, file, line, message = match.groups()
        record = self._finish(stamp, _LEVELS[padded.strip()], message or "", target)
        attributes = record["attributes"]
        if thread_id is not None:
            attributes["thread_id"] = int(thread_id)
            if name is not None:
                attributes["thread"] = name
        if spans:
            attributes["span"] = spans[:-2]
        if file is not None:
            attributes["caller"] = f"{file}:{line}"
        return "rust_tracing", record

    def env_logger(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """``[2026-01-02T10:00:00Z INFO  app::mod] msg`` / ``[INFO  app] msg``."""
        match = _ENV_LOGGER.match(text)
        if match is None:
            return None
        date, clock, frac, zone, level, target, message = match.groups()
        if date is not None and zone is None:  # env_logger always prints the zone
            return None
        stamp = self._stamps.from_iso_parts(date, clock, frac, zone) if date else None
        record = self._finish(stamp, _LEVELS[level], message, target)
        if stamp == "":
            record["attributes"]["invalid_timestamp"] = text[1:text.index(" ")]
        return "env_logger", record

    def panic(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """The first line of a panic; the whole line stays the message (the block joins it)."""
        match = _PANIC.match(text)
        if match is None:
            return None
        thread, file, line = match.groups()
        attributes = {"thread": thread, "caller": f"{file}:{line}"}
        return "rust_panic", {"timestamp": None, "level": "error", "message": text,
                              "attributes": attributes}
