"""One process of ``shipper run``: signals, metrics, the HTTP server, checkpoints and
reloads around a :class:`shipper.pipeline.Pipeline` (:func:`run_pipeline`)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping
from typing import Any

from shipper.components import Observers, build_observers, open_checkpoints, serve, tune_gc
from shipper.config import Settings
from shipper.cpu import pin as cpu_pin
from shipper.cpu import policy as cpu_policy
from shipper.metrics import Metrics
from shipper.pipeline import Pipeline
from shipper.reload import Reloader, ReloadHandle, mark_loaded
from shipper.shutdown import Phase, Shutdown, Watchdog
from shipper.sinks.allocator import heap_trim

log = logging.getLogger("shipper.pipeline")


async def run_pipeline(settings: Settings, *, listen_given: bool = False,
                       env: Mapping[str, str] | None = None,
                       stop_requested: Callable[[], bool] = lambda: False,
                       load: Callable[[], Settings] | None = None,
                       reload_requested: Callable[[], bool] = lambda: False) -> int:
    """Build everything from settings, run until done or signalled; the exit code.

    Signal handlers go in first, so a SIGTERM during start-up still drains and saves.
    ``stop_requested`` tells whether a signal arrived before these handlers existed.
    From the signal on, the process ends within ``shutdown_deadline`` (a watchdog
    thread ends it shortly after, should the event loop itself be stuck). ``load``
    loads the configuration again for a reload (SIGHUP, ``POST /-/reload``).
    """
    stop = asyncio.Event()
    shutdown = Shutdown(settings.shutdown_deadline, watchdog=Watchdog())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop, stop, shutdown, sig)
    if stop_requested():
        _stop(stop, shutdown, signal.SIGTERM)
    handle, reloads = ReloadHandle(), set[asyncio.Task[Any]]()
    loop.add_signal_handler(signal.SIGHUP, _reload, handle, reloads)
    runner = None
    if settings.cpu.batch and cpu_policy.supported():
        cpu_policy.batch_threads()  # before the pipeline's threads: they inherit it
    try:
        metrics = Metrics()
        mark_loaded(metrics)
        serving = settings.server.enabled and (listen_given or not settings.once)
        observers, app = (build_observers(settings, metrics, reload=handle.reload) if serving
                          else (Observers(), None))
        checkpoints = await open_checkpoints(settings, metrics)
        cpu = (cpu_pin.CpuPin(settings.cpu, metrics)
               if settings.cpu.pin and cpu_pin.supported() else None)
        pipeline = Pipeline(settings, metrics=metrics, env=env, observers=observers,
                            checkpoints=checkpoints, stop=stop, shutdown=shutdown, cpu=cpu,
                            heap=heap_trim(metrics.heap_trims_total))
        if load is not None:
            handle.reloader = Reloader(load, pipeline, metrics)
        if reload_requested():
            _reload(handle, reloads)
        runner = await serve(app, settings.server.listen) if app is not None else None
        tune_gc()
        code = await pipeline.run()
    finally:
        if runner is not None:  # within what is left of the deadline
            cleanup = asyncio.create_task(runner.cleanup(), name="server-cleanup")
            await asyncio.wait({cleanup}, timeout=shutdown.left(Phase.SAVE))
    await shutdown.settle(code)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.remove_signal_handler(sig)
    return code


def _reload(handle: ReloadHandle, running: set[asyncio.Task[Any]]) -> None:
    """SIGHUP: reload in a task of its own (it never raises; kept until it ends)."""
    task = asyncio.create_task(handle.reload("SIGHUP"), name="reload")
    running.add(task)
    task.add_done_callback(running.discard)


def _stop(stop: asyncio.Event, shutdown: Shutdown, sig: signal.Signals) -> None:
    if stop.is_set():
        log.info("already stopping", extra={"signal": sig.name})
        return
    log.info("stopping", extra={"signal": sig.name})
    stop.set()
    shutdown.begin(f"signal {sig.name}")
