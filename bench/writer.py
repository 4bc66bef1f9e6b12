"""Append probe lines to a file at a steady rate, each carrying its send time.

``python -m bench.writer FILE RATE SECONDS``: every 10 ms it appends ``RATE/100`` lines
``<ts> INFO latency probe seq=<n> sent_ns=<time_ns>`` in one ``write`` (on an absolute
schedule, so it does not drift), then prints the number of lines written.
"""

from __future__ import annotations

import os
import sys
import time

TICK = 0.01


def probe_lines(first: int, count: int) -> bytes:
    now_ns = time.time_ns()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ns // 1_000_000_000))
    return b"".join(f"{stamp} INFO latency probe seq={first + i} sent_ns={now_ns}\n".encode()
                    for i in range(count))


def write_steady(path: str, rate: int, seconds: float) -> int:
    """Write ``rate * seconds`` lines; returns how many were written."""
    per_tick = max(1, round(rate * TICK))
    ticks = max(1, round(rate * seconds / per_tick))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    start = time.monotonic()
    try:
        for tick in range(ticks):
            delay = start + tick * TICK - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            os.write(fd, probe_lines(tick * per_tick, per_tick))
    finally:
        os.close(fd)
    return ticks * per_tick


if __name__ == "__main__":
    print(write_steady(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
