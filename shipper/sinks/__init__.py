"""shipper.sinks: where records go. :func:`build_sink` turns one sink's settings into a
:class:`SinkWorker`, the only contract the pipeline relies on (see ``docs/ARCHITECTURE.md``
"Sink workers"); every sink type implements it on :class:`~shipper.sinks.base.BaseSink`.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shipper.acks import AckToken
from shipper.errors import ConfigError
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.sinks.settings import sink_model

if TYPE_CHECKING:
    from shipper.buffer.disk import DiskBuffer
    from shipper.sinks.base import BaseSink

log = logging.getLogger("shipper.sinks")


class SinkWorker(Protocol):
    """What the pipeline needs from a sink (it calls nothing else)."""

    name: str

    async def start(self) -> None:
        """Open the transport and start the delivery tasks."""

    async def put(self, records: list[Record], token: AckToken) -> None:
        """Take the records into the sink's own bounded buffer; waits only while it is
        full under ``when_full: block`` (the backpressure). ``token.done()`` follows once
        every record is delivered, dead-lettered, shed or durably buffered."""

    @property
    def held(self) -> int:
        """Records taken and not yet accounted for (delivered, dead-lettered, shed)."""

    def draining(self) -> None:
        """Optional hint that the shutdown drain started: end backoffs in progress."""

    async def close(self, deadline: float) -> None:
        """Deliver what it can and return within ``deadline`` seconds in every state;
        raises :class:`~shipper.errors.SinkStoppedError` if a worker task died."""

    def undelivered(self) -> list[tuple[list[Record], AckToken]]:
        """After ``close``: what it still holds in memory, with the tokens to acknowledge
        (a reload hands it to the sink's successor)."""


def build_sink(settings: Any, *, metrics: Metrics, clock: Callable[[], float] = time.monotonic,
               state_dir: Path | None = None) -> SinkWorker:
    """The worker for one entry of ``settings.sinks`` (``type`` picks the class).

    The sinks' byte accounting relies on malloc returning big freed blocks to the system:
    start-up sets that once (:func:`shipper.components.tune_gc`)."""
    cls = _worker_class(settings.type)
    if "queue_max" in settings.model_fields_set:
        log.warning("sink %s: queue_max is no longer a limit and is ignored; "
                    "buffer.max_bytes bounds the sink's buffer", settings.name)
    disk = _disk_buffer(settings, metrics=metrics, clock=clock, state_dir=state_dir)
    return cls(settings, metrics=metrics, clock=clock, state_dir=state_dir, disk=disk)


def _disk_buffer(settings: Any, *, metrics: Metrics, clock: Callable[[], float],
                 state_dir: Path | None) -> DiskBuffer | None:
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


def _worker_class(kind: str) -> type[BaseSink]:
    model = sink_model(kind)
    if model is None:
        raise ConfigError(f"unknown sink type {kind!r}", key="sinks")
    module, _, name = model.worker.partition(":")
    worker: type[BaseSink] = getattr(importlib.import_module(module), name)
    return worker
