"""Config model of a sink's buffer (referenced from the sink settings as ``buffer:``).

Every sink has a buffer of its own, so a dead sink fills its own buffer and the others go
on. ``type: memory`` holds the records encoded, at most ``max_bytes`` (default 32 MiB;
records and in-flight batches included); ``type: disk`` adds a
:class:`~shipper.buffer.disk.DiskBuffer` of at most ``max_bytes`` (default 256 MiB) under
``path`` (default ``<state_dir>/buffer/<sink name>``) that survives restarts. When the
buffer is full, ``when_full: block`` stops the tailer (files wait on disk), ``drop_newest``
and ``drop_oldest`` shed records (below ``warning`` first), counted in
``shipper_records_failed_total{reason="buffer-full"}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shipper.units import Duration, Model, Size

#: default cap of a memory buffer: the chart's 256 MiB limit holds a few of them
MEMORY_MAX_BYTES = 32 * 1024 * 1024
#: default cap of a disk buffer
DISK_MAX_BYTES = 256 * 1024 * 1024

WhenFull = Literal["block", "drop_newest", "drop_oldest"]


class BufferSettings(Model):
    type: Literal["memory", "disk"] = "memory"
    #: optional cap on records held (queued + in flight); bytes are the real bound
    max_events: int | None = Field(None, ge=1)
    #: size cap: encoded records in memory, or framed records on disk (None: the default
    #: of the type, :data:`MEMORY_MAX_BYTES` or :data:`DISK_MAX_BYTES`)
    max_bytes: Size | None = None
    when_full: WhenFull = "block"
    #: ``always``: fsync every append; ``batch``: at most every ``fsync_interval``; ``never``
    fsync: Literal["always", "batch", "never"] = "batch"
    fsync_interval: Duration = 1.0
    #: segment file size; disk use is at most ``max_bytes + segment_bytes``
    segment_bytes: Size = 8_388_608
    path: Path | None = None

    @model_validator(mode="after")
    def _sizes(self) -> BufferSettings:
        if self.type == "disk" and self.disk_bytes < 4096:
            raise ValueError("max_bytes of a disk buffer must be at least 4KiB")
        if self.max_bytes is not None and self.max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        if self.segment_bytes < 4096:
            raise ValueError("segment_bytes must be at least 4KiB")
        return self

    @property
    def memory_bytes(self) -> int:
        """Cap of the memory buffer."""
        return self.max_bytes if self.max_bytes is not None else MEMORY_MAX_BYTES

    @property
    def disk_bytes(self) -> int:
        """Cap of the disk buffer."""
        return self.max_bytes if self.max_bytes is not None else DISK_MAX_BYTES

    def directory(self, state_dir: Path | None, sink_name: str) -> Path | None:
        """Where this sink's disk buffer lives (``None`` when it cannot have one)."""
        if self.type != "disk":
            return None
        if self.path is not None:
            return self.path
        return state_dir / "buffer" / sink_name if state_dir is not None else None
