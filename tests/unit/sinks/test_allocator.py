"""The allocator's settings and the heap's trim (:mod:`shipper.sinks.allocator`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from shipper.sinks.allocator import HeapTrim, heap_trim


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

    def of(self, count: Count, min_free: int = 8, min_gain: int = 1) -> HeapTrim:
        return HeapTrim(count, lambda: self.free, self.trim, lambda: self.resident,
                        min_free=min_free, min_gain=min_gain)


def test_the_heap_is_trimmed_only_when_more_than_the_threshold_is_free():
    """Free bytes at or under ``min_free``: nothing; over it: one trim, counted."""
    heap, count = Heap(free=8, resident=60, resident_free=8), Count()
    trim = heap.of(count)
    assert trim.check() is False and heap.trims == 0 and count.value == 0
    heap.free = heap.resident_free = 9
    assert trim.check() is True and heap.trims == 1 and count.value == 1
    assert heap.resident == 51 and trim.interval > 0


def test_a_trim_that_gives_nothing_back_is_not_counted():
    """The trimmed chunks stay free with their pages gone: the next look trims again (a
    no-op, ~35 us) but counts only a trim that made the process ``min_gain`` smaller."""
    heap, count = Heap(free=40, resident=80, resident_free=35), Count()
    trim = heap.of(count)
    assert trim.check() is True and heap.resident == 45
    assert trim.check() is False and trim.check() is False
    assert heap.trims == 3 and count.value == 1


def test_what_a_drain_frees_after_a_trim_in_the_stall_is_trimmed_at_the_next_look():
    """The case CI caught: a look inside the stall trims (19 MiB free, 80 MiB resident);
    the drain then releases the heap's top, so fewer bytes are free (9.6 MiB) and the
    process is smaller (53 MiB) than after that trim, yet 7 MiB of the freed pages are
    resident: the next look gives them back."""
    heap, count = Heap(free=19, resident=80, resident_free=19), Count()
    trim = heap.of(count)
    assert trim.check() is True and heap.resident == 61
    heap.free, heap.resident, heap.resident_free = 9.6, 53, 7  # drained
    assert trim.check() is True and heap.resident == 46 and count.value == 2


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
