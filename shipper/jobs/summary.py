"""One job's summary as :class:`~shipper.jobs.tracker.JobTracker` keeps it, and its JSON
form (the ``/v1/jobs`` answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shipper.kernels import SummaryBase

#: estimated bytes of one summary without its texts, and of one stage without its name
JOB_COST = 1200
STAGE_COST = 400


@dataclass(slots=True)
class StageInfo:
    kind: str
    status: str = "running"
    duration_seconds: float | None = None
    started_at: str | None = None
    ended_at: str | None = None


class JobSummary(SummaryBase):
    """One job's summary. A new job sets five fields (the bench corpus makes a new job
    for nearly every record); the others keep their defaults (:class:`SummaryBase`, the
    kernels' type: C struct members when compiled) until set, and ``drops``/``stages``
    stay ``None`` until the job has one."""

    __slots__ = ()

    def __init__(self, job_id: str, now: float) -> None:
        self.job_id = job_id
        self.first_seen = self.last_seen = now
        self.levels = {}
        self.weight = JOB_COST + len(job_id)

    def as_dict(self) -> dict[str, Any]:
        stages = self.stages or {}
        return {
            "job_id": self.job_id, "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen), "active": self.active, "status": self.status,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "records": sum(self.levels.values()), "levels": dict(self.levels),
            "drops": dict(self.drops or {}),
            "stages": {name: _stage_dict(info) for name, info in stages.items()},
            "stages_not_kept": self.stages_dropped,
            "last_error": self.last_error, "last_error_at": self.last_error_at,
        }


def _stage_dict(info: StageInfo) -> dict[str, Any]:
    return {"kind": info.kind, "status": info.status, "duration_seconds": info.duration_seconds,
            "started_at": info.started_at, "ended_at": info.ended_at}


def _iso(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
