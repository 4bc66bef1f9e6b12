"""``probe_lines``: the compiled scanner finds exactly the lines its twin's regex
(``pure_noise.PROBE``) matches whole, with the same fields, on probe lines, their
mutations (every byte changed, dropped or doubled) and the bench corpus; in plain lines
and in a wrapped file's inner lines (bytes or ASCII text), never in a ``runtime.Inner``."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from shipper.kernels import pure_noise
from shipper.parse.runtime import Inner

try:
    from shipper.kernels import _compiled as compiled
except ImportError:  # not built: nothing to compare
    compiled = None  # type: ignore[assignment]

BENCH = Path("/tmp/perf/app.log")
KUBE = (b'10.42.133.50 - - [06/Jul/2025:10:30:00 +0000] "GET /health H'
        b'TTP/1.1" 200 2 "-" "kube-probe/1.29"')
UVICORN = b'INFO:     10.42.88.221:57661 - "GET /health HTTP/1.1" 200 OK'
STAMP = b"1.2.3.4 - - [28/Feb/2026:23:59:59 +0000] "
SHAPES = [
    KUBE, UVICORN,
    (b'1.2.3.4 - - [28/Feb/2026:23:59:59 +0000] "HEAD /a/b_c.d-e/ H'
     b'TTP/1.0" 299 - "-" "kube-probe/1"'),
    b'INFO:     1.2.3.4:1 - "HEAD / HTTP/1.0" 204 OK',
    STAMP + b'"GET /' + b"p" * 80 + b' HTTP/1.1" 200 123456789 "-" "kube-probe/1.2.3.4.5.6"',
    STAMP + b'"GET /' + b"p" * 81 + b' HTTP/1.1" 200 1 "-" "kube-probe/1"',
    STAMP + b'"GET / HTTP/1.1" 200 1234567890 "-" "kube-probe/1"',
    (b'1.2.3.4 - - [28/Feb/2026:23:59:59 +0000] "GET / HTTP/1.1" 20'
     b'0 1 "-" "kube-probe/1234567890123"'),
    b'1234.2.3.4 - - [28/Feb/2026:23:59:59 +0000] "GET / HTTP/1.1" 200 1 "-" "kube-probe/1"',
    b'INFO:     1.2.3.4:123456 - "GET / HTTP/1.1" 200 OK',
]
ALPHABET = b'0123456789./-: "[]+GETHADINFOKkubeprobOK_xZ\t\x00\xff'


def _mutations(line: bytes, rng: random.Random) -> list[bytes]:
    out = []
    for at in range(len(line)):
        out.append(line[:at] + bytes([rng.choice(ALPHABET)]) + line[at + 1:])
        out.append(line[:at] + line[at + 1:])
        out.append(line[:at] + line[at:at + 1] * 2 + line[at + 1:])
    return out


@pytest.mark.skipif(compiled is None, reason="the extension is not built")
@pytest.mark.parametrize("seed", range(3))
def test_compiled_probe_lines_match_the_regex_twin_on_mutations(seed: int) -> None:
    rng = random.Random(seed)
    lines: list[object] = []
    for shape in SHAPES:
        lines += [(i, raw) for i, raw in enumerate(_mutations(shape, rng))]
    lines += [(0, "not bytes"), (1,), [2, KUBE], (3, KUBE, 4), (4, KUBE, "stdout")]
    for shape in SHAPES:  # inner lines: CRI bytes, docker text (ASCII or not), pushed ones
        lines += [(5, shape, "stderr", None), (6, shape.decode("latin-1"), None, "t"),
                  (7, shape.decode("latin-1") + "\u00e9", None, None), Inner(8, shape, None, None)]
    expected = pure_noise.probe_lines(lines)
    assert compiled.probe_lines(lines) == expected
    assert len(expected) > 3 * len(SHAPES)  # digits changed for digits, paths for paths...


@pytest.mark.parametrize("scan", [pure_noise.probe_lines] + (
    [compiled.probe_lines] if compiled is not None else []))
def test_inner_lines_are_scanned_but_not_pushed_ones(scan: object) -> None:
    """A wrapped file's inner line, its data bytes or ASCII text, is a probe line as a
    plain line is; a ``runtime.Inner`` (pushed through the unwrapper: perhaps joined from
    partial pieces) or text that is not ASCII never is."""
    lines = [(0, KUBE, "stdout", "2025-07-06T10:30:00Z"), (1, UVICORN.decode(), None, None),
             Inner(2, KUBE, "stdout", None), (3, UVICORN.decode() + "\u00e9", None, None),
             (4, KUBE, "stdout"), (5, UVICORN)]
    found = scan(lines)  # type: ignore[operator]
    assert [probe[0] for probe in found] == [0, 1, 5]


def test_the_twin_reads_the_fields_of_both_layouts() -> None:
    found = pure_noise.probe_lines([(0, KUBE), (5, b"x" * 50), (9, UVICORN), (12, SHAPES[5])])
    assert found == [(0, "06/Jul/2025:10:30:00 +0000", "GET", "/health", "kube-probe/1.29"),
                     (2, None, "GET", "/health", "")]


@pytest.mark.skipif(compiled is None or not BENCH.is_file(), reason="no extension or corpus")
def test_compiled_probe_lines_match_the_twin_on_the_bench_corpus() -> None:
    with BENCH.open("rb") as f:
        lines = [(i, next(f).rstrip(b"\n")) for i in range(20000)]
    expected = pure_noise.probe_lines(lines)
    assert compiled.probe_lines(lines) == expected
    assert len(expected) > 1000
