# --- raw (block) snappy, speed first (issue 14; KERNEL_API 118) ------------------------------
# Twin: ``pure_snappy.snappy_compress_into`` (cramjam's ``compress_raw_into``, the reference
# encoder). The two do not give the same bytes -- a compressor chooses its matches -- but
# any snappy decoder gives back the very input from either (the tests decode every output
# with cramjam's decoder and check the format strictly). The format is snappy's block
# format: the input's length as a varint, then literals and copies (1- and 2-byte offsets),
# each 64 KiB fragment of the input compressed on its own (no copy reaches into an earlier
# fragment), as the reference does. What differs is how far the match finder steps through
# bytes that match nothing: the reference probes every byte for its first 32 misses in a
# row, then every other byte, and so on (step ``skip >> 5``, ``skip`` from 32 up by one a
# miss); this one probes every other byte from the first miss, one byte further every 16
# (step ``skip >> 4``, ``_SNAPPY_SKIP_SHIFT``). On the Loki sink's pushes of the bench
# corpus (~600 KB of protobuf each) that is ~1.3x the reference's speed for bodies ~2%
# larger (0.262 of the input against 0.257); starting at every fourth byte (``>> 3``) was
# ~1.55x for ~10% larger (0.283). ``out`` is held (a buffer export) while the GIL is
# released: another thread cannot resize it meanwhile (``BufferError``, as with the twin).
# ``_snappy_match_end`` compares 8 bytes at a time: the first that differs is the lowest of
# their XOR on a little-endian machine (``__builtin_ctzll``) and the highest on a
# big-endian one (``__builtin_clzll``); the choice is the compiler's byte order (GCC or
# Clang), so neither can take a differing byte into a copy.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from *:
    """
    /* the index (0-7, in memory order) of the first byte two 8-byte loads differ in,
       from their XOR (not 0) */
    #if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) \
        && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #define shipper_snappy_first_diff(x) (__builtin_clzll(x) >> 3)
    #else
    #define shipper_snappy_first_diff(x) (__builtin_ctzll(x) >> 3)
    #endif
    """
    int shipper_snappy_first_diff(unsigned long long x) nogil

cdef enum:
    _SNAPPY_HASH_BITS = 14
    _SNAPPY_FRAGMENT = 65536
    _SNAPPY_SKIP_SHIFT = 4
    #: no match starts in a fragment's last bytes (loads of 4 and 8 bytes stay inside it)
    _SNAPPY_MARGIN = 15


def snappy_max_len(Py_ssize_t size):
    """The most bytes the raw snappy of ``size`` input bytes may take (the reference's
    ``MaxCompressedLength``: 32 + size + size / 6)."""
    if size < 0:
        raise ValueError("snappy_max_len: a negative size")
    return _snappy_bound(size)


cdef inline Py_ssize_t _snappy_bound(Py_ssize_t size) noexcept:
    return 32 + size + size // 6


def snappy_compress_into(bytes data not None, bytearray out not None):
    """``data`` as raw snappy written at the start of ``out`` (at least
    ``snappy_max_len(len(data))`` long, else ``ValueError``); the number of bytes
    written."""
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    if size > 0xFFFFFFFF:  # the format's length is 32 bits
        raise ValueError("snappy_compress_into: more than 4 GiB of input")
    if len(out) < _snappy_bound(size):
        raise ValueError("snappy_compress_into: the output buffer is too small")
    cdef uint8_t[::1] held = out  # exported until the call returns: not resizable meanwhile
    cdef const uint8_t* src = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef uint8_t* start = &held[0]
    cdef uint8_t* op = start
    cdef uint16_t table[1 << _SNAPPY_HASH_BITS]
    cdef Py_ssize_t pos = 0, length
    cdef unsigned long long left = <unsigned long long>size
    with nogil:
        while left >= 128:
            op[0] = <uint8_t>(left | 128)
            op += 1
            left >>= 7
        op[0] = <uint8_t>left
        op += 1
        while pos < size:
            length = min(size - pos, <Py_ssize_t>_SNAPPY_FRAGMENT)
            op = _snappy_fragment(src + pos, length, op, table)
            pos += length
    return op - start


cdef inline uint32_t _load32(const uint8_t* p) noexcept nogil:
    cdef uint32_t value
    memcpy(&value, p, 4)
    return value


cdef inline uint64_t _load64(const uint8_t* p) noexcept nogil:
    cdef uint64_t value
    memcpy(&value, p, 8)
    return value


cdef inline uint32_t _snappy_hash(uint32_t value) noexcept nogil:
    return (value * <uint32_t>0x1e35a7bd) >> (32 - _SNAPPY_HASH_BITS)


