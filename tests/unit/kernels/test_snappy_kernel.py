"""The snappy kernel (KERNEL_API 118): ``snappy_compress_into``, compiled and pure, writes
raw (block) snappy that a snappy decoder (cramjam's, the reference) turns back into the
very input, whatever the input; it refuses a buffer shorter than ``snappy_max_len`` and
never writes past that length. The two do not give the same bytes (the compiled one skips
faster through bytes that match nothing); its bodies stay within a few percent of the
reference's on log-like data."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable

import orjson
import pytest
from cramjam import snappy as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_snappy

try:
    from shipper.kernels import _compiled
except ImportError:  # pragma: no cover - the extension is not built
    _compiled = None  # type: ignore[assignment]

_BUILT = pytest.mark.skipif(_compiled is None, reason="the compiled kernels are not built")
KERNELS = [pytest.param(pure_snappy, id="pure"),
           pytest.param(_compiled, id="compiled", marks=_BUILT)]
FRAGMENT = 65536


def _round_trip(kernel: object, data: bytes) -> bytes:
    """``data`` compressed by ``kernel`` into a buffer of exactly ``snappy_max_len``,
    checked to decode back to ``data`` (by the reference decoder, and strictly); the
    compressed bytes."""
    compress: Callable[[bytes, bytearray], int] = kernel.snappy_compress_into  # type: ignore[attr-defined]
    out = bytearray(kernel.snappy_max_len(len(data)))  # type: ignore[attr-defined]
    size = compress(data, out)
    assert 0 < size <= len(out)
    body = bytes(out[:size])
    assert bytes(reference.decompress_raw(body)) == data
    assert strict_decode(body) == data
    return body


def strict_decode(body: bytes) -> bytes:
    """Snappy's block format decoded by the book, and stricter than a decoder need be
    about what an encoder writes: literal lengths in the tag or 1-2 more bytes, copies of 4
    bytes or more with 1- or 2-byte offsets, never offset 0, never reaching out of their
    own 64 KiB fragment; the preamble's length is the output's."""
    size = shift = i = 0
    while True:
        byte = body[i]
        i += 1
        size |= (byte & 0x7F) << shift
        shift += 7
        if byte < 128:
            break
    out = bytearray()
    while i < len(body):
        tag = body[i]
        i += 1
        if tag & 3 == 0:
            n = tag >> 2
            if n >= 60:
                extra = n - 59
                assert extra <= 2, "literal length in more than 2 bytes"
                n = int.from_bytes(body[i:i + extra], "little")
                i += extra
            out += body[i:i + n + 1]
            i += n + 1
            continue
        if tag & 3 == 1:
            length, offset = ((tag >> 2) & 7) + 4, ((tag >> 5) << 8) | body[i]
            i += 1
        else:
            assert tag & 3 == 2, "a 4-byte-offset copy"
            length, offset = (tag >> 2) + 1, body[i] | body[i + 1] << 8
            i += 2
        start = len(out) - offset
        assert length >= 4 and offset > 0, (length, offset)
        assert start >= len(out) // FRAGMENT * FRAGMENT, "a copy from an earlier fragment"
        assert (len(out) + length - 1) // FRAGMENT == len(out) // FRAGMENT, "past a fragment"
        for k in range(length):
            out.append(out[start + k])
    assert len(out) == size
    return bytes(out)


def _log_lines(count: int) -> bytes:
    return b"".join(orjson.dumps({
        "timestamp": f"2025-07-06T10:{i // 60 % 60:02d}:{i % 60:02d}.{i * 7919 % 1000:03d}Z",
        "level": ("info", "warning", "error")[i % 3], "message": f"batch {i} processed",
        "job_id": f"job-{i * 2654435761 % 2**32:08x}", "k8s": {"pod": "p", "node": "n"},
    }) + b"\n" for i in range(count))


EDGES = [b"", b"a", b"a" * 15, b"a" * 16, b"a" * 17, b"ab" * 40_000, b"x" * FRAGMENT,
         b"x" * (FRAGMENT - 1), b"x" * (FRAGMENT + 1), bytes(3 * FRAGMENT + 5),
         os.urandom(70_000), os.urandom(10) + b"y" * 100_000 + os.urandom(10),
         bytes(range(256)) * 600, b"abcd" * 17 + b"abce" * 17]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("data", EDGES, ids=[f"{len(d)}B-{i}" for i, d in enumerate(EDGES)])
def test_edges_decode_back(kernel: object, data: bytes) -> None:
    """Empty, short, exactly at the 15/16-byte margin, fragment-sized, runs across
    fragment boundaries, incompressible, and long literals between runs all come back."""
    _round_trip(kernel, data)


@pytest.mark.parametrize("kernel", KERNELS)
def test_log_lines_decode_back(kernel: object) -> None:
    """~600 KB of JSON log lines (a Loki push's size) come back."""
    _round_trip(kernel, _log_lines(4000))


@pytest.mark.parametrize("kernel", KERNELS)
def test_every_literal_length_up_to_300_decodes_back(kernel: object) -> None:
    """Random inputs of 1 to 300 bytes (one literal each: the length in the tag, in one
    more byte, in two) and of 65,535 to 65,537."""
    rnd = random.Random(7)
    for size in [*range(1, 301), 65_535, 65_536, 65_537]:
        _round_trip(kernel, rnd.randbytes(size))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("distance", [1, 2, 11, 2047, 2048, 2049, 65_535])
def test_copies_of_every_form_and_split_decode_back(kernel: object, distance: int) -> None:
    """Random bytes, then a repeat of the bytes ``distance`` back, of 4 to 132 bytes: both
    copy forms (1-byte offsets below 2,048 and lengths below 12) and every remainder of a
    long copy split at 64."""
    rnd = random.Random(distance)
    for length in (4, 5, 11, 12, 13, 60, 64, 65, 66, 67, 68, 69, 127, 128, 131, 132):
        head = rnd.randbytes(max(distance, length) + 20)
        data = head + head[len(head) - distance:][:length] + rnd.randbytes(20)
        _round_trip(kernel, data)


@pytest.mark.parametrize("kernel", KERNELS)
def test_an_input_over_2_mib_decodes_back(kernel: object) -> None:
    """A length of four varint bytes (inputs of 2 MiB and more; the Loki sink compresses
    those into a buffer of their own)."""
    data = _log_lines(5000) * 3 + os.urandom(4096)
    assert len(data) >= 1 << 21
    _round_trip(kernel, data)


@pytest.mark.parametrize("kernel", KERNELS)
def test_arguments_of_another_type_are_refused(kernel: object) -> None:
    """``None`` (or a memoryview) in place of the input or the buffer is a
    ``TypeError``, never compressed as if empty; a negative size has no bound."""
    for data, out in ((None, bytearray(64)), (memoryview(b"abc"), bytearray(64)),
                      (b"abc", None), (b"abc", memoryview(bytearray(64)))):
        with pytest.raises(TypeError):
            kernel.snappy_compress_into(data, out)  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        kernel.snappy_max_len(-1)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_buffer_cannot_be_resized_while_it_is_written(kernel: object) -> None:
    """Another thread resizing the buffer during a (GIL-free) compression is refused
    (``BufferError``) instead of writing into freed memory; every compression done is
    whole."""
    data = _log_lines(4000)
    out = bytearray(kernel.snappy_max_len(len(data)))  # type: ignore[attr-defined]
    stop = threading.Event()

    def resize() -> None:
        while not stop.is_set():
            try:
                out.extend(b"x")
                del out[-1]
            except BufferError:  # while a compression holds it: the point of the test
                continue

    thread = threading.Thread(target=resize)
    thread.start()
    try:
        for _ in range(30):
            size = kernel.snappy_compress_into(data, out)  # type: ignore[attr-defined]
            assert bytes(reference.decompress_raw(bytes(out[:size]))) == data
    finally:
        stop.set()
        thread.join()


PIECES = st.lists(st.tuples(st.binary(min_size=1, max_size=40), st.integers(1, 300)),
                  min_size=1, max_size=30)


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(pieces=PIECES, noise=st.binary(max_size=200))
def test_any_input_decodes_back(kernel: object, pieces: list[tuple[bytes, int]],
                                noise: bytes) -> None:
    """Pieces repeated (runs, overlapping copies, matches a few bytes long) with noise
    between them, up to ~360 KB: whatever the input, it comes back."""
    data = noise.join(piece * times for piece, times in pieces)
    _round_trip(kernel, data)


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_short_buffer_is_refused(kernel: object) -> None:
    """One byte less than ``snappy_max_len`` is a ``ValueError``, never an overrun."""
    data = os.urandom(5000)
    out = bytearray(kernel.snappy_max_len(len(data)) - 1)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="too small"):
        kernel.snappy_compress_into(data, out)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("data", [os.urandom(200_000), b"q" * 200_000, _log_lines(500)],
                         ids=["random", "run", "lines"])
