"""Idle RSS: the resident memory of the process tree once follow mode has settled."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from bench.errors import BenchError
from bench.procs import Command


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """The process and every process below it."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def _own_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid: int) -> int:
    """VmRSS of a process and all its descendants (KiB)."""
    return sum(_own_rss(p) for p in descendants(pid))


def idle_rss(cmd: Command, log_path: Path, *, settle: float = 1.0, limit: float = 20.0,
             min_wait: float = 2.0) -> dict[str, float]:
    """Start follow mode on an empty file and sample RSS until it is stable for ``settle``
    seconds (after at least ``min_wait``)."""
    source = Path(cmd.argv[cmd.argv.index("--path") + 1])
    source.write_bytes(b"")
    with open(log_path, "wb") as err, open(cmd.output, "wb") as out:
        proc = subprocess.Popen(cmd.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=os.environ | cmd.env)
    start = time.monotonic()
    samples: list[tuple[float, int]] = []
    try:
        while (now := time.monotonic() - start) < limit and proc.poll() is None:
            samples.append((now, tree_rss_kib(proc.pid)))
            stable = [r for t, r in samples if t >= now - settle]
            if now >= min_wait and len(set(stable)) == 1 and len(stable) > 3:
                break
            time.sleep(0.2)
        if proc.poll() is not None:
            raise BenchError(f"follow mode exited {proc.returncode} while idle")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"idle_rss_mib": samples[-1][1] / 1024, "after_s": samples[-1][0],
            "peak_rss_mib": max(r for _, r in samples) / 1024}
