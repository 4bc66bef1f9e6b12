"""The allocator's settings and the heap's trim (:mod:`shipper.sinks.allocator`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from shipper.sinks.allocator import TRIM_THRESHOLD, HeapTrim, heap_trim


class Count:
    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: float = 1) -> None:
        self.value += int(amount)


class Heap:
    """A heap's free and resident bytes (MiB) that a trim changes as glibc's does: the
    free chunks stay free, their pages leave."""

    def __init__(self, free: int, resident: int, resident_free: int) -> None:
        self.free, self.resident, self.resident_free = free, resident, resident_free
        self.trims = 0

    def trim(self) -> None:
        self.trims += 1
        self.resident -= self.resident_free
        self.resident_free = 0

    def of(self, count: Count, min_free: int = 8) -> HeapTrim:
        return HeapTrim(count, lambda: self.free, self.trim, lambda: self.resident,
                        min_free=min_free)


def test_the_heap_is_trimmed_only_when_more_than_the_threshold_is_free():
    """Free bytes at or under ``min_free``: nothing; over it: one trim, counted."""
    heap, count = Heap(free=8, resident=60, resident_free=8), Count()
    trim = heap.of(count)
    assert trim.check() is False and heap.trims == 0 and count.value == 0
    heap.free = heap.resident_free = 9
    assert trim.check() is True and heap.trims == 1 and count.value == 1
    assert heap.resident == 51 and trim.interval > 0


def test_trimmed_chunks_still_free_are_not_trimmed_again_at_every_look():
    """After a trim the same free bytes (their pages gone) trigger nothing; the process
    grown by ``min_free`` since (those chunks used and freed again) does."""
    heap = Heap(free=40, resident=80, resident_free=35)
    trim = heap.of(Count())
    assert trim.check() is True and heap.resident == 45
    assert trim.check() is False and trim.check() is False and heap.trims == 1
    heap.resident, heap.resident_free = 52, 7  # +7 MiB: under min_free
    assert trim.check() is False
    heap.resident, heap.resident_free = 53, 8
    assert trim.check() is True and heap.trims == 2 and heap.resident == 45


def test_a_trim_during_a_stall_does_not_keep_the_drain_from_being_trimmed():
    """A look while a sink stalls trims what is free then; the drain frees far more (the
    process no larger): that is trimmed at the next look."""
    heap = Heap(free=10, resident=77, resident_free=2)
    trim = heap.of(Count())
    assert trim.check() is True and heap.resident == 75
    heap.free, heap.resident, heap.resident_free = 42, 76, 32  # drained
    assert trim.check() is True and heap.trims == 2 and heap.resident == 44


def test_glibc_gives_a_drained_burst_back_to_the_system():
    """In a fresh process with the shipper's malloc settings: 40 MiB of chunk-sized
    blocks (230 KB, under the 1 MiB mmap threshold, so from the heap), every other one
    freed: the freed half (20 MiB, each between two live blocks) stays resident; the real
    ``heap_trim`` sees it free and its trim gives at least 90% of it back. Skipped where
    the C library has no ``mallinfo2``."""
    if heap_trim(Count()) is None:
        pytest.skip("no glibc mallinfo2/malloc_trim here")
    script = textwrap.dedent("""
        import sys
        from shipper.sinks.allocator import heap_trim, return_big_blocks

        class Count:
            value = 0
            def inc(self, amount=1):
                Count.value += 1

        def rss_kib():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS"):
                    return int(line.split()[1])

        assert return_big_blocks()
        trim = heap_trim(Count())
        start = rss_kib()
        blocks = [b"x" * 230_000 for _ in range(180)]  # written: resident
        del blocks[::2]  # each freed one between two live ones: none merges into the top
        assert trim._free_bytes() > 19 << 20
        freed = rss_kib()
        assert trim.check() and Count.value == 1
        print(freed - start, freed - rss_kib())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)
    grown, returned = map(int, out.stdout.split())
    assert grown >= 35 * 1024, out.stdout  # the freed half still resident
    assert returned >= 18 * 1024, out.stdout  # ~20 MiB freed: at least 90% back
