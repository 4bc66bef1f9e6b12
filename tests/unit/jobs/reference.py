"""The job tracker as it was before issue 14's fast paths (commit 5473c43), kept verbatim in
its update logic as the reference the fast :class:`~shipper.jobs.tracker.JobTracker` is
compared with: one ``_touch`` (lookup, move to the LRU end), one ``events.detect`` and one
``record_rank`` per record, ``Counter`` levels/drops, eviction re-tested per job."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipper.jobs import events
from shipper.jobs.events import JobEvent
from shipper.jobs.summary import JOB_COST, STAGE_COST, StageInfo, _iso, _stage_dict
from shipper.jobs.tracker import ERROR_RANK, JOB_ID_MAX, OTHER_STAGE, _seconds_between, job_key
from shipper.record_fields import record_rank


@dataclass(slots=True)
class RefSummary:
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
    seq: int = 0
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


class ReferenceTracker:
    """The straightforward per-record tracker (same constructor and observable surface)."""

    def __init__(self, metrics: Any, clock: Callable[[], float], max_jobs: int, *,
                 max_stages_per_job: int = 100, max_stage_labels: int = 100,
                 max_bytes: int = 8 << 20) -> None:
        self._metrics, self._clock = metrics, clock
        self._max_jobs, self._max_bytes = max_jobs, max_bytes
        self._max_stages, self._max_labels = max_stages_per_job, max_stage_labels
        self._jobs: OrderedDict[str, RefSummary] = OrderedDict()
        self._stage_labels: set[str] = set()
        self._active = self._seq = self.bytes = self.evicted = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def seqs(self) -> list[tuple[str, int]]:
        """(job id, page cursor) most recently updated first."""
        return [(job.job_id, job.seq) for job in reversed(self._jobs.values())]

    def summaries(self) -> list[dict[str, Any]]:
        return [job.as_dict() for job in reversed(self._jobs.values())]

    def observe(self, records: list[dict[str, Any]]) -> None:
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

    def observe_drop(self, record: dict[str, Any], reason: str) -> None:
        job_id = record.get("job_id")
        if job_id is None:
            return
        self._touch(job_id, self._clock()).drops[reason] += 1
        self._shrink()
        self._metrics.jobs_active.set(self._active)

    def _touch(self, job_id: object, now: float) -> RefSummary:
        key = job_id if type(job_id) is str and len(job_id) <= JOB_ID_MAX else job_key(job_id)
        self._seq += 1
        job = self._jobs.get(key)
        if job is None:
            job = self._jobs[key] = RefSummary(key, now, now)
            job.weight += len(key)
            self.bytes += job.weight
        else:
            self._jobs.move_to_end(key)
            job.last_seen = now
        job.seq = self._seq
        return job

    def _shrink(self) -> None:
        while len(self._jobs) > self._max_jobs or (self.bytes > self._max_bytes
                                                   and len(self._jobs) > 1):
            _, old = self._jobs.popitem(last=False)
            self.evicted += 1
            self.bytes -= old.weight
            if old.active:
                self._active -= 1

    def _apply(self, job: RefSummary, event: JobEvent, record: dict[str, Any]) -> None:
        self._metrics.job_events_total.labels(event=event.event, outcome=event.outcome).inc()
        stamp = record.get("timestamp")
        if event.scope == events.PIPELINE:
            self._pipeline(job, event, stamp)
        elif event.name:
            self._stage(job, event, stamp)
        if event.error:
            self._set_error(job, event.error, stamp)

    def _pipeline(self, job: RefSummary, event: JobEvent, stamp: str | None) -> None:
        if event.phase == events.START:
            job.started_at, job.ended_at, job.status = stamp, None, "running"
            if not job.active:
                job.active, self._active = True, self._active + 1
            return
        job.ended_at, job.status = stamp, event.status or event.outcome
        if job.active:
            job.active, self._active = False, self._active - 1

    def _stage(self, job: RefSummary, event: JobEvent, stamp: str | None) -> None:
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

    def _set_error(self, job: RefSummary, text: str | None, stamp: str | None) -> None:
        if text:
            self._grow(job, len(text) - len(job.last_error or ""))
            job.last_error, job.last_error_at = text, stamp

    def _grow(self, job: RefSummary, delta: int) -> None:
        job.weight += delta
        self.bytes += delta
