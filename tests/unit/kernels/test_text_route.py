"""The ``JsonLines`` kernel's text lines (``_text``, ``wrapped_lines``) give exactly what
the per-line reference gives, compiled and pure.

The references are ``FileParser._line`` for a plain file's line and ``_wrapped_line`` for
each inner line of a CRI-wrapped file. Both kernels are run side by side in one process on
text layouts (held ``text`` records, access lines complete on their line, blank lines,
tracebacks, Go panics, PostgreSQL lines and their ``DETAIL``, key blocks, Java frames)
between JSON object lines, whole and partial CRI pieces, in chunks of any size, with or
without flushes; and on the public corpus, the golden files and bench lines. Records
(fields, order, ``raw``, ``before``), what stays held and the counts (for a wrapped file
with the order of their keys) must match. The compiled half is skipped where it is not built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_json
from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from shipper.record import Record
from tests.unit.helpers import corpus_lines, enough_lines
from tests.unit.kernels.test_json_lines import _chunked

try:
    from shipper.kernels import _compiled
except ImportError:  # not built: the pure twin is still held to the reference
    _compiled = None  # type: ignore[assignment]

NOW = 1_767_000_000.0  # 2025-12-29T09:20:00Z
PATH = "/var/log/pods/ns_p_u/app/0.log"
KERNELS: list[Any] = [pure_json] + ([_compiled] if _compiled is not None else [])
SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
STAMPS = [b"2025-12-29T09:20:00.123456789Z", b"2025-12-29T09:20:01Z", b"2025-13-45T00:00:00Z"]

_TEXT = [b"2025-12-29T09:20:00Z INFO Enqueued task job_id=j-1 batch_size=3",
         b"2025-12-29T09:20:00Z ERROR Worker heartbeat worker=2 elapsed_ms=1.5",
         b"2025-12-29T09:20:01.005Z\tINFO\tscheduler/loop.go:88\tRetrying\t{\"records\":4}",
         b"2025-12-29 09:20:00,010 - app.s3 - INFO - Worker heartbeat (attempt 3/5)",
         b"2025-12-29T09:20:00Z INFO GET /api/v1/jobs/j-2 200 12.2ms",
         b'10.42.1.5 - - [29/Dec/2025:09:20:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "k"',
         b"INFO:     10.0.0.1:5000 - \"GET / HTTP/1.1\" 200 OK",
         b"2025-12-29 09:20:00.000 UTC [7] ERROR:  duplicate key value",
         b"2025-12-29 09:20:00.000 UTC [7] DETAIL:  Key (id)=(1) already exists.",
         b"Traceback (most recent call last):", b'  File "x.py", line 1, in <module>',
         b"ValueError: boom", b"panic: oh no", b"goroutine 1 [running]:",
         b"Exception in thread \"main\" java.lang.IllegalStateException: x",
         b"\tat com.x.Y.z(Y.java:1)", b"-----BEGIN RSA PRIVATE KEY-----",
         b"MIIBOgIBAAJBAKj34GkxFhD9", b"-----END RSA PRIVATE KEY-----",
         b"2025-12-29T09:20:00Z INFO key -----BEGIN RSA PRIVATE KEY-----", b"", b"   ",
         b"plain words", b"level=info msg=ok", b"time=2025-12-29T09:20:00Z level=INFO msg=x",
         b'{"level":"info","msg":"json between"}', b"{broken", b"2025-12-29T09:20:00Z I\r",
         "2025-12-29T09:20:00Z INFO caf\u00e9".encode(), b"2025-12-29T09:20:00Z INFO \xff"]


def _parser(kernel: Any, counts: ParseCounts, runtime: str) -> FileParser:
    parser = FileParser(PATH, ParseSettings(), counts, clock=lambda: NOW,
                        runtime_format=runtime)  # type: ignore[arg-type]
    if kernel is None:  # the reference: every line (inner line) through the per-line step
        parser._wrapped_batch = False
    else:
        parser._kernel = kernel.JsonLines(
            PATH, parser._joiner, parser._lines.json_parser, parser._text_line,
            parser._plain_line, parser._fallback_time, 200, parser.text_route())
    return parser


def _run(kernel: Any, chunks: list[list[tuple[int, bytes]]], cut: frozenset[int],
         runtime: str, flush_every: int) -> tuple[Any, ...]:
    """Records, what stays held, and the counts with their keys' order."""
    counts = ParseCounts()
    parser = _parser(kernel, counts, runtime)
    got: list[Record] = []
    for index, chunk in enumerate(chunks):
        if kernel is None and runtime == "plain":
            for offset, raw in chunk:
                parser._line(offset, raw, None, None, cut, got)
        else:
            got += parser.feed(chunk, cut)
        if flush_every and index % flush_every == flush_every - 1:
            got += parser.flush(force=True)
    held = (parser.pending, parser.pending_offset)
    got += parser.flush(force=True)
    # the order of the keys: a wrapped file's reference counts each line as it goes (the
    # plain file's loop has always added its JSON lines once a chunk)
    order = (list(counts.formats), list(counts.errors)) if runtime == "cri" else None
    return ([(orjson.dumps(r), dict(r), r.raw, r.before) for r in got], held, order,
            counts.take())


