"""The snappy kernel (KERNEL_API 118): ``snappy_compress_into``, compiled and pure, writes
raw (block) snappy that a snappy decoder (cramjam's, the reference) turns back into the
very input, whatever the input; it refuses a buffer shorter than ``snappy_max_len`` and
never writes past that length. The two do not give the same bytes (the compiled one skips
faster through bytes that match nothing); its bodies stay within a few percent of the
reference's on log-like data."""

from __future__ import annotations

import os
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
    checked to decode back to ``data``; the compressed bytes."""
    compress: Callable[[bytes, bytearray], int] = kernel.snappy_compress_into  # type: ignore[attr-defined]
    out = bytearray(kernel.snappy_max_len(len(data)))  # type: ignore[attr-defined]
    size = compress(data, out)
    assert 0 < size <= len(out)
    body = bytes(out[:size])
    assert bytes(reference.decompress_raw(body)) == data
    return body


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
