"""Per-job summaries in an LRU bounded in jobs and bytes, and the job lifecycle metrics.

:class:`JobTracker` is fed the forwarded records (:meth:`observe`) and the dropped ones
(:meth:`observe_drop`) by the pipeline. For each ``job_id`` it keeps first/last seen,
records by level, drops by reason, the stages/layers seen with status and duration (at
most ``max_stages_per_job``), the final status when a ``pipeline_complete`` was seen,
and the last error message (at most :data:`~shipper.jobs.events.MAX_TEXT` characters).
Job ids longer than :data:`JOB_ID_MAX` are cut and suffixed with a hash of the whole id
(:func:`job_key`). The least recently updated jobs are evicted beyond ``max_jobs`` or
``max_bytes`` (an estimate of what each summary holds). :meth:`page` serves the
summaries most recently updated first, in pages bounded in jobs and bytes.

Job ids never become labels: the metrics are
``shipper_job_stage_duration_seconds{stage,outcome}``,
``shipper_job_events_total{event,outcome}`` and ``shipper_jobs_active``.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from shipper.jobs import events
from shipper.jobs.events import JobEvent
from shipper.record import LEVEL_RANK, Record
from shipper.record_fields import record_rank
from shipper.server.settings import MIB, ServerSettings

ERROR_RANK = LEVEL_RANK["error"]
OTHER_STAGE = "other"
#: longest job id kept as is; longer ones become a prefix, "…" and a hash of the whole id
JOB_ID_MAX = 256
#: estimated bytes of one summary without its texts, and of one stage without its name
JOB_COST = 1200
STAGE_COST = 400


def job_key(value: object) -> str:
    """The id a job is tracked (and looked up) under."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= JOB_ID_MAX:
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{text[:JOB_ID_MAX - 17]}…{digest}"


@dataclass(slots=True)
class StageInfo:
    kind: str
    status: str = "running"
    duration_seconds: float | None = None
    started_at: str | None = None
    ended_at: str | None = None


@dataclass(slots=True)
class JobSummary:
    job_id: str
    first_seen: float
    last_seen: float
    levels: Counter[str] = field(default_factory=Counter)
    drops: Counter[str] = field(default_factory=Counter)
    stages: dict[str, StageInfo] = field(default_factory=dict)
    active: bool = False
    status: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    #: position in the tracker's update order (the ``/v1/jobs`` page cursor)
    seq: int = 0
    #: estimated bytes this summary holds
    weight: int = JOB_COST
    stages_dropped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id, "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen), "active": self.active, "status": self.status,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "records": sum(self.levels.values()), "levels": dict(self.levels),
            "drops": dict(self.drops),
            "stages": {name: _stage_dict(info) for name, info in self.stages.items()},
            "stages_not_kept": self.stages_dropped,
            "last_error": self.last_error, "last_error_at": self.last_error_at,
        }


def _stage_dict(info: StageInfo) -> dict[str, Any]:
    return {"kind": info.kind, "status": info.status, "duration_seconds": info.duration_seconds,
            "started_at": info.started_at, "ended_at": info.ended_at}


