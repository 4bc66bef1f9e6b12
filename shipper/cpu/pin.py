"""Keeps every thread of the shipper on one CPU, and moves them when that CPU is busy.

Why one CPU, and the settings: :mod:`shipper.cpu.settings`. :meth:`CpuPin.start` pins the
threads there are to the CPU the process runs on (threads started later inherit it from
the thread that starts them); :meth:`CpuPin.check` measures the share of the time since
the last look that the threads waited for their CPU and, above ``max_wait_share``, pins
them all to the allowed CPU that was idle longest meanwhile (counted in
``shipper_cpu_moves_total``). A mask changed from outside (a cpuset resized by the
kubelet, ``taskset``) becomes the new set of allowed CPUs. Nothing happens where fewer than
two CPUs are allowed, with ``pin: false``, or where the platform has no affinity calls.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from shipper.cpu import procfs
from shipper.cpu.settings import CpuSettings
from shipper.metrics import Metrics

log = logging.getLogger("shipper.cpu")

NS = 1e9


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
                 proc: Path = Path("/proc"), affinity: Affinity | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.cpu: int | None = None
        self._metrics = metrics
        self._proc = proc
        self._affinity = affinity if affinity is not None else OsAffinity()
        self._clock = clock
        self._allowed: set[int] = set()
        self._since = (0.0, 0, dict[int, int]())  # clock, run delay, idle ticks

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
        """Move to a less busy CPU when the threads waited too long for theirs (see the
        module docstring); the CPU they are on now."""
        if self.cpu is None:
            return None
        before = self._since
        try:
            now = self._since = self._readings()
        except OSError as exc:  # /proc unreadable this time: look again at the next check
            log.warning("could not read the CPU waits", extra={"error": str(exc)})
            return self.cpu
        if self._changed_outside():
            return self.cpu
        waited = (now[1] - before[1]) / NS / max(now[0] - before[0], 1e-9)
        if waited <= self.settings.max_wait_share:
            return self.cpu
        target = self._idlest(before[2], now[2], self.cpu)
        if target is not None and self._move(target):
            self._metrics.cpu_moves_total.inc()
            log.info("threads moved to a less busy CPU",
                     extra={"cpu": target, "waited_share": round(waited, 3)})
        return self.cpu

    def _readings(self) -> tuple[float, int, dict[int, int]]:
        return (self._clock(), procfs.run_delay_ns(self._proc), procfs.idle_ticks(self._proc))

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

    def _idlest(self, before: dict[int, int], now: dict[int, int], here: int) -> int | None:
        """The allowed CPU idle longest between the two readings, if it is not ours and
        was idle longer than ours."""
        spare = {cpu: now[cpu] - before.get(cpu, now[cpu]) for cpu in self._allowed if cpu in now}
        if not spare:
            return None
        best = max(sorted(spare), key=spare.__getitem__)
        return best if best != here and spare[best] > spare.get(here, 0) else None

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
