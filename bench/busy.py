"""One busy file among many quiet ones, in follow mode: the CPU it costs.

A job's pod often keeps many log files (one a task, a shard, a stage) of which one or two
are written at a time. For each count of quiet files (``BUSY_QUIET``: 0 and 1,000), without
and with a state directory (a pod has one: each save of the checkpoints, paced by
``shipper/saving.py`` while the busy file's offset moves, covers every file's entry), the
shipper follows ``*.log`` in
a directory of that many one-line files and ``busy.log``;
once every first line is out and the files have been quiet for a second, the writer
(:mod:`bench.writer`) appends to ``busy.log`` at ``latency_rate`` lines a second for
``latency_seconds``, and the shipper's CPU over that window (its process tree, from
``/proc``) is the row, with its ratio to the run without quiet files of its kind (with
or without the state directory: rows say ``checkpoints``). Before the read
rounds (``shipper/sources/rounds.py``) each of the writer's writes (every 10 ms) woke a
round that read the end of every quiet file: 40% of a core at 1,000 against 5%.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench.errors import BenchError
from bench.idle import tree_cost
from bench.latency import ArrivalReader, write_steadily
from bench.procs import Command, stop_daemon
from bench.settings import BenchSettings

BUSY_QUIET = (0, 1000)
#: (quiet files, whether the run has a state directory), in the order they run
BUSY_LAYOUTS = tuple((quiet, state) for state in (False, True) for quiet in BUSY_QUIET)
#: seconds the quiet files are left alone before the writer starts (they cool down)
COOL = 1.0


def run_busy(settings: BenchSettings, command: Command, work: Path) -> list[dict[str, object]]:
    """A row per count of quiet files, without and with a state directory (see the module
    docstring); ``command``'s ``--path`` is replaced by the directory's ``*.log``."""
    rows: list[dict[str, object]] = []
    for quiet, state in BUSY_LAYOUTS:
        directory = work / f"quiet-{quiet}{'-state' if state else ''}"
        directory.mkdir(parents=True, exist_ok=True)
        for n in range(quiet):
            (directory / f"quiet{n:04d}.log").write_bytes(
                f"2025-07-06T10:30:00Z INFO quiet file {n}\n".encode())
        (directory / "busy.log").write_bytes(b"2025-07-06T10:30:00Z INFO busy file\n")
        argv = list(command.argv)
        argv[argv.index("--path") + 1] = str(directory / "*.log")
        if state:
            argv += ["--state-dir", str(work / f"state-{quiet}")]
        rows.append({"quiet": quiet, "checkpoints": state,
                     **_measure(settings, argv, command.env, directory, quiet + 1)})
    alone = {r["checkpoints"]: r.get("cpu_pct") for r in rows if r["quiet"] == BUSY_QUIET[0]}
    for row in rows:
        base, cpu = alone.get(row["checkpoints"]), row.get("cpu_pct")
        if row["quiet"] != BUSY_QUIET[0] and isinstance(base, float) and base > 0 \
                and isinstance(cpu, float):
            row["ratio_vs_alone"] = cpu / base
    return rows


def _measure(settings: BenchSettings, argv: list[str], env: dict[str, str],
             directory: Path, first_lines: int) -> dict[str, object]:
    with open(directory / "stderr.log", "wb") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                                stdin=subprocess.DEVNULL, env=os.environ | env)
    try:
        assert proc.stdout is not None
        reader = ArrivalReader(proc.stdout.fileno())
        if not reader.wait_lines(first_lines, 120.0):
            raise BenchError(f"follow mode: {reader.lines}/{first_lines} first lines out")
        until = time.monotonic() + COOL
        while time.monotonic() < until:
            reader.read_for(0.05)
        return _window(settings, proc, reader, directory / "busy.log")
    finally:
        stop_daemon(proc)


def _window(settings: BenchSettings, proc: subprocess.Popen[bytes], reader: ArrivalReader,
            busy: Path) -> dict[str, object]:
    """The writer's run: the shipper's CPU (percent of a core) and the lines out."""
    before, start = tree_cost(proc.pid)[0], time.monotonic()
    lines_before = reader.lines
    sent = write_steadily(settings, reader, busy)
    reader.wait_lines(lines_before + sent, 10.0)
    ticks, took = tree_cost(proc.pid)[0] - before, time.monotonic() - start
    cpu_pct = 100.0 * ticks / os.sysconf("SC_CLK_TCK") / took
    return {"cpu_pct": cpu_pct, "sent": sent, "received": reader.lines - lines_before,
            "seconds": took, "rate": settings.latency_rate}