def _iso(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (TypeError, ValueError):
        return None
    seconds = delta.total_seconds()
    return seconds if seconds >= 0 else None


class JobTracker:
    """LRU of job summaries bounded in jobs and bytes (event loop thread only)."""

    def __init__(self, metrics: Any, clock: Callable[[], float], max_jobs: int, *,
                 max_stages_per_job: int = 100, max_stage_labels: int = 100,
                 max_bytes: int = 8 * MIB) -> None:
        if min(max_jobs, max_stages_per_job, max_stage_labels, max_bytes) < 1:
            raise ValueError("max_jobs, max_stages_per_job, max_stage_labels and max_bytes "
                             "must be >= 1")
        self._metrics = metrics
        self._clock = clock
        self._max_jobs, self._max_bytes = max_jobs, max_bytes
        self._max_stages = max_stages_per_job
        self._max_labels = max_stage_labels
        self._jobs: OrderedDict[str, JobSummary] = OrderedDict()
        self._stage_labels: set[str] = set()
        self._active = 0
        self._seq = 0
        self.bytes = 0
        self.evicted = 0

    @classmethod
    def from_settings(cls, metrics: Any, clock: Callable[[], float],
                      settings: ServerSettings) -> JobTracker:
        return cls(metrics, clock, settings.jobs_max, max_stages_per_job=settings.jobs_max_stages,
                   max_stage_labels=settings.jobs_max_stage_labels,
                   max_bytes=settings.jobs_max_bytes)

    def __len__(self) -> int:
        return len(self._jobs)

    def observe(self, records: list[Record]) -> None:
        """Account forwarded records (only those with a ``job_id``)."""
        now = self._clock()
        for record in records:
            job_id = record.get("job_id")
            if job_id is None:
                continue
            job = self._touch(job_id, now)
            job.levels[record.get("level", "info")] += 1
            event = events.detect(record)
            if event is not None:
                self._apply(job, event, record)
            elif record_rank(record) >= ERROR_RANK:
                self._set_error(job, events.shorten(record.get("message"), events.MAX_TEXT),
                                record.get("timestamp"))
        self._shrink()
        self._metrics.jobs_active.set(self._active)

    def observe_drop(self, record: Record, reason: str) -> None:
        """Account one record dropped on purpose (``reason`` from ``DROP_REASONS``)."""
        job_id = record.get("job_id")
        if job_id is None:
            return
        self._touch(job_id, self._clock()).drops[reason] += 1
        self._shrink()
        self._metrics.jobs_active.set(self._active)

    def get(self, job_id: str) -> dict[str, Any] | None:
        job = self._jobs.get(job_key(job_id))
        return None if job is None else job.as_dict()

    def summaries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Every job summary, most recently updated first (tests and inspection; the
        server serves :meth:`page`, which is bounded)."""
        jobs = list(reversed(self._jobs.values()))
        return [job.as_dict() for job in (jobs if limit is None else jobs[:limit])]

    def page(self, limit: int, max_bytes: int,
             before: int | None = None) -> tuple[list[bytes], int | None]:
        """JSON summaries most recently updated first, from the cursor ``before`` on (a
        ``seq``), at most ``limit`` of them and ``max_bytes`` together (at least one);
        and the cursor of the next page (``None`` on the last one)."""
        out: list[bytes] = []
        total, cursor = 0, 0
        for job in reversed(self._jobs.values()):
            if before is not None and job.seq >= before:
                continue
            if len(out) >= limit:
                return out, cursor
            data = orjson.dumps(job.as_dict(), default=str)
            if out and total + len(data) > max_bytes:
                return out, cursor
            out.append(data)
            total, cursor = total + len(data) + 1, job.seq
        return out, None

    def _touch(self, job_id: object, now: float) -> JobSummary:
        key = job_id if type(job_id) is str and len(job_id) <= JOB_ID_MAX else job_key(job_id)
        self._seq += 1
        job = self._jobs.get(key)
        if job is None:
            job = self._jobs[key] = JobSummary(key, now, now)
            job.weight += len(key)
            self.bytes += job.weight
        else:
            self._jobs.move_to_end(key)
            job.last_seen = now
        job.seq = self._seq
        return job

    def _shrink(self) -> None:
        """Evict the least recently updated jobs while over either bound."""
        while len(self._jobs) > self._max_jobs or (self.bytes > self._max_bytes
                                                   and len(self._jobs) > 1):
            _, old = self._jobs.popitem(last=False)
            self.evicted += 1
            self.bytes -= old.weight
            if old.active:
                self._active -= 1

    def _apply(self, job: JobSummary, event: JobEvent, record: Record) -> None:
        self._metrics.job_events_total.labels(event=event.event, outcome=event.outcome).inc()
        stamp = record.get("timestamp")
        if event.scope == events.PIPELINE:
            self._pipeline(job, event, stamp)
        elif event.name:
            self._stage(job, event, stamp)
        if event.error:
            self._set_error(job, event.error, stamp)

    def _pipeline(self, job: JobSummary, event: JobEvent, stamp: str | None) -> None:
        if event.phase == events.START:
            job.started_at, job.ended_at, job.status = stamp, None, "running"
            if not job.active:
                job.active, self._active = True, self._active + 1
            return
        job.ended_at, job.status = stamp, event.status or event.outcome
        if job.active:
            job.active, self._active = False, self._active - 1

    def _stage(self, job: JobSummary, event: JobEvent, stamp: str | None) -> None:
        name = event.name or ""
        info = job.stages.get(name)
        if info is None:
            if len(job.stages) >= self._max_stages:
                job.stages_dropped += 1
                return
            info = job.stages[name] = StageInfo(kind=event.scope)
            self._grow(job, STAGE_COST + len(name))
        if event.phase == events.START:
            info.status, info.started_at, info.ended_at = "running", stamp, None
            info.duration_seconds = None
            return
        duration = event.duration
        if duration is None:
            duration = _seconds_between(info.started_at, stamp)
        info.status = event.status or event.outcome
        info.ended_at, info.duration_seconds = stamp, duration
        if duration is not None:
            self._metrics.job_stage_duration_seconds.labels(
                stage=self._stage_label(name), outcome=event.outcome).observe(duration)

    def _stage_label(self, name: str) -> str:
        if name in self._stage_labels:
            return name
        if len(self._stage_labels) >= self._max_labels:
            return OTHER_STAGE
        self._stage_labels.add(name)
        return name

    def _set_error(self, job: JobSummary, text: str | None, stamp: str | None) -> None:
        if text:
            self._grow(job, len(text) - len(job.last_error or ""))
            job.last_error, job.last_error_at = text, stamp

    def _grow(self, job: JobSummary, delta: int) -> None:
        job.weight += delta
        self.bytes += delta
