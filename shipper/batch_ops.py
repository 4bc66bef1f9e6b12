"""Helpers of :mod:`shipper.processor` for a batch of records: a stage one record at a time,
a stage's new record in place of an old one, a batch without the records dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipper.record import Record
from shipper.stages import Stage

OnError = Callable[[int, Exception], None]


def one_by_one(stage: Stage, records: list[Record], dropped: set[int],
               on_error: OnError | None = None, start: int = 0) -> bool:
    """A stage without a batch form: called once per record still in the batch (from
    ``records[start]`` on). ``True`` when the stage returned a new record in place of one
    (it takes that place), or a record it raised on was replaced (by ``on_error``, which
    must add it to ``dropped``; without ``on_error`` the exception propagates)."""
    replaced = False
    for i, record in enumerate(records[start:] if start else records, start):
        if i in dropped:
            continue
        try:
            out = stage(record)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(i, exc)
            replaced = True
            continue
        if out is None:
            dropped.add(i)
        elif out is not record:
            records[i], replaced = adopted(out, record), True
    return replaced


def adopted(out: dict[str, Any], record: Record) -> Record:
    """A stage's new record in place of ``record``, as a :class:`Record` that keeps what
    travelled beside the old one (a stage may build a plain dict: ``{**record, ...}``)."""
    new = out if out.__class__ is Record else Record(out)
    if new.raw is None:
        new.raw = record.raw
    if new.before is None:
        new.before = record.before
    return new


def without(records: list[Record], dropped: set[int]) -> list[Record]:
    """``records`` but those at the ``dropped`` indices, in order (slices, not a test per
    record)."""
    if not dropped:
        return records
    out: list[Record] = []
    start = 0
    for i in sorted(dropped):
        out += records[start:i]
        start = i + 1
    out += records[start:]
    return out