def _agree(lines: list[bytes], size: int, runtime: str, flush_every: int = 0) -> None:
    chunks, offsets = _chunked(lines, size)
    cut = frozenset(offsets[::5])
    want = _run(None, chunks, cut, runtime, flush_every)
    for kernel in KERNELS:
        assert _run(kernel, chunks, cut, runtime, flush_every) == want, kernel.__name__


@SETTINGS
@given(st.lists(st.sampled_from(_TEXT), max_size=30), st.integers(1, 9), st.integers(0, 3))
def test_text_lines_of_a_plain_file_agree_with_the_reference(
        lines: list[bytes], size: int, flush_every: int) -> None:
    """Text layouts of every kind between JSON lines, any chunking, with or without
    flushes: the kernels' records, held state and counts are the reference's."""
    _agree(lines, size, "plain", flush_every)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(_TEXT), st.sampled_from([b"stdout", b"stderr"]),
                          st.sampled_from([b"F", b"F", b"P"]), st.sampled_from(STAMPS)),
                max_size=30), st.integers(1, 9), st.integers(0, 3))
def test_cri_wrapped_text_lines_agree_with_the_reference(
        parts: list[tuple[bytes, bytes, bytes, bytes]], size: int, flush_every: int) -> None:
    """The same text layouts CRI-wrapped, whole and partial, stdout and stderr, possible
    and impossible wrapper times: ``wrapped_lines`` gives what ``_wrapped_line`` gives
    line after line."""
    lines = [b" ".join((stamp, stream, tag, body)) for body, stream, tag, stamp in parts]
    _agree(lines, size, "cri", flush_every)


def test_corpus_golden_and_bench_lines_agree_plain_and_wrapped(tmp_path: Path) -> None:
    """Every line of the public corpus, the golden files and 3,000 bench lines, plain and
    CRI-wrapped, in chunks of 7 and 500: both kernels make what the reference makes."""
    lines = corpus_lines(tmp_path)
    assert len(lines) > enough_lines(3000, 400), "the corpus or golden files were not found"
    wrapped = [STAMPS[0] + b" stdout F " + line for line in lines]
    for size in (7, 500):
        _agree(lines, size, "plain")
        _agree(wrapped, size, "cri")


def test_common_text_lines_never_reach_the_python_step() -> None:
    """A held ``text`` line of the last good second and an access line are finished by
    the kernel (``text_line`` is never called), plain and CRI-wrapped, and counted."""
    lines = [b"2025-12-29T09:20:00Z INFO first line of the second",
             b"2025-12-29T09:20:00Z INFO Enqueued task job_id=j-1",
             b'10.42.1.5 - - [29/Dec/2025:09:20:00 +0000] "GET /h HTTP/1.1" 200 2 "-" "k"',
             b"2025-12-29T09:20:00Z WARN slow worker=2"]
    for kernel in KERNELS:
        for runtime, prefix in (("plain", b""), ("cri", STAMPS[0] + b" stderr F ")):
            counts = ParseCounts()
            parser = _parser(kernel, counts, runtime)
            parser.feed([(0, prefix + lines[0])])  # sets the normalizer's good second

            def never(*_: Any) -> None:
                raise AssertionError("the Python step was called")

            parser._kernel = kernel.JsonLines(
                PATH, parser._joiner, parser._lines.json_parser, never, never,
                parser._fallback_time, 200, parser.text_route()._replace(wrapped_line=never))
            records = parser.feed([(90 * i, prefix + line) for i, line in
                                   enumerate(lines[1:], 1)])
            records += parser.flush(force=True)
            assert [r.raw for r in records] == [
                line.decode() for line in lines], (kernel.__name__, runtime)
            assert counts.formats == {"text": 3, "access": 1}, (kernel.__name__, runtime)


_SECONDS = [b"2025-12-29T09:20:00Z INFO a k=v", b"2025-12-29T09:20:01Z INFO b",
            b"2025-12-29T09:20:01.5Z GET /health 200", b"2025-12-29T09:20:02+01:00 WARN zoned",
            b"2025-12-29 09:20:03 INFO no zone", b"2025-02-30T09:20:04Z INFO impossible",
            b"2025-12-29T24:00:00Z INFO end of day", b"2025-12-31T23:59:60.25Z INFO leap",
            b"2099-01-01T00:00:00Z INFO future", b"2025-12-29T09:20:05.005Z\tINFO\tx.go:1\tz",
            b"2025-12-29T09:20:00Z INFO back", b"2025-12-29T09:20:06Z plain [x] y",
            b"2025-12-29T09:20:07Z bad tz=1 x", b"2025-12-29T09:20:08-05:00 GET /x 200",
            b'{"level":"info","msg":"j","time":"2025-12-29T09:20:09Z"}']


