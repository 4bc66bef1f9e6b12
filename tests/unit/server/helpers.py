"""Helpers of the server tests: a fake clock and corpus records."""

from __future__ import annotations

import json
import re
from pathlib import Path

DATA = Path(__file__).parent / "data"
_PIPELINE_LINE = re.compile(r"^(\S+ \S+) \| (\w+) \| (\S+) \| (.*)$")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_767_300_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def record(message: str, *, level: str = "info", job_id: str | None = None,
           logger: str | None = None, timestamp: str = "2026-01-02T12:00:00.000Z",
           **attributes) -> dict:
    """A record shaped like the parser's output (shipper/record.py)."""
    rec = {"timestamp": timestamp, "level": level, "message": message,
           "attributes": attributes, "k8s": {}, "file": {"path": "/x.log", "offset": 0}}
    if job_id is not None:
        rec["job_id"] = job_id
    if logger is not None:
        rec["logger"] = logger
    return rec


def layer_records() -> list[dict]:
    """tests/unit/server/data/layers_runner.log (copy of the corpus ``layers`` input) as
    records: JSON lines become message=event, job_id top level, the rest attributes
    (level error for ``layer_error`` / failed ``pipeline_complete``, as expected.ndjson says)."""
    out = []
    for line in (DATA / "layers_runner.log").read_text().splitlines():
        if not line.startswith("{"):
            out.append(record(line))
            continue
        fields = json.loads(line)
        event, job_id, stamp = fields.pop("event"), fields.pop("job_id"), fields.pop("timestamp")
        level = "error" if fields.get("status") == "error" else "info"
        out.append(record(event, level=level, job_id=job_id, timestamp=stamp, **fields))
    return out


def pipeline_records(job_id: str) -> list[dict]:
    """The corpus ``pipeline`` job's ``logs/99_pipeline_*.log`` as records of ``job_id``."""
    out = []
    for line in (DATA / f"pipeline_{job_id}.log").read_text().splitlines():
        stamp, level, logger, message = _PIPELINE_LINE.match(line).groups()
        iso = stamp.replace(" ", "T") + "Z"
        out.append(record(message, level=level.lower(), job_id=job_id, logger=logger,
                          timestamp=iso))
    return out
