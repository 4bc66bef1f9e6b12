"""The shipper's own logs: JSON lines (or a console format) on stderr, never a secret.

:func:`configure_logging` installs one handler on the root logger. Every message and
every extra field passes through ``redact`` (the compiled redaction rules) before it is
written. Noisy libraries are held at ``warning``. Per-record logging belongs at
``debug`` only. Calling it again replaces the handler it installed before.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

from shipper.errors import ConfigError

Redact = Callable[[str], str]

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}
NOISY_LOGGERS = ("aiohttp.access", "aiohttp.server", "urllib3", "kubernetes", "asyncio")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
_MAX_DEPTH = 6


def configure_logging(level: str, fmt: Literal["json", "console"] = "json",
                      redact: Redact | None = None,
                      stream: TextIO | None = None) -> logging.Handler:
    """Route all logging to ``stream`` (stderr by default) at ``level``; returns the handler."""
    if level.lower() not in LEVELS:
        raise ConfigError(f"unknown log level {level!r}", key="log_level")
    if fmt not in ("json", "console"):
        raise ConfigError(f"unknown log format {fmt!r} (json or console)", key="log_format")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter = JsonFormatter(redact) if fmt == "json" else ConsoleFormatter(redact)
    handler.setFormatter(formatter)
    handler.set_name("shipper-selflog")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "shipper-selflog"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level.lower()])
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, LEVELS[level.lower()]))
    return handler


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``event``, ``logger``, extra fields."""

    def __init__(self, redact: Redact | None = None) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return orjson.dumps(self.fields(record), default=str).decode()

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """The redacted fields of one log record."""
        out: dict[str, Any] = {
            "time": _time(record.created), "level": record.levelname.lower(),
            "event": self._clean(record.getMessage()), "logger": record.name,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key not in out:
                out[key] = self._clean(value)
        if record.exc_info:
            out["exception"] = self._clean(self.formatException(record.exc_info))
        return out

    def _clean(self, value: Any, depth: int = 0) -> Any:
        """Redact every string inside ``value`` (dicts and lists included, keys too)."""
        if isinstance(value, str):
            return self._redact(value) if self._redact else value
        if depth >= _MAX_DEPTH:
            return self._clean(repr(value), depth)
        if isinstance(value, dict):
            return {self._clean(str(k), depth): self._clean(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self._clean(v, depth + 1) for v in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self._clean(str(value), depth)


class ConsoleFormatter(JsonFormatter):
    """``TIME LEVEL logger: event key=value ...`` for humans (same redaction)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        head = f"{fields.pop('time')} {fields.pop('level').upper():<8} {fields.pop('logger')}: "
        text = head + str(fields.pop("event"))
        exception = fields.pop("exception", None)
        extras = " ".join(f"{k}={_console_value(v)}" for k, v in fields.items())
        text = f"{text} {extras}" if extras else text
        return f"{text}\n{exception}" if exception else text


def _console_value(value: Any) -> str:
    if isinstance(value, str) and value and " " not in value and '"' not in value:
        return value
    return orjson.dumps(value, default=str).decode()


def _time(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
