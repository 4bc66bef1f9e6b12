"""Config model of CPU placement (owned by :mod:`shipper.cpu`).

The shipper's threads (the event loop, the tailer's reader, a stdout sink's writer, the
worker threads) hand every chunk from one to another. When they run on different CPUs each
hand-off moves the chunk's bytes and objects between the CPUs' caches, and wakes the other
CPU: measured on 1M lines (2 vCPUs), 7.7-8.3 CPU-s with the threads free to move against
6.1-6.3 with them on one CPU. Python runs one thread at a time (the GIL), so one CPU is
all the shipper can use anyway. ``pin`` keeps them together on the CPU the process started
on, of those it is allowed. Every ``check_interval`` the shipper looks at how much of that
CPU was left to it (idle, or used by the shipper itself) and how idle the other allowed
CPUs were, and moves every thread to the idlest one when it was idle for a larger share of
the interval by at least ``min_gain`` (the pod's app got busy on the shipper's CPU, say).
Its own load never makes it move: a shipper using its whole CPU alone has all of it.
"""

from __future__ import annotations

from pydantic import Field

from shipper.units import Duration, Model


class CpuSettings(Model):
    """``cpu:`` keys (see the module docstring)."""

    #: keep every thread of the shipper on one CPU (``false``: the kernel places them)
    pin: bool = True
    #: run the threads under ``SCHED_BATCH``: one that wakes does not preempt the running
    #: one (the GIL holder, or the pod's app) on its CPU (:mod:`shipper.cpu.policy`)
    batch: bool = True
    #: how often the CPUs' use is looked at
    check_interval: Duration = Field(10.0, gt=0)
    #: move when another CPU was idle for more of the interval than the shipper's CPU left
    #: to it, by at least this share of the interval (fewer moves back and forth)
    min_gain: float = Field(0.25, gt=0, le=1)
