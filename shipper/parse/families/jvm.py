"""JVM layouts: logback / log4j2 pattern layouts and Spring Boot's console layout.

* logback / log4j2 (format ``logback``): ``DATE [thread] LEVEL logger - msg`` (their
  documented default pattern), the same with a time of day only (``HH:mm:ss.SSS``: today's
  date in ``parse.default_timezone``, see ``TimestampNormalizer.from_time_of_day``) or
  without a time (``[thread] LEVEL logger - msg``), and ``DATE LEVEL [thread] logger - msg``
  / ``DATE LEVEL [thread] logger: msg`` (log4j2's ``%d %-5p [%t] %c{1.}: %m``; here the
  logger must be qualified, ``c.e.App``).
* Spring Boot 2 and 3 (format ``spring_boot``): ``DATE LEVEL PID --- [thread] logger : msg``
  with Spring Boot 3.2+'s ``[application]`` before the thread and the correlation block
  ``[traceId-spanId]`` after it, or Spring Cloud Sleuth's ``[app,traceId,spanId]`` after the
  level.

The thread goes to ``attributes.thread``, the pid to ``attributes.pid``, the logger as
printed to ``logger``; stack traces that follow join the record (``multiline.continues``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.parse.access import small_int
from shipper.parse.timestamps import TimestampNormalizer

#: ``partial.partial_record``: (timestamp, level, message, logger) -> record
Finish = Callable[[str | None, str | None, str, str | None], dict[str, Any]]

_LEVELS = {"TRACE": "trace", "DEBUG": "debug", "INFO": "info", "WARN": "warning",
           "ERROR": "error", "FATAL": "critical"}
_LEVEL = r"(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)"
_LOGGER = r"([A-Za-z_$][\w$\-]*(?:[.$][\w$\-]+)*)"
_QUALIFIED = r"([A-Za-z_$][\w$]*(?:\.[\w$]+)+)"
#: `` [thread] LEVEL logger - msg`` (after the time, or at the start of the line)
_THREAD_FIRST = re.compile(r" ?\[([^\]]+)\] " + _LEVEL + r" +" + _LOGGER + r" - ?(.*)",
                           re.S | re.ASCII)
#: `` LEVEL [thread] c.e.App - msg`` / `` LEVEL [thread] c.e.App: msg``
_LEVEL_FIRST = re.compile(r" " + _LEVEL + r" +\[([^\]]+)\] " + _QUALIFIED + r"(?: - ?|: )(.*)",
                          re.S | re.ASCII)
_TIME_ONLY = re.compile(r"(\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(?= \[)", re.ASCII)
#: Spring Boot after the time: ``  INFO 1 --- [app] [  main] [corr] logger   : msg``
#: (Spring Cloud Sleuth puts ``[app,traceId,spanId(,export)]`` after the level)
_SPRING = re.compile(r" +" + _LEVEL + r" +(?:\[([^\]]*)\] +)?(?:(\d+) +)?--- ((?:\[[^\]]*\] ?)+)"
                     r"(\S+) +: ?(.*)", re.S | re.ASCII)
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_CORRELATION = re.compile(r"([0-9a-fA-F]{16,32})[-,]([0-9a-fA-F]{16})", re.ASCII)


class JvmLayouts:
    """Recognisers for the JVM layouts of one file (its normalizer, the record builder)."""

    def __init__(self, stamps: TimestampNormalizer, finish: Finish) -> None:
        self._stamps = stamps
        self._finish = finish

    def after_stamp(self, stamp: str | None, rest: str) -> tuple[str, dict[str, Any]] | None:
        """``rest`` follows a date-time at the start of the line."""
        if rest[:2] == " [":
            return self._thread_first(stamp, rest)
        if rest.find(" --- ", 4, 160) != -1:
            parsed = self._spring(stamp, rest)
            if parsed is not None:
                return parsed
        if " [" not in rest[4:8]:  # `` LEVEL [`` with the level padded or not
            return None
        match = _LEVEL_FIRST.match(rest)
        if match is None:
            return None
        level, thread, logger, message = match.groups()
        return "logback", self._record(stamp, level, message, logger, thread)

    def time_only(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """``HH:mm:ss.SSS [thread] LEVEL logger - msg`` (logback's and log4j2's default)."""
        match = _TIME_ONLY.match(text)
        if match is None:
            return None
        parsed = self._thread_first(None, text[match.end():])
        if parsed is not None:
            clock, frac = match.groups()
            stamp = self._stamps.from_time_of_day(clock, frac)
            parsed[1]["timestamp"] = stamp
            if not stamp:
                parsed[1]["attributes"]["invalid_timestamp"] = match.group(0)
        return parsed

    def no_time(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """``[thread] LEVEL logger - msg`` (log4j2's ``[%t] %-5level %logger{36} - %msg``)."""
        return self._thread_first(None, text)

    def _thread_first(self, stamp: str | None, rest: str) -> tuple[str, dict[str, Any]] | None:
        match = _THREAD_FIRST.match(rest)
        if match is None:
            return None
        thread, level, logger, message = match.groups()
        return "logback", self._record(stamp, level, message, logger, thread)

    def _spring(self, stamp: str | None, rest: str) -> tuple[str, dict[str, Any]] | None:
        match = _SPRING.match(rest)
        if match is None:
            return None
        level, sleuth, pid, brackets, logger, message = match.groups()
        if brackets.count("[") == 1:  # just the thread (findall costs 1 us)
            fields = [brackets.strip(" []")]
        else:
            fields = [part.strip() for part in _BRACKETS.findall(brackets)]
        record = self._record(stamp, level, message, logger, None)
        attributes = record["attributes"]
        if len(fields) > 1:
            correlation = _CORRELATION.fullmatch(fields[-1])
            if correlation is not None or not fields[-1]:
                fields.pop()
            if correlation is not None:
                attributes["trace_id"], attributes["span_id"] = correlation.groups()
        attributes["thread"] = fields[-1]
        if len(fields) > 1:
            attributes["application"] = fields[0]
        if pid is not None:
            attributes["pid"] = small_int(pid)
        if sleuth:
            _sleuth(sleuth, attributes)
        return "spring_boot", record

    def _record(self, stamp: str | None, level: str, message: str, logger: str,
                thread: str | None) -> dict[str, Any]:
        record = self._finish(stamp, _LEVELS[level], message, logger)
        if thread is not None:
            record["attributes"]["thread"] = thread.strip()
        return record


def _sleuth(block: str, attributes: dict[str, Any]) -> None:
    """``app,traceId,spanId[,exportable]`` (Spring Cloud Sleuth's MDC after the level)."""
    parts = [part.strip() for part in block.split(",")]
    if parts[0]:
        attributes["application"] = parts[0]
    if len(parts) >= 3 and parts[1] and parts[2]:
        attributes["trace_id"], attributes["span_id"] = parts[1], parts[2]
