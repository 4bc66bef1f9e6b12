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
* an envelope's token is ``done()`` once all its records are delivered or dead-lettered
  (or, with ``buffer.type: disk``, once they are in the disk buffer; see ``diskqueue``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
import logging
import random
import time
from collections import deque
from pathlib import Path
from typing import Any, Awaitable, Callable

import orjson

from shipper.acks import AckToken
from shipper.errors import FatalSinkError, PayloadTooLargeError, RetryableSinkError, SinkError
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.sinks.batch import Batch, Envelope, Owners, Payload, SinkMetrics
from shipper.sinks.deadletter import DeadLetter
from shipper.sinks.diskqueue import DiskQueue
from shipper.sinks.http import classify_http

log = logging.getLogger("shipper.sinks")

Sleep = Callable[[float], Awaitable[None]]


class SinkWorker:
    """Base of every network sink; subclasses implement ``encode``/``send``/``open``/``shutdown``."""

    def __init__(self, settings: Any, *, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic, state_dir: Path | None = None,
                 sleep: Sleep = asyncio.sleep, rng: Callable[[], float] = random.random,
                 wall_clock: Callable[[], float] = time.time, disk: Any = None) -> None:
        self.name: str = settings.name
        #: records an encoder delivered changed to fit the backend, by kind (truncated,
        #: label-demoted, ...); flushed to ``shipper_records_failed_total{reason}``
        self.counts: Counter[str] = Counter()
        self.settings = settings
        self._clock, self._sleep, self._rng, self._wall_clock = clock, sleep, rng, wall_clock
        self._queue: deque[Envelope] = deque()
        self._cond = asyncio.Condition()
        self._unsettled: dict[Envelope, None] = {}  # insertion-ordered: oldest first
        self._buffered_bytes = 0
        self._buffered_records = 0
        self._closing = False
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._batcher: asyncio.Task[None] | None = None
        self._dead = DeadLetter(state_dir, self.name, settings.dead_letter_max_bytes)
        self._m = SinkMetrics(metrics, self.name)
        self._diskq = DiskQueue(disk, when_full=settings.buffer.when_full, clock=clock,
                                on_drop=self._m.failed("buffer-full").inc,
                                on_write_error=self._m.retries.inc, sleep=sleep) if disk else None

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
        if self._diskq is not None:
            await self._diskq.open()
            self._update_gauges()
        self._batcher = asyncio.create_task(self._run_batcher(), name=f"sink-{self.name}")

    async def put(self, records: list[Record], token: AckToken) -> None:
        """Buffer an envelope; waits while the buffer is full (backpressure)."""
        if not records:
            token.done()
            return
        if self._diskq is not None:
            await self._diskq.put(records, token)
            self._update_gauges()
            return
        sizes = [self.size_hint(r) for r in records]
        nbytes = sum(sizes)
        env = Envelope(records, sizes, token, self._clock(), len(records), nbytes)
        async with self._cond:
            while self._is_full(len(records), nbytes):
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
        if self._diskq is not None:
            self._diskq.closing = True
            self._diskq.wake()
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
            if self._diskq is not None:
                await self._diskq.buffer.close()

    async def _drain(self) -> None:
        if self._batcher is not None:
            await asyncio.shield(self._batcher)
        while self._tasks:  # done tasks leave the set in a callback: let it run
            pending = [task for task in self._tasks if not task.done()]
            await (asyncio.wait(pending) if pending else asyncio.sleep(0))

    def _is_full(self, nrecords: int, nbytes: int) -> bool:
        if not self._buffered_records:
            return False
        buffer = self.settings.buffer
        return (len(self._queue) >= self.settings.queue_max
                or self._buffered_records + nrecords > buffer.max_events
                or self._buffered_bytes + nbytes > buffer.max_bytes)

    # --- batching -------------------------------------------------------------------------
    async def _run_batcher(self) -> None:
        while True:
            batch, batch_id = await (self._next_disk_batch() if self._diskq is not None
                                     else self._next_memory_batch())
            if batch is None:
                return
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver_batch(batch, batch_id),
                                       name=f"sink-{self.name}-send")
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("sink %s: delivery task failed: %r", self.name, task.exception())

    async def _next_memory_batch(self) -> tuple[Batch | None, None]:
        return await self._next_batch(), None

    async def _next_disk_batch(self) -> tuple[Batch | None, int | None]:
        """A batch read back from the disk buffer, tracked like one in-flight envelope."""
        assert self._diskq is not None
        limits = self.settings.batch
        got = await self._diskq.next_batch(limits.max_records, limits.max_bytes, limits.max_wait)
        if got is None:
            return None, None
        batch_id, records = got
        sizes = [self.size_hint(r) for r in records]
        env = Envelope(records, sizes, AckToken("", 0, pending=1), self._clock(), len(records),
                        sum(sizes), cursor=len(records))
        async with self._cond:
            self._unsettled[env] = None
            self._buffered_records += len(records)
            self._buffered_bytes += env.nbytes
        return Batch(list(records), [env] * len(records), env.nbytes), batch_id

    async def _next_batch(self) -> Batch | None:
        """Wait for records, then take them until a limit or ``max_wait`` is reached."""
        limits = self.settings.batch
        batch = Batch()
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

    def _take(self, batch: Batch, max_records: int, max_bytes: int) -> bool:
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

    def _pop_if_taken(self, env: Envelope) -> None:
        if env.cursor >= len(env.records) and self._queue and self._queue[0] is env:
            self._queue.popleft()
            self._cond.notify_all()

    # --- delivery -------------------------------------------------------------------------
    async def _deliver_batch(self, batch: Batch, disk_batch_id: int | None = None) -> None:
        owners = Owners(batch)
        try:
            payloads = self.encode(batch.records)
        except (TypeError, ValueError) as exc:  # a record the encoder cannot serialise
            payloads = []
            await self._dead_letter(Payload(b"", batch.records, 0), owners,
                                    FatalSinkError(f"cannot encode batch: {exc}", sink=self.name))
        self._flush_changed()
        for payload in payloads:
            await self._deliver(payload, owners)
        leftover = owners.rest()
        if leftover:  # an encoder skipped records: account for them, never lose them silently
            self._m.failed("unencodable").inc(len(leftover))
            await self._settle(leftover, delivered=False)
        if disk_batch_id is not None and self._diskq is not None:
            await self._diskq.commit(disk_batch_id)  # every record delivered or dead-lettered
            self._update_gauges()

    async def _deliver(self, payload: Payload, owners: Owners) -> None:
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
                delay = self.backoff(attempt, exc.retry_after)
                log.debug("sink %s: %s, retry %d in %.2fs", self.name, exc, attempt, delay)
                await self._sleep(delay)
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

    def _flush_changed(self) -> None:
        """Count records the encoder had to change (they are delivered, but not intact)."""
        for reason, n in self.counts.items():
            self._m.failed(reason).inc(n)
        self.counts.clear()

    async def _split(self, payload: Payload, owners: Owners, exc: SinkError) -> None:
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

    async def _dead_letter(self, payload: Payload, owners: Owners, exc: SinkError) -> None:
        records = payload.records
        log.warning("sink %s: %d record(s) not deliverable (%s), dead-lettered",
                    self.name, len(records), exc)
        reason = "dead-letter" if await self._dead.write(records, exc) else "dead-letter-full"
        self._m.failed(reason).inc(len(records))
        await self._settle(owners.take(records), delivered=False)

    async def _settle(self, envelopes: list[Envelope], *, delivered: bool) -> None:
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
        oldest = next(iter(self._unsettled), None)
        since = oldest.enqueued_at if oldest else None
        if self._diskq is not None:
            self._m.buffer_records.set(self._diskq.buffer.records)
            self._m.buffer_bytes.set(self._diskq.buffer.bytes)
            since = min(filter(None, (since, self._diskq.oldest_unread)), default=None)
        else:
            self._m.buffer_records.set(self._buffered_records)
            self._m.buffer_bytes.set(max(0, self._buffered_bytes))
        self._m.lag.set(self._clock() - since if since is not None else 0.0)
