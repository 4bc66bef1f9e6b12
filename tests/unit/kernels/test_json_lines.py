"""The ``JsonLines`` kernel (a plain file's chunk -> records, the JSON object line mapped
inline) gives exactly what the per-line reference gives, compiled and pure.

The reference is ``FileParser._line`` for every line (``_decoded`` -> ``LineParser.json``
-> ``JsonLineParser.parse`` -> ``_complete``). Both kernels are run side by side in one
process (whatever ``SHIPPER_PURE`` says), on generated objects that mix the common shape
with every way out of it (levels that are not words, non-string messages, slog
``source``, ``logger_name``/``name``/winston ``label``, impossible and odd times, bare
requests and near misses), on odd lines around them, and on the public corpus, the
golden files and bench lines. Records (fields, order, ``raw``, ``before``), what stays
pending and the counts must match. The compiled half is skipped where it is not built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_json
from shipper.parse import FileParser, ParseCounts
from shipper.parse.access import _BARE
from shipper.parse.settings import ParseSettings
from shipper.record import Record
from tests.unit.helpers import corpus_lines, enough_lines

try:
    from shipper.kernels import _compiled
except ImportError:  # not built: the pure twin is still held to the reference
    _compiled = None  # type: ignore[assignment]

NOW = 1_767_000_000.0
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
KERNELS: list[Any] = [pure_json] + ([_compiled] if _compiled is not None else [])

Lines = list[tuple[int, bytes]]


def _parser(kernel: Any, counts: ParseCounts, depth: int) -> FileParser:
    """A plain file's parser whose chunk loop is ``kernel``'s ``JsonLines`` (``None``:
    the per-line reference)."""
    parser = FileParser("/var/log/app/app.log", ParseSettings(max_json_depth=depth), counts,
                        clock=lambda: NOW, runtime_format="plain")
    if kernel is not None:
        parser._kernel = kernel.JsonLines(
            "/var/log/app/app.log", parser._joiner, parser._lines.json_parser,
            parser._text_line, parser._plain_line, parser._fallback_time, depth,
            parser.text_route())
    return parser


def _run(kernel: Any, chunks: list[Lines], cut: frozenset[int], depth: int,
         flush_every: int) -> tuple[list[Any], Any, Any]:
    """Records (with ``raw`` and ``before``), pending state and counts of ``chunks``."""
    counts = ParseCounts()
    parser = _parser(kernel, counts, depth)
    got: list[Record] = []
    for index, chunk in enumerate(chunks):
        if kernel is None:
            for offset, raw in chunk:
                parser._line(offset, raw, None, None, cut, got)
        else:
            got += parser.feed(chunk, cut)
        if flush_every and index % flush_every == flush_every - 1:
            got += parser.flush(force=True)
    pending = (parser.pending, parser.pending_offset)
    got += parser.flush(force=True)
    assert all(type(record) is Record for record in got)
    return ([(orjson.dumps(r), dict(r), r.raw, r.before) for r in got], pending,
            counts.take())


def _chunked(lines: list[bytes], size: int) -> tuple[list[Lines], list[int]]:
    """``lines`` as ``(offset, line)`` chunks of ``size``, and every line's offset."""
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    pairs = list(zip(offsets, lines, strict=False))
    return [pairs[start:start + size] for start in range(0, len(pairs), size)], offsets


def _agree(lines: list[bytes], size: int = 7, depth: int = 200, flush_every: int = 0) -> None:
    """Both kernels and the reference, the same lines in chunks of ``size`` (every fifth
    line marked as cut at ``max_line_bytes``): the same results."""
    chunks, offsets = _chunked(lines, size)
    cut = frozenset(offsets[::5])
    want = _run(None, chunks, cut, depth, flush_every)
    for kernel in KERNELS:
        assert _run(kernel, chunks, cut, depth, flush_every) == want, kernel.__name__


_WORDS = st.sampled_from(["info", "INFO", "Warn", "error", "debug", "trace", "fatal",
                          "bogus", "INFO+2", "http", "silly", ""])
_MESSAGES = st.sampled_from(["GET /api/v1/jobs 200", "POST /x 503 12ms", "OPTIONS / 204",
                             "GETTING /x 200", "GET  /x", "HEAD /", "GET /", "Db committed",
                             "Connection refused", "Task failed", "", "G", "CONNECT", "ok"])
