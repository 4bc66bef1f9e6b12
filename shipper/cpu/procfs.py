"""What ``/proc`` says about this process's threads and the machine's CPUs (Linux).

Every function takes the ``/proc`` directory (tests give a fake one) and reads small
in-memory files: no disk I/O.
"""

from __future__ import annotations

import os
from pathlib import Path

#: ``/proc/<pid>/stat`` field 39 (1-based): the CPU the task last ran on
_PROCESSOR_FIELD = 39
#: fields of ``/proc/<pid>/stat`` up to and including ``comm``, which ends in ``)``
_FIELDS_TO_COMM = 2
#: the per-CPU columns of ``/proc/stat`` that count idle time: ``idle`` and ``iowait``
_IDLE_COLUMNS = (4, 5)


def thread_ids(proc: Path) -> list[int]:
    """The ids of this process's threads (``/proc/self/task``)."""
    return [int(name) for name in os.listdir(proc / "self" / "task") if name.isdigit()]


def current_cpu(proc: Path) -> int | None:
    """The CPU this process's main thread last ran on; ``None`` if unreadable."""
    try:
        text = (proc / "self" / "stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 1:].split()  # comm may hold spaces and parentheses
    index = _PROCESSOR_FIELD - _FIELDS_TO_COMM - 1
    return int(rest[index]) if len(rest) > index and rest[index].isdigit() else None


def run_delay_ns(proc: Path) -> int:
    """Nanoseconds this process's threads spent runnable but waiting for a CPU, summed
    (``/proc/self/task/*/schedstat``, the second column); threads that ended meanwhile
    are left out."""
    total = 0
    for tid in thread_ids(proc):
        try:
            columns = (proc / "self" / "task" / str(tid) / "schedstat").read_text().split()
        except OSError:
            continue  # ended meanwhile
        if len(columns) > 1 and columns[1].isdigit():
            total += int(columns[1])
    return total


def idle_ticks(proc: Path) -> dict[int, int]:
    """Each CPU's idle time so far, in clock ticks (``/proc/stat``: idle + iowait)."""
    ticks: dict[int, int] = {}
    for line in (proc / "stat").read_text().splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or not name[3:].isdigit():
            continue
        columns = rest.split()
        if len(columns) >= max(_IDLE_COLUMNS):
            ticks[int(name[3:])] = sum(int(columns[i - 1]) for i in _IDLE_COLUMNS)
    return ticks
