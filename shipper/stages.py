"""The stage contract shared by parse, enrich and filter stages.

A stage is a callable ``(record) -> record | None``. ``None`` means dropped on purpose;
before returning ``None`` the stage tells the :class:`Fates` it was given why
(``reason`` and ``rule``), so every drop is counted and ``shipper explain`` can show it.
Stages that change a record (redaction) report ``changed``. Only ``pipeline.py`` wires
stages to tasks and queues.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Protocol

from shipper.record import Record

Stage = Callable[[Record], "Record | None"]

#: Drop reasons used in ``shipper_records_dropped_total{reason}``.
DROP_REASONS = ("noise", "min_level", "drop_rule", "sampled", "throttled", "deduped")


class Fates(Protocol):
    """Where stages report what they did to a record."""

    def dropped(self, record: Record, reason: str, rule: str) -> None: ...

    def changed(self, record: Record, kind: str, rule: str) -> None: ...


class CountingFates:
    """Counts drops and changes in plain dicts; the pipeline flushes them to metrics in
    bulk (a prometheus ``inc`` per record costs more than parsing it)."""

    def __init__(self) -> None:
        self.drops: Counter[tuple[str, str]] = Counter()
        self.changes: Counter[tuple[str, str]] = Counter()
        self.listeners: list[Callable[[Record, str, str], None]] = []

    def dropped(self, record: Record, reason: str, rule: str) -> None:
        self.drops[(reason, rule)] += 1
        for listener in self.listeners:
            listener(record, reason, rule)

    def changed(self, record: Record, kind: str, rule: str) -> None:
        self.changes[(kind, rule)] += 1

    def take(self) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
        """Return and reset the counts gathered since the last call."""
        drops, changes = self.drops, self.changes
        self.drops, self.changes = Counter(), Counter()
        return drops, changes


class RecordingFates:
    """Keeps every event of the current record (``shipper explain``)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def dropped(self, record: Record, reason: str, rule: str) -> None:
        self.events.append(("dropped", reason, rule))

    def changed(self, record: Record, kind: str, rule: str) -> None:
        self.events.append(("changed", kind, rule))

    def reset(self) -> list[tuple[str, str, str]]:
        events, self.events = self.events, []
        return events


def run_stages(stages: list[Stage], record: Record) -> Record | None:
    """Apply stages in order; stop at the first that drops the record."""
    for stage in stages:
        record = stage(record)
        if record is None:
            return None
    return record
