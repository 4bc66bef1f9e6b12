"""No task dies silently: the pipeline's tasks are watched here.

Every task ``pipeline.py`` starts (tailer, processor, ticker, checkpoint saves) is passed
to :meth:`Supervisor.watch`. A task that ends with an unexpected exception, and a sink
whose worker died (:class:`~shipper.errors.SinkStoppedError` from ``put``/``close``), is
reported through :meth:`Supervisor.fail`: one JSON error log (the error's type and where
it was raised; the message only for the shipper's own errors, so no record content
reaches the log), ``shipper_task_failures_total{task}``, ``/healthz`` 503, and a
shutdown within the deadline ending in exit code 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from shipper.errors import ShipperError, SinkError
from shipper.metrics import Metrics

log = logging.getLogger("shipper.pipeline")

#: frames of the traceback named in the log (innermost last)
MAX_FRAMES = 8
#: an isolated failure of the same task is logged again after this many seconds
ISOLATED_LOG_EVERY = 60.0


class Supervisor:
    """Watches tasks; the first failure stops the pipeline (``on_fatal``) with exit 1."""

    def __init__(self, metrics: Metrics, *, progress: Any = None,
                 on_fatal: Callable[[str], None] = lambda task: None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._metrics = metrics
        self._progress = progress
        self._on_fatal = on_fatal
        self._clock = clock
        self._isolated_at: dict[str, float] = {}
        #: names of the tasks that failed, in order
        self.failed: list[str] = []

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def watch(self, task: asyncio.Task[Any], name: str) -> asyncio.Task[Any]:
        """Report ``task`` if it ends with an exception (cancellation is not a failure)."""
        task.add_done_callback(lambda done: self._done(done, name))
        return task

    def _done(self, task: asyncio.Task[Any], name: str) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.fail(name, exc)

    def fail(self, name: str, exc: BaseException) -> None:
        """Log, count and act on a failure of task ``name`` (a failed sink is named
        ``sink-<name>`` whichever task saw its error)."""
        if isinstance(exc, SinkError) and exc.sink:
            name = f"sink-{exc.sink}"
        self.failed.append(name)
        log.error("task failed", extra=describe(name, exc))
        self._metrics.task_failures_total.labels(task=name).inc()
        if self._progress is not None:
            self._progress.set_failed(name, type(exc).__name__)
        self._on_fatal(name)

    def isolated(self, name: str, exc: BaseException) -> None:
        """A failure the pipeline goes on after (an observer of shipped records): counted
        every time, logged at most every :data:`ISOLATED_LOG_EVERY` seconds per task."""
        self._metrics.task_failures_total.labels(task=name).inc()
        now, last = self._clock(), self._isolated_at.get(name)
        if last is None or now - last >= ISOLATED_LOG_EVERY:
            self._isolated_at[name] = now
            log.error("task failed, going on without it for this batch",
                      extra=describe(name, exc))


def describe(name: str, exc: BaseException) -> dict[str, Any]:
    """Log fields for a failure: the error type and the frames it came through. The
    message of a foreign error may quote a record, so only the shipper's own are kept."""
    frames = traceback.extract_tb(exc.__traceback__)[-MAX_FRAMES:]
    fields: dict[str, Any] = {
        "task": name, "error_type": type(exc).__name__,
        "where": [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames],
    }
    if isinstance(exc, ShipperError):
        fields["error"] = str(exc)
    return fields