_TIMES = st.sampled_from(["2025-07-06T10:30:00.002908Z", "2025-07-06T10:30:00.002Z",
                          "2025-07-06 10:30:00", "2025-13-45T00:00:00Z", "1751797800",
                          "06/Jul/2025:10:30:00 +0000", "not a time", "", "2099-01-01T00:00:00Z"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 2**40),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6))
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "level": st.one_of(_WORDS, st.integers(0, 70), _SCALARS),
    "severity": st.one_of(_WORDS, _SCALARS),
    "msg": st.one_of(_MESSAGES, _SCALARS),
    "message": st.one_of(_MESSAGES, _SCALARS),
    "event": st.one_of(_MESSAGES, _SCALARS),
    "log": st.one_of(_MESSAGES, _SCALARS),
    "ts": st.one_of(st.floats(1.6e9, 1.8e9), st.integers(0, 2 * 10**18), _TIMES, _SCALARS),
    "timestamp": st.one_of(_TIMES, _SCALARS),
    "time": st.one_of(_TIMES, st.integers(1_600_000_000_000, 1_800_000_000_000), _SCALARS),
    "@timestamp": st.one_of(_TIMES, st.lists(st.integers(-(2**63), 2**63 - 1), max_size=2)),
    "logger": st.one_of(st.sampled_from(["app.db", "x"]), _SCALARS),
    "logger_name": st.one_of(st.just("svc"), _SCALARS),
    "name": st.sampled_from(["worker", "has space", "", 3]),
    "label": st.sampled_from(["api", "", 7]),
    "source": st.one_of(st.just({"function": "main.run", "file": "main.go", "line": 12}),
                        _SCALARS),
    "hostname": st.just("pod-1"), "pid": st.just(7), "v": st.sampled_from([0, 1, 2]),
    "err": st.just({"message": "boom", "stack": "Error: boom\n  at x"}),
    "status": st.sampled_from(["failed", "ok", 503, 200]),
    "method": st.just("GET"), "caller": st.just("a.go:1"),
    "tags": st.lists(st.text(max_size=3), max_size=3),
    "nested": st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=2)
                           | st.dictionaries(st.text(max_size=2), inner, max_size=2),
                           max_leaves=6),
}


@st.composite
def _object_lines(draw: st.DrawFn) -> bytes:
    """Any mix of keys; half of them start in the common shape the compiled kernel maps
    inline (a level word and a string message), so the other keys test its way out."""
    obj: dict[str, Any] = {}
    if draw(st.booleans()):
        obj["level"] = draw(st.sampled_from(["info", "warning", "error", "debug", "INFO"]))
        obj[draw(st.sampled_from(["msg", "message"]))] = draw(_MESSAGES)
    keys = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, max_size=9))
    obj.update((key, draw(_VALUES[key])) for key in keys if key not in obj)
    return orjson.dumps(obj)


_ODD = [b'{broken', b'[1, 2]', b'{"a":1}\r', b'{"level":"info","msg":\x1b[0m"x"}',
        b'{"msg":"\xff"}', b'\x00{"msg":"n"}', b"2026-01-02T10:00:00Z INFO hello a=1",
        b"Traceback (most recent call last):", b'  File "x.py", line 1, in <module>',
        b"-----BEGIN RSA PRIVATE KEY-----", b"MIIBOgIBAAJBAKj34GkxFhD9",
        b"-----END RSA PRIVATE KEY-----", b"", b"plain words", b"{}", b"{ }",
        b'{"level":"info","msg":"' + b"x" * 300 + b'"}',
        b'{"level":"info","msg":"ok","a":' + b"[" * 6 + b"]" * 6 + b"}",
        '{"level":"info","msg":"caf\u00e9 \u2603"}'.encode()]


@SETTINGS
@given(st.lists(_object_lines() | st.sampled_from(_ODD), max_size=30), st.integers(1, 9),
       st.integers(0, 3))
@example([b'{"level":"info","msg":"GET /x 200","ts":1751797800.5}'], 1, 0)
@example([b"plain words", b'{"level":"info","msg":"after a held text line"}'], 2, 0)
@example([b'{"level":"info","message":"m","label":"api"}',  # winston's label: the logger
          b'{"level":"info","msg":"m","label":"api"}'], 2, 0)
def test_generated_objects_agree_with_the_reference(lines: list[bytes], size: int,
                                                    flush_every: int) -> None:
    """Objects of every shape around odd lines, any chunking, flushes between chunks:
    compiled, pure and the per-line reference make the same records, hold the same and
    count the same."""
    _agree(lines, size, flush_every=flush_every)


