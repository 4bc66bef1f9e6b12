"""Liveness that tracks progress, and readiness.

The pipeline reports cheap facts (records read, records delivered, records waiting);
:meth:`Progress.healthy` turns them into a verdict: unhealthy when records have been
waiting for longer than ``stall_after`` seconds while nothing was read or delivered.
A quiet pipeline (nothing waiting) is healthy however long it stays quiet.

All methods are plain attribute updates; call them from the event loop thread.
"""

from __future__ import annotations

from typing import Callable

Clock = Callable[[], float]


class Progress:
    """Progress facts from the pipeline and the liveness/readiness verdicts."""

    def __init__(self, clock: Clock, stall_after: float) -> None:
        if stall_after <= 0:
            raise ValueError("stall_after must be positive")
        self._clock = clock
        self._stall_after = stall_after
        self._last_progress = clock()
        self._waiting = 0
        self._waiting_since = self._last_progress
        self._ready = False
        self.read_total = 0
        self.delivered_total = 0

    def note_read(self, n: int) -> None:
        """``n`` records (or lines) were read; any positive ``n`` is progress."""
        if n > 0:
            self.read_total += n
            self._last_progress = self._clock()

    def note_delivered(self, n: int) -> None:
        """``n`` records were acknowledged by a sink."""
        if n > 0:
            self.delivered_total += n
            self._last_progress = self._clock()

    def set_waiting(self, n: int) -> None:
        """How many records are currently queued or buffered, not yet delivered."""
        if n > 0 and self._waiting <= 0:
            self._waiting_since = self._clock()
        self._waiting = n

    def set_ready(self, ready: bool) -> None:
        """``True`` once config is loaded and tailing started; ``False`` while draining."""
        self._ready = ready

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def waiting(self) -> int:
        return self._waiting

    def stalled_for(self) -> float:
        """Seconds records have been waiting without any progress (0 when none wait)."""
        if self._waiting <= 0:
            return 0.0
        since = max(self._last_progress, self._waiting_since)
        return max(0.0, self._clock() - since)

    def healthy(self) -> tuple[bool, str]:
        """``(ok, reason)`` for ``/healthz``."""
        stalled = self.stalled_for()
        if stalled >= self._stall_after:
            return False, (f"stalled: {self._waiting} records waiting, nothing read or "
                           f"delivered for {stalled:.0f}s (threshold {self._stall_after:g}s)")
        if self._waiting > 0:
            return True, f"ok: {self._waiting} records waiting"
        return True, "ok"
