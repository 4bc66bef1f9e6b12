"""Shared helpers of the filter tests: record factory, fake clock, recording fates."""

from __future__ import annotations

from typing import Any

import pytest

from shipper.record import Record
from shipper.stages import RecordingFates


def make_record(message: str = "hello", level: str = "info", *, raw: str | None = None,
                path: str = "/var/log/app/a.log", **fields: Any) -> Record:
    """A record shaped like the parser's output (``attributes`` from keyword ``attrs``),
    its raw line beside it (``raw``, else the message)."""
    record = Record({
        "timestamp": "2026-01-03T09:10:24.864Z", "level": level, "message": message,
        "attributes": dict(fields.pop("attrs", {})), "k8s": dict(fields.pop("k8s", {})),
        "file": {"path": path, "offset": 0},
    })
    record.raw = raw if raw is not None else message
    record.update(fields)
    return record


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fates() -> RecordingFates:
    return RecordingFates()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
