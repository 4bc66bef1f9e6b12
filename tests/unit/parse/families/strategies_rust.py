"""Generated ``tracing_subscriber::fmt``, env_logger and panic lines (see ``layouts.py``)."""

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

_LEVELS = {"TRACE": "trace", "DEBUG": "debug", "INFO": "info", "WARN": "warning",
           "ERROR": "error"}
levels = st.sampled_from(sorted(_LEVELS))
targets = st.lists(identifiers, min_size=1, max_size=4).map("::".join)
_spans = st.lists(
    st.builds(lambda name, pairs: name + ("{" + " ".join(f"{k}={v}" for k, v in pairs.items())
                                         + "}" if pairs else ""),
              identifiers, fields),
    max_size=3,
).filter(lambda spans: not spans or spans[-1].endswith("}"))


@st.composite
def tracing(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``2026-01-02T10:00:00.123456Z  INFO [ThreadId(01)] [spans: ]target: msg k=v``."""
    moment, stamp = draw(zoned_times(digits=6))
    level, target, message, pairs = draw(levels), draw(targets), draw(messages), draw(fields)
    spans, thread_id = draw(_spans), draw(st.one_of(st.none(), st.integers(1, 64)))
    when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction(moment, 6) + offset_text(moment)
    attributes: dict[str, Any] = dict(pairs)
    head = f"{when} {level:>5} "
    if thread_id is not None:
        head += f"ThreadId({thread_id:02d}) "
        attributes["thread_id"] = thread_id
    if spans:
        head += ":".join(spans) + ": "
        attributes["span"] = ":".join(spans)
    line = f"{head}{target}: {message}{pairs_text(pairs)}"
    return line, {"timestamp": stamp, "level": _LEVELS[level], "logger": target,
                  "message": message, "attributes": attributes}


@st.composite
def env_logger(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``[2026-01-02T10:00:00Z INFO  app::mod] msg`` and the older ``[INFO  app] msg``."""
    level, target, message, pairs = draw(levels), draw(targets), draw(messages), draw(fields)
    stamp = READ_TIME
    head = f"[{level:<5} {target}]"
    if draw(st.booleans()):
        digits = draw(st.sampled_from([0, 6]))
        moment, stamp = draw(utc_times(digits=max(digits, 3)))
        if digits == 0:
            moment, stamp = draw(utc_times(digits=0))
        when = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction(moment, 6)}" if digits else "")
        head = f"[{when}Z {level:<5} {target}]"
    line = f"{head} {message}{pairs_text(pairs)}"
    return line, {"timestamp": stamp, "level": _LEVELS[level], "logger": target,
                  "message": message, "attributes": pairs}


@st.composite
def panic(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``thread 'main' panicked at src/main.rs:2:5:`` (one line of a panic block)."""
    thread = draw(st.sampled_from(["main", "tokio-runtime-worker", "<unnamed>", "worker-3"]))
    file = "src/" + draw(identifiers) + ".rs"
    line_no, column = draw(st.integers(1, 9999)), draw(st.integers(1, 120))
    line = f"thread '{thread}' panicked at {file}:{line_no}:{column}:"
    return line, {"timestamp": READ_TIME, "level": "error", "message": line,
                  "attributes": {"thread": thread, "caller": f"{file}:{line_no}"}}


LAYOUTS = [
    Layout("rust_tracing", "rust_tracing", tracing()),
    Layout("env_logger", "env_logger", env_logger()),
    Layout("rust_panic", "rust_panic", panic()),
]
