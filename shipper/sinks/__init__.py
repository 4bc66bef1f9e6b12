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
    if settings.buffer.type == "disk":
        raise ConfigError("the disk buffer is not available yet; use buffer.type: memory",
                          key=f"sinks.{settings.name}.buffer.type")
    cls = _worker_class(kind)
    return cls(settings, metrics=metrics, clock=clock, state_dir=state_dir)


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
