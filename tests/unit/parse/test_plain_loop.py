"""``FileParser``'s loop for plain files gives exactly what the per-line path gives.

``FileParser.feed`` runs a fused loop for a plain file (no runtime wrapper, no start
pattern): one decode per line and the JSON-object line finished in place, format counts
added once a chunk. The reference is the per-line step (``FileParser._line``) that every
other case uses. Both parse the same lines, in the same chunks: the records (fields and
the raw text beside them), what stays pending and the counts must be the same.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from shipper.record import Record
from tests.unit.helpers import corpus_lines, enough_lines

NOW = 1_767_000_000.0


def _clock() -> float:
    return NOW


def _parser(counts: ParseCounts) -> FileParser:
    return FileParser("/var/log/app/app.log", ParseSettings(), counts, clock=_clock,
                      runtime_format="plain")  # the fused loop's case (CRI lines as text)


def _by_line(parser: FileParser, chunk: list[tuple[int, bytes]],
             truncated: frozenset[int]) -> list[Record]:
    """The reference: the per-line step for every line of the chunk."""
    out: list[Record] = []
    for offset, raw in chunk:
        parser._line(offset, raw, None, None, truncated, out)
    return out


def _both(lines: list[bytes], size: int = 7, flush_every: int = 0) -> None:
    """Feed ``lines`` in chunks of ``size`` through the fused loop and the reference
    (with ``flush_every``, a forced flush after every that many chunks: a record held
    inside a key block is cut there); assert the same records, raw texts, pending state
    and counts."""
    fast_counts, slow_counts = ParseCounts(), ParseCounts()
    fast, slow = _parser(fast_counts), _parser(slow_counts)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    pairs = list(zip(offsets, lines, strict=False))
    cut = frozenset(offsets[::5])  # some lines were cut at max_line_bytes
    got: list[Record] = []
    want: list[Record] = []
    for start in range(0, len(pairs), size):
        chunk = pairs[start:start + size]
        got += fast.feed(chunk, cut)
        want += _by_line(slow, chunk, cut)
        if flush_every and (start // size) % flush_every == flush_every - 1:
            got += fast.flush(force=True)
            want += slow.flush(force=True)
    got += fast.flush(force=True)
    want += slow.flush(force=True)
    assert got == want
    assert [r.raw for r in got] == [r.raw for r in want]
    assert all(type(r) is Record for r in got)
    assert fast_counts.take() == slow_counts.take()


def test_corpus_golden_and_bench_lines_match_the_per_line_path(tmp_path: Path) -> None:
    """Every line of the public corpus, the golden files and 3,000 bench lines: same
    records, raw texts and counts from the fused loop as from ``_line``."""
    lines = corpus_lines(tmp_path)
    assert len(lines) > enough_lines(3000, 400), "the corpus or golden files were not found"
    _both(lines)
    _both(lines, size=500)


_PIECES = [b'{"msg":"ok","level":"info"}', b'{"level":"error","msg":"x","ts":1767000000.5}',
           b'{"message":"a\\nb"}', b'{broken', b'[1, 2]', b'{"a":1}\r', b'{"a":\x1b[0m1}',
           b'{"a":"\xff"}', b'\x00{"a":1}', b"2026-01-02T10:00:00Z INFO hello a=1",
           b"Traceback (most recent call last):", b'  File "x.py", line 1, in <module>',
           b"ValueError: boom", b"-----BEGIN RSA PRIVATE KEY-----", b"MIIBOgIBAAJBAKj34GkxFhD9",
           b"-----END RSA PRIVATE KEY-----", b"", b"   ", b"\tat com.x.Y.z(Y.java:1)",
           b"plain words", b'{"event":"done","status":"failed"}', b"panic: oh no",
           b"goroutine 1 [running]:", b'{"level":"info","msg":"' + b"x" * 300 + b'"}']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.integers(1, 9), st.integers(0, 3))
def test_mixed_lines_match_the_per_line_path(lines: list[bytes], size: int,
                                             flush_every: int) -> None:
    """JSON objects (valid, broken, not objects, with CR, ESC, NUL or bad UTF-8) between
    tracebacks, key blocks, Go panics, Java frames and blank lines, in chunks of any
    size, with or without flushes between chunks: the fused loop agrees with ``_line``
    on records, pending state and counts."""
    _both(lines, size, flush_every)


def test_json_line_ends_a_key_block_cut_by_a_flush() -> None:
    """A key block cut by a flush, then a JSON line, then a key line: the JSON line ends
    the block in both paths (the key line after it is text, not a block continuation)."""
    begin, key, end = _PIECES[13], _PIECES[14], _PIECES[15]
    _both([begin, key, b'{"msg":"ok"}', key, key, end], size=2, flush_every=1)
    _both([begin, key, b'{"msg":"ok"}', key, end], size=3)
