"""The ``text_fields`` kernel (the fast path of ``partial_record``): the compiled and the
pure twin agree, and each gives exactly ``general_record``'s fields (keys in the same
order) or ``None`` for the messages only the general path reads."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_text
from shipper.parse.levels import TEXT_LEVELS
from shipper.parse.partial import general_record, partial_record
from shipper.parse.text import TextParser
from shipper.parse.timestamps import TimestampNormalizer

try:
    from shipper.kernels import _compiled as compiled
except ImportError:  # not built: the pure twin is still held to the general rules
    compiled = pure_text  # type: ignore[assignment]

SETTINGS = settings(max_examples=500, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
#: pieces that make pairs, near-pairs, white space of every kind str.split knows, quotes,
#: requests, markers and non-ASCII text
_PIECES = ["a", "job_id", "=", "x=1", "k=v=w", "@t=2", "-k=1", "9=1", "a.b/c-d@e=", " ",
           "  ", "\t", "\x1c", "\x0b", "\xa0", "\u2003", '"', 'q="a b"', "GET /health 200",
           "POST /x 201", "GET", "/", "Db", "\u2705 ok", "é=1", "k=é", "(attempt", "3/5,",
           "queue=bulk-import,", "pending=4)"]
_MESSAGES = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join) | st.text(
    max_size=40)
_LEVELS = st.sampled_from([None, "", "info", "error"])
_LOGGERS = st.sampled_from([None, "", "app.db"])
_STAMPS = st.sampled_from([None, "", "2026-01-02T10:00:00.000Z"])


def _both(stamp: str | None, level: str | None, message: str,
          logger: str | None) -> tuple[Any, Any]:
    return (compiled.text_fields(stamp, level, message, logger),
            pure_text.text_fields(stamp, level, message, logger))


@SETTINGS
@given(_STAMPS, _LEVELS, _MESSAGES, _LOGGERS)
@example(None, None, "Enqueued task job_id=j-1 batch_size=19 worker=2", "app")
@example(None, None, "a=1 b=2", None)  # every word a pair: the message becomes ""
@example(None, None, "x  a=1\tb=2 a=3 ", None)  # a repeated key: the last one wins
@example(None, None, "GET /health 200 a=1", None)  # a bare request, then pairs
@example(None, None, "GET /a 200 method=x", None)  # the pairs' method wins
@example(None, None, "k=" + "v" * 5000, None)  # longer than the pairs window
@example(None, None, "go " + " ".join(f"k{i % 37}=v{i}" for i in range(40)), None)  # more
# pairs than the kernel keeps from its scan back (it reads them again), a key repeated
@example(None, None, "m a=1 b=2 c=3 d=4 e=5 f=6 a=7", "x")  # past 5 pairs: presized
@example(None, None, "m " + "k" * 40 + "=1 " + "k" * 33 + "=2", None)  # keys too long
# for the word table
def test_twins_agree_and_match_the_general_record(stamp: str | None, level: str | None,
                                                  message: str, logger: str | None) -> None:
    """Same record from both twins, and it is ``general_record``'s, key order included
    (``None`` only where the general path must read the message)."""
    got_compiled, got_pure = _both(stamp, level, message, logger)
    assert got_compiled == got_pure
    if got_compiled is not None:
        general = general_record(stamp, level, message, logger)
        assert list(got_compiled.items()) == list(general.items())
        assert list(got_pure.items()) == list(general.items())
    assert partial_record(stamp, level, message, logger) == general_record(
        stamp, level, message, logger)


@pytest.mark.parametrize("message", [
    "Enqueued task job_id=job-8ee0 batch_size=1915 worker=23 elapsed_ms=3692.62",
    "Worker heartbeat for job_id=job-79 (attempt 3/5, queue=bulk-import, pending=47259)",
    "Retrying request",
    "User authenticated user_id=u-1 method=jwt",
])
def test_the_bench_messages_take_the_fast_path(message: str) -> None:
    """The common bench layouts are read by the kernel (not handed to the general path)."""
    for twin in (compiled.text_fields, pure_text.text_fields):
        assert twin("2025-07-06T10:30:00.000Z", "info", message, None) is not None


@pytest.mark.parametrize("message", [
    '\u2705 done a="b c"',  # a marker and quoted pairs
    'saved k="a b"',
    "caf\u00e9 k=1",
])
def test_messages_for_the_general_path_are_declined(message: str) -> None:
    """Markers, quotes and non-ASCII messages are left to ``general_record``."""
    for twin in (compiled.text_fields, pure_text.text_fields):
        assert twin(None, None, message, None) is None


@pytest.mark.parametrize(("message", "attributes"), [
    ("GET /health 200", {"method": "GET", "path": "/health", "status": 200}),
    ("GET /api/v1/jobs/job-0e66 200 12.2ms",
     {"method": "GET", "path": "/api/v1/jobs/job-0e66", "status": 200}),
    ("OPTIONS / 007 k=v", {"k": "v", "method": "OPTIONS", "path": "/", "status": 7}),
    ("DELETE /x 500.", {"method": "DELETE", "path": "/x", "status": 500}),
    ("GET /x 200 method=jwt", {"method": "jwt"}),  # the pairs' method is kept
    ("GET /x 2001", {}),  # no word boundary after the status
    ("GET /x 20_", {}),
    ("GET /x\x1c 200", {}),  # the path ends at any white space, the status needs " "
    ("GET /x  200", {}),
    ("GET x 200", {}),
    ("get /x 200", {}),
])
def test_bare_requests_are_read_by_the_kernel(message: str,
                                              attributes: dict[str, Any]) -> None:
    """A message opening ``METHOD /path STATUS`` is read by both twins (no longer handed
    to the general path) with ``general_record``'s request attributes, in its order."""
    for twin in (compiled.text_fields, pure_text.text_fields):
        got = twin(None, "info", message, None)
        assert got is not None
        assert list(got["attributes"].items()) == list(attributes.items())
        assert got == general_record(None, "info", message, None)


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
            "GE", "get", "POS"]
