"""The cheap gates in front of the framework recognisers after a leading date-time
(``Frameworks.stamped``) skip calls, never layouts: each layout behind a gate is still
recognised, and the lines the gates send past it still get the generic rules."""

from __future__ import annotations

from collections import Counter

from shipper.parse.text import TextParser
from shipper.parse.timestamps import TimestampNormalizer


def _parse(line: str) -> tuple[str, dict[str, object]]:
    return TextParser(TimestampNormalizer(), Counter(), 64).parse(line)


def test_ray_driver_line_behind_the_tab_gate_is_still_ray() -> None:
    """A tab after the time and `` -- `` in the line: Ray's driver layout."""
    fmt, record = _parse("2026-01-02 10:00:00,123\tINFO worker.py:12 -- started 3 actors")
    assert fmt == "ray"
    assert record["message"] == "started 3 actors"
    assert record["attributes"] == {"caller": "worker.py:12"}


def test_zap_console_line_with_double_dash_is_still_zap() -> None:
    """A zap console line whose message holds `` -- `` passes the gate, fails Ray's
    regex and is read as zap's console layout, its JSON fields merged."""
    fmt, record = _parse('2026-01-02T10:00:00.005Z\tINFO\tapi/jobs.go:57\tsync -- done\t'
                         '{"job_id":"j-1","records":3}')
    assert fmt == "text"
    assert record["message"] == "sync -- done"
    assert record["attributes"] == {"caller": "api/jobs.go:57", "job_id": "j-1",
                                    "records": 3}


def test_rust_tracing_line_behind_the_fraction_gate_is_still_rust() -> None:
    """Micro-seconds and a zone after the time: tokio tracing, not the generic rules."""
    fmt, record = _parse("2026-01-02T10:00:00.123456Z  INFO app::server: listening port=80")
    assert fmt == "rust_tracing"
    assert record["logger"] == "app::server"
    assert record["attributes"] == {"port": "80"}


def test_level_line_without_jvm_markers_takes_the_generic_rules() -> None:
    """``ISO LEVEL msg k=v`` (no thread, no `` [``, no `` --- ``): the JVM recogniser is
    not called and the generic rules give the level, message and pairs."""
    fmt, record = _parse("2025-07-06T10:30:00Z ERROR Enqueued task job_id=j-1 worker=23")
    assert fmt == "text"
    assert record == {"timestamp": "2025-07-06T10:30:00.000Z", "level": "error",
                      "message": "Enqueued task",
                      "attributes": {"job_id": "j-1", "worker": "23"}}
