"""Every thread of the shipper under the kernel's ``SCHED_BATCH`` policy (``cpu.batch``).

A thread the event loop wakes (the tailer's reader, a stdout sink's writer) used to preempt
it on their shared CPU at once, only to find the GIL held and go back to sleep: 1M lines
through stdout made ~7.8k context switches, the event loop's thread ~4k of them involuntary.
Under ``SCHED_BATCH`` a woken thread waits for the running one's slice to end or for it to
block (it would wait for the GIL anyway): 2.8k switches, ~2% less CPU. The same holds
towards the pod's application on that CPU: a shipper thread that wakes does not preempt
it. The share of CPU is unchanged (same nice value); only wake-up preemption goes, which
may delay a shipper thread by up to a scheduler slice (a few ms) on a busy CPU.

:func:`batch_threads` sets the calling thread first, then every thread listed in
``/proc/self/task``; threads started later inherit the policy from the thread that
starts them. Unprivileged processes may switch between ``SCHED_OTHER`` and
``SCHED_BATCH``; where the kernel or a seccomp profile refuses, nothing changes and a
warning says so.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from shipper.cpu import procfs

log = logging.getLogger("shipper.cpu")


class Scheduling(Protocol):
    """The kernel's scheduling-policy call for one thread (0: the calling thread)."""

    def batch(self, tid: int) -> None: ...


class OsScheduling:
    """:class:`Scheduling` of the running kernel (Linux)."""

    def batch(self, tid: int) -> None:
        os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))


def supported() -> bool:
    """Whether this platform has ``SCHED_BATCH`` (Linux does; macOS does not)."""
    return hasattr(os, "SCHED_BATCH") and hasattr(os, "sched_setscheduler")


def batch_threads(proc: Path = Path("/proc"), scheduling: Scheduling | None = None) -> int:
    """Put the calling thread, then every other thread of the process, under
    ``SCHED_BATCH``; how many threads it set (0 when the kernel refused the first)."""
    calls = scheduling if scheduling is not None else OsScheduling()
    try:
        calls.batch(0)
    except OSError as exc:  # EPERM (a seccomp profile), EINVAL (no such policy)
        log.warning("SCHED_BATCH unavailable; threads keep the default policy",
                    extra={"error": str(exc)})
        return 0
    try:
        others = set(procfs.thread_ids(proc)) - {threading.get_native_id()}
    except OSError:  # no /proc: the threads started from now on inherit it anyway
        return 1
    return 1 + sum(_batch_one(calls, tid) for tid in sorted(others))


def _batch_one(calls: Scheduling, tid: int) -> bool:
    try:
        calls.batch(tid)
    except ProcessLookupError:
        return False  # the thread ended meanwhile
    except OSError as exc:
        log.warning("SCHED_BATCH refused for a thread", extra={"tid": tid, "error": str(exc)})
        return False
    return True
