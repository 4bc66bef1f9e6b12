"""shipper.sinks: where records go. :func:`build_sink` turns one sink's settings into a worker.

Every worker has ``async start()``, ``async put(records, token)`` (awaits while its bounded
buffer is full) and ``async close(deadline)``; see ``docs/ARCHITECTURE.md`` "Sink workers".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipper.errors import ConfigError
from shipper.metrics import Metrics
from shipper.sinks.allocator import return_big_blocks

log = logging.getLogger("shipper.sinks")


def build_sink(settings: Any, *, metrics: Metrics, clock: Callable[[], float] = time.monotonic,
               state_dir: Path | None = None) -> Any:
    """The worker for one entry of ``settings.sinks`` (``type`` picks the class).

    Also makes malloc return big freed blocks to the system, which the sinks' byte
    accounting relies on (:mod:`shipper.sinks.allocator`)."""
    return_big_blocks()
    cls = _worker_class(settings.type)
    if "queue_max" in settings.model_fields_set:
        log.warning("sink %s: queue_max is no longer a limit and is ignored; "
                    "buffer.max_bytes bounds the sink's buffer", settings.name)
    disk = _disk_buffer(settings, metrics=metrics, clock=clock, state_dir=state_dir)
    return cls(settings, metrics=metrics, clock=clock, state_dir=state_dir, disk=disk)


def _disk_buffer(settings: Any, *, metrics: Metrics, clock: Callable[[], float],
                 state_dir: Path | None) -> Any:
    """The sink's :class:`~shipper.buffer.disk.DiskBuffer` for ``buffer.type: disk``."""
    buffer = settings.buffer
    if buffer.type != "disk":
        return None
    directory = buffer.directory(state_dir, settings.name)
    if directory is None:
        raise ConfigError("a disk buffer needs state_dir (or buffer.path)",
                          key=f"sinks.{settings.name}.buffer.type")
    from shipper.buffer.disk import DiskBuffer

    return DiskBuffer(directory, buffer.disk_bytes, buffer.fsync, metrics, sink=settings.name,
                      segment_bytes=buffer.segment_bytes, fsync_interval=buffer.fsync_interval,
                      clock=clock)


def _worker_class(kind: str) -> Any:
    if kind == "stdout":
        from shipper.sinks.stdout import StdoutSink
        return StdoutSink
    if kind == "http":
        from shipper.sinks.http import HttpSink
        return HttpSink
    if kind == "loki":
        from shipper.sinks.loki import LokiSink
        return LokiSink
    if kind == "datadog":
        from shipper.sinks.datadog import DatadogSink
        return DatadogSink
    if kind == "forward":
        from shipper.sinks.forward import ForwardSink
        return ForwardSink
    if kind == "otlp":
        from shipper.sinks.otlp import OtlpSink
        return OtlpSink
    raise ConfigError(f"unknown sink type {kind!r}", key="sinks")
