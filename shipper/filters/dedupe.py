"""Dedupe: consecutive records with the same message template collapse into the first
record plus one summary record carrying ``attributes.repeated`` (the suppressed count).

"Consecutive" is per file (``file.path``): records of other files in between do not break
a run. The template masks UUIDs, hex ids and numbers, and includes level and logger. A run
lasts at most ``window`` seconds (injected clock) from its first record. The summary of a
run is attached as ``record.before`` to the next different record of the same file,
or returned by :meth:`DedupeStage.drain` once the window has passed (or at shutdown).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable

from shipper.filters.rules import guarded
from shipper.filters.settings import DedupeSettings
from shipper.record import Record
from shipper.stages import Fates

_VARIABLE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b0[xX][0-9a-fA-F]+\b"
    r"|\b[0-9a-fA-F]*\d[0-9a-fA-F]*\b"
    r"|\d+"
)


def template(message: str) -> str:
    """The message with UUIDs, hex ids and numbers masked as ``#``."""
    return _VARIABLE.sub("#", message)


class _Run:
    __slots__ = ("key", "started", "suppressed", "last")

    def __init__(self, key: tuple[str, str, str], started: float) -> None:
        self.key = key
        self.started = started
        self.suppressed = 0
        self.last: Record | None = None


def summary_of(run: _Run) -> Record:
    """The summary record of a run: its last suppressed record plus ``repeated``."""
    last = run.last or Record()
    summary = Record(last)
    summary.raw = last.raw
    summary["attributes"] = {**(last.get("attributes") or {}), "repeated": run.suppressed}
    return summary


class DedupeStage:
    """Stateful stage; the pipeline calls :meth:`drain` on a timer and at shutdown."""

    def __init__(self, settings: DedupeSettings, fates: Fates, clock: Callable[[], float]) -> None:
        self._name = settings.name
        self._window = settings.window
        self._allow_warning = settings.allow_warning
        self._max_streams = settings.max_streams
        self._fates = fates
        self._clock = clock
        self._runs: OrderedDict[str | None, _Run] = OrderedDict()

    def __call__(self, record: Record) -> Record | None:
        if guarded(record, self._allow_warning):
            return self._attach(record, self._end_run(_stream(record)))
        stream, now = _stream(record), self._clock()
        key = _key(record)
        run = self._runs.get(stream)
        if run is not None and run.key == key and now - run.started <= self._window:
            run.suppressed += 1
            run.last = record
            self._runs.move_to_end(stream)
            self._fates.dropped(record, "deduped", self._name)
            return None
        record = self._attach(record, self._end_run(stream))
        return self._attach(record, self._start_run(stream, key, now))

    def drain(self, force: bool = False) -> list[Record]:
        """Summaries of runs whose window has passed (every run's with ``force``)."""
        out: list[Record] = []
        now = self._clock()
        for stream in list(self._runs):
            run = self._runs[stream]
            if force or now - run.started > self._window:
                del self._runs[stream]
                if run.suppressed:
                    out.append(summary_of(run))
        return out

    def _end_run(self, stream: str | None) -> Record | None:
        run = self._runs.pop(stream, None)
        return summary_of(run) if run is not None and run.suppressed else None

    def _start_run(self, stream: str | None, key: tuple[str, str, str],
                   now: float) -> Record | None:
        """Start a run; the summary of the run evicted to make room (if any) is returned."""
        evicted = None
        if len(self._runs) >= self._max_streams:
            _, oldest = self._runs.popitem(last=False)
            evicted = summary_of(oldest) if oldest.suppressed else None
        self._runs[stream] = _Run(key, now)
        return evicted

    @staticmethod
    def _attach(record: Record, summary: Record | None) -> Record:
        if summary is not None:
            if record.before is None:
                record.before = []
            record.before.append(summary)
        return record


def _stream(record: Record) -> str | None:
    file = record.get("file")
    return file.get("path") if isinstance(file, dict) else None


def _key(record: Record) -> tuple[str, str, str]:
    message = record.get("message")
    text = template(message) if isinstance(message, str) else ""
    return (str(record.get("level", "")), str(record.get("logger", "")), text)