_REQUEST_TAILS = ["/", "/a", "/x/y?q=1", " ", "  ", "\t", "\x1c", "\x0b", "200", "404",
                  "2001", "20", "200x", "200_", "200.", "200-", "12.2ms", "a=1", "method=m",
                  "status=1", '"', "\u00e9", "\n"]
_REQUESTS = st.tuples(st.sampled_from(_METHODS), st.lists(st.sampled_from(_REQUEST_TAILS),
                                                          max_size=8)).map(
    lambda parts: parts[0] + " " + "".join(parts[1]))


@SETTINGS
@given(_STAMPS, _LEVELS, _REQUESTS, _LOGGERS)
def test_twins_agree_on_request_messages(stamp: str | None, level: str | None,
                                         message: str, logger: str | None) -> None:
    """Messages built around ``METHOD /path STATUS`` (near misses included): both twins
    give the same record, and it is ``general_record``'s, key order included."""
    got_compiled, got_pure = _both(stamp, level, message, logger)
    assert got_compiled == got_pure
    if got_compiled is not None:
        general = general_record(stamp, level, message, logger)
        assert list(got_compiled.items()) == list(general.items())
        assert list(got_compiled["attributes"].items()) == list(
            general["attributes"].items())


_REST_PIECES = [" ", "  ", "\t", "- ", " - ", "-", "|", "INFO", "ERROR", "warn", "Info",
                "[main]", "app.db", "app:x", "a@b", "a<b>$c", "\n", "\x1c", "msg", "a=1",
                "k=v", '"', "GET /x 200", "\u00e9", "[", "]", "LEVEL"]
_RESTS = st.lists(st.sampled_from(_REST_PIECES), max_size=14).map("".join) | st.text(
    max_size=30)


def _parser() -> TextParser:
    return TextParser(TimestampNormalizer(), Counter(), 64)


@SETTINGS
@given(_STAMPS, _RESTS)
@example("2026-01-02T10:00:00.000Z", " ERROR Enqueued task job_id=j-1 worker=2")
@example(None, " - app.storage.s3 - INFO - Worker heartbeat (attempt 3/5, queue=b, n=1)")
@example(None, "  - app - INFO - ")  # an empty message after the level
@example(None, " - app\n - INFO - x")  # _NAME's "$" takes a final newline: declined
@example(None, " INFO")  # a level and nothing after it
@example(None, " INFO [main] started")  # a thread: the general path
@example(None, " INFO app.db - started")  # a logger before " - ": the general path
def test_stamped_fields_twins_agree_and_match_the_generic_rules(stamp: str | None,
                                                                rest: str) -> None:
    """Both twins give the same record, and it is what ``_after_timestamp`` (the generic
    rules after a leading date-time) gives, key order included, or ``None``."""
    got_compiled = compiled.stamped_fields(stamp, rest, TEXT_LEVELS)
    got_pure = pure_text.stamped_fields(stamp, rest, TEXT_LEVELS)
    assert got_compiled == got_pure
    if got_compiled is not None:
        general = _parser()._after_timestamp(stamp, rest)
        assert list(got_compiled.items()) == list(general.items())


@pytest.mark.parametrize("rest", [
    " ERROR Enqueued task job_id=job-8ee0 batch_size=1915 worker=23 elapsed_ms=3692.62",
    " - app.storage.s3 - INFO - Worker heartbeat for job_id=job-79 (attempt 3/5, n=4)",
    " INFO User authenticated user_id=u-1 method=jwt",
])
def test_the_bench_layouts_take_the_stamped_fast_path(rest: str) -> None:
    """The bench's ``ISO LEVEL msg k=v`` and Python logging lines are read in one call."""
    for twin in (compiled.stamped_fields, pure_text.stamped_fields):
        assert twin("2025-07-06T10:30:00.000Z", rest, TEXT_LEVELS) is not None


def test_word_table_gives_each_key_its_own_text() -> None:
    """Thousands of distinct keys (and each again) through the kernel's bounded word table:
    every key comes back as written, whichever slot it met."""
    for round_ in range(2):
        for i in range(3000):
            key = f"key_{i * 7919 % 100003}"
            other = "z" + key[-3:]
            got = compiled.text_fields(None, None, f"m {key}=v{round_} {other}=w", None)
            assert got is not None
            assert list(got["attributes"].items()) == [(key, f"v{round_}"), (other, "w")]
