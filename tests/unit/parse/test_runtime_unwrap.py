"""``RuntimeUnwrapper.unwrap`` (a chunk's lines in one call, whole CRI lines through the
``cri_whole_lines`` kernel) gives exactly what the line-by-line ``push`` path gives: the
same inner lines (offset, content, stream, wrapper time), the same partial joining and
caps, the same ``runtime_mismatch``/``partial_capped`` counts and the same held state,
over generated CRI and docker input; and ``FileParser`` makes the same records either way
on the shared bench corpus."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure
from shipper.parse import FileParser, ParseCounts, runtime
from shipper.parse.runtime import InnerLine, RuntimeUnwrapper
from shipper.parse.settings import ParseSettings

ROOT = Path(__file__).resolve().parents[3]
BENCH_GENERATOR = ROOT.parent / "shared" / "bench" / "gen_corpus.py"
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

try:
    from shipper.kernels import _compiled
    KERNELS = [pure.cri_whole_lines, _compiled.cri_whole_lines]
except ImportError:  # the extension is not built: the twin alone
    KERNELS = [pure.cri_whole_lines]


def _reference(unwrapper: RuntimeUnwrapper, lines: list[tuple[int, bytes]]) -> list[Any]:
    """The per-line path ``FileParser.feed`` took before ``unwrap``: ``push`` each line,
    a line that is not wrapped passed on as it is and counted."""
    out: list[Any] = []
    for offset, raw in lines:
        inners = unwrapper.push(offset, raw)
        if inners is None:
            unwrapper._errors["runtime_mismatch"] += 1
            out.append((offset, raw, None, None))
        else:
            out += inners
    return out


_STAMPS = [b"2026-01-02T19:56:59Z", b"2026-01-02T19:56:59.817000123Z",
           b"2026-01-02T19:56:59.8Z", b"2026-01-02T19:56:59+02:00", b"2026-01-02T19:56:59.5-11:30",
           b"2026-01-02T19:56:59.1234567890Z", b"2026-01-02T19:56:59.Z", b"2026-01-02T19:56:59",
           b"2026-01-02T19:56:59+0200", b"2026-01-02 19:56:59Z", b"2026-1-02T19:56:59Z",
           b"2026-01-02T19:56:59z", b"\xd9\xa2026-01-02T19:56:59Z"]
_STREAMS = [b"stdout", b"stderr", b"stdin", b"stdou", b"STDOUT"]
_TAGS = [b"F", b"P", b"X", b""]
_SEPS = [b" ", b" ", b"", b"  ", b"\t", b"\n"]
_CONTENT = st.lists(st.sampled_from([b"a", b" ", b"{", b'"', b"\\", b"\xff", b"\x00", b"\x1b[1m",
                                     b"\r", b"\xc3\xa9", b"msg=1", b"F", b"stdout "]),
                    max_size=12).map(b"".join)


def _part(choices: list[bytes], usual: int) -> st.SearchStrategy[bytes]:
    """One of ``choices``, its first ``usual`` (the common, valid ones) half of the time."""
    return st.sampled_from(choices[:usual]) | st.sampled_from(choices)


@st.composite
def _cri_line(draw: st.DrawFn) -> bytes:
    line = (draw(_part(_STAMPS, 5)) + b" " + draw(_part(_STREAMS, 2)) + b" "
            + draw(_part(_TAGS, 2)) + draw(_part(_SEPS, 2)) + draw(_CONTENT))
    if draw(st.integers(0, 9)) == 0:  # one byte replaced anywhere
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.sampled_from([b" ", b"0", b"-", b":", b"F", b"x"])) \
            + line[at + 1:]
    return line


@st.composite
def _docker_line(draw: st.DrawFn) -> bytes:
    text = draw(st.text(alphabet='ab "\\\t\n\x00é\u2028{}', max_size=10))
    obj: dict[str, Any] = {"log": text + draw(st.sampled_from(["\n", "\n", ""]))}
    stream = draw(st.sampled_from(["stdout", "stderr", None, 7]))
    if stream is not None:
        obj["stream"] = stream
    if draw(st.booleans()):
        obj["time"] = draw(st.sampled_from(["2026-01-02T19:56:59.817000123Z", "bad", 1]))
    if draw(st.integers(0, 6)) == 0:
        obj["log"] = draw(st.sampled_from([None, 3, ["x"]]))
    line = orjson.dumps(obj)
    damage = draw(st.integers(0, 8))
    if damage == 0:
        line = line[:draw(st.integers(0, len(line)))]  # cut short: not JSON
    elif damage == 1:
        line = line.replace(b"a", b"\xff")  # invalid UTF-8 inside a string
    return line


def _chunks(lines: list[bytes], cuts: list[int]) -> list[list[tuple[int, bytes]]]:
    offsets, offset = [], 0
    for line in lines:
        offsets.append((offset, line))
        offset += len(line) + 1
    bounds = sorted({0, len(lines), *(c % (len(lines) + 1) for c in cuts)})
    return [offsets[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _both_ways(kind: runtime.WrapperFormat, lines: list[bytes], cuts: list[int],
               max_bytes: int) -> tuple[list[Any], list[Any]]:
    """(reference, unwrap) results: each chunk's inner lines and held offset, then the
    counts and what a final drain gives."""
    results = []
    for way in ("reference", "unwrap"):
        errors: Counter[str] = Counter()
        unwrapper = RuntimeUnwrapper(kind, max_bytes, errors)
        got: list[Any] = []
        for chunk in _chunks(lines, cuts):
            inners: list[InnerLine] = (_reference(unwrapper, chunk) if way == "reference"
                                       else unwrapper.unwrap(chunk))
            got.append(([tuple(i) for i in inners], unwrapper.pending_offset))
        got.append((dict(errors), [tuple(i) for i in unwrapper.drain()]))
        results.append(got)
    return results[0], results[1]


@SETTINGS
@given(st.lists(_cri_line() | _cri_line() | st.binary(max_size=20), max_size=25),
       st.lists(st.integers(0, 30), max_size=4), st.integers(1, 40))
@example([b"2026-01-02T19:56:59Z stdout P ab", b"2026-01-02T19:56:59Z stderr F x",
          b"2026-01-02T19:56:59Z stdout F cd", b"plain", b"2026-01-02T19:56:59Z stdout F"],
         [2], 3)
@example([b"2026-01-02T19:56:59Z stdout F\n", b"2026-01-02T19:56:59Z stdout F  two"], [], 9)
@example([stamp + b" stdout F x" for stamp in _STAMPS], [], 9)
def test_cri_unwrap_gives_what_push_gives(lines: list[bytes], cuts: list[int],
                                          max_bytes: int) -> None:
    """CRI: whole and partial lines, both streams, caps, near-misses and plain lines in
    any chunking give the same inner lines, counts and held pieces as line-by-line push."""
    for kernel in KERNELS:  # each implementation that is available
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(runtime, "cri_whole_lines", kernel)
            reference, unwrapped = _both_ways("cri", lines, cuts, max_bytes)
        assert unwrapped == reference


@SETTINGS
@given(st.lists(_docker_line() | st.binary(max_size=12), max_size=20),
       st.lists(st.integers(0, 25), max_size=3), st.integers(1, 30))
def test_docker_unwrap_gives_what_push_gives(lines: list[bytes], cuts: list[int],
                                             max_bytes: int) -> None:
    """Docker json-file: escapes, partial pieces, odd streams/times, broken JSON and
    invalid UTF-8 give the same inner lines, counts and held pieces as push."""
    reference, unwrapped = _both_ways("docker", lines, cuts, max_bytes)
    assert unwrapped == reference


def test_unwrap_varied_table_is_counted_like_push() -> None:
    """A fixed mix proves the comparison sees something: whole, partial, joined, capped
    and mismatched lines all occur, and both ways agree on them."""
    stamp = b"2026-01-02T19:56:59.817000123Z "
    lines = [stamp + b"stdout F one", stamp + b"stdout P tw", stamp + b"stderr F err",
             stamp + b"stdout F o", b"not wrapped", stamp + b"stdout P " + b"x" * 30,
             stamp + b"stdout F yy", stamp + b"stdout F", stamp + b"stderr P tail"]
    reference, unwrapped = _both_ways("cri", lines, [3, 6], 20)
    assert unwrapped == reference
    errors, held = reference[-1]
    assert errors == {"runtime_mismatch": 1, "partial_capped": 1}
    assert held == [(len(b"\n".join(lines[:8])) + 1, b"tail", "stderr",
                     "2026-01-02T19:56:59.817000123Z")]
    inner = [i for chunk, _held in reference[:-1] for i in chunk]
    assert [i[1] for i in inner] == [b"one", b"err", b"two", b"not wrapped", b"x" * 20,
                                     b"yy", b""]


def test_only_lines_unwrapped_whole_with_nothing_held_are_plain_tuples() -> None:
    """Raw noise looks for probe lines only among the inner lines that are plain tuples
    (``probe_lines``): a whole line unwrapped with no piece held. A line joined from
    pieces, and any line read while a piece is held, is a ``runtime.Inner``."""
    stamp = b"2026-01-02T19:56:59.817000123Z "
    cri = [stamp + b"stdout F one", stamp + b"stdout P tw", stamp + b"stderr F err",
           stamp + b"stdout F o", stamp + b"stdout F three"]
    docker = [orjson.dumps({"log": log, "stream": stream}) for log, stream in (
        ("one\n", "stdout"), ("tw", "stdout"), ("err\n", "stderr"), ("o\n", "stdout"),
        ("three\n", "stdout"))]
    for kind, lines in (("cri", cri), ("docker", docker)):
        unwrapper = RuntimeUnwrapper(kind, 1000, Counter())  # type: ignore[arg-type]
        inner = unwrapper.unwrap(list(enumerate(lines)))
        assert [(str(i[1], "utf-8") if isinstance(i[1], bytes) else i[1], type(i) is tuple)
                for i in inner] == [("one", True), ("err", False), ("two", False),
                                    ("three", True)]


def _records(lines: list[tuple[int, bytes]], reference: bool,
             monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], Any]:
    with monkeypatch.context() as patch:
        if reference:
            patch.setattr(RuntimeUnwrapper, "unwrap",
                          lambda self, chunk: _reference(self, chunk))
        counts = ParseCounts()
        parser = FileParser("/var/log/pods/x/app/0.log", ParseSettings(), counts,
                            clock=lambda: 1751797800.0)
        records = []
        for start in range(0, len(lines), 500):
            records += parser.feed(lines[start:start + 500])
        records += parser.flush(force=True)
    return [(dict(r), r.raw) for r in records], counts.take()


def test_file_parser_records_equal_on_the_bench_corpus(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared bench corpus, CRI-wrapped (with partial pieces and stray plain lines
    mixed in), makes the same records and counts through ``unwrap`` as through push."""
    if not BENCH_GENERATOR.exists():
        pytest.skip("the shared bench corpus generator is not here")
    subprocess.run([sys.executable, str(BENCH_GENERATOR), "3000", str(tmp_path)], check=True,
                   capture_output=True, timeout=120)
    raw = (tmp_path / "app.cri.log").read_bytes().split(b"\n")[:-1]
    mixed: list[bytes] = []
    for index, line in enumerate(raw):
        if index % 97 == 5:  # a line cut in two pieces
            head, _sep, tail = line.partition(b" F ")
            mixed += [head + b" P " + tail[:7], head + b" F " + tail[7:]]
        elif index % 101 == 7:
            mixed.append(b"stray plain line " + line[-20:])
        else:
            mixed.append(line)
    offsets, offset = [], 0
    for line in mixed:
        offsets.append((offset, line))
        offset += len(line) + 1
    got = _records(offsets, False, monkeypatch)
    want = _records(offsets, True, monkeypatch)
    assert len(got[0]) == len(raw)
    assert got[1][1]["runtime_mismatch"] > 0
    assert got == want
