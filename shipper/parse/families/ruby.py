"""Ruby's ``Logger`` default format (Rails' too), format ``ruby_logger``.

``I, [2026-01-02T10:00:00.123456 #1234]  INFO -- progname: msg``: the time has no zone
(``parse.default_timezone`` applies), the pid goes to ``attributes.pid``, the progname (when
set) to ``logger``; ``ANY`` (``Logger#unknown``) counts as ``info``. Rails' request-id tag
(``[0f3c...-...] msg``, production's default ``log_tags``) goes to ``attributes.request_id``
and leaves the message. Rails request lines inside the prefix give fields:
``Started GET "/x" for 127.0.0.1 at ...`` (``method``, ``path``, ``client``) and
``Completed 200 OK in 5ms`` (``status``, ``duration_ms``). Backtrace lines
(``app.rb:3:in 'foo'``) after the record join it (``multiline.continues``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.parse.access import small_int
from shipper.parse.timestamps import TimestampNormalizer

#: ``partial.partial_record``: (timestamp, level, message, logger) -> record
Finish = Callable[[str | None, str | None, str, str | None], dict[str, Any]]

_LOGGER = re.compile(
    r"([DIWEFA]), \[(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))? #(\d+)\] +"
    r"(DEBUG|INFO|WARN|ERROR|FATAL|ANY) -- (.*?):(?: (.*)|$)", re.S | re.ASCII)
_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARN": "warning", "ERROR": "error",
           "FATAL": "critical", "ANY": "info"}
_REQUEST_ID = re.compile(r"\[([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\] ",
                         re.ASCII)
_STARTED = re.compile(r'Started ([A-Z]+) "([^"]*)" for (\S+)', re.ASCII)
_COMPLETED = re.compile(r"Completed (\d{3}) .*? in (\d+(?:\.\d+)?)ms", re.ASCII)


class RubyLayouts:
    """Recogniser for Ruby's ``Logger`` lines of one file."""

    def __init__(self, stamps: TimestampNormalizer, finish: Finish) -> None:
        self._stamps = stamps
        self._finish = finish

    def logger_line(self, text: str) -> tuple[str, dict[str, Any]] | None:
        match = _LOGGER.match(text)
        if match is None:
            return None
        initial, date, clock, frac, pid, word, progname, message = match.groups()
        if initial != word[0]:
            return None
        stamp = self._stamps.from_iso_parts(date, clock, frac, None)
        message = message or ""
        request_id = None
        if message[:1] == "[":
            tag = _REQUEST_ID.match(message)
            if tag is not None:
                request_id, message = tag.group(1), message[tag.end():]
        record = self._finish(stamp, _LEVELS[word], message, progname or None)
        attributes = record["attributes"]
        attributes["pid"] = small_int(pid)
        if request_id is not None:
            attributes["request_id"] = request_id
        if message[:1] == "S" or message[:1] == "C":
            _rails_request(message, attributes)
        if not stamp:
            attributes["invalid_timestamp"] = f"{date}T{clock}" + (f".{frac}" if frac else "")
        return "ruby_logger", record


def _rails_request(message: str, attributes: dict[str, Any]) -> None:
    """Fields of Rails' ``Started GET "/x" for ip at ...`` and ``Completed 200 OK in 5ms``."""
    started = _STARTED.match(message)
    if started is not None:
        attributes["method"], attributes["path"], attributes["client"] = started.groups()
        return
    completed = _COMPLETED.match(message)
    if completed is not None:
        attributes["status"] = int(completed.group(1))
        attributes["duration_ms"] = float(completed.group(2))
