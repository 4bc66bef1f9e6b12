"""Frame encoding: round trip, damage is skipped one record at a time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shipper.buffer.frames import HEADER, decode, encode


@given(st.lists(st.binary(max_size=200), max_size=30))
def test_round_trip(items):
    """Whatever the payloads (magic bytes included), decode returns them unchanged."""
    got = decode(encode(items), 10_000, 1 << 30, final=True)
    assert got.items == items and got.corrupt == 0


def test_bit_flip_costs_one_record():
    """A flipped byte in one payload skips that record only."""
    buf = bytearray(encode([b"one", b"two", b"three"]))
    buf[HEADER.size + 3 + HEADER.size] ^= 0xFF  # first byte of "two"
    got = decode(bytes(buf), 100, 1 << 20, final=True)
    assert got.items == [b"one", b"three"] and got.corrupt == 1


def test_torn_tail_is_skipped_only_when_final():
    """An incomplete last frame waits for more bytes, unless the segment is finished."""
    buf = encode([b"one", b"two"])[:-1]
    waiting = decode(buf, 100, 1 << 20, final=False)
    assert waiting.items == [b"one"] and waiting.need > 0 and waiting.corrupt == 0
    final = decode(buf, 100, 1 << 20, final=True)
    assert final.items == [b"one"] and final.corrupt == 1 and final.consumed == len(buf)


def test_limits_stop_a_batch_but_return_at_least_one():
    """max_items and max_bytes bound a batch; one oversized record is still returned."""
    buf = encode([b"a" * 10, b"b" * 10, b"c" * 10])
    assert len(decode(buf, 2, 1 << 20, final=True).items) == 2
    assert decode(buf, 100, 15, final=True).items == [b"a" * 10]
    assert decode(buf, 100, 1, final=True).items == [b"a" * 10]
