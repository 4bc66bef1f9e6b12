"""uvicorn's lines take two shortcuts, each held to the rules it skips: the greedy request
pattern ``_UVICORN_PLAIN`` (tried before the lazy ``_UVICORN``) and the level-column lookup
``_COLON_HEADS`` in ``TextParser.parse`` (taken before the capital-letter gates and
``_PY_COLON``). Generated lines, near misses included, get the same record either way."""

from __future__ import annotations

from collections import Counter
from typing import Any
from unittest import mock

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.parse import access
from shipper.parse import text as text_module
from shipper.parse.text import TextParser
from shipper.parse.timestamps import TimestampNormalizer

SETTINGS = settings(max_examples=600, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
_HEADS = ["INFO:     ", "WARNING:  ", "ERROR:    ", "DEBUG:    ", "CRITICAL: ", "TRACE:    ",
          "INFO:", "INFO: ", "INFO:werkzeug:", "INFO:app.db:", "Info:     ", "FOO:      ",
          "EXCEPTION:", "DPANIC:   ", "INF:      ", "INFO:    \t", "INFO;     ", ""]
_PIECES = ["10.42.88.221:57661", " - ", '"', "GET", "POST", " ", "  ", "/health", "/a\"b",
           "/x?q=1", "HTTP/1.1", "HTTP/", " HTTP/2", "200", "404", "2001", "OK", "\t",
           "\x1c", "\u00e9", "]", "[1]", "Started server process", "-", "k=v", "\n"]
_TAILS = st.lists(st.sampled_from(_PIECES), max_size=14).map("".join)


def _parsed(parser: TextParser, line: str) -> bytes:
    return orjson.dumps(parser.parse(line))  # key order included


@SETTINGS
@given(_TAILS)
@example('10.42.88.221:57661 - "GET /health HTTP/1.1" 200 OK')
@example('1.2.3.4:5 - "GET /a"b" 200 OK')  # a quote in the path: only the lazy one
@example('1.2.3.4:5 - "GET /a HTTP/1.1"x" 200')
@example('1.2.3.4:5 - "GET /a" 200" 300')
def test_the_greedy_request_pattern_matches_as_the_lazy_one(message: str) -> None:
    """Where the greedy pattern matches, the lazy one matches with the same groups and
    span; ``uvicorn_request`` (both in turn) gives the lazy pattern's attributes."""
    plain, lazy = access._UVICORN_PLAIN.match(message), access._UVICORN.match(message)
    if plain is not None:
        assert lazy is not None
        assert plain.span() == lazy.span()
        assert plain.groups() == lazy.groups()
    with mock.patch.object(access, "_UVICORN_PLAIN", access._UVICORN):
        expected = access.uvicorn_request(message)
    assert access.uvicorn_request(message) == expected


@SETTINGS
@given(st.sampled_from(_HEADS), _TAILS)
@example("INFO:     ", '10.42.88.221:57661 - "GET /health HTTP/1.1" 200 OK')
@example("WARNING:  ", "Invalid HTTP request received.")
@example("INFO:     ", "Started server process [1]")
@example("INFO:     ", "   ")
@example("CRITICAL: ", "")
def test_the_level_column_gives_the_general_rules_record(head: str, tail: str) -> None:
    """A line read with the ``_COLON_HEADS`` lookup and with it emptied (``frameworks``,
    klog and ``_PY_COLON`` as before): the same format and record, key order included."""
    line = head + tail
    got = _parsed(TextParser(TimestampNormalizer(), Counter(), 64), line)
    with mock.patch.object(text_module, "_COLON_HEADS", {}):
        expected = _parsed(TextParser(TimestampNormalizer(), Counter(), 64), line)
    assert got == expected, line


def test_the_level_column_is_looked_up() -> None:
    """uvicorn's access and server lines are read through the lookup (a parser whose
    ``_python_colon`` fails the test if called): request attributes, pid, level."""
    parser = TextParser(TimestampNormalizer(), Counter(), 64)
    calls: list[Any] = []
    with mock.patch.object(parser, "_python_colon", calls.append):
        fmt, record = parser.parse('INFO:     10.42.88.221:57661 - "GET /health HTTP/1.1" '
                                   "200 OK")
        assert (fmt, record["attributes"]) == ("access", {
            "method": "GET", "path": "/health", "status": 200,
            "client": "10.42.88.221:57661", "protocol": "HTTP/1.1"})
        fmt, record = parser.parse("ERROR:    Started server process [7]")
        assert (fmt, record["level"], record["attributes"]) == ("uvicorn", "error",
                                                                {"pid": 7})
    assert calls == []
    assert "INFO:     " in text_module._COLON_HEADS
    assert all(len(head) == 10 for head in text_module._COLON_HEADS)
