"""The JVM, Go, Rust and Ruby recognisers decline lines of other layouts that come close
(the same date shape, brackets, a level word), so those keep their own parse."""

from __future__ import annotations

import pytest

from shipper.parse import ParseCounts
from tests.unit.parse.test_golden import run_lines

OURS = {"logback", "spring_boot", "go_log", "slog", "logrus", "rust_tracing", "env_logger",
        "rust_panic", "ruby_logger"}


def _formats(line: str) -> set[str]:
    counts = ParseCounts()
    run_lines([line], counts=counts)
    return set(counts.formats)


@pytest.mark.parametrize("line", [
    # nginx error log: Go's date, then [level] pid#tid
    '2026/01/02 10:00:00 [error] 7#7: *1 open() "/usr/share/nginx/html/x" failed',
    "2026/01/02 10:00:00 [notice] 1#1: start worker processes",
    # PostgreSQL: time, zone, [pid], LEVEL: (colon right after the level)
    '2026-01-02 10:00:00.123 UTC [123] ERROR:  relation "jobs" does not exist',
    "2026-01-02 10:00:00.123 UTC [123] FATAL:  password authentication failed",
    "2026-01-02 10:00:00.123 UTC [123] LOG:  checkpoint starting: time",
    # Python logging defaults and Celery
    "2026-01-02 10:00:00,123 - app.jobs - INFO - started",
    "2026-01-02 10:00:00,123 INFO [worker-1] Processing: 5 items",
    "[2026-01-02 10:00:00,123: INFO/MainProcess] Task t[1] succeeded in 0.5s: None",
    "INFO:     127.0.0.1:5000 - \"GET /x HTTP/1.1\" 200 OK",
    "WARNING:root:disk almost full",
    # a generic ISO line with a level and a colon in the message
    "2026-01-02T10:00:00Z ERROR upload: connection reset",
    "2026-01-02T10:00:00.123Z  INFO worker: started",
    # syslog
    "<34>1 2026-01-02T10:00:00.003Z host app 1234 ID47 - message",
    "Jan  2 10:00:00 host app[123]: message",
    # look-alikes of our own layouts
    "I, [2026-01-02T10:00:00.123456 #9] ERROR -- : initial disagrees with the level",
    "Ia, for one, disagree",
    "time=2026-01-02T10:00:00Z level=info msg=plain-logfmt",
    "thread 'main' did not panic",
    "[main] NOTICE c.e.App - not a JVM level",
    "2026-01-02 10:00:00.123 INFO --- separator ---",
])
def test_lines_of_other_layouts_are_not_ours(line: str) -> None:
    """None of our formats claims the line."""
    assert not _formats(line) & OURS, line


def test_nginx_error_line_keeps_its_fields() -> None:
    """The Go recogniser declines nginx's error line: it parses as before (time, level)."""
    [record] = run_lines(['2026/01/02 10:00:00 [error] 7#7: *1 connect() failed'])
    assert record["timestamp"] == "2026-01-02T10:00:00.000Z"
    assert "caller" not in record["attributes"]
