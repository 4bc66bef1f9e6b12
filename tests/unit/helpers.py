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


def encode_outcome(twin: Any, records: list[Any]) -> Any:
    """What an ``ndjson_records`` twin gives for ``records`` (bytes and end offsets) or the
    exception it raises (type and text): compared between the compiled kernel and its twin."""
    try:
        data, ends = twin(records, str)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc), str(exc)
    return data, ends.tolist()
