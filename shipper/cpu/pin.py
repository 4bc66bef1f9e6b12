"""Keeps every thread of the shipper on one CPU, and moves them when that CPU is busy.

Why one CPU, and the settings: :mod:`shipper.cpu.settings`. :meth:`CpuPin.start` pins the
threads there are to the CPU the process runs on (threads started later inherit it from the
thread that starts them, and one that escaped is pinned at the next look);
:meth:`CpuPin.check` compares, since the last look, the share of the shipper's CPU left to
it (idle or its own) with the idle share of every other allowed CPU, and pins the threads
to the idlest when that leaves them ``min_gain`` more (counted in
``shipper_cpu_moves_total``). Shares are of each CPU's ticks in ``/proc/stat``
(``/proc/self/stat`` for the shipper's own), so the clock rate does not matter. A mask
changed from outside (a cpuset resized by the kubelet, ``taskset``) becomes the new set of
allowed CPUs. Nothing happens where fewer than two CPUs are allowed, with ``pin: false``,
or where the platform has no affinity calls.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from shipper.cpu import procfs
from shipper.cpu.settings import CpuSettings
from shipper.metrics import Metrics

log = logging.getLogger("shipper.cpu")

#: what one look reads: the shipper's own ticks, each CPU's ``(idle, total)`` ticks
Readings = tuple[int, dict[int, tuple[int, int]]]


class Affinity(Protocol):
    """The kernel's CPU affinity calls (``os.sched_getaffinity``/``sched_setaffinity``)."""

    def get(self, tid: int) -> set[int]: ...

    def set(self, tid: int, cpus: set[int]) -> None: ...


class OsAffinity:
    """:class:`Affinity` of the running kernel (Linux)."""

    def get(self, tid: int) -> set[int]:
        return os.sched_getaffinity(tid)

    def set(self, tid: int, cpus: set[int]) -> None:
        os.sched_setaffinity(tid, cpus)


def supported() -> bool:
    """Whether this platform has the affinity calls (Linux does; macOS does not)."""
    return hasattr(os, "sched_setaffinity")


class CpuPin:
    """One per process (see the module docstring); :attr:`cpu` is where the threads are."""

    def __init__(self, settings: CpuSettings, metrics: Metrics, *,
                 proc: Path = Path("/proc"), affinity: Affinity | None = None) -> None:
        self.settings = settings
        self.cpu: int | None = None
        self._metrics = metrics
        self._proc = proc
        self._affinity = affinity if affinity is not None else OsAffinity()
        self._allowed: set[int] = set()
        self._since: Readings = (0, {})

    @property
    def interval(self) -> float:
        """Seconds between two looks (:meth:`check`)."""
        return self.settings.check_interval

    def start(self) -> int | None:
        """Pin every thread to the CPU the process is on; that CPU, or ``None`` when
        nothing was pinned (``pin: false``, one CPU allowed, affinity refused)."""
        if not self.settings.pin:
            return None
        allowed = self._affinity.get(0)
        if len(allowed) < 2:
            return None
        self._allowed = allowed
        here = procfs.current_cpu(self._proc)
        try:
            if not self._move(here if here in allowed else min(allowed)):
                return None
            self._since = self._readings()
        except OSError as exc:  # no /proc to read (the threads stay where the kernel puts them)
            log.warning("CPU pinning unavailable", extra={"error": str(exc)})
            self.cpu = None
            return None
        log.info("threads pinned to one CPU", extra={"cpu": self.cpu,
                                                      "allowed": sorted(allowed)})
        return self.cpu

    def check(self) -> int | None:
        """Move to a CPU that leaves the threads more time (see the module docstring);
        the CPU they are on now."""
        if self.cpu is None:
            return None
        before = self._since
        try:
            now = self._since = self._readings()
        except OSError as exc:  # /proc unreadable this time: look again at the next check
            log.warning("could not read the CPUs' use", extra={"error": str(exc)})
            return self.cpu
        if self._changed_outside():
            return self.cpu
        target = self._better(before, now, self.cpu)
        if target is None:
            self._move(self.cpu)  # a thread started while the last move ran joins them
        elif self._move(target):
            self._metrics.cpu_moves_total.inc()
            log.info("threads moved to a less busy CPU", extra={"cpu": target})
        return self.cpu

    def _readings(self) -> Readings:
        own = procfs.process_ticks(self._proc)
        if own is None:
            raise OSError("no CPU time in /proc/self/stat")
        return own, procfs.cpu_ticks(self._proc)

    def _changed_outside(self) -> bool:
        """Someone else set the mask: several CPUs are the new allowed set (pinned again
        to one of them), a single other CPU is kept as it is."""
        mask = self._affinity.get(0)
        if mask == {self.cpu}:
            return False
        if len(mask) > 1:
            self._allowed = mask
            self._move(self.cpu if self.cpu in mask else min(mask))
        else:
            self._allowed, self.cpu = mask, min(mask)
        log.info("CPU affinity changed from outside", extra={"cpu": self.cpu,
                                                             "allowed": sorted(mask)})
        return True

    def _better(self, before: Readings, now: Readings, here: int) -> int | None:
        """The allowed CPU idle for the largest share of the time between the readings,
        when that share beats what ``here`` left to the shipper by ``min_gain``."""
        shares = {cpu: _share(before[1].get(cpu), ticks, 0) for cpu, ticks in now[1].items()
                  if cpu in self._allowed}
        if here not in shares or len(shares) < 2:
            return None
        left = _share(before[1].get(here), now[1][here], now[0] - before[0])
        best = max(sorted(shares.keys() - {here}), key=shares.__getitem__)
        return best if shares[best] >= left + self.settings.min_gain else None

    def _move(self, cpu: int) -> bool:
        """Every thread onto ``cpu`` (the calling one first); ``False``, with nothing
        moved, when the kernel refuses that first move."""
        try:
            self._affinity.set(0, {cpu})
        except OSError as exc:  # not allowed any more (cpuset shrank), or no permission
            self._allowed.discard(cpu)
            log.warning("could not pin threads to a CPU", extra={"cpu": cpu, "error": str(exc)})
            return False
        for tid in procfs.thread_ids(self._proc):
            try:
                self._affinity.set(tid, {cpu})
            except ProcessLookupError:
                continue  # the thread ended meanwhile
        self.cpu = cpu
        return True


def _share(before: tuple[int, int] | None, now: tuple[int, int], own: int) -> float:
    """The share of a CPU's ticks between two readings that were idle, plus ``own``
    (the shipper's ticks, counted as free where they were spent); 0 without a delta."""
    if before is None or now[1] <= before[1]:
        return 0.0
    return min(1.0, (now[0] - before[0] + own) / (now[1] - before[1]))
