"""Raw (block) snappy into a caller's buffer: the twin of the compiled ``_snappy.pxi``.

This is the reference encoder (cramjam's, as ``snappy.compress`` gives). The compiled
kernel steps faster through bytes that match nothing, so the two do not write the same
bytes, but a snappy decoder gives back the very input from either (the tests check both
that way); both refuse an output buffer shorter than :func:`snappy_max_len` of the input.
"""

from __future__ import annotations

from cramjam import snappy as _raw


def snappy_max_len(size: int) -> int:
    """The most bytes the raw snappy of ``size`` input bytes may take (32 + size + size/6)."""
    if size < 0:
        raise ValueError("snappy_max_len: a negative size")
    return 32 + size + size // 6


def snappy_compress_into(data: bytes, out: bytearray) -> int:
    """``data`` as raw snappy written at the start of ``out``; the number of bytes written."""
    if type(data) is not bytes or type(out) is not bytearray:  # as the compiled one
        raise TypeError("snappy_compress_into: data is bytes and out a bytearray")
    if len(data) > 0xFFFFFFFF:
        raise ValueError("snappy_compress_into: more than 4 GiB of input")
    if len(out) < snappy_max_len(len(data)):
        raise ValueError("snappy_compress_into: the output buffer is too small")
    return int(_raw.compress_raw_into(data, out))
