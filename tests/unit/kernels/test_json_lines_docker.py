"""Docker json-file lines through the ``JsonLines`` kernel (``wrapped_text``: the inner
line the unwrapper decoded to text) give exactly what the reference gives, compiled and
pure.

The reference is ``FileParser._line`` for every inner line (``_decoded`` ->
``LineParser.json`` -> ``JsonLineParser.parse`` -> ``_complete``, or the text rules).
Generated docker lines mix inner JSON objects of every shape with odd and text lines,
stdout and stderr (and a missing or non-string stream), whole lines and partial pieces
without the trailing ``\\n``, possible, impossible, empty, missing and non-string
``time`` values, Go's ``\\u003c`` escapes, control characters and non-ASCII text. Records
(fields, order, ``raw``, ``before``), what is held and the counts must match.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from shipper.record import Record
from tests.unit.kernels.test_json_lines import (
    _ODD,
    KERNELS,
    NOW,
    SETTINGS,
    Lines,
    _chunked,
    _object_lines,
)

PATH = "/var/lib/docker/containers/0123abcd/0123abcd-json.log"
_TIMES: list[Any] = ["2026-01-02T10:00:00.123456789Z", "2026-01-02T10:00:01Z",
                     "2026-01-02T11:00:01.5+01:00", "2026-13-45T00:00:00Z", "", "soon",
                     1767348000, None, "missing"]
_STREAMS: list[Any] = ["stdout", "stderr", None, 2, "missing"]
_INNER_ODD = [line.decode("utf-8", "replace") for line in _ODD] + [
    '{"level":"info","msg":"caf\u00e9 \u2603 \U0001f680","who":"<b>&amp;</b>"}',
    '{"level":"info","msg":"tab\there","path":"C:\\\\x"}', '{"msg":"cr\rinside"}',
    '{"level":"info","msg":"nul\x00inside"}', "\x1b[32mINFO\x1b[0m colour", "  indented",
    "2026-01-02 10:00:00,123 - app - INFO - text after JSON", '{"level":"info"', "{",
    '{"level":"info","msg":"x"} trailing', "\u00e9t\u00e9 2026 INFO plain non-ASCII"]


def _docker_line(inner: str, stream: Any, stamp: Any, whole: bool, go_escapes: bool) -> bytes:
    """One docker json-file line around ``inner`` (``"missing"``: the key left out)."""
    obj: dict[str, Any] = {"log": inner + "\n" if whole else inner}
    if stream != "missing":
        obj["stream"] = stream
    if stamp != "missing":
        obj["time"] = stamp
    line = orjson.dumps(obj)
    if go_escapes:  # Go's encoder escapes these three for HTML
        line = line.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(
            b"&", b"\\u0026")
    return line


def _docker_run(kernel: Any, chunks: list[Lines], cut: frozenset[int],
                flush_every: int = 0, depth: int = 200) -> tuple[Any, Any, Any]:
    """Records, what stays held and counts of docker ``chunks``: through ``kernel``'s
    ``wrapped_text`` (``None``: every inner line through ``FileParser._line``)."""
    counts = ParseCounts()
    parser = FileParser(PATH, ParseSettings(max_json_depth=depth), counts, clock=lambda: NOW,
                        runtime_format="docker")
    if kernel is None:
        parser._on_line = parser._line
        parser._wrapped_batch = False
    else:
        parser._kernel = kernel.JsonLines(
            PATH, parser._joiner, parser._lines.json_parser, parser._text_line,
            parser._plain_line, parser._fallback_time, depth, parser.text_route())
    got: list[Record] = []
    for index, chunk in enumerate(chunks):
        got += parser.feed(chunk, cut)
        if flush_every and index % flush_every == flush_every - 1:
            got += parser.flush(force=True)
    held = (parser.pending, parser.pending_offset)
    got += parser.flush(force=True)
    assert all(type(record) is Record for record in got)
    return [(orjson.dumps(r), dict(r), r.raw, r.before) for r in got], held, counts.take()


def _agree(lines: list[bytes], size: int, flush_every: int = 0, depth: int = 200) -> list[Any]:
    chunks, offsets = _chunked(lines, size)
    cut = frozenset(offsets[::4])
    want = _docker_run(None, chunks, cut, flush_every, depth)
    for kernel in KERNELS:
        assert _docker_run(kernel, chunks, cut, flush_every, depth) == want, kernel.__name__
    return want[0]


_INNER = _object_lines().map(bytes.decode) | st.sampled_from(_INNER_ODD)


@SETTINGS
@given(st.lists(st.tuples(_INNER, st.sampled_from(_STREAMS), st.sampled_from(_TIMES),
                          st.booleans() | st.just(True), st.booleans()), max_size=25),
       st.integers(1, 6), st.integers(0, 3))
@example([('{"level":"info","msg":"no time of its own"}', "stderr", _TIMES[0], True, False),
          ('{"level":"info","msg":"impossible wrapper"}', "stdout", _TIMES[3], True, False),
          ('{"level":"info","msg":"<html> & co"}', "stdout", 5, True, True)], 1, 0)
@example([('{"level":"info",', "stdout", _TIMES[0], False, False),
          ('"msg":"joined from two pieces"}', "stdout", _TIMES[1], True, False),
          ('{"msg":"cr\rinside"}', "stderr", None, True, False)], 2, 1)
def test_docker_lines_agree_with_the_reference(
        parts: list[tuple[str, Any, Any, bool, bool]], size: int, flush_every: int) -> None:
    """Docker lines of every shape (see the module docstring), any chunking, flushes
    between chunks: compiled, pure and the reference make the same records, hold the same
    pieces and count the same."""
    _agree([_docker_line(*part) for part in parts], size, flush_every)


@SETTINGS
@given(st.lists(_object_lines().map(bytes.decode), min_size=1, max_size=6), st.integers(2, 6))
def test_docker_json_nested_around_a_small_depth_limit_agrees(inner: list[str],
                                                              depth: int) -> None:
    """With ``max_json_depth`` small, inner objects with more brackets than the limit
    (the kernel leaves them to the reference) and objects nested too deep (a record whose
    message is the raw line, ``json_too_deep`` counted) agree as well."""
    nested = ['{"level":"info","msg":"d","a":' + '{"b":' * n + "1" + "}" * n + "}"
              for n in range(depth + 3)]
    lines = [_docker_line(text, "stdout", _TIMES[0], True, False) for text in inner + nested]
    records = _agree(lines, size=3, depth=depth)
    assert any(fields["attributes"] == {"json_too_deep": True} for _, fields, _, _ in records)


def test_common_docker_json_lines_take_the_kernel_and_keep_their_wrapper() -> None:
    """A whole docker line holding a JSON object in the common shape is finished by the
    kernel (``_line`` is never called) with the stream, and the wrapper's time when the
    object has none of its own."""
    lines = [_docker_line('{"level":"warn","msg":"slow","ts":1751797800.5}', "stderr",
                          _TIMES[0], True, False),
             _docker_line('{"level":"info","msg":"no time"}', "stdout", _TIMES[1], True,
                          False)]
    for kernel in KERNELS:
        parser = FileParser(PATH, ParseSettings(), counts := ParseCounts(),
                            clock=lambda: NOW, runtime_format="docker")
        parser._kernel = kernel.JsonLines(
            PATH, parser._joiner, parser._lines.json_parser, parser._text_line,
            parser._plain_line, parser._fallback_time, 200, parser.text_route())
        parser._line = None  # type: ignore[assignment,method-assign]  # never reached
        first, second = parser.feed(list(zip((0, 90), lines, strict=True)))
        assert (first["stream"], first["timestamp"], first["level"]) == (
            "stderr", "2025-07-06T10:30:00.500Z", "warning"), kernel.__name__
        assert (second["stream"], second["timestamp"]) == (
            "stdout", "2026-01-02T10:00:01.000Z"), kernel.__name__
        assert first.raw == '{"level":"warn","msg":"slow","ts":1751797800.5}'
        assert counts.formats["json"] == 2


def test_docker_text_without_control_characters_is_taken_as_it_is() -> None:
    """``_decoded`` gives docker's text back as it is unless it holds NUL, ESC or CR,
    which ``_clean`` handles (and counts) as for bytes."""
    parser = FileParser(PATH, ParseSettings(), counts := ParseCounts(), clock=lambda: NOW,
                        runtime_format="docker")
    text = "caf\u00e9 \u2603 INFO plain"
    assert parser._decoded(text) is text
    assert parser._decoded("a\x00b\x1b[1mc\r") == parser._clean("a\x00b\x1b[1mc\r") == "abc"
    assert counts.errors["nul_bytes"] == 2
