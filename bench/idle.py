"""Idle cost: the resident memory of the process tree once follow mode has settled, then
its CPU and wake-ups over a quiet window (what every pod pays while nothing is logged)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench.errors import BenchError
from bench.procs import Command, stop_daemon


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


def _tasks(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def _ticks(pid: int) -> int:
    """utime + stime of a process (its threads, exited ones too), in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _switches(task: Path) -> int:
    try:
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cost(pid: int) -> tuple[int, int]:
    """CPU clock ticks and voluntary context switches (every thread's) of the tree."""
    pids = descendants(pid)
    return (sum(_ticks(p) for p in pids),
            sum(_switches(t) for p in pids for t in _tasks(p)))


def idle_cpu(pid: int, window: float) -> dict[str, float]:
    """CPU of the tree over ``window`` quiet seconds, as a percentage of one core, and its
    wake-ups a second (voluntary context switches: each is a sleep that ended)."""
    ticks, switches = tree_cost(pid)
    start = time.monotonic()
    time.sleep(window)
    ticks_after, switches_after = tree_cost(pid)
    took = time.monotonic() - start
    per_tick = 1.0 / os.sysconf("SC_CLK_TCK")
    return {"idle_cpu_pct": 100.0 * (ticks_after - ticks) * per_tick / took,
            "idle_wakeups_s": (switches_after - switches) / took, "idle_window_s": took}


def idle_rss(cmd: Command, log_path: Path, *, settle: float = 1.0, limit: float = 20.0,
             min_wait: float = 2.0, cpu_window: float = 30.0) -> dict[str, float]:
    """Start follow mode on an empty file and sample RSS until it is stable for ``settle``
    seconds (after at least ``min_wait``); then measure CPU over ``cpu_window`` seconds
    (none when 0)."""
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
        cpu = idle_cpu(proc.pid, cpu_window) if cpu_window > 0 else {}
        if proc.poll() is not None:
            raise BenchError(f"follow mode exited {proc.returncode} while idle")
    finally:
        stop_daemon(proc)
    return {"idle_rss_mib": samples[-1][1] / 1024, "after_s": samples[-1][0],
            "peak_rss_mib": max(r for _, r in samples) / 1024, **cpu}
