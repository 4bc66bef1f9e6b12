"""Config model of a sink's buffer (referenced from the sink settings as ``buffer:``).

``type: memory`` keeps at most ``max_events`` records in the sink's queue; ``type: disk``
adds a :class:`~shipper.buffer.disk.DiskBuffer` of at most ``max_bytes`` under
``path`` (default ``<state_dir>/buffer/<sink name>``) that survives restarts. When the
buffer is full, ``when_full: block`` stops the tailer (files wait on disk) and
``drop_newest`` drops the new records, counted in ``shipper_records_failed_total``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shipper.units import Duration, Model, Size


class BufferSettings(Model):
    type: Literal["memory", "disk"] = "memory"
    #: records held in memory per sink (the bounded queue in front of the sink)
    max_events: int = Field(10_000, ge=1)
    #: size cap of the disk buffer (framed bytes not yet acknowledged)
    max_bytes: Size = 268_435_456
    when_full: Literal["block", "drop_newest"] = "block"
    #: ``always``: fsync every append; ``batch``: at most every ``fsync_interval``; ``never``
    fsync: Literal["always", "batch", "never"] = "batch"
    fsync_interval: Duration = 1.0
    #: segment file size; disk use is at most ``max_bytes + segment_bytes``
    segment_bytes: Size = 8_388_608
    path: Path | None = None

    @model_validator(mode="after")
    def _sizes(self) -> "BufferSettings":
        if self.type == "disk" and self.max_bytes < 4096:
            raise ValueError("max_bytes of a disk buffer must be at least 4KiB")
        if self.segment_bytes < 4096:
            raise ValueError("segment_bytes must be at least 4KiB")
        return self

    def directory(self, state_dir: Path | None, sink_name: str) -> Path | None:
        """Where this sink's disk buffer lives (``None`` when it cannot have one)."""
        if self.type != "disk":
            return None
        if self.path is not None:
            return self.path
        return state_dir / "buffer" / sink_name if state_dir is not None else None
