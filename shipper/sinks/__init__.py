"""shipper.sinks: where records go. :func:`build_sink` turns one sink's settings into a worker.

Every worker has ``async start()``, ``async put(records, token)`` (awaits while its bounded
buffer is full) and ``async close(deadline)``; see ``docs/ARCHITECTURE.md`` "Sink workers".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from shipper.errors import ConfigError
from shipper.metrics import Metrics


def build_sink(settings: Any, *, metrics: Metrics, clock: Callable[[], float] = time.monotonic,
               state_dir: Path | None = None) -> Any:
    """The worker for one entry of ``settings.sinks`` (``type`` picks the class)."""
    kind = settings.type
    if kind == "stdout":
        from shipper.sinks.stdout import StdoutSink

        return StdoutSink(settings, metrics=metrics, clock=clock)
    cls = _worker_class(kind)
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

    return DiskBuffer(directory, buffer.max_bytes, buffer.fsync, metrics, sink=settings.name,
                      segment_bytes=buffer.segment_bytes, fsync_interval=buffer.fsync_interval,
                      clock=clock)


def _worker_class(kind: str) -> Any:
    if kind == "http":
        from shipper.sinks.http_ndjson import HttpSink
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
    raise ConfigError(f"unknown sink type {kind!r}", key="sinks")
