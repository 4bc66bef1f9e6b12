"""Helpers shared by unit tests of several packages."""

from __future__ import annotations

from typing import Any

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


def rec(fields: dict[str, Any], raw: str | None = None) -> Record:
    """A record of these fields with ``raw`` beside it (as ``FileParser`` makes them)."""
    record = Record(fields)
    record.raw = raw
    return record