@SETTINGS
@given(st.lists(_object_lines(), min_size=1, max_size=8), st.integers(2, 6))
def test_nesting_around_a_small_depth_limit_agrees(lines: list[bytes], depth: int) -> None:
    """With ``max_json_depth`` small, lines that count more brackets than the limit (the
    kernel leaves those to the reference) and lines nested too deep agree as well."""
    nested = [b'{"level":"info","msg":"d","a":' + b'{"b":' * n + b"1" + b"}" * n + b"}"
              for n in range(depth + 3)]
    _agree(lines + nested + [b'{"level":"warn","msg":"w","l":[[1],[2],[3],[4],[5],[6]]}'],
           size=3, depth=depth)


def test_bare_request_and_near_misses_agree() -> None:
    """A message ``METHOD /path status`` adds method/path/status (not over a ``method``
    of the line's own); near misses (no path, a longer word, two spaces) add nothing."""
    messages = ["GET /api/v1/jobs 200", "OPTIONS /x 204", "CONNECT /y 200", "GETTING /x 200",
                "GET  /x 200", "GET x 200", "G", "", "HEAD /", "DELETE /z 500 3ms"]
    lines = [orjson.dumps({"level": "info", "msg": m}) for m in messages]
    lines.append(orjson.dumps({"level": "info", "msg": "GET /a 200", "method": "PUT"}))
    _agree(lines, size=4)
    records = _run(KERNELS[-1], [[(0, lines[0])]], frozenset(), 200, 0)[0]
    assert records[0][1]["attributes"] == {"method": "GET", "path": "/api/v1/jobs",
                                           "status": 200}


def test_kernel_records_carry_raw_and_no_dedupe_summaries() -> None:
    """A record the kernel builds has ``raw`` (the line's text) and ``before is None``,
    the slots ``Record.__init__`` sets, and the fields in the reference's order."""
    # the compiled kernel makes records without ``Record.__init__`` and sets these two
    # slots itself: a new slot must be set there too
    assert Record.__slots__ == ("raw", "before")
    line = '{"ts":1751797800.25,"level":"info","msg":"caf\u00e9","logger":"a","k":1}'
    for kernel in KERNELS:
        parser = _parser(kernel, ParseCounts(), 200)
        [record] = parser.feed([(9, line.encode())])
        assert record.raw == line and record.before is None, kernel.__name__
        assert list(record) == ["timestamp", "level", "message", "attributes", "logger",
                                "file"]
        assert record["file"] == {"path": "/var/log/app/app.log", "offset": 9}
        assert record["timestamp"] == "2025-07-06T10:30:00.250Z"


def test_impossible_time_is_kept_and_counted_once() -> None:
    """An impossible time stays in the attributes, the read time stands in and
    ``bad_timestamp`` counts it, as in the reference."""
    lines = [b'{"level":"info","msg":"m","timestamp":"2025-13-45T00:00:00Z"}',
             b'{"level":"info","msg":"m","ts":true,"time":"2025-07-06T10:30:00Z"}']
    _agree(lines, size=2)
    parser = _parser(KERNELS[-1], counts := ParseCounts(), 200)
    records = parser.feed([(0, lines[0]), (70, lines[1])])
    assert records[0]["attributes"] == {"timestamp": "2025-13-45T00:00:00Z"}
    assert records[1]["timestamp"] == "2025-07-06T10:30:00.000Z"
    assert records[1]["attributes"] == {"ts": True}
    assert counts.errors["bad_timestamp"] == 1


def test_corpus_golden_and_bench_lines_agree(tmp_path: Path) -> None:
    """Every line of the public corpus, the golden files and 3,000 bench lines, in
    chunks of 7 and 500: both kernels make what the reference makes."""
    lines = corpus_lines(tmp_path)
    assert len(lines) > enough_lines(3000, 400), "the corpus or golden files were not found"
    _agree(lines)
    _agree(lines, size=500)


