"""Liveness that tracks progress, and readiness.

The pipeline reports cheap facts; :meth:`Progress.healthy` turns them into a verdict for
``/healthz``. Liveness is two conditions, each against ``stall_after`` seconds:

- **delivery**: records were accepted for delivery and are not delivered, and no sink
  delivered anything for ``stall_after`` (a wedged or dead sink);
- **reading**: bytes wait in the watched files (file lag > 0) and nothing was read for
  ``stall_after`` (a dead watcher, or backpressure from a stalled delivery).

A condition's clock starts when it begins to hold (records start waiting, lag appears)
or at the last progress, whichever is later: a quiet pipeline (nothing waiting) stays
healthy however long it stays quiet. Past ``stall_after`` the verdict is 503 and the body
names what is stalled and for how long; from ``degraded_after`` (a quarter of the
threshold, at most 5 s) it is still 200 but the body says ``degraded: ...``. A task that
failed (:meth:`set_failed`) makes it 503 at once.

All methods are plain attribute updates; call them from the event loop thread.
"""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]

#: ``degraded`` starts at this share of ``stall_after`` (at most MAX_DEGRADED_AFTER)
DEGRADED_SHARE = 0.25
MAX_DEGRADED_AFTER = 5.0


class _Condition:
    """How long ``amount`` has been positive without progress."""

    __slots__ = ("amount", "last_progress", "since")

    def __init__(self, now: float) -> None:
        self.amount = 0
        self.since = now
        self.last_progress = now

    def set(self, amount: int, now: float) -> None:
        if amount > 0 and self.amount <= 0:
            self.since = now
        self.amount = amount

    def stalled_for(self, now: float) -> float:
        if self.amount <= 0:
            return 0.0
        return max(0.0, now - max(self.last_progress, self.since))


class Progress:
    """Progress facts from the pipeline and the liveness/readiness verdicts."""

    def __init__(self, clock: Clock, stall_after: float) -> None:
        if stall_after <= 0:
            raise ValueError("stall_after must be positive")
        self._clock = clock
        self._stall_after = stall_after
        self._degraded_after = min(MAX_DEGRADED_AFTER, DEGRADED_SHARE * stall_after)
        now = clock()
        self._delivery = _Condition(now)
        self._reading = _Condition(now)
        self._failed: list[str] = []
        self._ready = False

    def note_read(self, n: int) -> None:
        """``n`` lines were read from files; any positive ``n`` is reading progress."""
        if n > 0:
            self._reading.last_progress = self._clock()

    def note_delivered(self, n: int) -> None:
        """``n`` records were acknowledged by every sink: delivery progress."""
        if n > 0:
            self._delivery.last_progress = self._clock()

    def set_undelivered(self, n: int) -> None:
        """Records accepted for delivery and not yet acknowledged."""
        self._delivery.set(n, self._clock())

    #: the earlier name of :meth:`set_undelivered`
    set_waiting = set_undelivered

    def set_file_lag(self, nbytes: int) -> None:
        """Bytes written to watched files and not yet read."""
        self._reading.set(nbytes, self._clock())

    def set_failed(self, task: str, error: str) -> None:
        """A pipeline task failed: unhealthy from now on."""
        self._failed.append(f"{task} ({error})")

    def set_ready(self, ready: bool) -> None:
        """``True`` once config is loaded and tailing started; ``False`` while draining."""
        self._ready = ready

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def waiting(self) -> int:
        """Records accepted for delivery and not delivered."""
        return self._delivery.amount

    def stalled_for(self) -> float:
        """Seconds the longest-stalled condition has been stalled (0 when none is)."""
        now = self._clock()
        return max(self._delivery.stalled_for(now), self._reading.stalled_for(now))

    def healthy(self) -> tuple[bool, str]:
        """``(ok, reason)`` for ``/healthz``."""
        if self._failed:
            return False, "failed: task " + ", ".join(self._failed)
        now = self._clock()
        stalls = self._describe(now, self._stall_after)
        if stalls:
            return False, f"stalled: {stalls} (threshold {self._stall_after:g}s)"
        slow = self._describe(now, self._degraded_after)
        if slow:
            return True, f"degraded: {slow} (unhealthy at {self._stall_after:g}s)"
        if self._delivery.amount > 0:
            return True, f"ok: {self._delivery.amount} records waiting"
        return True, "ok"

    def _describe(self, now: float, at_least: float) -> str:
        parts = []
        delivery = self._delivery.stalled_for(now)
        if delivery > 0 and delivery >= at_least:
            parts.append(f"delivery: {self._delivery.amount} records accepted and not "
                         f"delivered, nothing delivered for {int(delivery)}s")
        reading = self._reading.stalled_for(now)
        if reading > 0 and reading >= at_least:
            parts.append(f"reading: {self._reading.amount} bytes waiting in files, "
                         f"nothing read for {int(reading)}s")
        return "; ".join(parts)


def healthz_answer(progress: Progress) -> tuple[int, dict[str, str]]:
    """Status and JSON body of ``/healthz``."""
    ok, reason = progress.healthy()
    return (200 if ok else 503), {"status": "ok" if ok else "stalled", "reason": reason}


def readyz_answer(progress: Progress) -> tuple[int, dict[str, str]]:
    """Status and JSON body of ``/readyz``."""
    ready = progress.ready
    return (200 if ready else 503), {"status": "ready" if ready else "not ready"}
