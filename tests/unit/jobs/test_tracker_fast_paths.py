"""JobTracker's fast paths (issue 14) give exactly what one update per record gave.

The reference is the tracker as it was (``tests/unit/jobs/reference.py``): each test feeds
both the same operations and compares everything observable: the summaries in LRU order,
the page cursors (``seq``), the byte estimate, the eviction count, the tracked job count
and every job metric sample."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from shipper.jobs.tracker import JobTracker
from shipper.metrics import Metrics
from tests.unit.server.helpers import FakeClock, layer_records, pipeline_records, record

from .reference import ReferenceTracker
from .twins import TWINS

LONG = "L" * 300
JOB_IDS = ["a", "b", "c", "d", "e", "f", "7", 7, None, LONG + "1", LONG + "2"]
MESSAGES = ["pipeline_start", "pipeline_complete", "layer_start", "layer_complete",
            "layer_error", "Stage s1 started", "Stage s2 completed duration_seconds=3.5",
            "Stage s1 completed", "Stage s3 failed: boom", "Stage fright", "plain text",
            "e" * 1200, "", None, 123, ["x"]]
STAMPS = ["2026-01-02T10:00:00.000Z", "2026-01-02T10:00:07.250Z", "not a time"]
ATTRIBUTES = st.one_of(
    st.none(), st.just({}),
    st.fixed_dictionaries({}, optional={
        "event": st.sampled_from(["pipeline_start", "pipeline_complete", "layer_start",
                                  "layer_complete", "layer_error", "other", 5, None]),
        "status": st.sampled_from(["success", "failed", "aborted", "weird", ""]),
        "layer_name": st.sampled_from(["miner", "n" * 150, ""]),
        "layer": st.sampled_from([1, 2]),
        "duration_ms": st.sampled_from([1500, -1, "x"]),
        "duration_seconds": st.sampled_from([2.5, None]),
        "error": st.sampled_from(["RateLimitError", "x" * 2000, ""]),
    }))


@st.composite
def records(draw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"message": draw(st.sampled_from(MESSAGES)),
                           "k8s": {}, "file": {"path": "/x.log", "offset": 0}}
    for key, values in (("job_id", JOB_IDS),
                        ("level", ["trace", "debug", "info", "warning", "error", "critical",
                                   "weird"]),
                        ("timestamp", STAMPS)):
        if draw(st.booleans()) or key == "job_id":
            rec[key] = draw(st.sampled_from(values))
    attributes = draw(ATTRIBUTES)
    if attributes is not None:
        rec["attributes"] = attributes
    return rec


OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("observe"), st.lists(records(), max_size=12)),
    st.tuples(st.just("drop"), st.sampled_from(JOB_IDS), st.sampled_from(["noise", "deduped"])),
    st.tuples(st.just("tick"), st.integers(1, 90)),
), max_size=25)
BOUNDS = st.fixed_dictionaries({
    "max_jobs": st.integers(1, 5), "max_stages_per_job": st.integers(1, 3),
    "max_stage_labels": st.integers(1, 3),
    "max_bytes": st.sampled_from([1, 1500, 3000, 6000, 8 << 20])})


def _pair(twin: Any = None,
          **bounds: Any) -> tuple[JobTracker, ReferenceTracker, list[Metrics], FakeClock]:
    """A fast tracker (its loop ``twin``, else the one ``shipper.kernels`` picked) and the
    reference, on one fake clock."""
    clock = FakeClock()
    fast_metrics, ref_metrics = (Metrics(CollectorRegistry(), collectors=False) for _ in "ab")
    bounds = {"max_jobs": 1000, **bounds}
    fast = JobTracker(fast_metrics, clock, **bounds)
    ref = ReferenceTracker(ref_metrics, clock, **bounds)
    if twin is not None:
        fast._observe_records = twin
    return fast, ref, [fast_metrics, ref_metrics], clock


def _job_samples(metrics: Metrics) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    return sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                  for family in metrics.registry.collect() if family.name.startswith("shipper_job")
                  for s in family.samples if not s.name.endswith("_created"))


def _assert_same(fast: JobTracker, ref: ReferenceTracker, metrics: list[Metrics]) -> None:
    assert fast.summaries() == ref.summaries()
    # the page cursors: each job's seq, most recently updated first
    assert [(job.job_id, job.seq) for job in reversed(fast._jobs.values())] == ref.seqs()
    assert (fast.bytes, fast.evicted, len(fast)) == (ref.bytes, ref.evicted, len(ref))
    assert _job_samples(metrics[0]) == _job_samples(metrics[1])


def _run(operations: list[tuple[Any, ...]], twin: Any, **bounds: Any) -> None:
    fast, ref, metrics, clock = _pair(twin, **bounds)
    for op in operations:
        if op[0] == "observe":
            fast.observe([dict(r) for r in op[1]])
            ref.observe([dict(r) for r in op[1]])
        elif op[0] == "drop":
            fast.observe_drop({"job_id": op[1]}, op[2])
            ref.observe_drop({"job_id": op[1]}, op[2])
        else:
            clock.advance(op[1])
        _assert_same(fast, ref, metrics)


@pytest.mark.parametrize("twin", TWINS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, BOUNDS)
def test_random_record_mixes_give_the_reference_summaries_metrics_and_evictions(
        twin, ops, bounds):
    """Events in the message or ``attributes.event``, stage lines, odd messages and levels,
    colliding and over-long job ids, drops, tiny job/stage/label/byte bounds: after every
    operation the fast tracker equals the per-record reference in everything observable."""
    _run(ops, twin, **bounds)


@pytest.mark.parametrize("twin", TWINS)
def test_a_new_job_per_record_over_the_bound_evicts_like_the_reference(twin):
    """The bench corpus' worst case: every record its own job id, batches bigger than
    ``max_jobs`` (jobs created and evicted within one batch), some errors and events."""
    batches = [[record("pipeline_start" if n % 7 == 0 else "work", job_id=f"j{b}-{n}",
                       level="error" if n % 5 == 0 else "info") for n in range(40)]
               for b in range(6)]
    _run([("observe", batch) for batch in batches], twin, max_jobs=25)
    _run([("observe", batch) for batch in batches], twin, max_jobs=1000, max_bytes=30_000)


@pytest.mark.parametrize("twin", TWINS)
def test_runs_of_one_job_interleaved_with_others_keep_lru_order_and_cursors(twin):
    """Consecutive records of one job skip the lookup; a, a, b, a, a, c, b, b must still
    leave b last, then c, then a, with the cursors of one update per record."""
    ids = ["a", "a", "b", "a", "a", "c", "b", "b"]
    _run([("observe", [record("x", job_id=i) for i in ids]), ("drop", "a", "noise"),
          ("observe", [record("y", job_id="c")])], twin, max_jobs=10)
    fast, *_ = _pair(twin)
    fast.observe([record("x", job_id=i) for i in ids])
    assert [s["job_id"] for s in fast.summaries()] == ["b", "c", "a"]


@pytest.mark.parametrize("twin", TWINS)
def test_the_corpus_lifecycles_give_the_reference_summaries(twin):
    """The layers runner and the text stage pipeline corpora, whole and record by record."""
    corpus = layer_records() + pipeline_records("20251127-701dcb")
    _run([("observe", corpus)], twin, max_jobs=2)
    _run([("observe", [r]) for r in corpus], twin, max_jobs=2, max_stages_per_job=2)


@pytest.mark.parametrize("twin", TWINS)
def test_events_named_only_in_attributes_pass_the_cheap_gate(twin):
    """A JSON event whose message is ordinary text (or not text) and whose name is in
    ``attributes.event`` is still applied."""
    fast, *_ = _pair(twin)
    fast.observe([record("starting up", job_id="j", event="pipeline_start"),
                  {"job_id": "k", "message": None, "attributes": {"event": "pipeline_start"}}])
    assert fast.get("j")["status"] == fast.get("k")["status"] == "running"


@pytest.mark.parametrize("twin", TWINS)
def test_a_job_only_seen_dropped_shows_empty_levels_and_stages(twin):
    """Drops and stages are created lazily; the summary still shows ``{}`` for them."""
    fast, *_ = _pair(twin)
    fast.observe_drop({"job_id": "q"}, "noise")
    fast.observe([record("x", job_id="r")])
    assert fast.get("q")["levels"] == {} and fast.get("q")["stages"] == {}
    assert fast.get("r")["drops"] == {} and fast.get("q")["drops"] == {"noise": 1}


PLAIN_IDS = ["a", "b", "c", "d", "e", "L" * 256]
PLAIN_ATTRIBUTES = st.fixed_dictionaries({}, optional={
    "event": st.sampled_from(["pipeline_start", "pipeline_complete", "layer_start",
                              "layer_complete", "layer_error", "other", 5, None]),
    "status": st.sampled_from(["success", "failed", ""]),
    "layer_name": st.sampled_from(["miner", ""]),
    "duration_ms": st.sampled_from([1500, "x"]),
    "error": st.sampled_from(["RateLimitError", "x" * 2000, ""]),
})


@st.composite
def plain_records(draw: Any) -> dict[str, Any]:
    """Records as the pipeline makes them (string job ids and messages, dict attributes)."""
    rec: dict[str, Any] = {
        "message": draw(st.sampled_from([m for m in MESSAGES if isinstance(m, str)])),
        "attributes": draw(PLAIN_ATTRIBUTES), "timestamp": draw(st.sampled_from(STAMPS))}
    if draw(st.integers(0, 5)):
        rec["job_id"] = draw(st.sampled_from(PLAIN_IDS))
    if draw(st.booleans()):
        rec["level"] = draw(st.sampled_from(["info", "debug", "error", "critical", "weird", 3]))
    return rec


@pytest.mark.parametrize("twin", TWINS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(plain_records(), max_size=30), max_size=8), BOUNDS)
def test_pipeline_shaped_batches_give_the_reference(twin, batches, bounds):
    """Pipeline-shaped batches (repeated and interleaved job ids, events in the message or
    in ``attributes.event``, stage lines, errors with long texts, missing and odd levels):
    after each one the tracker equals the per-record reference."""
    _run([("observe", batch) for batch in batches], twin, **bounds)


@pytest.mark.parametrize("twin", TWINS)
def test_an_unhashable_level_fails_the_batch_as_the_per_record_loop_did(twin):
    """A list as a level cannot be counted; observe raises as before (the pipeline logs and
    counts it) and the tracker stays consistent for the next batch."""
    fast, ref, metrics, _clock = _pair(twin, max_jobs=10)
    batch = [record("x", job_id="a"), {**record("y", job_id="b"), "level": ["error"]}]
    for tracker in (fast, ref):
        with pytest.raises(TypeError):
            tracker.observe([dict(r) for r in batch])
    _assert_same(fast, ref, metrics)
    fast.observe([record("z", job_id="c")])
    ref.observe([record("z", job_id="c")])
    _assert_same(fast, ref, metrics)


@pytest.mark.parametrize("twin", TWINS)
def test_long_churn_over_the_bound_keeps_the_reference_lru_order(twin):
    """Jobs kept in a plain dict (moved to the end by pop and re-insert, evicted from its
    front): 4,000 records over 300 job ids against ``max_jobs`` 100 (most summaries are
    evicted and rebuilt, as on the bench corpus), drops in between, and the same under a
    byte bound: after every batch the summaries, their order and cursors, bytes and
    evictions are the reference's."""
    rng = random.Random(14)
    ops: list[tuple[Any, ...]] = []
    for b in range(80):
        ops.append(("observe", [record("work" if n % 9 else "pipeline_start",
                                       job_id=f"job-{rng.randrange(300)}",
                                       level="error" if n % 11 == 0 else "info")
                                for n in range(50)]))
        if b % 3 == 0:
            ops.append(("drop", f"job-{rng.randrange(300)}", "noise"))
    _run(ops, twin, max_jobs=100)
    _run(ops, twin, max_jobs=1000, max_bytes=90_000)
