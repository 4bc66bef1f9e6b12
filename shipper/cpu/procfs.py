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
#: fields of ``/proc/<pid>/stat`` up to and including ``comm``, which ends in ``)``
_FIELDS_TO_COMM = 2
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
    fields = _stat_fields(proc)
    index = _PROCESSOR_FIELD - _FIELDS_TO_COMM - 1
    if fields is None or len(fields) <= index or not fields[index].isdigit():
        return None
    return int(fields[index])


def process_ticks(proc: Path) -> int | None:
    """CPU time this process's threads used so far, in clock ticks (``/proc/self/stat``
    ``utime`` + ``stime``, fields 14 and 15); ``None`` if unreadable."""
    fields = _stat_fields(proc)
    if fields is None or len(fields) <= _STIME_FIELD - _FIELDS_TO_COMM - 1:
        return None
    utime, stime = (fields[n - _FIELDS_TO_COMM - 1] for n in (_UTIME_FIELD, _STIME_FIELD))
    return int(utime) + int(stime) if utime.isdigit() and stime.isdigit() else None


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


def _stat_fields(proc: Path) -> list[str] | None:
    """``/proc/self/stat`` from field 3 on (``comm`` may hold spaces and parentheses)."""
    try:
        text = (proc / "self" / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 1:].split()