def test_nothing_is_written_past_the_bound(kernel: object, data: bytes) -> None:
    """The bytes of a larger buffer past ``snappy_max_len`` stay as they were."""
    bound = kernel.snappy_max_len(len(data))  # type: ignore[attr-defined]
    out = bytearray(b"\xa5" * (bound + 4096))
    size = kernel.snappy_compress_into(data, out)  # type: ignore[attr-defined]
    assert size <= bound and out[bound:] == b"\xa5" * 4096
    assert bytes(reference.decompress_raw(bytes(out[:size]))) == data


@_BUILT
def test_compiled_bodies_stay_near_the_reference_size() -> None:
    """The compiled encoder's faster skipping costs little on log lines: within 5% of the
    reference encoder's size, and well under half the input."""
    data = _log_lines(4000)
    ours, theirs = _round_trip(_compiled, data), bytes(reference.compress_raw(data))
    assert len(ours) <= 1.05 * len(theirs) and len(ours) < 0.5 * len(data)


def test_max_len_is_the_reference_bound() -> None:
    """``snappy_max_len`` is snappy's ``MaxCompressedLength`` (cramjam's figure)."""
    for size in (0, 1, 6, 1000, 65536, 10**6):
        assert pure_snappy.snappy_max_len(size) == reference.compress_raw_max_len(b"\0" * size)
        if _compiled is not None:
            assert _compiled.snappy_max_len(size) == pure_snappy.snappy_max_len(size)
