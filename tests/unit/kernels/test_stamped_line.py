"""The ``stamped_line`` kernel (a whole ISO-stamped text line of the normalizer's last good
second: the time, the frameworks' gates, ``LEVEL msg``, Python logging, zap's console):
the compiled and the pure twin agree, and each gives exactly what ``TextParser.parse``'s
general rules give (format ``text``, fields and key order), or ``None``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_text
from shipper.parse import text as text_module
from shipper.parse.levels import TEXT_LEVELS
from shipper.parse.text import TextParser
from shipper.parse.timestamps import TimestampNormalizer
from tests.unit.helpers import corpus_lines, enough_lines

try:
    from shipper.kernels import _compiled as compiled
except ImportError:  # not built: the pure twin is still held to the general rules
    compiled = pure_text  # type: ignore[assignment]

NOW = 1_767_000_000.0  # 2025-12-29
SETTINGS = settings(max_examples=600, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _parser(max_depth: int = 64) -> TextParser:
    return TextParser(TimestampNormalizer(clock=lambda: NOW), Counter(), max_depth)


@contextmanager
def _general() -> Iterator[None]:
    """``TextParser.parse`` without the kernel: the general rules (the reference)."""
    with mock.patch.object(text_module, "stamped_line", lambda *_args: None):
        yield


def _ordered(parsed: tuple[str, dict[str, Any]] | None) -> bytes:
    return orjson.dumps(parsed)  # keeps key order, nested ones too


def _check(parser: TextParser, line: str) -> bool:
    """Both twins on ``line`` at the parser's state: the same answer, and when they take
    the line, the general rules' record. True when the line was taken."""
    stamps = parser._stamps
    args = (line, stamps.good_second, stamps.utc_default, TEXT_LEVELS, parser._max_depth)
    got_compiled = compiled.stamped_line(*args)
    got_pure = pure_text.stamped_line(*args)
    assert _ordered(got_compiled) == _ordered(got_pure), line
    if got_compiled is None:
        return False
    with _general():
        expected = parser.parse(line)
    assert _ordered(("text", got_compiled)) == _ordered(expected), line
    assert _ordered(("text", got_pure)) == _ordered(expected), line
    return True


def _primed(line: str, max_depth: int = 64) -> TextParser:
    """A parser whose normalizer's last good second is ``line``'s (when it has one)."""
    parser = _parser(max_depth)
    with _general():
        parser.parse(line)
    return parser


_PREFIXES = ["2026-01-02T10:00:00Z", "2026-01-02 10:00:00,010", "2026-01-02T10:00:00.5Z",
             "2026-01-02T10:00:00.123456789Z", "2026-01-02T10:00:00+00:00",
             "2026-01-02T10:00:00 UTC", "2026-01-02T10:00:00.12-0000", "2026-01-02T10:00:00",
             "2026-01-02T10:00:00z", "2026-01-02T10:00:00GMT", "2026-01-02T10:00:00+01:00",
             "2026-01-02T10:00:01Z", "2026/01/02 10:00:00", "2026-01-02T10:00:00Zx",
             "2026-01-02T10:00:00.", "2026-01-02T10:00:00,", "2026-01-02T10:00:00 Z",
             "2026-01-02T10:00:00+0000:", "2026-01-02T10:00:00.1 +00:00"]
_PIECES = [" ", "  ", "\t", "\t\t", "INFO", "ERROR", "warn", "Info", "DEBUG", "[INFO]", "FOO",
           " INFO ", "scheduler/loop.go:88", "a:1", ":12", "x::3", "a:1b", "app.db", "main",
           '{"job_id":"j-1","records":4}', '{"a":{"b":[1]}}', "{}", "{bad", "[1]",
           '{"caller":"c","k":"v"}', "[[[[[[", "{{{{", " -- ", " --- ", " [", '] "', " - ",
           "- ", "-", "|", "k=v", "a=1 b=2", "caller=x", "GET /x 200", "msg", "Retrying",
           "\n", "\u00e9", "\x1c", "[main]", "T", "E", "Db", '"', "POST /", "/a", "200", "404x",
           "method=m"]
_RESTS = st.lists(st.sampled_from(_PIECES), max_size=14).map("".join)


@SETTINGS
@given(st.sampled_from(_PREFIXES), _RESTS, st.sampled_from([64, 3]))
@example("2026-01-02T10:00:00.005Z", '\tINFO\tscheduler/loop.go:88\tRetrying request\t'
         '{"job_id":"j-1","records":4298}', 64)
@example("2026-01-02 10:00:00,010", " - app.storage.s3 - INFO - Worker heartbeat for "
         "job_id=j-1 (attempt 3/5, queue=bulk-import, pending=47259)", 64)
@example("2026-01-02T10:00:00Z", " ERROR Enqueued task job_id=j-1 batch_size=19", 64)
@example("2026-01-02T10:00:00.005Z", "\tINFO\tapp\tmain.go:1\tmsg k=v\t"
         '{"k":"w","caller":"x"}', 64)  # pairs, then the caller, then the JSON's keys
