"""Per-job summaries in a bounded LRU, and the job lifecycle metrics.

:class:`JobTracker` is fed the forwarded records (:meth:`observe`) and the dropped ones
(:meth:`observe_drop`) by the pipeline. For each ``job_id`` it keeps first/last seen,
records by level, drops by reason, the stages/layers seen with status and duration, the
final status when a ``pipeline_complete`` was seen, and the last error message. The
least recently updated job is evicted beyond ``max_jobs``. Job ids never become labels:
the metrics are ``shipper_job_stage_duration_seconds{stage,outcome}``,
``shipper_job_events_total{event,outcome}`` and ``shipper_jobs_active``.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from shipper.record import LEVEL_RANK, Record
from shipper.server import events
from shipper.server.events import JobEvent

ERROR_RANK = LEVEL_RANK["error"]
OTHER_STAGE = "other"


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id, "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen), "active": self.active, "status": self.status,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "records": sum(self.levels.values()), "levels": dict(self.levels),
            "drops": dict(self.drops),
            "stages": {name: _stage_dict(info) for name, info in self.stages.items()},
            "last_error": self.last_error, "last_error_at": self.last_error_at,
        }


def _stage_dict(info: StageInfo) -> dict[str, Any]:
    return {"kind": info.kind, "status": info.status, "duration_seconds": info.duration_seconds,
            "started_at": info.started_at, "ended_at": info.ended_at}


def _iso(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=timezone.utc)
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
    """Bounded LRU of job summaries fed by the pipeline (event loop thread only)."""

    def __init__(self, metrics: Any, clock: Callable[[], float], max_jobs: int, *,
                 max_stages_per_job: int = 200, max_stage_labels: int = 100) -> None:
        if max_jobs < 1 or max_stages_per_job < 1 or max_stage_labels < 1:
            raise ValueError("max_jobs, max_stages_per_job and max_stage_labels must be >= 1")
        self._metrics = metrics
        self._clock = clock
        self._max_jobs = max_jobs
        self._max_stages = max_stages_per_job
        self._max_labels = max_stage_labels
        self._jobs: OrderedDict[str, JobSummary] = OrderedDict()
        self._stage_labels: set[str] = set()
        self._active = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def observe(self, records: list[Record]) -> None:
        """Account forwarded records (only those with a ``job_id``)."""
        now = self._clock()
        for record in records:
            job_id = record.get("job_id")
            if job_id is None:
                continue
            job = self._touch(str(job_id), now)
            job.levels[record.get("level", "info")] += 1
            event = events.detect(record)
            if event is not None:
                self._apply(job, event, record)
            elif LEVEL_RANK.get(record.get("level", "info"), 2) >= ERROR_RANK:
                self._set_error(job, record.get("message"), record)
        self._metrics.jobs_active.set(self._active)

    def observe_drop(self, record: Record, reason: str) -> None:
        """Account one record dropped on purpose (``reason`` from ``DROP_REASONS``)."""
        job_id = record.get("job_id")
        if job_id is None:
            return
        self._touch(str(job_id), self._clock()).drops[reason] += 1
        self._metrics.jobs_active.set(self._active)

    def get(self, job_id: str) -> dict[str, Any] | None:
        job = self._jobs.get(job_id)
        return None if job is None else job.as_dict()

    def summaries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Job summaries, most recently updated first."""
        jobs = list(reversed(self._jobs.values()))
        return [job.as_dict() for job in (jobs if limit is None else jobs[:limit])]

    def _touch(self, job_id: str, now: float) -> JobSummary:
        job = self._jobs.get(job_id)
        if job is None:
            job = self._jobs[job_id] = JobSummary(job_id, now, now)
            if len(self._jobs) > self._max_jobs:
                self._evict()
        else:
            self._jobs.move_to_end(job_id)
            job.last_seen = now
        return job

    def _evict(self) -> None:
        _, old = self._jobs.popitem(last=False)
        self.evicted += 1
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
            job.last_error, job.last_error_at = event.error, stamp

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
        info = job.stages.get(event.name)  # type: ignore[arg-type]
        if info is None:
            if len(job.stages) >= self._max_stages:
                return
            info = job.stages[event.name] = StageInfo(kind=event.scope)  # type: ignore[index]
        if event.phase == events.START:
            info.status, info.started_at, info.ended_at = "running", stamp, None
            info.duration_seconds = None
            return
        duration = event.duration
        if duration is None:
            duration = _seconds_between(info.started_at, stamp)
        info.status, info.ended_at, info.duration_seconds = event.status or event.outcome, stamp, duration
        if duration is not None:
            label = self._stage_label(event.name)  # type: ignore[arg-type]
            self._metrics.job_stage_duration_seconds.labels(
                stage=label, outcome=event.outcome).observe(duration)

    def _stage_label(self, name: str) -> str:
        if name in self._stage_labels:
            return name
        if len(self._stage_labels) >= self._max_labels:
            return OTHER_STAGE
        self._stage_labels.add(name)
        return name

    def _set_error(self, job: JobSummary, message: object, record: Record) -> None:
        if message:
            job.last_error = events.shorten(message, events.MAX_TEXT)
            job.last_error_at = record.get("timestamp")
