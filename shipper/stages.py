"""The stage contract shared by parse, enrich and filter stages.

A stage is a callable ``(record) -> record | None``. ``None`` means dropped on purpose;
before returning ``None`` the stage tells the :class:`Fates` it was given why
(``reason`` and ``rule``), so every drop is counted and ``shipper explain`` can show it.
Stages that change a record (redaction) report ``changed``. Only ``pipeline.py`` wires
stages to tasks and queues.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from shipper.kernels import FateCounts
from shipper.kernels.pure_fates import JobIdOnly as JobIdOnly  # drop listeners mark themselves
from shipper.record import LEVEL_RANK, Record

Stage = Callable[[Record], "Record | None"]

#: Drop reasons used in ``shipper_records_dropped_total{reason}``.
DROP_REASONS = ("noise", "min_level", "drop_rule", "sampled", "throttled", "deduped",
                "no_route")

#: ``shipper_parse_errors_total{kind}``: records shipped as a placeholder because a stage
#: raised on them; stage failures that cost no record (a failed pre-scan)
UNPROCESSABLE = "unprocessable"
STAGE_FAILED = "stage_failed"
#: a stage failure of the same kind is logged again after this many seconds at the soonest
LOG_EVERY = 60.0

log = logging.getLogger("shipper.pipeline")


@runtime_checkable
class BatchStage(Protocol):
    """A stage with a batch form: ``process_batch`` adds the indices of the records it
    drops to ``dropped`` (and skips those already there). Still callable on one record."""

    def __call__(self, record: Record) -> Record | None: ...

    def process_batch(self, records: list[Record], dropped: set[int]) -> None: ...


@runtime_checkable
class PreparingStage(Protocol):
    """A stage that pre-scans a batch before running on it: ``prepare`` once per batch
    (``texts``: its raw lines joined once for every stage; ``facts``: what enrichment
    gave every record of the batch's file), ``release`` at its end."""

    def __call__(self, record: Record) -> Record | None: ...

    def prepare(self, records: list[Record], extra: dict[str, Any] | None = None,
                texts: Any = None, facts: Any = None) -> None: ...

    def release(self) -> None: ...


@runtime_checkable
class DrainingStage(Protocol):
    """A stage that holds state across records (dedupe): ``drain`` returns what is due
    (everything with ``force``), called on a timer and at shutdown."""

    def __call__(self, record: Record) -> Record | None: ...

    def drain(self, force: bool = False) -> list[Record]: ...


class Fates(Protocol):
    """Where stages report what they did to a record."""

    def dropped(self, record: Record, reason: str, rule: str) -> None: ...

    def changed(self, record: Record, kind: str, rule: str) -> None: ...


class CountingFates(FateCounts):
    """Counts drops and changes in plain dicts (``drops``, ``changes``); the pipeline
    flushes them to metrics in bulk (a prometheus ``inc`` per record costs more than
    parsing it). The counts are plain dicts keyed by ``(reason, rule)`` in first-seen
    order, not ``Counter``s: drops are counted per record. ``dropped`` calls the
    ``listeners`` in order, but not a :class:`JobIdOnly` one for a record without a
    ``job_id``; it and ``changed`` are the kernel :class:`~shipper.kernels.FateCounts`
    (compiled: no Python frame per drop)."""

    def take(self) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        """Return and reset the counts gathered since the last call (in first-seen order)."""
        drops, changes = self.drops, self.changes
        self.drops, self.changes = {}, {}
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


def stage_name(stage: object) -> str:
    return str(getattr(stage, "__name__", None) or type(stage).__name__)


def placeholder(record: Record, stage: str, exc: BaseException, now: float) -> Record:
    """What ships in place of a record a stage raised on: where it came from (file and
    offset), its time, level, stream and pod, and never any of its content (it may not be
    redacted yet)."""
    error = type(exc).__name__
    ts, level, k8s, stream = (record.get(k) for k in ("timestamp", "level", "k8s", "stream"))
    out = Record({
        "timestamp": ts if isinstance(ts, str) else _rfc3339(now),
        "level": level if level in LEVEL_RANK else "error",
        "message": f"[unprocessable record: {error}]",
        "attributes": {"unprocessable": {"stage": stage, "error": error}},
        "k8s": k8s if isinstance(k8s, dict) else {},
        "file": _place(record.get("file")),
    })
    if isinstance(stream, str):
        out["stream"] = stream
    return out


def _place(file: Any) -> dict[str, Any]:
    if not isinstance(file, dict):
        return {"path": "", "offset": 0}
    path, offset = file.get("path"), file.get("offset")
    return {"path": path if isinstance(path, str) else "",
            "offset": offset if isinstance(offset, int) else 0}


def _rfc3339(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StageFailures:
    """Accounts for stages that raised: counts into ``counts.errors`` (the parse counts
    the pipeline flushes to ``shipper_parse_errors_total``) and logs each kind of failure
    (stage + error type) at most every :data:`LOG_EVERY` seconds, without record content."""

    def __init__(self, counts: Any, clock: Callable[[], float]) -> None:
        self._counts = counts
        self._clock = clock
        self._logged: dict[tuple[str, str], float] = {}
        self._unlogged: Counter[tuple[str, str]] = Counter()

    def replace(self, records: list[Record], i: int, stage: object, exc: Exception) -> None:
        """``records[i]`` becomes its placeholder (counted as unprocessable)."""
        name = stage_name(stage)
        self._counts.errors[UNPROCESSABLE] += 1
        self.report(name, exc, records[i].get("file"))
        records[i] = placeholder(records[i], name, exc, self._clock())

    def failed(self, stage: object, exc: Exception) -> None:
        """A stage failed without costing a record (its batch is re-run per record)."""
        self._counts.errors[STAGE_FAILED] += 1
        self.report(stage_name(stage), exc, None)

    def report(self, name: str, exc: BaseException, place: Any) -> None:
        key, now = (name, type(exc).__name__), self._clock()
        last = self._logged.get(key)
        if last is not None and now - last < LOG_EVERY:
            self._unlogged[key] += 1
            return
        self._logged[key] = now
        frames = traceback.extract_tb(exc.__traceback__)[-4:]
        log.warning("a stage failed (a record it cannot process ships as a placeholder "
                    "without its content)",
                    extra={"stage": name, "error_type": key[1], "file": _place(place),
                           "since_last_log": self._unlogged.pop(key, 0),
                           "where": [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                                     for f in frames]})