def _cri_run(kernel: Any, chunks: list[Lines], cut: frozenset[int],
             flush_every: int = 0) -> tuple[Any, Any]:
    """Records and counts of CRI-wrapped ``chunks``: through ``kernel``'s ``wrapped``
    (``None``: every line through ``FileParser._line``, the reference)."""
    counts = ParseCounts()
    parser = FileParser("/var/log/pods/ns_p_u/app/0.log", ParseSettings(), counts,
                        clock=lambda: NOW, runtime_format="cri")
    if kernel is None:
        parser._on_line = parser._line
        parser._wrapped_batch = False
    else:
        parser._kernel = kernel.JsonLines(
            "/var/log/pods/ns_p_u/app/0.log", parser._joiner, parser._lines.json_parser,
            parser._text_line, parser._plain_line, parser._fallback_time, 200,
            parser.text_route())
    got: list[Record] = []
    for index, chunk in enumerate(chunks):
        got += parser.feed(chunk, cut)
        if flush_every and index % flush_every == flush_every - 1:
            got += parser.flush(force=True)
    got += parser.flush(force=True)
    return [(orjson.dumps(r), dict(r), r.raw, r.before) for r in got], counts.take()


_WRAPPER_TIMES = [b"2026-01-02T10:00:00.123456789Z", b"2026-01-02T10:00:01Z",
                  b"2026-13-45T00:00:00Z"]


@SETTINGS
@given(st.lists(st.tuples(_object_lines() | st.sampled_from(_ODD),
                          st.sampled_from([b"stdout", b"stderr"]),
                          st.sampled_from([b"F", b"P"]), st.sampled_from(_WRAPPER_TIMES)),
                max_size=25), st.integers(1, 6))
@example([(b'{"level":"info","msg":"no time of its own"}', b"stderr", b"F", _WRAPPER_TIMES[0]),
          (b'{"level":"info","msg":"impossible wrapper"}', b"stdout", b"F", _WRAPPER_TIMES[2])],
         1)
def test_cri_wrapped_objects_agree_with_the_reference(
        parts: list[tuple[bytes, bytes, bytes, bytes]], size: int) -> None:
    """CRI-wrapped lines of every shape, whole (``F``) and partial (``P``), stdout and
    stderr, possible and impossible wrapper times, any chunking: the kernel's ``wrapped``
    (compiled and pure) gives the records, stream, fallback time and counts that
    ``FileParser._line`` gives."""
    lines = [b" ".join((stamp, stream, tag, body)) for body, stream, tag, stamp in parts]
    chunks, offsets = _chunked(lines, size)
    cut = frozenset(offsets[::4])
    want = _cri_run(None, chunks, cut)
    for kernel in KERNELS:
        assert _cri_run(kernel, chunks, cut) == want, kernel.__name__


KEY_BLOCK = [b"-----BEGIN RSA PRIVATE KEY-----", b"MIIBOgIBAAJBAKj34GkxFhD9",
             b'{"level":"info","msg":"between"}', b"MIIBOgIBAAJBAKj34GkxFhD9",
             b"-----END RSA PRIVATE KEY-----"]


@pytest.mark.parametrize(("size", "flush_every"), [(2, 1), (10, 0)])
def test_a_json_line_ends_a_key_block_cut_by_a_flush(size: int, flush_every: int) -> None:
    """A private-key block cut by a flush (``dangling``) ends at the next JSON object
    line, plain and CRI-wrapped: the key line after it is a record of its own, not the
    block revived. The kernels reset ``dangling`` as the reference does."""
    want = _run(None, _chunked(KEY_BLOCK, size)[0], frozenset(), 200, flush_every)
    if flush_every:  # the scenario: the cut block does not swallow the later key line
        assert [fields["message"] for _, fields, _, _ in want[0]][1:3] == [
            "between", "MIIBOgIBAAJBAKj34GkxFhD9"]
    for kernel in KERNELS:
        got = _run(kernel, _chunked(KEY_BLOCK, size)[0], frozenset(), 200, flush_every)
        assert got == want, kernel.__name__
    wrapped = [b"2026-01-02T10:00:00.123456789Z stdout F " + line for line in KEY_BLOCK]
    want = _cri_run(None, _chunked(wrapped, size)[0], frozenset(), flush_every)
    for kernel in KERNELS:
        got = _cri_run(kernel, _chunked(wrapped, size)[0], frozenset(), flush_every)
        assert got == want, kernel.__name__


def test_every_bare_request_method_fits_the_kernels_quick_check() -> None:
    """The compiled kernel skips ``bare_request`` unless a space follows 3 to 7 letters
    (``_may_be_request``): every method ``bare_request`` knows must be that long."""
    methods = _BARE.pattern.split("(", 1)[1].split(")", 1)[0].split("|")
    assert methods and all(3 <= len(method) <= 7 and method.isalpha() for method in methods)
