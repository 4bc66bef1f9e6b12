"""Helpers shared by unit tests of several packages."""

from __future__ import annotations

from shipper.record import Record
from shipper.stages import Stage


def run_stages(stages: list[Stage], record: Record) -> Record | None:
    """Apply stages in order, one record; stop at the first that drops it."""
    for stage in stages:
        out = stage(record)
        if out is None:
            return None
        record = out
    return record
