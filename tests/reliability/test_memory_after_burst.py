"""Memory comes back after a burst: 150k lines arrive while stdout is not read (the sink's
buffer and the chunk queue fill: ~75 MiB resident), then stdout is drained; within 15 s
of the last record the shipper is back within 12 MiB of where it started.

The chunks' NDJSON blocks (~230 KB) come from the heap (glibc's mmap threshold is 1 MiB,
:mod:`shipper.sinks.allocator`), and a heap only shrinks from its top: without the heap's
trim (``HeapTrim``, every 10 s when more than 8 MiB are free) the process stayed at
~80 MiB after the drain; with it, ~46 MiB (started at ~40). A look often falls inside
the stall: a trim that then skipped the drain's pages (it guessed from how the free bytes
and the process had moved since) stayed at 53-58 MiB.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from tests.reliability.harness import child_env, shipper_command

pytestmark = pytest.mark.integration

LINES = 150_000
MARGIN_KIB = 12 * 1024


def rss_kib(pid: int) -> int:
    for text in Path(f"/proc/{pid}/status").read_text().splitlines():
        if text.startswith("VmRSS:"):
            return int(text.split()[1])
    raise AssertionError("no VmRSS")


def corpus(path: Path) -> None:
    with open(path, "wb") as fh:
        for n in range(LINES):
            if n % 2:
                fh.write(orjson.dumps({
                    "timestamp": "2026-05-01T10:00:00.123456Z", "level": "info",
                    "event": "batch processed", "logger": "app.jobs", "seq": n,
                    "job_id": f"job-{n % 97:04d}", "duration_ms": n / 7}) + b"\n")
            else:
                fh.write(f"2026-05-01T10:00:00Z INFO worker: row {n} written "
                         f"batch_size={n % 5000} worker={n % 31}\n".encode())


def settle(pid: int, seconds: float) -> int:
    """The RSS once it stopped growing for a second (at most ``seconds``)."""
    last, until = rss_kib(pid), time.monotonic() + seconds
    while time.monotonic() < until:
        time.sleep(1.0)
        now = rss_kib(pid)
        if now <= last:
            return now
        last = now
    return last


def drain(proc: subprocess.Popen[bytes], seconds: float) -> int:
    """Lines read from the shipper's stdout until ``LINES`` came or ``seconds`` passed."""
    assert proc.stdout is not None
    fd, lines, until = proc.stdout.fileno(), 0, time.monotonic() + seconds
    os.set_blocking(fd, False)
    while lines < LINES and time.monotonic() < until:
        try:
            got = os.read(fd, 1 << 20)
        except BlockingIOError:
            time.sleep(0.02)
            continue
        lines += got.count(b"\n")
    return lines


def test_memory_is_given_back_after_a_burst_behind_a_stalled_stdout(tmp_path, podinfo, cli):
    logs = tmp_path / "logs"
    logs.mkdir()
    proc = subprocess.Popen(
        [*shipper_command(), "run", "--path", str(logs / "*.log"), "--podinfo-dir",
         str(podinfo), "--listen", "off"], stdout=subprocess.PIPE,
        stderr=open(tmp_path / "stderr.log", "wb"), env=child_env())
    try:
        start = settle(proc.pid, 10)
        corpus(logs / "app.log")
        full = settle(proc.pid, 30)
        assert full - start > 25 * 1024, f"no burst held: {start} -> {full} KiB"
        assert drain(proc, 120) == LINES
        after = [rss_kib(proc.pid)]
        until = time.monotonic() + 15
        while after[-1] - start > MARGIN_KIB and time.monotonic() < until:
            time.sleep(0.5)
            after.append(rss_kib(proc.pid))
        assert after[-1] - start <= MARGIN_KIB, (
            f"RSS {start} KiB at start, {full} KiB full, still {after[-1]} KiB 15 s after "
            f"the drain")
    finally:
        proc.terminate()
        drain(proc, 5)
        proc.wait(30)
