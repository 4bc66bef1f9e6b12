"""The pure-Python twin of ``_compiled.FateCounts``: the counting base of
:class:`~shipper.stages.CountingFates` (the reference; the compiled twin does exactly this,
and the tests compare the two).

Every record a stage drops is reported here (:meth:`FateCounts.dropped`), which counts it by
``(reason, rule)`` and calls the drop listeners in order. A listener that is a
:class:`JobIdOnly` does nothing for a record without a ``job_id`` (the job summaries' drop
counts), so it is not called for one: most dropped records (probes, polling) carry none,
and the compiled twin then reports a drop without any Python frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Listener = Callable[[Any, str, str], None]

_UNREAD = object()  # the record's ``job_id`` not looked up yet


class JobIdOnly:
    """Marks a drop listener that does nothing for a record whose ``job_id`` is missing or
    ``None``: :meth:`FateCounts.dropped` skips calling it for such a record."""

    __slots__ = ()


class FateCounts:
    """Drops and changes counted in plain dicts keyed by ``(reason, rule)`` in first-seen
    order, and the drop listeners (called per drop, in order)."""

    def __init__(self) -> None:
        self.drops: dict[tuple[str, str], int] = {}
        self.changes: dict[tuple[str, str], int] = {}
        self.listeners: list[Listener] = []

    def dropped(self, record: Any, reason: str, rule: str) -> None:
        key = (reason, rule)
        drops = self.drops
        drops[key] = drops.get(key, 0) + 1
        job_id: object = _UNREAD
        for listener in self.listeners:
            if isinstance(listener, JobIdOnly):
                if job_id is _UNREAD:
                    job_id = record.get("job_id")
                if job_id is None:
                    continue
            listener(record, reason, rule)

    def changed(self, record: Any, kind: str, rule: str) -> None:
        key = (kind, rule)
        changes = self.changes
        changes[key] = changes.get(key, 0) + 1
