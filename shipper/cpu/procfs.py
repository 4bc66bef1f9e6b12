"""What ``/proc`` says about this process's threads and the machine's CPUs (Linux).

Every function takes the ``/proc`` directory (tests give a fake one) and reads small
in-memory files: no disk I/O.
"""

from __future__ import annotations

import os
from pathlib import Path

#: ``/proc/<pid>/stat`` fields (1-based): user and system time, the CPU last ran on
_UTIME_FIELD = 14
_STIME_FIELD = 15
_PROCESSOR_FIELD = 39
#: the number of the first field after ``comm`` (which ends in ``)``)
_FIRST_AFTER_COMM = 3
#: the per-CPU columns of ``/proc/stat`` (1-based) that count idle time: ``idle`` and
#: ``iowait``; the first eight (up to ``steal``) are all the time there is (``guest`` is
#: inside ``user``)
_IDLE_COLUMNS = (4, 5)
_TOTAL_COLUMNS = 8


def thread_ids(proc: Path) -> list[int]:
    """The ids of this process's threads (``/proc/self/task``)."""
    return [int(name) for name in os.listdir(proc / "self" / "task") if name.isdigit()]


def current_cpu(proc: Path) -> int | None:
    """The CPU this process's main thread last ran on; ``None`` if unreadable."""
    found = _stat_ints(proc, _PROCESSOR_FIELD)
    return None if found is None else found[0]


def process_ticks(proc: Path) -> int | None:
    """CPU time this process's threads used so far, in clock ticks (``/proc/self/stat``
    ``utime`` + ``stime``); ``None`` if unreadable."""
    found = _stat_ints(proc, _UTIME_FIELD, _STIME_FIELD)
    return None if found is None else sum(found)


def cpu_ticks(proc: Path) -> dict[int, tuple[int, int]]:
    """Each CPU's ``(idle, total)`` time so far, in clock ticks (``/proc/stat``; idle is
    ``idle`` + ``iowait``, total every column up to ``steal``)."""
    ticks: dict[int, tuple[int, int]] = {}
    for line in (proc / "stat").read_text().splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or not name[3:].isdigit():
            continue
        words = rest.split()[:_TOTAL_COLUMNS]
        if len(words) < max(_IDLE_COLUMNS) or not all(word.isdigit() for word in words):
            continue  # a line this code cannot read: that CPU is left out
        columns = [int(word) for word in words]
        ticks[int(name[3:])] = (sum(columns[i - 1] for i in _IDLE_COLUMNS), sum(columns))
    return ticks


def _stat_ints(proc: Path, *numbers: int) -> list[int] | None:
    """Fields ``numbers`` (1-based) of ``/proc/self/stat`` as integers; ``None`` when the
    file cannot be read or one of them is missing or not a number."""
    try:
        text = (proc / "self" / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 1:].split()  # ``comm`` may hold spaces and parentheses
    words = [fields[n - _FIRST_AFTER_COMM] for n in numbers
             if n - _FIRST_AFTER_COMM < len(fields)]
    if len(words) < len(numbers) or not all(word.isdigit() for word in words):
        return None
    return [int(word) for word in words]
