"""Config model of CPU placement (owned by :mod:`shipper.cpu`).

The shipper's threads (the event loop, the tailer's reader, a stdout sink's writer, the
worker threads) hand every chunk from one to another. When they run on different CPUs each
hand-off moves the chunk's bytes and objects between the CPUs' caches, and wakes the other
CPU: measured on 1M lines (2 vCPUs), 7.7-8.3 CPU-s with the threads free to move against
6.1-6.3 with them on one CPU. Python runs one thread at a time (the GIL), so one CPU is
all the shipper can use anyway. ``pin`` keeps them together on the CPU the process started
on, of those it is allowed; every ``check_interval`` the shipper looks at how long its
threads waited for that CPU, and moves them all to the CPU idle longest since the last look
when they waited more than ``max_wait_share`` of the interval (the pod's app got busy
there, say).
"""

from __future__ import annotations

from pydantic import Field

from shipper.units import Duration, Model


class CpuSettings(Model):
    """``cpu:`` keys (see the module docstring)."""

    #: keep every thread of the shipper on one CPU (``false``: the kernel places them)
    pin: bool = True
    #: how often the waits for the CPU are looked at
    check_interval: Duration = Field(10.0, gt=0)
    #: move when the threads waited for their CPU more than this share of the interval
    max_wait_share: float = Field(0.2, gt=0, le=1)
