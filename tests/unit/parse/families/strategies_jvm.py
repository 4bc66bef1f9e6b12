"""Generated logback / log4j2 and Spring Boot lines (see ``layouts.py``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.content_jvmgo import (
    READ_TIME,
    fields,
    fraction,
    identifiers,
    messages,
    offset_text,
    pairs_text,
    threads,
    utc_times,
    zoned_times,
)
from tests.unit.parse.families.layouts import Layout

_LEVELS = {"TRACE": "trace", "DEBUG": "debug", "INFO": "info", "WARN": "warning",
           "ERROR": "error", "FATAL": "critical"}
_SPRING_LEVELS = {key: value for key, value in _LEVELS.items() if key != "FATAL"}
levels = st.sampled_from(sorted(_LEVELS))
loggers = st.builds(
    lambda packages, name: ".".join([*packages, name]),
    st.lists(identifiers, min_size=1, max_size=4),
    st.sampled_from(["App", "JobRunner", "TomcatWebServer", "OrderService", "Main$Inner"]),
)


def _expected(stamp: str, level: str, logger: str, message: str,
              attributes: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": stamp, "level": _LEVELS[level], "logger": logger, "message": message,
            "attributes": attributes}


@st.composite
def logback_dated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``2026-01-02 10:00:00.123 [main] INFO  c.e.App - msg k=v`` (``.`` or ``,``)."""
    moment, stamp = draw(utc_times())
    level, thread, logger = draw(levels), draw(threads), draw(loggers)
    message, pairs = draw(messages), draw(fields)
    sep = draw(st.sampled_from(".,"))
    when = moment.strftime("%Y-%m-%d %H:%M:%S") + sep + fraction(moment, 3)
    line = f"{when} [{thread}] {level:<5} {logger} - {message}{pairs_text(pairs)}"
    return line, _expected(stamp, level, logger, message, {"thread": thread, **pairs})


@st.composite
def logback_time_only(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``10:00:00.123 [main] INFO  c.e.App - msg``: read at midnight, a time up to five
    minutes later is today's, a later one yesterday's."""
    moment, _stamp = draw(utc_times())
    level, thread, logger, message = draw(levels), draw(threads), draw(loggers), draw(messages)
    clock = moment.strftime("%H:%M:%S") + "." + fraction(moment, 3)
    ahead = moment.hour * 3600 + moment.minute * 60 + moment.second
    day = "2026-01-01" if ahead <= 300 else "2025-12-31"
    line = f"{clock} [{thread}] {level:<5} {logger} - {message}"
    return line, _expected(f"{day}T{clock}Z", level, logger, message, {"thread": thread})


@st.composite
def log4j2_level_first(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``2026-01-02 10:00:00,123 INFO  [main] c.e.App: msg`` (or `` - msg``), any offset."""
    moment, stamp = draw(zoned_times())
    level, thread, logger, message = draw(levels), draw(threads), draw(loggers), draw(messages)
    sep = draw(st.sampled_from([": ", " - "]))
    when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction(moment, 3) + offset_text(moment)
    line = f"{when} {level:<5} [{thread}] {logger}{sep}{message}"
    return line, _expected(stamp, level, logger, message, {"thread": thread})


@st.composite
def log4j2_no_time(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``[main] INFO  c.e.App - msg`` (log4j2's default configuration)."""
    level, thread, logger, message = draw(levels), draw(threads), draw(loggers), draw(messages)
    line = f"[{thread}] {level:<5} {logger} - {message}"
    return line, _expected(READ_TIME, level, logger, message, {"thread": thread})


@st.composite
def spring_boot(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Spring Boot 2 (space, no zone) and 3 (``T``, offset) with a padded thread and logger,
    and 3.2+'s application name and correlation block."""
    moment, stamp = draw(zoned_times())
    boot3 = draw(st.booleans())
    if boot3:
        when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction(moment, 3) + offset_text(moment)
    else:
        moment, stamp = draw(utc_times())
        when = moment.strftime("%Y-%m-%d %H:%M:%S.") + fraction(moment, 3)
    level = draw(st.sampled_from(sorted(_SPRING_LEVELS)))
    pid, thread, logger, message = (draw(st.integers(1, 99999)), draw(threads), draw(loggers),
                                    draw(messages))
    attributes: dict[str, Any] = {"thread": thread[-15:], "pid": pid}
    brackets = f"[{thread[-15:]:>15}] "
    if boot3 and draw(st.booleans()):
        app = draw(identifiers)
        attributes["application"] = app
        brackets = f"[{app}] {brackets}"
        if draw(st.booleans()):
            trace, span = draw(st.sampled_from([("0af7651916cd43dd8448eb211c80319c",
                                                 "b7ad6b7169203331")]))
            brackets += f"[{trace}-{span}] "
            attributes.update(trace_id=trace, span_id=span)
    line = f"{when} {level:>5} {pid} --- {brackets}{logger:<40} : {message}"
    return line, _expected(stamp, level, logger, message, attributes)


LAYOUTS = [
    Layout("logback_dated", "logback", logback_dated()),
    Layout("logback_time_only", "logback", logback_time_only()),
    Layout("log4j2_level_first", "logback", log4j2_level_first()),
    Layout("log4j2_no_time", "logback", log4j2_no_time()),
    Layout("spring_boot", "spring_boot", spring_boot()),
]
