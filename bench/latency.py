"""Latency in follow mode: p99 from a line being written to its record on stdout.

The writer (:mod:`bench.writer`, its own process) stamps each line with ``sent_ns``; this
side reads the shipper's stdout as it comes and takes ``arrival - sent_ns`` per record.
"""

from __future__ import annotations

import math
import os
import re
import selectors
import subprocess
import sys
import time
from pathlib import Path

from bench.errors import BenchError
from bench.procs import Command, stop_daemon
from bench.settings import BenchSettings

#: the send time, as written (``sent_ns=N``) or lifted into a field (``"sent_ns":"N"``)
SENT = re.compile(rb'sent_ns"?[=:]"?(\d+)')


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


class ArrivalReader:
    """Reads a pipe until told to stop, recording latency (ms) of each probe record."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.tail = b""
        self.latencies: list[float] = []
        self.lines = 0
        self.selector = selectors.DefaultSelector()
        self.selector.register(fd, selectors.EVENT_READ)

    def read_for(self, seconds: float) -> bool:
        """Read what arrives within ``seconds``; False once the pipe is closed."""
        if not self.selector.select(timeout=seconds):
            return True
        block = os.read(self.fd, 1 << 20)
        arrived = time.time_ns()
        if not block:
            return False
        block = self.tail + block
        cut = block.rfind(b"\n") + 1
        self.tail = block[cut:]
        for line in block[:cut].splitlines():
            self.lines += 1
            if match := SENT.search(line):
                self.latencies.append((arrived - int(match.group(1))) / 1e6)
        return True

    def wait_lines(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.lines < count and time.monotonic() < deadline:
            if not self.read_for(0.05):
                return False
        return self.lines >= count


def run_latency(settings: BenchSettings, cmd: Command, log_path: Path) -> dict[str, object]:
    """Start the shipper in follow mode on an empty file, wait for a warm-up line, then write
    at ``latency_rate`` lines/s for ``latency_seconds`` and collect per-record latency."""
    source = Path(cmd.argv[cmd.argv.index("--path") + 1])
    source.write_bytes(b"")
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(cmd.argv, stdout=subprocess.PIPE, stderr=err,
                                stdin=subprocess.DEVNULL, env=os.environ | cmd.env)
    try:
        return _measure(settings, proc, source)
    finally:
        stop_daemon(proc)


def write_steadily(settings: BenchSettings, reader: ArrivalReader, path: Path) -> int:
    """The writer (:mod:`bench.writer`) appends to ``path`` at ``latency_rate`` lines a
    second for ``latency_seconds`` while ``reader`` reads; the lines it wrote."""
    writer = subprocess.Popen([sys.executable, "-m", "bench.writer", str(path),
                               str(settings.latency_rate), str(settings.latency_seconds)],
                              stdout=subprocess.PIPE)
    while writer.poll() is None:
        reader.read_for(0.05)
    return int(writer.communicate()[0] or 0)


def _measure(settings: BenchSettings, proc: subprocess.Popen[bytes], source: Path) -> dict:
    assert proc.stdout is not None
    reader = ArrivalReader(proc.stdout.fileno())
    with open(source, "ab") as fh:
        fh.write(b"2025-07-06T10:30:00Z INFO latency warm-up\n")
    if not reader.wait_lines(1, 60.0):
        raise BenchError("follow mode: the warm-up line never reached stdout")
    sent = write_steadily(settings, reader, source)
    reader.wait_lines(sent + 1, 10.0)
    lat = reader.latencies
    if not lat:
        raise BenchError("follow mode: no probe record reached stdout")
    return {"rate": settings.latency_rate, "seconds": settings.latency_seconds,
            "sent": sent, "received": len(lat), "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99), "max_ms": max(lat)}
