"""Generated Ruby ``Logger`` / Rails lines (see ``layouts.py``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.unit.parse.families.content_jvmgo import (
    fields,
    fraction,
    identifiers,
    messages,
    pairs_text,
    utc_times,
)
from tests.unit.parse.families.layouts import Layout

_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARN": "warning", "ERROR": "error",
           "FATAL": "critical", "ANY": "info"}
_REQUEST_IDS = st.uuids().map(str)


@st.composite
def _prefix(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``I, [2026-01-02T10:00:00.123456 #1234]  INFO -- progname: `` and its fields."""
    moment, stamp = draw(utc_times(digits=6))
    word, pid = draw(st.sampled_from(sorted(_LEVELS))), draw(st.integers(1, 4_000_000))
    progname = draw(st.one_of(st.just(""), identifiers))
    when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction(moment, 6)
    head = f"{word[0]}, [{when} #{pid}] {word:>5} -- {progname}: "
    return head, {"timestamp": stamp, "level": _LEVELS[word], "logger": progname or None,
                  "attributes": {"pid": pid}}


@st.composite
def ruby_logger(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``I, [... #pid]  INFO -- app: msg k=v``."""
    head, expected = draw(_prefix())
    message, pairs = draw(messages), draw(fields)
    expected["message"] = message
    expected["attributes"].update(pairs)
    return head + message + pairs_text(pairs), expected


@st.composite
def rails_request(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Rails' ``[request-id] Started GET "/x" for ip at ...`` / ``Completed 200 OK in 5ms``."""
    head, expected = draw(_prefix())
    request_id = draw(_REQUEST_IDS)
    expected["attributes"]["request_id"] = request_id
    if draw(st.booleans()):
        method = draw(st.sampled_from(["GET", "POST", "PATCH", "DELETE"]))
        path = "/" + "/".join(draw(st.lists(identifiers, max_size=3)))
        client = draw(st.sampled_from(["127.0.0.1", "10.1.2.3", "::1"]))
        message = f'Started {method} "{path}" for {client} at 2026-01-02 10:00:00 +0000'
        expected["attributes"].update(method=method, path=path, client=client)
    else:
        status, millis = draw(st.sampled_from([200, 201, 302, 404, 500])), draw(
            st.integers(0, 99999))
        message = f"Completed {status} OK in {millis}ms (Views: 1.0ms | ActiveRecord: 0.2ms)"
        expected["attributes"].update(status=status, duration_ms=float(millis))
    expected["message"] = message
    return f"{head}[{request_id}] {message}", expected


LAYOUTS = [
    Layout("ruby_logger", "ruby_logger", ruby_logger()),
    Layout("rails_request", "ruby_logger", rails_request()),
]
