"""The generic sink worker: a buffer of its own, a batcher, delivery tasks, acks.

:class:`BaseSink` implements :class:`~shipper.sinks.SinkWorker` for every sink type. A
concrete sink subclasses it and provides ``encode`` (pure: records -> payloads) or
``encode_lines`` (NDJSON batches -> payloads, no decoding), ``send`` (one request; raises
the sink errors) and the transport hooks ``open``/``shutdown``. Everything else lives here
once:

* ``put`` encodes the envelope (:mod:`shipper.sinks.encoding`: a record JSON cannot hold is
  shipped as text and counted; ``put_encoded`` takes one the caller encoded once for the
  live tail and every sink getting the same records) into the sink's own
  :class:`~shipper.sinks.buffers.SinkBuffer`: memory (:mod:`shipper.sinks.membuffer`,
  bounded in bytes, with its ``when_full`` policy) or disk (:mod:`shipper.sinks.diskqueue`).
  A dead sink fills its own buffer; other sinks go on.
* a batcher task takes batches from the buffer (cut by ``batch.max_records`` /
  ``max_bytes`` / ``max_wait``) and hands them to at most ``concurrency`` delivery tasks;
  retries, backoff, 413 splits and the dead letter are :mod:`shipper.sinks.delivery`'s.
* an envelope's token is ``done()`` once all its records are delivered, dead-lettered or
  shed by the drop policy (or, with ``buffer.type: disk``, once they are in the disk buffer).
* ``close(deadline)`` returns within ``deadline`` seconds in every state; what it could not
  deliver is not acknowledged. If a worker task dies, it is logged (type and frames, as
  :func:`shipper.supervise.describe` does) and ``put`` and ``close`` raise
  :class:`~shipper.errors.SinkStoppedError`; the pipeline's supervisor counts it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from shipper.acks import AckToken
from shipper.errors import SinkStoppedError
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.sinks.batch import Lines, Payload, Side, SinkMetrics
from shipper.sinks.buffers import Leftover, SinkBuffer, build_buffer
from shipper.sinks.deadletter import DeadLetter
from shipper.sinks.delivery import Delivery
from shipper.sinks.encoding import Encoded, encode_records, levels_of
from shipper.sinks.health import REPEAT_EVERY, SinkHealth, watch_gauges
from shipper.sinks.settings import worker_limits
from shipper.supervise import describe

log = logging.getLogger("shipper.sinks")

Sleep = Callable[[float], Awaitable[None]]

#: part of ``close``'s deadline kept for releasing the transport and the disk buffer
RELEASE_SHARE, RELEASE_MAX = 0.2, 1.0

__all__ = ["BaseSink", "Payload"]


class BaseSink:
    """The :class:`~shipper.sinks.SinkWorker` of every sink type; subclasses implement
    ``encode``/``send``/``open``/``shutdown``."""

    def __init__(self, settings: Any, *, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic, state_dir: Path | None = None,
                 sleep: Sleep = asyncio.sleep, rng: Callable[[], float] = random.random,
                 wall_clock: Callable[[], float] = time.time, disk: Any = None) -> None:
        self.name: str = settings.name
        #: records an encoder delivered changed to fit the backend, by kind (truncated,
        #: label-demoted, ...); flushed to ``shipper_records_failed_total{reason}``
        self.counts: Counter[str] = Counter()
        self.settings = settings
        self._clock, self._wall_clock = clock, wall_clock
        self._state_dir = state_dir
        limits = worker_limits(settings)
        self._m = SinkMetrics(metrics, self.name)
        self._health = SinkHealth(self.name, clock)
        self.queue: SinkBuffer = build_buffer(settings.buffer, disk, metrics=self._m,
                                              clock=clock, sleep=sleep)
        self.delivery = Delivery(self, limits.retry, metrics=self._m, health=self._health,
                                 dead=DeadLetter(state_dir, self.name,
                                                 limits.dead_letter_max_bytes),
                                 sleep=sleep, rng=rng, clock=clock)
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped: SinkStoppedError | None = None
        self._unencodable_warned: float | None = None
        self._bind_gauges()

    # --- what a sink provides -------------------------------------------------------------
    def encode(self, records: list[Record]) -> list[Payload]:
        raise NotImplementedError

    def encode_lines(self, lines: Lines) -> list[Payload]:
        """Payloads from an NDJSON batch; by default the records decoded, then ``encode``."""
        return self.encode(lines.records())

    def side(self, records: list[Record]) -> Side | None:
        """Side data for an envelope's records, kept with them in a memory buffer (spans
        carry it to ``encode_lines``); by default none."""
        return None

    async def send(self, payload: Payload) -> None:
        raise NotImplementedError

    async def open(self) -> None:
        """Create the transport (session, connection); called by :meth:`start`."""

    async def shutdown(self) -> None:
        """Release the transport; called at the end of :meth:`close`."""

    # --- the worker contract --------------------------------------------------------------
    async def start(self) -> None:
        await self.open()
        await self.queue.open()
        self._spawn(self._run_batcher(), f"sink-{self.name}")

    async def put(self, records: list[Record], token: AckToken) -> None:
        """Take an envelope into the sink's buffer; waits while it is full (``block``)."""
        if self._stopped is not None:
            raise self._stopped
        if not records:
            token.done()
            return
        await self._take(records, encode_records(records, levels=self._levels), token)

    async def put_encoded(self, records: list[Record], encoded: Encoded,
                          token: AckToken) -> None:
        """:meth:`put` of records the caller already encoded for others too
        (``encode_records(records, levels=False)``: the same envelope ``put`` makes, whose
        level flags are added here when the drop policy needs them)."""
        if self._stopped is not None:
            raise self._stopped
        if not records:
            token.done()
            return
        if self._levels:
            encoded = Encoded(encoded.data, encoded.ends, levels_of(records),
                              encoded.unencodable, encoded.error)
        await self._take(records, encoded, token)

    @property
    def _levels(self) -> bool:
        """Whether its envelopes carry level flags (a drop policy sheds low levels first)."""
        return bool(self.settings.buffer.when_full != "block")

    async def _take(self, records: list[Record], encoded: Encoded, token: AckToken) -> None:
        if encoded.unencodable:
            self._unencodable(encoded)
            await self.queue.put(encoded, token)  # records changed: no side data
            return
        await self.queue.put(encoded, token,
                             None if self.queue.durable else self.side(records))

    @property
    def held(self) -> int:
        """Records in its buffer not yet delivered, dead-lettered or shed."""
        return self.queue.records

    def draining(self) -> None:
        """Optional hint (the pipeline is draining for shutdown): end the backoffs in
        progress and keep the next ones short; delivery goes on as before."""
        self.delivery.close()

    async def close(self, deadline: float) -> None:
        """Deliver what it can within ``deadline`` seconds, then stop and release."""
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + deadline
        release = min(RELEASE_MAX, deadline * RELEASE_SHARE)
        self.queue.close()
        self.delivery.close()
        try:
            await asyncio.wait_for(self._drain(), max(0.0, deadline - release))
        except TimeoutError:
            self._report_undelivered()
            await self._cancel_tasks(max(0.0, ends_at - loop.time()) / 2)
        finally:
            await self._release(max(0.0, ends_at - loop.time()))
        if self._stopped is not None:
            raise self._stopped

    def undelivered(self) -> list[Leftover]:
        """After :meth:`close`: the records still held (memory buffer), each envelope's
        with its token, for a successor to deliver; a disk buffer keeps its own."""
        return self.queue.leftovers()

    # --- the batcher and its delivery tasks -----------------------------------------------
    async def _run_batcher(self) -> None:
        limits = self.settings.batch
        while True:
            await self._slots.acquire()
            lines = await self.queue.next_lines(limits.max_records, limits.max_bytes,
                                                limits.max_wait)
            if lines is None:
                self._slots.release()
                return
            self._spawn(self._deliver_batch(lines), f"sink-{self.name}-send")

    async def _deliver_batch(self, lines: Lines) -> None:
        try:
            await self.delivery.batch(lines)
        finally:
            self._slots.release()
        await self.queue.settle(lines)  # every record delivered or dead-lettered

    def _spawn(self, work: Awaitable[None], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._fail(error)

    def _fail(self, exc: BaseException) -> None:
        """A worker task died: log where (the pipeline's supervisor counts it when ``put``
        or ``close`` raises), and make ``put``/``close`` raise."""
        if self._stopped is not None:
            return
        log.error("sink worker failed; the sink refuses records", extra=describe(
            f"sink-{self.name}", exc))
        self._stopped = SinkStoppedError(
            f"sink {self.name} stopped: its worker failed ({type(exc).__name__})", sink=self.name)
        self.queue.fail(self._stopped)
        for other in self._tasks:
            other.cancel()

    # --- closing --------------------------------------------------------------------------
    async def _drain(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def _cancel_tasks(self, grace: float) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)

    async def _release(self, budget: float) -> None:
        """Release the transport and the disk buffer, giving up after ``budget`` seconds."""
        async def release() -> None:
            await self.shutdown()
            await self.queue.release()

        try:
            await asyncio.wait_for(release(), max(budget, 0.01))
        except TimeoutError:
            log.warning("sink %s: releasing its transport/buffer outlived the shutdown deadline",
                        self.name)

    def _report_undelivered(self) -> None:
        """The true fate of what is left: re-read from files, re-sent from disk, or lost."""
        left = self.queue.records
        if self.queue.durable:
            log.warning("sink %s: %d record(s) undelivered at shutdown stay in its disk buffer "
                        "and are sent after a restart", self.name, left)
        elif left and self._state_dir is not None:
            log.warning("sink %s: %d record(s) undelivered at shutdown; their files' "
                        "checkpoints did not move past them, so they are read again at the "
                        "next start", self.name, left)
        elif left:
            log.warning("sink %s: %d record(s) undelivered at shutdown are lost (no state_dir: "
                        "no checkpoints to read them again from)", self.name, left)

    # --- observability --------------------------------------------------------------------
    def _bind_gauges(self) -> None:
        queue = self.queue
        watch_gauges(self._m, records=lambda: queue.records, nbytes=lambda: queue.bytes,
                     oldest=queue.oldest, clock=self._clock)

    def _unencodable(self, encoded: Encoded) -> None:
        self._m.failed("unencodable").inc(encoded.unencodable)
        now = self._clock()
        if self._unencodable_warned is None or now - self._unencodable_warned >= REPEAT_EVERY:
            self._unencodable_warned = now
            log.warning("sink %s: %d record(s) JSON cannot hold (%s) shipped as text with "
                        "attributes.unencodable", self.name, encoded.unencodable, encoded.error)
