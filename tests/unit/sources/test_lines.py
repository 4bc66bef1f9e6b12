"""LineSplitter: offsets, partial lines, the max_line_bytes cut and NUL runs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.sources.lines import LineSplitter


def test_lines_carry_their_byte_offsets():
    """Each line comes with the offset of its first byte, without the newline."""
    s = LineSplitter(100)
    lines, cut = s.feed(b"ab\ncde\n\nf\n")
    assert lines == [(0, b"ab"), (3, b"cde"), (7, b""), (8, b"f")]
    assert cut == set() and s.consumed == 10


def test_partial_line_is_kept_for_the_next_feed():
    """A line split across reads comes out once, whole, at its first offset."""
    s = LineSplitter(100)
    assert s.feed(b"x\nhel") == ([(0, b"x")], set())
    assert s.consumed == 2 and s.pending_bytes == 3
    assert s.feed(b"lo") == ([], set())
    assert s.feed(b" world\ny") == ([(2, b"hello world")], set())
    assert s.consumed == 14


def test_long_line_is_cut_and_the_rest_discarded():
    """A line over max_line_bytes is cut at that size, marked, its tail dropped."""
    s = LineSplitter(4)
    lines, cut = s.feed(b"abcdefgh\nok\n")
    assert lines == [(0, b"abcd"), (9, b"ok")]
    assert cut == {0}


def test_long_partial_line_is_cut_without_waiting_for_its_newline():
    """Memory stays bounded: an overlong line without newline is emitted cut at once."""
    s = LineSplitter(4)
    assert s.feed(b"abc") == ([], set())
    lines, cut = s.feed(b"defg")
    assert lines == [(0, b"abcd")] and cut == {0}
    assert s.feed(b"hij") == ([], set())
    assert s.feed(b"k\nnext\n") == ([(12, b"next")], set())


def test_nul_run_before_a_line_is_skipped():
    """NUL bytes at a line start (truncation hole) are skipped; offsets stay exact."""
    s = LineSplitter(100)
    lines, _ = s.feed(b"\x00\x00\x00abc\n\x00\x00\nz\n")
    assert lines == [(3, b"abc"), (10, b"z")]


def test_nul_run_across_reads_is_never_buffered():
    """A large NUL run without newline does not accumulate as a partial line."""
    s = LineSplitter(16)
    for _ in range(10):
        assert s.feed(b"\x00" * 1000) == ([], set())
        assert s.pending_bytes == 0
    assert s.feed(b"hi\n") == ([(10_000, b"hi")], set())


def test_flush_returns_the_last_line_without_newline():
    """At a final read the partial line is a line of its own."""
    s = LineSplitter(100)
    s.feed(b"a\nbc")
    assert s.flush() == ([(2, b"bc")], set())
    assert s.consumed == 4


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=30).map(lambda b: b.replace(b"\x00", b"")),
                max_size=20),
       st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=10))
def test_any_split_of_the_input_gives_the_same_lines(parts, cuts):
    """Property: however the bytes are chunked, the lines and offsets are the same."""
    data = b"".join(parts)
    expected = LineSplitter(8)
    want, want_cut = expected.feed(data)
    s = LineSplitter(8)
    got: list[tuple[int, bytes]] = []
    got_cut: set[int] = set()
    pos, i = 0, 0
    while pos < len(data):
        step = cuts[i % len(cuts)]
        lines, cut = s.feed(data[pos:pos + step])
        got += lines
        got_cut |= cut
        pos += step
        i += 1
    assert got == want and got_cut == want_cut
    assert s.consumed == expected.consumed
