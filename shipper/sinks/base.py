"""The generic sink worker: bounded buffer, batching, retries, 413 split, dead letter, acks.

A concrete sink subclasses :class:`SinkWorker` and provides ``encode`` (pure: records ->
payloads), ``send`` (one request; raises the errors its ``classify`` decides) and the
transport hooks ``open``/``shutdown``. Everything else lives here once:

* ``put`` appends an envelope to a buffer bounded by ``queue_max`` envelopes and
  ``buffer.max_bytes``; when full it waits (backpressure) or, with
  ``buffer.when_full: drop_newest``, drops the envelope and counts it.
* a batcher task cuts batches by ``batch.max_records`` / ``max_bytes`` / ``max_wait`` and
  hands them to at most ``concurrency`` delivery tasks.
* retryable errors back off exponentially with full jitter, at least ``Retry-After``;
  413 splits the batch in halves; fatal errors dead-letter the records to
  ``<state_dir>/dead-letter/<sink>.ndjson``.
* an envelope's token is ``done()`` once all its records are delivered or dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import orjson

from shipper.acks import AckToken
from shipper.errors import FatalSinkError, PayloadTooLargeError, RetryableSinkError, SinkError
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.sinks.deadletter import DeadLetter
from shipper.sinks.http import classify_http

log = logging.getLogger("shipper.sinks")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class Payload:
    """One request body and the records it carries (for 413 split and dead letter)."""

    body: bytes
    records: list[Record]
    raw_bytes: int
    headers: dict[str, str] = field(default_factory=dict)
    batch_id: str = ""


@dataclass(slots=True, eq=False)
class _Envelope:
    records: list[Record]
    sizes: list[int]
    token: AckToken
    enqueued_at: float
    remaining: int
    nbytes: int
    cursor: int = 0


@dataclass(slots=True)
class _Batch:
    records: list[Record] = field(default_factory=list)
    owners: list[_Envelope] = field(default_factory=list)
    nbytes: int = 0


class _Owners:
    """Which envelope each record of a batch belongs to (by identity, duplicates allowed)."""

    def __init__(self, batch: _Batch) -> None:
        self._by_id: dict[int, list[_Envelope]] = {}
        for record, owner in zip(batch.records, batch.owners):
            self._by_id.setdefault(id(record), []).append(owner)

    def take(self, records: list[Record]) -> list[_Envelope]:
        taken = []
        for record in records:
            owners = self._by_id.get(id(record))
            if owners:
                taken.append(owners.pop())
        return taken

    def rest(self) -> list[_Envelope]:
        return [owner for owners in self._by_id.values() for owner in owners]


class SinkWorker:
    """Base of every network sink; subclasses implement ``encode``/``send``/``open``/``shutdown``."""

    def __init__(self, settings: Any, *, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic, state_dir: Path | None = None,
                 sleep: Sleep = asyncio.sleep, rng: Callable[[], float] = random.random,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.name: str = settings.name
        self.settings = settings
        self._clock, self._sleep, self._rng, self._wall_clock = clock, sleep, rng, wall_clock
        self._queue: deque[_Envelope] = deque()
        self._cond = asyncio.Condition()
        self._unsettled: dict[_Envelope, None] = {}  # insertion-ordered: oldest first
        self._buffered_bytes = 0
        self._buffered_records = 0
        self._closing = False
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._batcher: asyncio.Task[None] | None = None
        self._dead = DeadLetter(state_dir, self.name, settings.dead_letter_max_bytes)
        self._m = _SinkMetrics(metrics, self.name)

    # --- what a sink provides -------------------------------------------------------------
    def encode(self, records: list[Record]) -> list[Payload]:
        raise NotImplementedError

    async def send(self, payload: Payload) -> None:
        raise NotImplementedError

    async def open(self) -> None:
        """Create the transport (session, connection); called by :meth:`start`."""

    async def shutdown(self) -> None:
        """Release the transport; called at the end of :meth:`close`."""

    def classify(self, status: int, headers: Any, detail: str = "") -> None:
        """HTTP outcome -> ``None`` (delivered) or one of the sink errors."""
        classify_http(status, headers, sink=self.name, now=self._wall_clock(), detail=detail)

    def size_hint(self, record: Record) -> int:
        """Approximate encoded size of a record, for ``batch.max_bytes`` and the buffer cap."""
        return len(orjson.dumps(record, default=str))

    # --- the worker contract --------------------------------------------------------------
    async def start(self) -> None:
        await self.open()
        self._batcher = asyncio.create_task(self._run_batcher(), name=f"sink-{self.name}")

    async def put(self, records: list[Record], token: AckToken) -> None:
        """Buffer an envelope; waits while the buffer is full (backpressure)."""
        if not records:
            token.done()
            return
        sizes = [self.size_hint(r) for r in records]
        nbytes = sum(sizes)
        env = _Envelope(records, sizes, token, self._clock(), len(records), nbytes)
        async with self._cond:
            while self._is_full(nbytes):
                if self.settings.buffer.when_full == "drop_newest":
                    self._m.failed("buffer-full").inc(len(records))
                    token.done()  # accounted for: counted as failed, never silently lost
                    return
                await self._cond.wait()
            self._queue.append(env)
            self._unsettled[env] = None
            self._buffered_records += len(records)
            self._buffered_bytes += nbytes
            self._update_gauges()
            self._cond.notify_all()

    async def close(self, deadline: float) -> None:
        """Flush what it can within ``deadline`` seconds, then stop and release the transport."""
        async with self._cond:
            self._closing = True
            self._cond.notify_all()
        try:
            await asyncio.wait_for(self._drain(), timeout=deadline)
        except TimeoutError:
            log.warning("sink %s: %d record(s) undelivered at shutdown (they will be re-read)",
                        self.name, self._buffered_records)
            for task in [*self._tasks, *([self._batcher] if self._batcher else [])]:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            await self.shutdown()

    async def _drain(self) -> None:
        if self._batcher is not None:
            await asyncio.shield(self._batcher)
        while self._tasks:  # done tasks leave the set in a callback: let it run
            pending = [task for task in self._tasks if not task.done()]
            await (asyncio.wait(pending) if pending else asyncio.sleep(0))

    def _is_full(self, nbytes: int) -> bool:
        if not self._buffered_records:
            return False
        return (len(self._queue) >= self.settings.queue_max
                or self._buffered_bytes + nbytes > self.settings.buffer.max_bytes)

    # --- batching -------------------------------------------------------------------------
    async def _run_batcher(self) -> None:
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver_batch(batch), name=f"sink-{self.name}-send")
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("sink %s: delivery task failed: %r", self.name, task.exception())

    async def _next_batch(self) -> _Batch | None:
        """Wait for records, then take them until a limit or ``max_wait`` is reached."""
        limits = self.settings.batch
        batch = _Batch()
        async with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                await self._cond.wait()
            deadline = self._queue[0].enqueued_at + limits.max_wait
            while True:
                if self._take(batch, limits.max_records, limits.max_bytes) or self._closing:
                    return batch
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return batch
                try:
                    await asyncio.wait_for(self._cond.wait(), remaining)
                except TimeoutError:
                    return batch

    def _take(self, batch: _Batch, max_records: int, max_bytes: int) -> bool:
        """Move records from the queue into ``batch``; True once a limit is reached."""
        while self._queue:
            env = self._queue[0]
            while env.cursor < len(env.records):
                size = env.sizes[env.cursor]
                if batch.records and batch.nbytes + size > max_bytes:
                    return True
                batch.records.append(env.records[env.cursor])
                batch.owners.append(env)
                batch.nbytes += size
                env.cursor += 1
                if len(batch.records) >= max_records:
                    self._pop_if_taken(env)
                    return True
            self._pop_if_taken(env)
        return False

    def _pop_if_taken(self, env: _Envelope) -> None:
        if env.cursor >= len(env.records) and self._queue and self._queue[0] is env:
            self._queue.popleft()
            self._cond.notify_all()

    # --- delivery -------------------------------------------------------------------------
    async def _deliver_batch(self, batch: _Batch) -> None:
        owners = _Owners(batch)
        for payload in self.encode(batch.records):
            await self._deliver(payload, owners)
        leftover = owners.rest()
        if leftover:  # an encoder skipped records: account for them, never lose them silently
            self._m.failed("unencodable").inc(len(leftover))
            await self._settle(leftover, delivered=False)

    async def _deliver(self, payload: Payload, owners: _Owners) -> None:
        attempt = 0
        while True:
            started = self._clock()
            try:
                await self.send(payload)
            except PayloadTooLargeError as exc:
                self._m.requests("retry").inc()
                await self._split(payload, owners, exc)
                return
            except RetryableSinkError as exc:
                self._m.requests("retry").inc()
                attempt += 1
                if self.settings.retry.max_attempts and attempt >= self.settings.retry.max_attempts:
                    await self._dead_letter(payload, owners, exc)
                    return
                self._m.retries.inc()
                await self._sleep(self.backoff(attempt, exc.retry_after))
                continue
            except FatalSinkError as exc:
                self._m.requests("fatal").inc()
                await self._dead_letter(payload, owners, exc)
                return
            finally:
                self._m.duration.observe(max(0.0, self._clock() - started))
            self._m.requests("ok").inc()
            self._m.forwarded.inc(len(payload.records))
            self._m.bytes.inc(payload.raw_bytes)
            await self._settle(owners.take(payload.records), delivered=True)
            return

    async def _split(self, payload: Payload, owners: _Owners, exc: SinkError) -> None:
        records = payload.records
        if len(records) <= 1:
            await self._dead_letter(payload, owners, exc)
            return
        half = len(records) // 2
        for part in (records[:half], records[half:]):
            for sub in self.encode(part):
                await self._deliver(sub, owners)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(max, initial * 2**(attempt-1))], >= Retry-After."""
        policy = self.settings.retry
        ceiling = min(policy.max_backoff, policy.initial_backoff * (2 ** min(attempt - 1, 30)))
        delay = self._rng() * ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, 3600.0))
        return delay

    async def _dead_letter(self, payload: Payload, owners: _Owners, exc: SinkError) -> None:
        records = payload.records
        reason = "dead-letter" if await self._dead.write(records, exc) else "dead-letter-full"
        self._m.failed(reason).inc(len(records))
        await self._settle(owners.take(records), delivered=False)

    async def _settle(self, envelopes: list[_Envelope], *, delivered: bool) -> None:
        """Records are accounted for (delivered or dead-lettered): ack complete envelopes."""
        async with self._cond:
            for env in envelopes:
                env.remaining -= 1
                self._buffered_records -= 1
                if env.remaining == 0:
                    self._buffered_bytes -= env.nbytes
                    self._unsettled.pop(env, None)
                    env.token.done()
            self._update_gauges()
            self._cond.notify_all()

    def _update_gauges(self) -> None:
        self._m.buffer_records.set(self._buffered_records)
        self._m.buffer_bytes.set(max(0, self._buffered_bytes))
        oldest = next(iter(self._unsettled), None)
        self._m.lag.set(self._clock() - oldest.enqueued_at if oldest else 0.0)


class _SinkMetrics:
    """The sink's metric children, bound once (labels looked up per sink, not per record)."""

    def __init__(self, metrics: Metrics, sink: str) -> None:
        self._metrics, self._sink = metrics, sink
        self.forwarded = metrics.records_forwarded_total.labels(sink=sink)
        self.bytes = metrics.bytes_forwarded_total.labels(sink=sink)
        self.retries = metrics.sink_retries_total.labels(sink=sink)
        self.duration = metrics.sink_request_duration_seconds.labels(sink=sink)
        self.buffer_records = metrics.buffer_records.labels(sink=sink)
        self.buffer_bytes = metrics.buffer_bytes.labels(sink=sink)
        self.lag = metrics.delivery_lag_seconds.labels(sink=sink)

    def requests(self, outcome: str) -> Any:
        return self._metrics.sink_requests_total.labels(sink=self._sink, outcome=outcome)

    def failed(self, reason: str) -> Any:
        return self._metrics.records_failed_total.labels(sink=self._sink, reason=reason)
