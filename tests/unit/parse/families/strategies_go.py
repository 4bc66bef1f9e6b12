"""Generated Go ``log``, slog and logrus lines (see ``layouts.py``)."""

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
    utc_times,
    zoned_times,
)
from tests.unit.parse.families.layouts import Layout

_SLOG = {"DEBUG": "debug", "INFO": "info", "WARN": "warning", "ERROR": "error"}
_LOGRUS = {"trace": "trace", "debug": "debug", "info": "info", "warning": "warning",
           "error": "error", "fatal": "critical", "panic": "critical"}
_TTY = {"TRAC": "trace", "DEBU": "debug", "INFO": "info", "WARN": "warning", "ERRO": "error",
        "FATA": "critical", "PANI": "critical"}
callers = st.builds(lambda path, name, line: f"{path}{name}.go:{line}",
                    st.sampled_from(["", "/app/", "/src/svc/internal/jobs/"]), identifiers,
                    st.integers(1, 9999))


@st.composite
def _go_stamp(draw: st.DrawFn) -> tuple[str, str]:
    """``2026/01/02 10:00:00[.000000]`` and its canonical stamp."""
    digits = draw(st.sampled_from([0, 6]))
    moment, stamp = draw(utc_times(digits=max(digits, 3)))
    if digits == 0:
        moment, stamp = draw(utc_times(digits=0))
    when = moment.strftime("%Y/%m/%d %H:%M:%S") + (f".{fraction(moment, 6)}" if digits else "")
    return when, stamp


@st.composite
def go_log(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``2026/01/02 10:00:00[.000000] [file.go:12: ]msg``, optionally after a prefix."""
    when, stamp = draw(_go_stamp())
    caller, message = draw(st.one_of(st.none(), callers)), draw(messages)
    prefix = draw(st.one_of(st.none(), identifiers))
    line = f"{when} {caller + ': ' if caller else ''}{message}"
    expected: dict[str, Any] = {"timestamp": stamp, "level": "info", "message": message,
                                "attributes": {"caller": caller} if caller else {}}
    if prefix is not None:
        line = f"{prefix}: {line}"
    expected["logger"] = prefix
    return line, expected


@st.composite
def slog_through_log(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``2026/01/02 10:00:00 INFO msg k=v`` (slog's default logger)."""
    when, stamp = draw(_go_stamp())
    word, message, pairs = draw(st.sampled_from(sorted(_SLOG))), draw(messages), draw(fields)
    line = f"{when} {word} {message}{pairs_text(pairs)}"
    return line, {"timestamp": stamp, "level": _SLOG[word], "message": message,
                  "attributes": pairs, "logger": None}


def _quoted(message: str) -> str:
    return f'"{message}"' if " " in message or '"' in message else message


@st.composite
def slog_text(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``time=... level=INFO [source=f.go:1] msg=... k=v`` (slog's TextHandler)."""
    moment, stamp = draw(zoned_times())
    word, message, pairs = draw(st.sampled_from(sorted(_SLOG))), draw(messages), draw(fields)
    source = draw(st.one_of(st.none(), callers))
    when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction(moment, 3) + offset_text(moment)
    head = f"time={when} level={word}" + (f" source={source}" if source else "")
    line = f"{head} msg={_quoted(message)}{pairs_text(pairs)}"
    attributes = {**pairs, **({"caller": source} if source else {})}
    return line, {"timestamp": stamp, "level": _SLOG[word], "message": message,
                  "attributes": attributes}


@st.composite
def logrus_text(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``time="..." level=info msg="..." k=v`` (logrus' TextFormatter, no terminal)."""
    moment, stamp = draw(zoned_times(digits=0))
    word, message, pairs = draw(st.sampled_from(sorted(_LOGRUS))), draw(messages), draw(fields)
    when = moment.strftime("%Y-%m-%dT%H:%M:%S") + offset_text(moment)
    line = f'time="{when}" level={word} msg="{message}"{pairs_text(pairs)}'
    return line, {"timestamp": stamp, "level": _LOGRUS[word], "message": message,
                  "attributes": pairs}


@st.composite
def logrus_tty(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``INFO[0012] msg          k=v`` (logrus on a terminal: seconds since start)."""
    word, message, pairs = draw(st.sampled_from(sorted(_TTY))), draw(messages), draw(fields)
    seconds = draw(st.integers(0, 99999))
    body = f"{message:<44}{pairs_text(pairs)}" if pairs else message
    line = f"{word}[{seconds:04d}] {body}"
    return line, {"timestamp": READ_TIME, "level": _TTY[word], "message": message,
                  "attributes": pairs}


LAYOUTS = [
    Layout("go_log", "go_log", go_log()),
    Layout("slog_through_log", "go_log", slog_through_log()),
    Layout("slog_text", "slog", slog_text()),
    Layout("logrus_text", "logrus", logrus_text()),
    Layout("logrus_tty", "logrus", logrus_tty()),
]
