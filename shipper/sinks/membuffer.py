"""A sink's memory buffer: encoded envelopes, bounded in bytes, with a ``when_full`` policy.

Everything not yet accounted for counts (queued and in flight): ``max_bytes`` of encoded
records (plus a small measured overhead per record and envelope, see
:mod:`shipper.sinks.batch`) and, if set, ``max_records``. When a new envelope does not fit:

* ``block``: ``put`` waits until deliveries make room (backpressure reaches the tailer);
* ``drop_newest`` / ``drop_oldest``: records are shed, counted, and their envelopes
  acknowledged. Records below ``warning`` go first (the new envelope's and the queued ones),
  newest first or oldest first; records at ``warning`` or above only when none below is
  left. Records in flight are never shed.

An empty buffer always takes one envelope, however big. ``close`` wakes a waiting ``put``
(it returns without acknowledging: the records are re-read from the checkpoint).
"""

from __future__ import annotations

import asyncio
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from itertools import accumulate

from shipper.errors import SinkStoppedError
from shipper.sinks.batch import ENVELOPE_OVERHEAD, Envelope, Lines, Span, cost

WhenFull = str  # "block" | "drop_newest" | "drop_oldest"


class MemoryBuffer:
    def __init__(self, max_bytes: int, *, max_records: int | None = None,
                 when_full: WhenFull = "block", on_shed: Callable[[int], None]) -> None:
        self.max_bytes = max_bytes
        self.max_records = max_records
        self.when_full = when_full
        self._on_shed = on_shed
        self._queue: deque[Envelope] = deque()
        self._unsettled: dict[Envelope, None] = {}  # insertion-ordered: oldest first
        #: records and bytes (``cost``) not yet accounted for: queued + in flight
        self.records = 0
        self.bytes = 0
        #: records and NDJSON bytes not yet taken into a batch
        self.queued_records = 0
        self.queued_bytes = 0
        self._data = asyncio.Event()
        self._room = asyncio.Event()
        self.closing = False
        self.stopped: SinkStoppedError | None = None

    # --- the producer side ------------------------------------------------------------------
    async def put(self, env: Envelope) -> bool:
        """Queue an envelope (waiting or shedding as the policy says); False when closing
        made it give up (the envelope is then not acknowledged)."""
        while not self._fits(env):
            self._check_stopped()
            if self.closing:
                return False
            if self.when_full != "block":
                self._make_room(env)
                if not env.queued:
                    return True
                continue
            self._room.clear()
            await self._room.wait()
        self._check_stopped()
        self._admit(env)
        return True

    def _fits(self, env: Envelope) -> bool:
        if not self.records:
            return True
        if self.max_records is not None and self.records + env.queued > self.max_records:
            return False
        return self.bytes + _env_cost(env) <= self.max_bytes

    def _admit(self, env: Envelope) -> None:
        env.remaining = env.queued
        self._queue.append(env)
        self._unsettled[env] = None
        self.records += env.queued
        self.bytes += _env_cost(env)
        self.queued_records += env.queued
        self.queued_bytes += env.queued_bytes
        self._data.set()

    def _check_stopped(self) -> None:
        if self.stopped is not None:
            raise self.stopped

    # --- shedding ---------------------------------------------------------------------------
    def _make_room(self, env: Envelope) -> None:
        """Shed records (below warning first) until ``env`` fits or is empty."""
        for low_only in (True, False):
            for victim in self._victims(env):
                if self._fits(env) or not env.queued:
                    return
                if victim is env:
                    self._trim_incoming(env, low_only)
                elif low_only:
                    self._drop_lows(victim)
                else:
                    self._drop_prefix(victim, env)

    def _victims(self, env: Envelope) -> list[Envelope]:
        """Envelopes in the order their records go: oldest or newest first."""
        if self.when_full == "drop_oldest":
            return [*self._queue, env]
        return [env, *reversed(self._queue)]

    def _excess(self, env: Envelope) -> tuple[int, int]:
        """Bytes and records to free before ``env`` fits (<= 0: none)."""
        over_records = (self.records + env.queued - self.max_records
                        if self.max_records is not None else 0)
        return self.bytes + _env_cost(env) - self.max_bytes, over_records

    def _trim_incoming(self, env: Envelope, low_only: bool) -> None:
        """Shed records of the envelope not yet admitted, exactly as many as needed."""
        over_bytes, over_records = self._excess(env)
        oldest_first = self.when_full == "drop_oldest"
        order = range(env.count) if oldest_first else range(env.count - 1, -1, -1)
        drop: set[int] = set()
        for index in order:
            if over_bytes <= 0 and over_records <= 0:
                break
            if low_only and _is_high(env, index):
                continue
            drop.add(index)
            over_bytes -= cost(env.ends[index] - env.start(index), 1, env.overhead)
            over_records -= 1
        if drop:
            _rebuild(env, drop)
            self._on_shed(len(drop))
        if not env.queued:
            env.token.done()  # every record accounted for (counted as shed)

    def _drop_lows(self, victim: Envelope) -> None:
        """Shed every untaken record below warning of a queued envelope."""
        if victim.high is None or victim.high.count(0, victim.first) == 0:
            return
        records, nbytes = victim.queued, victim.queued_bytes
        _rebuild(victim, {i for i in range(victim.first, victim.count) if not victim.high[i]})
        self._shed_queued(victim, records - victim.queued, nbytes - victim.queued_bytes)

    def _drop_prefix(self, victim: Envelope, env: Envelope) -> None:
        """Shed a queued envelope's oldest untaken records until ``env`` fits."""
        over_bytes, over_records = self._excess(env)
        index = victim.first
        while index < victim.count and (over_bytes > 0 or over_records > 0):
            over_bytes -= cost(victim.ends[index] - victim.start(index), 1, victim.overhead)
            over_records -= 1
            index += 1
        nbytes = victim.start(index) - victim.start(victim.first)
        shed = index - victim.first
        victim.first = index  # the bytes stay until the envelope is done (at most one)
        self._shed_queued(victim, shed, nbytes)

    def _shed_queued(self, victim: Envelope, shed: int, nbytes: int) -> None:
        if not shed:
            return
        self.records -= shed
        self.queued_records -= shed
        self.queued_bytes -= nbytes
        self.bytes -= cost(nbytes, shed, victim.overhead)
        self._on_shed(shed)
        if not victim.queued:
            self._queue.remove(victim)
        self._settle_env(victim, shed)

    # --- the consumer side ------------------------------------------------------------------
    def take(self, max_records: int, max_bytes: int) -> Lines:
        """Queued records up to the limits (at least one record when any is queued)."""
        lines = Lines()
        while self._queue and lines.count < max_records:
            env = self._queue[0]
            lo = env.start(env.first)
            stop = min(env.count, env.first + max_records - lines.count)
            end = bisect_right(env.ends, lo + max_bytes - lines.nbytes, env.first, stop)
            if end == env.first:
                if lines.count:
                    break
                end = env.first + 1
            span = Span(env, env.data, env.ends[env.first:end], lo, env.side, env.first)
            lines.add(span)
            env.first = end
            self.queued_records -= span.count
            self.queued_bytes -= span.nbytes
            if env.queued:
                break
            self._queue.popleft()
        return lines

    async def wait_data(self, timeout: float | None = None) -> None:
        """Until something is queued (or close/failure), or ``timeout`` seconds passed."""
        self._data.clear()
        if timeout is None:
            await self._data.wait()
            return
        try:
            await asyncio.wait_for(self._data.wait(), timeout)
        except TimeoutError:
            return

    @property
    def oldest_queued(self) -> float | None:
        return self._queue[0].enqueued_at if self._queue else None

    @property
    def oldest_unsettled(self) -> float | None:
        oldest = next(iter(self._unsettled), None)
        return oldest.enqueued_at if oldest is not None else None

    def settle(self, lines: Lines) -> None:
        """The batch's records are accounted for (delivered or dead-lettered)."""
        for span in lines.spans:
            self.records -= span.count
            self.bytes -= cost(span.nbytes, span.count, span.env.overhead)
            self._settle_env(span.env, span.count)
        self._room.set()

    def _settle_env(self, env: Envelope, count: int) -> None:
        env.remaining -= count
        if env.remaining <= 0 and env in self._unsettled:
            del self._unsettled[env]
            self.bytes -= ENVELOPE_OVERHEAD
            env.token.done()
        self._room.set()

    # --- ending -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop waiting: batches are cut at once, a waiting ``put`` gives up."""
        self.closing = True
        self._data.set()
        self._room.set()

    def fail(self, error: SinkStoppedError) -> None:
        """The worker died: every waiting and future ``put`` raises ``error``."""
        self.stopped = error
        self.close()

    def leftovers(self) -> list[Envelope]:
        """After :meth:`close`: the envelopes not settled, oldest first, given up by this
        buffer (a successor takes them; records of theirs a cancelled batch had already
        sent go again: at least once)."""
        left = list(self._unsettled)
        self._unsettled.clear()
        self._queue.clear()
        self.records = self.bytes = self.queued_records = self.queued_bytes = 0
        return left


def _env_cost(env: Envelope) -> int:
    return cost(env.queued_bytes, env.queued, env.overhead) + ENVELOPE_OVERHEAD


def _is_high(env: Envelope, index: int) -> bool:
    return env.high is not None and bool(env.high[index])


def _rebuild(env: Envelope, drop: set[int]) -> None:
    """Keep only the envelope's untaken records not in ``drop`` (spans already in flight
    keep a reference to the old data and side data)."""
    view = memoryview(env.data)
    keep = [i for i in range(env.first, env.count) if i not in drop]
    parts = [view[env.start(i):env.ends[i]] for i in keep]
    env.data = b"".join(parts)
    env.ends = array("I", accumulate(map(len, parts)))
    if env.high is not None:
        high = env.high
        env.high = bytes([high[i] for i in keep])
    if env.side is not None:
        env.side = env.side.keep(keep)
    env.first = 0
