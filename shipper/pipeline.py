"""Wires the shipper: tailer -> bounded queue -> processor -> sinks, plus timers.

This module creates the run's asyncio tasks and queues (:mod:`shipper.run`, the process
around it, only a reload's task and the server's clean-up). Backpressure: the chunk
queue and every sink queue are bounded, so a slow sink stalls ``sink.put``, which stalls
the processor, which fills the chunk queue, which stalls the tailer's ``emit``: the tailer
simply stops reading and the lines wait on disk.

The processor task runs :class:`shipper.delivery.Delivery`; checkpoints are saved by
:class:`shipper.saving.CheckpointSaver` in tasks started here. Every task started here is
watched (:mod:`shipper.supervise`): a failure is logged, counted, turns ``/healthz`` 503
and stops the run with exit code 1. Shutdown is bounded by ``shutdown_deadline`` in every
state (:mod:`shipper.shutdown` describes how the phases share it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import Any

from shipper.components import LagSource, Observers, Periodic, k8s_api_enricher, most_buffered
from shipper.config import Settings
from shipper.cpu.pin import CpuPin
from shipper.delivery import Delivery, Item
from shipper.enrich.podinfo import PodInfo
from shipper.metrics import Metrics
from shipper.processor import Processor
from shipper.reload import Swap
from shipper.routes import Router
from shipper.saving import CheckpointSaver
from shipper.shutdown import Phase, Shutdown
from shipper.sinks import build_sink
from shipper.sources.tailer import Tailer
from shipper.stages import CountingFates
from shipper.supervise import Supervisor

log = logging.getLogger("shipper.pipeline")

TICK_SECONDS = 0.1
PODINFO_REFRESH_SECONDS = 5.0
#: of a sink's close budget, this share (at most 0.5 s) is kept for its own clean-up
CLOSE_MARGIN_SHARE = 0.2
#: how often a ``--once`` run checks whether the sinks delivered everything
SETTLE_POLL = 0.05


class Pipeline:
    """One run of the shipper; :meth:`run` returns the exit code when done or stopped."""

    def __init__(self, settings: Settings, *, metrics: Metrics,
                 env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 observers: Observers | None = None, checkpoints: Any = None,
                 stop: asyncio.Event | None = None, shutdown: Shutdown | None = None,
                 sinks: list[Any] | None = None, tailer: Any = None,
                 cpu: CpuPin | None = None, heap: Periodic | None = None) -> None:
        self.settings = settings
        # process-wide: the CPU placement, the heap's trim (shipper.run builds them; tests: none)
        self.cpu, self.heap = cpu, heap
        self.metrics = metrics
        self.monotonic = monotonic
        self.observers = observers or Observers()
        self.checkpoints = checkpoints
        self.stop = stop or asyncio.Event()
        self.shutdown = shutdown or Shutdown(settings.shutdown_deadline, monotonic=monotonic)
        self.supervisor = Supervisor(metrics, progress=self.observers.progress,
                                     on_fatal=self._fatal)
        self.fates = CountingFates()
        self.fates.listeners.extend(self.observers.on_drop)
        self.podinfo = PodInfo(os.environ if env is None else env, settings.downward_api,
                               settings.podinfo_dir)
        self.processor = Processor(settings, podinfo=self.podinfo, fates=self.fates, clock=clock,
                                   flush_at_eof=settings.once)
        self.sinks = sinks if sinks is not None else [
            build_sink(s, metrics=metrics, clock=monotonic, state_dir=settings.state_dir)
            for s in settings.sinks]
        self.tailer = tailer or Tailer(
            settings, metrics=metrics, clock=monotonic, checkpoints=checkpoints,
            sinks_buffered=partial(most_buffered, self.sinks))
        self.k8s_api = k8s_api_enricher(settings, env) if settings.k8s_api else None
        self._chunks: asyncio.Queue[Item] = asyncio.Queue(settings.queue_max_batches)
        self.saver = CheckpointSaver(checkpoints, self._start, self.shutdown)
        self.delivery = Delivery(
            self._chunks, self.processor, self.sinks, observers=self.observers,
            checkpoints=checkpoints,
            flush_at_end=settings.drain_on_exit or settings.once or checkpoints is None,
            on_isolated=self.supervisor.isolated, on_checkpoint=self.saver.moved,
            clock=clock, monotonic=monotonic,
            router=Router.of_sinks(self.sinks, self.fates, monotonic))
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    async def reconfigure(self, settings: Settings) -> None:
        """Apply a reloaded configuration in the processor task, between two chunks
        (:mod:`shipper.reload`); ``ShipperError`` when refused, ``RuntimeError`` when
        the pipeline stopped first."""
        swap = Swap.of(self.settings, settings, pipe=self.delivery, fates=self.fates,
                       metrics=self.metrics, clock=self.monotonic)
        done = self.delivery.between(swap.apply)
        processor = self._tasks.get("processor")
        await asyncio.wait({done} if processor is None else {done, processor},
                           return_when=asyncio.FIRST_COMPLETED)
        if not done.done():
            raise RuntimeError("the pipeline stopped before the reload could be applied")
        done.result()
        self.settings = settings

    def _start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = self._tasks[name] = asyncio.create_task(coro, name=name)
        return self.supervisor.watch(task, name)

    async def _refresh_facts(self) -> None:
        """Re-read the downward-API volume (and the Kubernetes API when enabled)."""
        changed = await self.podinfo.refresh()
        if self.k8s_api is not None and await self.k8s_api.maybe_refresh():
            changed = self.podinfo.set_api_facts(self.k8s_api.facts()) or changed
        if changed:
            self.processor.facts_changed()

    async def run(self) -> int:
        """Tail, process and deliver until the input ends (``once``), a signal or a
        failure; then shut down within the deadline. Returns the exit code (0, or 1
        after a task failure)."""
        await self._refresh_facts()
        if self.cpu is not None and await asyncio.to_thread(self.cpu.start) is not None:
            self._start("cpu", self._every(self.cpu))
        if self.heap is not None:
            self._start("heap", self._every(self.heap))
        for sink in self.sinks:
            await sink.start()
        self._start("processor", self.delivery.run())
        self._start("ticker", self._tick_loop())
        if self.checkpoints is not None:
            self._start("checkpoints", self.saver.loop())
        tailer = self._start("tailer", self.tailer.run(
            self.delivery.emit, self.stop, on_closed=self.delivery.file_closed))
        self._set_ready(True)
        try:
            await self._read(tailer)
            await self._drain()
        finally:
            self._set_ready(False)
            await self._finish()
        return self.supervisor.exit_code

    async def _read(self, tailer: asyncio.Task[Any]) -> None:
        """Until the input ends or a stop; then the tailer drains within its budget."""
        stopping = asyncio.create_task(self.stop.wait(), name="stop-wait")
        try:
            await asyncio.wait({tailer, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if tailer.done() and not self.stop.is_set():
            await self._deliver_input()
        self._set_ready(False)  # draining
        self.delivery.stopping = True
        self.shutdown.begin("end of input" if tailer.done() else "stop requested")
        if not await self._within(tailer, Phase.DRAIN, "reading") and self.checkpoints is not None:
            self.delivery.flush_at_end = False  # a pending record may go on unread

    async def _deliver_input(self) -> None:
        """``--once``: the input ended, which is no deadline. The processor works off the
        queue and the sinks deliver what they hold for as long as they make progress; a
        signal, or no progress for ``shutdown_deadline``, starts the bounded shutdown."""
        stop = asyncio.ensure_future(self.stop.wait())
        work = asyncio.ensure_future(self._until_delivered())
        try:
            await asyncio.wait({stop, work}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            work.cancel()

    async def _until_delivered(self) -> None:
        processor = self._tasks["processor"]
        await self._chunks.put(None)
        await asyncio.wait({processor})
        held, since = -1, self.monotonic()
        while (now_held := sum(sink.held for sink in self.delivery.sinks)) > 0:
            if now_held != held:
                held, since = now_held, self.monotonic()
            elif self.monotonic() - since >= self.settings.shutdown_deadline:
                log.warning("--once: the sinks made no progress for shutdown_deadline; "
                            "shutting down with records undelivered", extra={"held": held})
                return
            await asyncio.sleep(SETTLE_POLL)

    async def _drain(self) -> None:
        """The processor works off the queue, then flushes what it holds (in order)."""
        processor = self._tasks["processor"]
        if processor.done():
            return
        with contextlib.suppress(TimeoutError):  # a full queue: the processor is stuck
            await asyncio.wait_for(self._chunks.put(None), self.shutdown.left(Phase.DRAIN))
        await self._within(processor, Phase.DRAIN, "processing")

    async def _within(self, task: asyncio.Task[Any], phase: Phase, what: str) -> bool:
        """Wait for ``task`` while ``phase`` lasts; past it, cancel it (not waited for)."""
        if not task.done():
            await asyncio.wait({task}, timeout=self.shutdown.left(phase))
        if task.done():
            return True
        log.warning("shutdown deadline: %s cut off; the rest is read again after a restart",
                    what, extra={"phase": phase.value})
        task.cancel()
        return False

    async def _finish(self) -> None:
        """Close the sinks, save what was acknowledged; everything within the deadline."""
        self.shutdown.begin("stopping")
        for name in ("tailer", "processor", "ticker", "checkpoints", "cpu", "heap"):
            task = self._tasks.get(name)
            if task is not None and not task.done():
                task.cancel()  # a save in progress is its own task: it goes on
        await self._close_sinks()
        self._flush_counts()
        await self.saver.final()
        if self.k8s_api is not None:
            self.k8s_api.close()
        self.shutdown.result(self.supervisor.exit_code)

    async def _close_sinks(self) -> None:
        budget = self.shutdown.left(Phase.CLOSE) or 0.0
        own = max(0.0, budget - min(0.5, CLOSE_MARGIN_SHARE * budget))
        closing = {asyncio.create_task(self._close(sink, own), name=f"close-{sink.name}"): sink
                   for sink in self.sinks}
        if closing:
            await asyncio.wait(closing, timeout=budget)
        for task, sink in closing.items():
            if not task.done():
                log.warning("shutdown deadline: sink did not close in time; what it holds "
                            "is read again after a restart", extra={"sink": sink.name})
                task.cancel()

    async def _close(self, sink: Any, deadline: float) -> None:
        try:
            await sink.close(deadline)
        except Exception as exc:  # noqa: BLE001 - a sink whose worker died: loud, exit 1
            self.supervisor.fail(f"sink-{sink.name}", exc)

    def _fatal(self, task: str) -> None:
        """A task failed: stop reading and processing now (no drain), close the sinks
        within the deadline, save, exit 1."""
        self.shutdown.begin(f"task {task} failed")
        self.stop.set()
        self.delivery.stopping = True
        for name in ("tailer", "processor"):
            running = self._tasks.get(name)
            if running is not None and not running.done():
                running.cancel()

    def _set_ready(self, ready: bool) -> None:
        if self.observers.progress is not None:
            self.observers.progress.set_ready(ready)

    # -- timers ---------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        """Every tick: the counters into Prometheus, the undelivered records and file lag
        into the health state; the pod facts every ``PODINFO_REFRESH_SECONDS``. A tick that
        found nothing to do (no counts, nothing in flight or queued, the same lag) waits for
        the delivery's next activity or the next refresh of the facts instead."""
        next_podinfo = self.monotonic()
        lag = self.tailer if isinstance(self.tailer, LagSource) else None
        active = self.delivery.active
        last: tuple[int, int] | None = None
        while True:
            await asyncio.sleep(TICK_SECONDS)
            active.clear()  # what happens from here on wakes the idle wait below
            counted = self._flush_counts()
            state = (self.delivery.inflight, lag.lag_bytes if lag is not None else 0)
            progress = self.observers.progress
            if progress is not None:
                progress.set_undelivered(state[0])
                progress.set_file_lag(state[1])
            now = self.monotonic()
            if now >= next_podinfo:
                next_podinfo = now + PODINFO_REFRESH_SECONDS
                await self._refresh_facts()
            if not counted and state[0] == 0 and state == last and self._chunks.empty():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(active.wait(), next_podinfo - self.monotonic())
            last = state

    @staticmethod
    async def _every(look: Periodic) -> None:
        """``look.check()`` in a worker thread every ``look.interval`` seconds: the CPU
        placement (:mod:`shipper.cpu.pin`, reads ``/proc``), the heap's trim
        (:mod:`shipper.sinks.allocator`)."""
        while True:
            await asyncio.sleep(look.interval)
            await asyncio.to_thread(look.check)

    def _flush_counts(self) -> bool:
        """Move the hot path's plain counters into Prometheus in bulk; ``True`` when
        there were some."""
        drops, changes = self.fates.take()
        for (reason, rule), n in drops.items():
            self.metrics.records_dropped_total.labels(reason=reason, rule=rule).inc(n)
        for (_kind, rule), n in changes.items():
            self.metrics.records_redacted_total.labels(rule=rule).inc(n)
        formats, errors = self.processor.counts.take()
        for name, n in formats.items():
            self.metrics.records_parsed_total.labels(format=name).inc(n)
        for kind, n in errors.items():
            self.metrics.parse_errors_total.labels(kind=kind).inc(n)
        return bool(drops or changes or formats or errors)