@SETTINGS
@given(st.lists(st.sampled_from(_SECONDS), max_size=20), st.integers(1, 9))
def test_lines_of_other_seconds_agree_with_the_reference(lines: list[bytes], size: int) -> None:
    """Lines of seconds the normalizer has not validated yet (new, zoned, impossible,
    24:00, leap, ahead of the clock, back to an earlier one), the first of a file among
    them: the kernels' records, held state and counts are the reference's."""
    _agree(lines, size, "plain")


def _stamps_after(kernel: Any, lines: list[bytes]) -> dict[str, Any]:
    parser = _parser(kernel, ParseCounts(), "plain")
    if kernel is None:
        for offset, raw in enumerate(lines):
            parser._line(offset, raw, None, None, frozenset(), [])
    else:
        parser.feed(list(enumerate(lines)))
    stamps = parser._stamps  # its state, slot by slot
    return {k: getattr(stamps, k) for k in type(stamps).__slots__ if k != "_clock"}


def test_the_normalizer_moves_as_the_reference_moves_it() -> None:
    """After lines of new, zoned and impossible seconds, the timestamp normalizer's state
    (last good second, remembered stamps) is the one the reference leaves."""
    want = _stamps_after(None, _SECONDS)
    assert want["good_second"] == "2025-12-29T09:20:09"
    for kernel in KERNELS:
        assert _stamps_after(kernel, _SECONDS) == want, kernel.__name__


@pytest.mark.skipif(_compiled is None, reason="the compiled kernel is not built")
def test_first_lines_of_a_second_and_bare_requests_skip_the_text_parser() -> None:
    """The compiled kernel reads the first line of a file and of each new second (its
    time from ``from_iso_parts``) and ``ISO GET /path 200`` itself: the route's general
    ``parse`` is never called, and the records are the reference's."""
    lines = [b"2025-12-29T09:20:00Z INFO first of the file",
             b"2025-12-29T09:20:01,5 ERROR first of a second k=v",
             b"2025-12-29T09:20:02+01:00 WARN zoned",
             b"2025-02-30T09:20:04Z INFO impossible",
             b"2025-12-29T09:20:05.005Z\tINFO\tx.go:1\tzap",
             b"2025-12-29T09:20:05Z GET /health 200"]
    counts = ParseCounts()
    parser = _parser(None, counts, "plain")

    def never(*_: Any) -> None:
        raise AssertionError("the text parser was called")

    parser._kernel = _compiled.JsonLines(
        PATH, parser._joiner, parser._lines.json_parser, parser._text_line,
        parser._plain_line, parser._fallback_time, 200, parser.text_route()._replace(parse=never))
    got = parser.feed(list(enumerate(lines))) + parser.flush(force=True)
    want = _run(None, [list(enumerate(lines))], frozenset(), "plain", 0)[0]
    assert [(orjson.dumps(r), dict(r), r.raw, r.before) for r in got] == want
    assert got[3]["attributes"]["invalid_timestamp"] == "2025-02-30T09:20:04Z"


@pytest.mark.skipif(_compiled is None, reason="the compiled kernel is not built")
def test_block_initials_not_single_ascii_characters_are_read_as_a_set() -> None:
    """The compiled kernel reads the route's block initials as ASCII bits (KERNEL_API
    108); a set with an entry that is not one ASCII character (never a line's first
    character) falls back to ``text[:1] in block_initials``: both read every text layout
    (block lines, their near-misses: ``2`` without ``:  ``, non-ASCII firsts) alike."""
    lines = _TEXT + [b"2025-12-29 09:20:00.000 UTC [7] LOG: one space",
                     "\u00e9t\u00e9 2025".encode(), b"pan", b"T", b"t", b"f", b"E", b"2"]
    chunks, offsets = _chunked(lines * 3, 4)
    cut = frozenset(offsets[::5])

    def run(initials: frozenset[str]) -> tuple[Any, ...]:
        counts = ParseCounts()
        parser = FileParser(PATH, ParseSettings(), counts, clock=lambda: NOW,
                            runtime_format="plain")  # type: ignore[arg-type]
        route = parser.text_route()._replace(block_initials=initials)
        parser._kernel = _compiled.JsonLines(
            PATH, parser._joiner, parser._lines.json_parser, parser._text_line,
            parser._plain_line, parser._fallback_time, 200, route)
        got: list[Record] = []
        for chunk in chunks:
            got += parser.feed(chunk, cut)
        got += parser.flush(force=True)
        return [(orjson.dumps(r), r.raw) for r in got], counts.take()

    initials = frozenset("TpfEt2")  # multiline.BLOCK_INITIALS
    assert run(initials) == run(initials | {"zz", "\u00e9\u00e9"})
    assert run(initials) != run(frozenset("TpfEt")), "the set is read: no 2 blocks"
