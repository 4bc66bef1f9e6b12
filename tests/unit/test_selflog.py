"""Self-logs: JSON lines with time/level/event/fields, console format, redaction, quiet libs."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shipper.errors import ConfigError
from shipper.selflog import configure_logging


def redact(text: str) -> str:
    return text.replace("hunter2", "[REDACTED]")


@pytest.fixture
def configured():
    """Configure into a buffer; restore the root logger afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    stream = io.StringIO()

    def setup(level="info", fmt="json"):
        configure_logging(level, fmt, redact=redact, stream=stream)
        return stream

    yield setup
    for handler in list(root.handlers):
        if handler.get_name() == "shipper-selflog":
            root.removeHandler(handler)
    root.setLevel(saved[0])


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_has_time_level_event_logger_and_extra_fields(configured):
    stream = configured()
    logging.getLogger("shipper.sinks").info("batch sent", extra={"sink": "loki", "records": 3})
    (line,) = lines(stream)
    assert line["level"] == "info" and line["event"] == "batch sent"
    assert line["logger"] == "shipper.sinks"
    assert line["sink"] == "loki" and line["records"] == 3
    assert line["time"].endswith("Z") and "T" in line["time"]


def test_message_fields_nested_values_and_exceptions_are_redacted(configured):
    stream = configured()
    log = logging.getLogger("shipper.test")
    log.warning("login with hunter2", extra={"headers": {"auth": ["Bearer hunter2"]}})
    try:
        raise ValueError("bad password hunter2")
    except ValueError:
        log.exception("failed")
    text = stream.getvalue()
    assert "hunter2" not in text
    first, second = lines(stream)
    assert first["event"] == "login with [REDACTED]"
    assert first["headers"] == {"auth": ["Bearer [REDACTED]"]}
    assert "ValueError: bad password [REDACTED]" in second["exception"]


def test_level_filters_debug_at_info(configured):
    stream = configured("info")
    logging.getLogger("shipper.x").debug("per-record detail")
    assert stream.getvalue() == ""


def test_noisy_libraries_are_quietened(configured):
    stream = configured("debug")
    for name in ("aiohttp.access", "urllib3.connectionpool", "kubernetes.client", "asyncio"):
        logging.getLogger(name).info("chatter")
    logging.getLogger("shipper.x").debug("kept")
    assert [line["event"] for line in lines(stream)] == ["kept"]


def test_console_format_is_one_readable_line_and_redacted(configured):
    stream = configured("info", "console")
    logging.getLogger("shipper.x").error("sink hunter2 down", extra={"sink": "http one"})
    text = stream.getvalue().strip()
    assert "ERROR" in text and "shipper.x: sink [REDACTED] down" in text
    assert 'sink="http one"' in text
    assert "hunter2" not in text


def test_configuring_twice_keeps_a_single_handler(configured):
    stream = configured()
    configure_logging("info", "json", redact=redact, stream=stream)
    logging.getLogger("shipper.x").info("once")
    assert len(lines(stream)) == 1


def test_bad_level_or_format_is_a_config_error():
    with pytest.raises(ConfigError):
        configure_logging("verbose", "json")
    with pytest.raises(ConfigError):
        configure_logging("info", "xml")  # type: ignore[arg-type]


def test_keys_of_extra_mappings_are_redacted(configured):
    """A secret used as a key inside an extra field is scrubbed like a value."""
    stream = configured()
    logging.getLogger("shipper.t").info("x", extra={"fields": {"hunter2": 1, "ok": "hunter2"}})
    [line] = lines(stream)
    assert line["fields"] == {"[REDACTED]": 1, "ok": "[REDACTED]"}
