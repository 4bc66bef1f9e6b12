"""Helpers of the sink fault tests: when each line was written and when it arrived,
a receiver that refuses chosen batches, and percentiles.

:class:`TimedWriter` writes JSON lines ``{"level": ..., "msg": "SEQ:<stream>:<n> ..."}``
at a steady pace (every ``warn_every``-th line at ``warning``, the next at ``error``) and
remembers when each one was written; :class:`TimedTally` remembers when each token first
arrived, so per-line latency is exact.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from tests.reliability.harness import TOKEN, Tally
from tests.reliability.receiver import Receiver


class TimedTally(Tally):
    """A :class:`Tally` that also keeps the first arrival time of each token."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[tuple[str, int], float] = {}

    def feed(self, raw: bytes) -> None:
        now = time.monotonic()
        super().feed(raw)
        with self.lock:
            for match in TOKEN.finditer(raw):
                self.arrived.setdefault((match.group(1).decode(), int(match.group(2))), now)


class KeepingTally(Tally):
    """A :class:`Tally` that also keeps the output rows holding ``keep``."""

    def __init__(self, keep: bytes) -> None:
        super().__init__()
        self.keep = keep
        self.rows: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        super().feed(raw)
        if self.keep in raw:
            with self.lock:
                self.rows.append(raw)


def level_of(n: int, warn_every: int) -> str:
    if warn_every and n % warn_every == 0:
        return "warning"
    if warn_every and n % warn_every == 1:
        return "error"
    return "info"


class TimedWriter(threading.Thread):
    """Writes ``count`` JSON lines of ``stream`` to ``path`` at about ``rate`` lines/s."""

    def __init__(self, path: Path, stream: str, count: int, rate: float, *,
                 warn_every: int = 10, pad: int = 60, bursts: int = 50) -> None:
        super().__init__(daemon=True)
        self.path, self.stream, self.count, self.rate = path, stream, count, rate
        self.warn_every, self.pad, self.bursts = warn_every, pad, bursts
        self.written_at: dict[int, float] = {}
        self.stop = threading.Event()

    def line(self, n: int) -> bytes:
        return (json.dumps({"level": level_of(n, self.warn_every),
                            "msg": f"SEQ:{self.stream}:{n} " + "x" * self.pad}) + "\n").encode()

    def run(self) -> None:
        step = max(1, int(self.rate / self.bursts))
        began = time.monotonic()
        with open(self.path, "ab", buffering=0) as fh:
            for first in range(0, self.count, step):
                if self.stop.is_set():
                    return
                last = min(self.count, first + step)
                fh.write(b"".join(self.line(n) for n in range(first, last)))
                now = time.monotonic()
                for n in range(first, last):
                    self.written_at[n] = now
                ahead = began + last / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

    def high(self) -> list[int]:
        """Line numbers written at ``warning`` or above."""
        return [n for n in range(self.count) if level_of(n, self.warn_every) != "info"]


def latencies(writer: TimedWriter, tally: TimedTally, *, until: float | None = None,
              horizon: float) -> list[float]:
    """Latency of each line written before ``until`` (a line never seen counts as
    ``horizon`` seconds late)."""
    out = []
    for n, written in writer.written_at.items():
        if until is not None and written > until:
            continue
        arrived = tally.arrived.get((writer.stream, n))
        out.append(arrived - written if arrived is not None else horizon)
    return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class RefusingReceiver(Receiver):
    """A :class:`Receiver` that answers 503 to the batch whose idempotency key it saw first, for as long as ``refusing`` is set: one batch stuck in
    retries while every other batch is delivered."""

    def __init__(self, tally: Tally) -> None:
        super().__init__(tally)
        self.refusing = True
        self.stuck_key: str | None = None
        self.stuck_records = 0

    def accept(self, body: bytes, encoding: str | None, key: str | None) -> int:
        with self._lock:
            if self.stuck_key is None and key:
                self.stuck_key = key
            refuse = self.refusing and key == self.stuck_key
        if refuse:
            with self._lock:
                self.requests[503] += 1
            return 503
        return super().accept(body, encoding, key)
