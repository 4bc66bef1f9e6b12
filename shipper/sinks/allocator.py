"""The allocator setting the sinks' byte accounting relies on.

The sinks count what they hold in bytes (``buffer.max_bytes``, ``batch.max_bytes``) and
that only bounds the process's memory if freed big blocks go back to the system. glibc's
malloc raises its mmap threshold each time a big block is freed (up to 32 MiB), after which
every buffer under it comes from the heap, which fragments and never shrinks: 1,500 lines
of 250 KB measured 115-190 MiB of peak RSS with the dynamic threshold, 64 MiB with a fixed
128 KiB one. Fixing the threshold (and keeping the per-thread arenas to two) makes freed
memory leave the process again. Fixing it also pins the heap's trim threshold at the same
size, and giving the top of the heap back after every chunk cost 7-10% CPU (page faults to
grow it again): it is set to 8 MiB.

The threshold is 1 MiB, not 128 KiB: each chunk's NDJSON (~230 KiB), each HTTP request
body (a Datadog array, a Loki push, ~0.3-1 MiB before compression) and orjson's buffers
are made and freed once a chunk or a batch; above the threshold every one of them was
mapped, faulted in page by page (~2 us a 4 KiB page here) and unmapped. 1M lines through
stdout: 64-114k page faults -> 8.5k, ~3% less CPU; 200k lines through datadog, loki and
http: 48-61k -> 11k, 3-7% less. Peak RSS +1.5 MiB (stdout, 1M lines) and 1,500 lines of
250 KB peak at 48 MiB (45 with 128 KiB; ``tests/reliability/test_sink_memory.py``): the
blocks of 1 MiB and more (a full batch, the disk buffer's reads) are still mapped.

What the heap holds once a burst is over (a sink that stalled, its buffer full of chunks'
NDJSON, then drained) is free but still resident: the heap only shrinks from its top.
:class:`HeapTrim` looks every :data:`TRIM_INTERVAL` seconds (in a worker thread) and, when
more than :data:`TRIM_THRESHOLD` bytes of the heap are free, gives their pages back
(``malloc_trim``): a 200k-line burst behind a blocked stdout left 80 MiB resident after
the drain, 45 MiB after a trim (48 MiB with the old 128 KiB threshold, which mapped those
blocks). It trims at every such look: the free bytes cannot tell the trimmed chunks
(still free, their pages gone) from the ones a drain freed since, and guessing from how
they and the process moved failed (a look inside the stall trimmed; the drain then
released the heap's top, so fewer bytes were free and the process was smaller, yet 7 MiB
of freed pages stayed resident: 17 MiB over the start in CI). A trim with nothing to
give back costs ~35 us (the first after a burst ~1.5 ms). ``shipper_heap_trims_total``
counts the trims that gave at least :data:`TRIM_GAIN` bytes back.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from mmap import PAGESIZE
from typing import Protocol

log = logging.getLogger("shipper.sinks")

#: glibc ``mallopt`` parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1024 * 1024
TRIM_THRESHOLD = 8 * 1024 * 1024
#: a trim that gave back fewer bytes than this is not counted (:class:`HeapTrim`)
TRIM_GAIN = 1024 * 1024
ARENA_MAX = 2
#: seconds between two looks at the heap's free bytes (:class:`HeapTrim`)
TRIM_INTERVAL = 10.0


def return_big_blocks() -> bool:
    """Blocks of 1 MiB and more are mapped and unmapped on their own; at most 8 MiB free
    at the top of the heap; at most two malloc arenas (idempotent). False where the C
    library has no ``mallopt``."""
    try:
        libc = ctypes.CDLL(None)  # the process's own C library (``find_library`` forks ldconfig)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS): its own policy applies
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = all(mallopt(param, value) for param, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (M_ARENA_MAX, ARENA_MAX)))
    if not ok:
        log.warning("could not tune malloc; big lines may leave memory fragmented")
    return ok


class Counting(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class HeapTrim:
    """Gives the heap's free pages back to the system when more than ``min_free`` bytes of
    it are free, and counts the trims after which the process was at least ``min_gain``
    bytes smaller. ``free_bytes``, ``trim`` and ``resident`` (bytes in memory) are the C
    library's and the kernel's (:func:`heap_trim`); :meth:`check` blocks: run it in a
    worker thread."""

    interval = TRIM_INTERVAL

    def __init__(self, counter: Counting, free_bytes: Callable[[], int],
                 trim: Callable[[], object], resident: Callable[[], int],
                 min_free: int = TRIM_THRESHOLD, min_gain: int = TRIM_GAIN) -> None:
        self._counter = counter
        self._free_bytes = free_bytes
        self._trim = trim
        self._resident = resident
        self._min_free = min_free
        self._min_gain = min_gain

    def check(self) -> bool:
        """Trim when more than ``min_free`` bytes are free; whether it gave ``min_gain``
        back (counted)."""
        if self._free_bytes() <= self._min_free:
            return False
        before = self._resident()
        self._trim()
        if before - self._resident() < self._min_gain:
            return False
        self._counter.inc()
        return True


def resident_bytes() -> int:
    """The process's resident memory (``/proc/self/statm``), 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGESIZE
    except (OSError, IndexError, ValueError):
        return 0


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def heap_trim(counter: Counting) -> HeapTrim | None:
    """glibc's ``mallinfo2`` (free bytes in every arena) and ``malloc_trim(0)``; ``None``
    where the C library has neither (musl, macOS, glibc before 2.33)."""
    try:
        libc = ctypes.CDLL(None)
        mallinfo2, malloc_trim = libc.mallinfo2, libc.malloc_trim
    except (OSError, AttributeError):
        return None
    mallinfo2.restype, mallinfo2.argtypes = _MallInfo2, ()
    malloc_trim.restype, malloc_trim.argtypes = ctypes.c_int, (ctypes.c_size_t,)

    def free_bytes() -> int:
        info = mallinfo2()
        return int(info.fordblks + info.fsmblks)

    return HeapTrim(counter, free_bytes, lambda: malloc_trim(0), resident_bytes)
