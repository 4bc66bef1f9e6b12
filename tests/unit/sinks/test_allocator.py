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


def test_the_heap_is_trimmed_only_when_more_than_the_threshold_is_free():
    """Free bytes at or under ``min_free``: nothing; over it: one trim, counted."""
    free, trims, count = [TRIM_THRESHOLD], [], Count()
    trim = HeapTrim(count, lambda: free[0], lambda: trims.append(1))
    assert trim.check() is False and trims == [] and count.value == 0
    free[0] = TRIM_THRESHOLD + 1
    assert trim.check() is True and trims == [1] and count.value == 1
    assert trim.interval > 0


def test_glibc_gives_a_drained_burst_back_to_the_system():
    """In a fresh process with the shipper's malloc settings: 40 MiB of chunk-sized
    blocks (230 KB, under the 1 MiB mmap threshold, so from the heap) freed behind small
    live objects stay resident; the real ``heap_trim`` sees them free and its trim gives
    at least 90% of them back. Skipped where the C library has no ``mallinfo2``."""
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
        pins = [bytearray(600) for _ in range(50)]  # above them: the top cannot shrink
        del blocks
        freed = rss_kib()
        assert trim.check() and Count.value == 1
        print(freed - start, freed - rss_kib())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)
    grown, returned = map(int, out.stdout.split())
    assert grown >= 35 * 1024, out.stdout  # still resident after the free
    assert returned >= 0.9 * grown, out.stdout