cdef inline uint8_t* _snappy_literal(uint8_t* op, const uint8_t* literal,
                                     Py_ssize_t length) noexcept nogil:
    """A literal of ``length`` (1 to 65,536) bytes: its tag, its length less one in the tag
    (up to 59) or in one or two bytes after it, then the bytes."""
    cdef Py_ssize_t n = length - 1
    if n < 60:
        op[0] = <uint8_t>(n << 2)
        op += 1
    elif n < 256:
        op[0] = <uint8_t>(60 << 2)
        op[1] = <uint8_t>n
        op += 2
    else:
        op[0] = <uint8_t>(61 << 2)
        op[1] = <uint8_t>n
        op[2] = <uint8_t>(n >> 8)
        op += 3
    memcpy(op, literal, length)
    return op + length


cdef inline uint8_t* _snappy_copy_upto64(uint8_t* op, Py_ssize_t offset,
                                         Py_ssize_t length) noexcept nogil:
    """One copy of 4 to 64 bytes: the 2-byte form (a 1-byte offset part) when it fits."""
    if length < 12 and offset < 2048:
        op[0] = <uint8_t>(1 | ((length - 4) << 2) | ((offset >> 8) << 5))
        op[1] = <uint8_t>offset
        return op + 2
    op[0] = <uint8_t>(2 | ((length - 1) << 2))
    op[1] = <uint8_t>offset
    op[2] = <uint8_t>(offset >> 8)
    return op + 3


cdef inline uint8_t* _snappy_copy(uint8_t* op, Py_ssize_t offset,
                                  Py_ssize_t length) noexcept nogil:
    """A match of at least 4 bytes as copies of at most 64 (none shorter than 4)."""
    while length >= 68:
        op = _snappy_copy_upto64(op, offset, 64)
        length -= 64
    if length > 64:
        op = _snappy_copy_upto64(op, offset, 60)
        length -= 60
    return _snappy_copy_upto64(op, offset, length)


cdef inline const uint8_t* _snappy_match_end(const uint8_t* ip, const uint8_t* candidate,
                                             const uint8_t* end) noexcept nogil:
    """Where the match of the bytes at ``ip`` with those at ``candidate`` (their first 4
    equal) ends, 8 bytes compared at a time."""
    cdef const uint8_t* here = ip + 4
    cdef const uint8_t* there = candidate + 4
    cdef uint64_t differ
    while here + 8 <= end:
        differ = _load64(here) ^ _load64(there)
        if differ:
            return here + shipper_snappy_first_diff(differ)
        here += 8
        there += 8
    while here < end and here[0] == there[0]:
        here += 1
        there += 1
    return here


cdef uint8_t* _snappy_fragment(const uint8_t* base, Py_ssize_t size, uint8_t* op,
                               uint16_t* table) noexcept nogil:
    """One fragment (at most 64 KiB) compressed after ``op``: the reference's greedy
    matching (a table of the last position of each hashed 4 bytes, a match taken as long
    as it goes, the position right after it tried at once), skipping faster through bytes
    that match nothing (see the section's head)."""
    cdef const uint8_t* end = base + size
    cdef const uint8_t* literal = base
    cdef const uint8_t* ip = base + 1
    cdef const uint8_t* limit = end - _SNAPPY_MARGIN
    cdef const uint8_t* candidate
    cdef uint32_t value, h, skip
    if size < _SNAPPY_MARGIN + 1:
        return _snappy_literal(op, base, size) if size else op
    memset(table, 0, sizeof(uint16_t) << _SNAPPY_HASH_BITS)
    while True:
        skip = 32
        while True:  # the next match: a position whose 4 bytes were seen at ``candidate``
            value = _load32(ip)
            h = _snappy_hash(value)
            candidate = base + table[h]
            table[h] = <uint16_t>(ip - base)
            if _load32(candidate) == value:  # (``candidate`` is before ``ip``: read first)
                break
            ip += skip >> _SNAPPY_SKIP_SHIFT
            skip += 1
            if ip > limit:
                return _snappy_literal(op, literal, end - literal)
        op = _snappy_literal(op, literal, ip - literal)
        while True:  # the match, and the matches that follow right after it
            literal = _snappy_match_end(ip, candidate, end)
            op = _snappy_copy(op, ip - candidate, literal - ip)
            ip = literal
            if ip >= limit:
                return _snappy_literal(op, literal, end - literal) if literal < end else op
            table[_snappy_hash(_load32(ip - 1))] = <uint16_t>(ip - 1 - base)
            value = _load32(ip)
            h = _snappy_hash(value)
            candidate = base + table[h]
            table[h] = <uint16_t>(ip - base)
            if _load32(candidate) != value:
                ip += 1
                break