@example("2026-01-02T10:00:00.005Z", '\tINFO\tmsg\t{"a":[[[[1]]]]}', 3)  # too deep
@example("2026-01-02T10:00:00.005Z", "\tINFO\ta\tb\tc\td\te\tf\tg\th", 64)  # 9 fields
@example("2026-01-02T10:00:00.005Z", "\tINFO\ta:1\n\tm", 64)  # _CALLER's $ before \n
@example("2026-01-02T10:00:00.123Z", " INFO x", 64)  # Rust's tracing gate
@example("2026-01-02T10:00:00Z", " INFO GET /x 200 method=m", 64)  # a request, pairs
@example("2026-01-02T10:00:00Z", " INFO GET /x\x1c 200", 64)  # not a request path
def test_twins_agree_and_match_the_general_rules(prefix: str, rest: str,
                                                 max_depth: int) -> None:
    """Generated lines at the normalizer's good second (and beside it): both twins give
    the same answer, and a record only where it is the general rules' record."""
    _check(_primed("2026-01-02T10:00:00Z x", max_depth), prefix + rest)


def _corpus_lines(tmp: Path) -> list[str]:
    lines = corpus_lines(tmp)
    return [line.decode("utf-8", "replace") for line in lines if line[:1] != b"{"]


_ZONES_NEAR = ["+01:00", "+0100", "-00:01", "+00:01", "+00", "-00", "UT", "utc", "gmt",
               "Zulu", "ZZ", "+00:000", "EST", "CET", "+24:00"]


@pytest.mark.parametrize("zone", sorted(pure_text.UTC_ZONES) + _ZONES_NEAR)
def test_the_kernels_utc_zones_are_the_normalizers(zone: str) -> None:
    """The compiled kernel spells the UTC zones out by length (``_utc_zone``); the twin and
    ``from_iso_parts`` share ``UTC_ZONES``. Each zone, and near misses, right after the
    time and after a space: both twins give the same answer as the general rules, and
    every UTC zone is taken in at least one spelling (an edit to one list fails here)."""
    taken = []
    for joint in ("", " "):
        prefix = f"2026-01-02T10:00:00{joint}{zone}"  # no fraction: not Rust's layout
        parser = _primed(prefix + " INFO warm-up")
        taken.append(_check(parser, prefix + " ERROR Enqueued task job_id=j-1 n=2"))
    assert any(taken) == (zone in pure_text.UTC_ZONES), zone


def test_corpus_golden_and_bench_lines_agree(tmp_path: Path) -> None:
    """Every text line of the public corpus, the golden files and 3,000 bench lines, each
    at its own second: the twins agree with each other and with the general rules, and
    they take the bench's ISO layouts (the kernel is not declining everything)."""
    lines = _corpus_lines(tmp_path)
    assert len(lines) > enough_lines(1000, 100), "the corpus or golden files were not found"
    taken = Counter(_check(_primed(line), line) for line in lines)
    assert taken[True] > enough_lines(700, 10), taken


@pytest.mark.parametrize("line", [
    "2025-07-06 10:30:00,010 - app.storage.s3 - INFO - Worker heartbeat for job_id=j-1 "
    "(attempt 3/5, queue=bulk-import, pending=47259)",
    '2025-07-06T10:30:00.005Z\tINFO\tscheduler/loop.go:88\tRetrying request\t'
    '{"job_id":"j-1","records":4298,"correlation_id":"c-1"}',
    "2025-07-06T10:30:00Z ERROR Enqueued task job_id=j-1 batch_size=1915 worker=23",
    "2025-07-06T10:30:00Z INFO GET /api/v1/jobs/job-0e66 200 12.2ms",
    "2025-07-06T10:30:00Z WARN POST /x 404 k=v",
    "2025-07-06T10:30:00.005Z\tINFO\tapi/jobs.go:57\tGET /health 200",
    "2025-07-06T10:30:00Z GET /health 200",
])
def test_the_bench_layouts_take_the_kernel(line: str) -> None:
    """Python logging, zap's console, ``ISO LEVEL msg k=v`` and bare requests
    (``ISO LEVEL GET /path 200``) are read in one call."""
    assert _check(_primed(line), line)


def test_another_second_goes_the_general_way() -> None:
    """A line of a second the normalizer has not validated is left to ``from_iso_parts``
    (it checks the calendar and the range, then remembers the second)."""
    parser = _primed("2025-07-06T10:30:00Z INFO a")
    assert not _check(parser, "2025-07-06T10:30:01Z INFO a")
    assert not _check(parser, "2025-02-30T10:30:00Z INFO a")  # impossible: never taken
    assert not _check(_parser(), "2025-07-06T10:30:00Z INFO a")  # nothing validated yet


@pytest.mark.parametrize(("rest", "taken"), [
    (" GET /health 200", True), ("   plain words k=v", True), (" GET", True),
    (" GET  /x 200", True), (" worker\tbusy now", True),
    (" GET INFO x", False), (" GET [INFO] x", False), (" GET warn: x", False),
    (" [GET] /x", False), (" GET: /x", False), (" (x) y", False), (" x <y>", False),
    (" app.db ERROR boom", False), (" GET /x:", False), ("", False), (" ", False),
    (' GET "/x" k=v', False),
])
def test_a_rest_without_a_level_word_is_the_message(rest: str, taken: bool) -> None:
    """``ISO word ...`` where neither of the first two words can be a level word
    (``level_word`` strips ``[]()<>:`` before it looks up): the whole rest is the
    message, level ``info`` (``TextParser._body``), read by both twins; a word that may
    be a level, or a quote for the general pairs, goes the general way."""
    line = "2025-07-06T10:30:00Z" + rest
    assert _check(_primed(line), line) is taken, line
