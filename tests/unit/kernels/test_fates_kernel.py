"""The drop counts (``FateCounts``, ``CountingFates``' base): the compiled twin equals the
pure one, and a :class:`JobIdOnly` listener is skipped exactly for the records without a
``job_id`` (the job summaries' listener did nothing for those: their drop counts, LRU
order and ``seq`` are those of calling it for every drop)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_fates
from shipper.record import Record
from shipper.stages import CountingFates, JobIdOnly

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")

TWINS = [pure_fates.FateCounts, compiled.FateCounts, CountingFates]


class Calls:
    """A plain listener: called for every drop."""

    def __init__(self, log: list[Any], name: str) -> None:
        self.log, self.name = log, name

    def __call__(self, record: Any, reason: str, rule: str) -> None:
        self.log.append((self.name, record.get("job_id"), reason, rule))


class JobCalls(Calls, JobIdOnly):
    """A job-id-only listener: records calls too, so a skip shows."""


JOB_IDS = st.sampled_from([None, "j1", "j2", "", 0, "x" * 300])
RECORDS = st.one_of(
    JOB_IDS.map(lambda job: Record({} if job is None else {"job_id": job})),
    JOB_IDS.map(lambda job: {"job_id": job, "message": "m"}),
    st.just({}))
EVENTS = st.lists(st.tuples(st.sampled_from(["dropped", "changed"]), RECORDS,
                            st.sampled_from(["noise", "deduped", "redacted"]),
                            st.sampled_from(["health", "polling", "-"])), max_size=30)


def run(twin: type, events: list[Any], listeners: str) -> tuple[Any, ...]:
    fates, log = twin(), []
    for kind in listeners:
        fates.listeners.append(JobCalls(log, kind) if kind == "J" else Calls(log, kind))
    for method, record, reason, rule in events:
        getattr(fates, method)(record, reason, rule)
    return list(fates.drops.items()), list(fates.changes.items()), log


@settings(max_examples=300, deadline=None)
@given(events=EVENTS, listeners=st.sampled_from(["", "P", "J", "PJ", "JP", "JJ", "PJP"]))
def test_twins_count_and_call_listeners_alike(events: list[Any], listeners: str) -> None:
    """Same counts (in first-seen order), same listener calls in the same order."""
    results = [run(twin, events, listeners) for twin in TWINS]
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize("twin", TWINS)
def test_job_id_only_listener_skipped_without_job_id(twin: type) -> None:
    """A ``JobIdOnly`` listener gets the drops with a job id (even a falsy one), a plain
    listener gets all of them; both counts are kept either way."""
    fates, log = twin(), []
    fates.listeners.extend([Calls(log, "P"), JobCalls(log, "J")])
    for record in (Record(), Record({"job_id": None}), Record({"job_id": "a"}),
                   {"job_id": ""}, {"job_id": 0}):
        fates.dropped(record, "noise", "health")
    assert fates.drops == {("noise", "health"): 5}
    assert [call for call in log if call[0] == "J"] == [
        ("J", "a", "noise", "health"), ("J", "", "noise", "health"),
        ("J", 0, "noise", "health")]
    assert len([call for call in log if call[0] == "P"]) == 5


def test_the_job_summaries_listener_is_job_id_only() -> None:
    """The listener the server adds marks itself, so the fates may skip it."""
    from shipper.components import _JobDrops

    assert issubclass(_JobDrops, JobIdOnly)


def test_counting_fates_take_resets() -> None:
    """``take`` returns the counts and starts afresh (on the kernel's fields)."""
    fates = CountingFates()
    fates.dropped(Record(), "noise", "health")
    fates.changed(Record(), "redacted", "aws")
    assert fates.take() == ({("noise", "health"): 1}, {("redacted", "aws"): 1})
    assert fates.take() == ({}, {})
