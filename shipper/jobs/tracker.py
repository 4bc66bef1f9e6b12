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
from collections.abc import Callable
from datetime import datetime
from itertools import islice
from typing import Any

import orjson

from shipper.jobs import events
from shipper.jobs.events import MAX_TEXT, JobEvent, may_carry_event, shorten
from shipper.jobs.summary import JOB_COST, STAGE_COST, JobSummary, StageInfo
from shipper.kernels import evict_front, observe_records
from shipper.kernels.pure_tracker import PLAIN_ID_MAX, ObserveRules
from shipper.record import LEVEL_RANK, Record
from shipper.server.settings import MIB, ServerSettings

ERROR_RANK = LEVEL_RANK["error"]
#: the levels whose records set a job's last error (an unknown level ranks as info)
ERROR_LEVELS = frozenset(name for name, rank in LEVEL_RANK.items() if rank >= ERROR_RANK)
OTHER_STAGE = "other"
#: longest job id kept as is; longer ones become a prefix, "…" and a hash of the whole id
JOB_ID_MAX = PLAIN_ID_MAX


def job_key(value: object) -> str:
    """The id a job is tracked (and looked up) under."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= JOB_ID_MAX:
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{text[:JOB_ID_MAX - 17]}…{digest}"


#: what :meth:`JobTracker.observe`'s loop needs of this package; ``unseen`` is the "previous
#: record's job" before the first record (never updated: it stands for the key ``None``)
_RULES = ObserveRules(events.EVENT_NAMES, ERROR_LEVELS, MAX_TEXT, job_key, JobSummary,
                      JOB_COST, JobSummary("", 0.0))


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
        #: least recently updated first: a plain dict in insertion order, a job moved to the
        #: end by popping and re-inserting it (cheaper than an ``OrderedDict``'s linked list
        #: for the summaries made and evicted on every batch when jobs outnumber ``max_jobs``)
        self._jobs: dict[str, JobSummary] = {}
        self._stage_labels: set[str] = set()
        self._active = 0
        self._shown: int | None = None  # the active-jobs gauge's value, once set
        self._seq = 0
        self.bytes = 0
        self.evicted = 0
        #: the per-record loop of :meth:`observe` (the kernel; tests set the other twin)
        self._observe_records = observe_records

    @classmethod
    def from_settings(cls, metrics: Any, clock: Callable[[], float],
                      settings: ServerSettings) -> JobTracker:
        return cls(metrics, clock, settings.jobs_max, max_stages_per_job=settings.jobs_max_stages,
                   max_stage_labels=settings.jobs_max_stage_labels,
                   max_bytes=settings.jobs_max_bytes)

    def __len__(self) -> int:
        return len(self._jobs)

    def observe(self, records: list[Record]) -> None:
        """Account forwarded records (only those with a ``job_id``).

        The hot loop (run for every forwarded record while the server is on) is the kernel
        ``observe_records`` (compiled, or its twin :mod:`shipper.kernels.pure_tracker`): a
        record of the job just updated skips the lookup and the move to the LRU end, and
        only a record whose message or ``attributes.event`` may name an event
        (:data:`~shipper.jobs.events.EVENT_NAMES`, ``"Stage "``) goes through
        :meth:`_account`; an error text is set in the loop (:meth:`_set_error` inlined).
        Summaries, ``seq``, bytes and evictions are exactly those of one update per
        record."""
        self._observe_records(self, records, self._clock(), _RULES)
        self._shrink()
        self._show_active()

    def _account(self, job: JobSummary, record: Record, level: object) -> None:
        """A record's lifecycle event, else its error text when its level is error or worse."""
        if may_carry_event(record):
            event = events.detect(record)
            if event is not None:
                self._apply(job, event, record)
                return
        if level in ERROR_LEVELS:
            self._set_error(job, shorten(record.get("message"), MAX_TEXT),
                            record.get("timestamp"))

    def observe_drop(self, record: Record, reason: str) -> None:
        """Account one record dropped on purpose (``reason`` from ``DROP_REASONS``); run
        for every dropped record with a job id, so the usual id skips :func:`job_key` and
        the bounds are tested before :meth:`_shrink` is called."""
        job_id = record.get("job_id")
        if job_id is None:
            return
        self._seq += 1
        key = job_id if type(job_id) is str and len(job_id) <= JOB_ID_MAX else job_key(job_id)
        job = self._touch(key, self._clock())
        job.seq = self._seq
        if job.drops is None:
            job.drops = {}
        job.drops[reason] = job.drops.get(reason, 0) + 1
        if len(self._jobs) > self._max_jobs or self.bytes > self._max_bytes:
            self._shrink()
        self._show_active()

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

    def _touch(self, key: str, now: float) -> JobSummary:
        """The summary of ``key`` (created if new), moved to the most recently updated end."""
        job = self._jobs.get(key)
        if job is None:
            job = self._jobs[key] = JobSummary(key, now)
            self.bytes += job.weight
            return job
        self._jobs[key] = self._jobs.pop(key)  # to the most recently updated end
        job.last_seen = now
        return job

    def _show_active(self) -> None:
        """The active-jobs gauge, set only when its value changed (a lock saved a batch)."""
        if self._active != self._shown:
            self._metrics.jobs_active.set(self._active)
            self._shown = self._active

    def _shrink(self) -> None:
        """Evict the least recently updated jobs while over either bound: first as many as
        ``max_jobs`` asks for (the kernel ``evict_front``: popped from the dict's front and
        their weights and active flags summed in one loop), then while over ``max_bytes``
        (one job always stays)."""
        jobs = self._jobs
        excess = len(jobs) - self._max_jobs
        if excess > 0:
            weight, active = evict_front(jobs, excess)
            self.evicted += excess
            self.bytes -= weight
            self._active -= active
        if self.bytes > self._max_bytes and len(jobs) > 1:
            for key in list(islice(jobs, self._over_bytes())):
                self._evict(jobs.pop(key))

    def _over_bytes(self) -> int:
        """How many of the least recently updated jobs to evict to get within ``max_bytes``
        (at most all but one): counted before any is popped (a dict's front is found by
        walking past the entries popped before, so it is walked once)."""
        over, count, most = self.bytes - self._max_bytes, 0, len(self._jobs) - 1
        for job in self._jobs.values():
            if over <= 0 or count == most:
                break
            over -= job.weight
            count += 1
        return count

    def _evict(self, old: JobSummary) -> None:
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
        if job.stages is None:
            job.stages = {}
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
