"""The compiled ``cri_whole_lines`` gives exactly what its pure twin gives (the lines it
takes, their content, stream and time, and where it stops), on generated near-CRI lines,
a table of every stamp/stream/tag/separator shape and the shared bench corpus; and the twin
takes only what the runtime unwrapper's CRI pattern reads as a whole line, with the same
content. Skipped only where the extension is not built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure
from shipper.parse.runtime import _CRI

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")

BENCH_GENERATOR = Path(__file__).resolve().parents[4] / "shared" / "bench" / "gen_corpus.py"
SETTINGS = settings(max_examples=500, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

_STAMPS = ["2026-01-02T19:56:59", "2026-01-02T19:56:59.8", "2026-01-02T19:56:59.817000123",
           "2026-01-02T19:56:59.1234567890", "2026-01-02T19:56:59.", "2026-01-02 19:56:59",
           "2026-1-02T19:56:59", "2026/01/02T19:56:59", "٢026-01-02T19:56:59"]
_ZONES = ["Z", "z", "+02:00", "-11:30", "+0200", "+02:0", "", "UTC", "Z0"]
_STREAMS = ["stdout", "stderr", "stdin", "stdou", "stdoutx", ""]
_TAGS = ["F", "P", "f", ""]
_AFTER = ["", " ", " msg", "  two", "x", "\t", "\n", " é"]


def _both(lines: list[bytes], start: int = 0) -> list[Any]:
    results = []
    for mod in (pure, compiled):
        out: list[Any] = []
        offsets = [(index * 10, line) for index, line in enumerate(lines)]
        results.append((mod.cri_whole_lines(offsets, start, out), out))
    return results


def _table() -> list[bytes]:
    return [f"{stamp}{zone} {stream} {tag}{after}".encode()
            for stamp in _STAMPS for zone in _ZONES for stream in _STREAMS
            for tag in _TAGS for after in _AFTER]


def test_table_matches_pure_line_by_line() -> None:
    """Every combination of stamp, zone, stream, tag and what follows, and each of its
    prefixes, is taken or refused alike, with the same content, stream and time."""
    lines = _table()
    lines += [line[:cut] for line in lines[::11] for cut in range(len(line))]
    diffs = [line for line in lines if _both([line])[0] != _both([line])[1]]
    assert diffs == []
    taken = [line for line in lines if _both([line])[0][0] == 1]
    assert len(taken) > 100


def test_taken_lines_are_whole_lines_of_the_cri_pattern() -> None:
    """The twin takes a line only if ``_CRI`` reads it as an ``F`` line with a space or
    nothing after the tag, and then gives ``_CRI``'s content, stream and time."""
    for line in _table():
        match = _CRI.match(line)
        stop, out = _both([line])[0]
        if stop == 1:
            assert match is not None and match[3] == b"F"
            assert out == [(0, line[match.end():], match[2].decode(), match[1].decode())]
        else:
            assert match is None or match[3] == b"P" or line[match.end(3):] == b"\n"


@SETTINGS
@given(st.lists(st.binary(max_size=40) | st.sampled_from(_table()), max_size=12),
       st.integers(0, 12))
@example([b"2026-01-02T19:56:59Z stdout F a", b"2026-01-02T19:56:59Z stderr F",
          b"2026-01-02T19:56:59Z stdout P b", b"2026-01-02T19:56:59Z stdout F c"], 1)
def test_runs_match_pure(lines: list[bytes], start: int) -> None:
    """Any list of lines from any start: both stop at the same index with the same
    appended tuples."""
    start = min(start, len(lines))
    assert _both(lines, start)[1] == _both(lines, start)[0]


def test_bench_corpus_matches_pure(tmp_path: Path) -> None:
    """The shared bench corpus, CRI-wrapped: every line is whole and both agree."""
    if not BENCH_GENERATOR.exists():
        pytest.skip("the shared bench corpus generator is not here")
    subprocess.run([sys.executable, str(BENCH_GENERATOR), "5000", str(tmp_path)], check=True,
                   capture_output=True, timeout=120)
    lines = (tmp_path / "app.cri.log").read_bytes().split(b"\n")[:-1]
    got_pure, got_compiled = _both(lines)
    assert got_compiled == got_pure
    assert got_pure[0] == len(lines) == 5000


def test_bad_arguments_raise_alike() -> None:
    """A negative start or a line that is not ``(offset, bytes)`` is refused, not read."""
    for mod in (pure, compiled):
        with pytest.raises(ValueError):
            mod.cri_whole_lines([], -1, [])
        with pytest.raises(TypeError):
            mod.cri_whole_lines([(0, "2026-01-02T19:56:59Z stdout F str")], 0, [])
