"""The compiled ``observe_records`` (``JobTracker.observe``'s loop) equals its pure twin.

Two trackers, one per twin, are fed the same generated operations; after each one (and
after a batch that raises, with the same exception) everything observable is equal: the
summaries in LRU order, each job's ``seq`` (the page cursors), the byte estimate, the
evictions, the job count, the active-jobs gauge and every job metric sample. The oracle
(the per-record reference tracker) is run against both twins in
``tests/unit/jobs/test_tracker_fast_paths.py``."""

from __future__ import annotations

from functools import partial
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from shipper.jobs.events import EVENT_NAMES, MAX_TEXT
from shipper.jobs.summary import JOB_COST, JobSummary
from shipper.jobs.tracker import JOB_ID_MAX, JobTracker
from shipper.kernels import pure_tracker
from shipper.metrics import Metrics
from shipper.record import Record
from tests.unit.server.helpers import FakeClock

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")

EDGE = JOB_ID_MAX
JOB_IDS = st.one_of(
    st.sampled_from(["a", "b", "c", "", "7", 7, 0, -3, None, 2.5, "x" * (EDGE - 1),
                     "x" * EDGE, "x" * (EDGE + 1), "y" * 300 + "1", "y" * 300 + "2"]),
    st.text(max_size=3))
LEVELS = st.sampled_from(["trace", "debug", "info", "warning", "error", "critical", "fatal",
                          "weird", "", None, 3])
EVENT_MESSAGES = sorted(EVENT_NAMES) + [
    "Stage s1 started", "Stage s2 completed duration_seconds=3.5", "Stage s3 failed: boom",
    "Stage fright", "a Stage s4 completed"]
MESSAGES = st.one_of(
    st.sampled_from(EVENT_MESSAGES),
    st.sampled_from(["plain", "", "e" * (MAX_TEXT - 1), "e" * MAX_TEXT, "e" * (MAX_TEXT + 1),
                     "é" * 2500, None, 5, ["Stage x started"]]),
    st.text(max_size=20))
EVENT_FIELD = st.sampled_from(sorted(EVENT_NAMES) + ["other", 5, None, ""])
DICT_ATTRIBUTES = st.fixed_dictionaries({}, optional={
    "event": EVENT_FIELD,
    "status": st.sampled_from(["success", "failed", "aborted", "weird", ""]),
    "layer_name": st.sampled_from(["miner", "n" * 150, ""]),
    "layer": st.sampled_from([1, 2]),
    "duration_ms": st.sampled_from([1500, -1, "x"]),
    "error": st.sampled_from(["RateLimitError", "x" * 2000, ""]),
})
#: non-dict attributes: falsy ones pass, a mapping answers ``get``, the others raise
ATTRIBUTES = st.one_of(
    st.none(), DICT_ATTRIBUTES,
    DICT_ATTRIBUTES.map(MappingProxyType),
    st.sampled_from(["", "text", [], ["event"], 0, 1]))
STAMPS = st.sampled_from(["2026-01-02T10:00:00.000Z", "2026-01-02T10:00:07.250Z", "bad", None])


@st.composite
def records(draw: Any) -> Any:
    rec: dict[str, Any] = {}
    for key, values in (("job_id", JOB_IDS), ("level", LEVELS), ("message", MESSAGES),
                        ("timestamp", STAMPS), ("attributes", ATTRIBUTES)):
        if draw(st.integers(0, 5)):
            rec[key] = draw(values)
    shape = draw(st.sampled_from(["dict", "dict", "record", "mapping"]))
    if shape == "record":
        return Record(rec)
    return MappingProxyType(rec) if shape == "mapping" else rec


OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("observe"), st.lists(records(), max_size=15)),
    st.tuples(st.just("drop"), JOB_IDS, st.sampled_from(["noise", "deduped"])),
    st.tuples(st.just("tick"), st.integers(1, 90)),
), max_size=20)
BOUNDS = st.fixed_dictionaries({
    "max_jobs": st.integers(1, 6), "max_stages_per_job": st.integers(1, 3),
    "max_stage_labels": st.integers(1, 3),
    "max_bytes": st.sampled_from([1, 1500, 3000, 6000, 8 << 20])})


def _samples(metrics: Metrics) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    return sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                  for family in metrics.registry.collect() if family.name.startswith("shipper_job")
                  for s in family.samples if not s.name.endswith("_created"))


def _state(tracker: JobTracker, metrics: Metrics) -> tuple[Any, ...]:
    return (tracker.summaries(), [(job.job_id, job.seq) for job in tracker._jobs.values()],
            tracker.bytes, tracker.evicted, len(tracker), tracker._active, tracker._seq,
            _outcome(lambda: tracker.page(3, 4000)), _samples(metrics))


def _outcome(call: Any) -> Any:
    """What ``call`` returned, or the type and text of what it raised (the twins must fail
    alike: odd levels such as ``None`` even make ``page`` fail, in both)."""
    try:
        return call()
    except Exception as exc:
        return type(exc).__name__, str(exc)


def _run(operations: list[tuple[Any, ...]], **bounds: Any) -> int:
    """Feed both twins; return how many operations raised (alike in both)."""
    clock = FakeClock()
    pairs = []
    for twin in (pure_tracker.observe_records, compiled.observe_records):
        metrics = Metrics(CollectorRegistry(), collectors=False)
        tracker = JobTracker(metrics, clock, **bounds)
        tracker._observe_records = twin
        pairs.append((tracker, metrics))
    raised = 0
    for op in operations:
        if op[0] == "tick":
            clock.advance(op[1])
            continue
        outcomes = []
        for tracker, _metrics in pairs:
            if op[0] == "observe":
                outcomes.append(_outcome(partial(tracker.observe, list(op[1]))))
            else:
                outcomes.append(_outcome(partial(tracker.observe_drop, {"job_id": op[1]}, op[2])))
        assert outcomes[0] == outcomes[1]
        raised += isinstance(outcomes[0], tuple)
        assert _state(*pairs[0]) == _state(*pairs[1])
    return raised


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, BOUNDS)
def test_compiled_loop_equals_the_pure_twin_on_generated_batches(ops, bounds):
    """Job ids of str/int/None/float/over-long (around ``JOB_ID_MAX``), levels known and
    unknown (and unhashable-free odd ones), event messages and ``attributes.event``, error
    texts around and over ``MAX_TEXT``, dict, mapping and non-dict attributes, records as
    dicts, ``Record``s and read-only mappings, tiny bounds: both twins leave the same
    tracker after each operation and raise the same errors."""
    _run(ops, **bounds)


def test_failing_batches_fail_alike_and_keep_the_same_partial_update():
    """A truthy non-dict ``attributes`` (``.get`` missing) and an unhashable level raise in
    the middle of a batch; the records before it count in both twins, ``seq`` and bytes
    included, and the next batch continues from the same state."""
    errors = [{"job_id": "a", "level": "error", "message": "e" * 1500},
              {"job_id": "b", "message": "x", "attributes": "text"},
              {"job_id": "c", "message": "y"}]
    unhashable = [{"job_id": "d", "level": "error", "message": "boom"},
                  {"job_id": "e", "level": ["error"], "message": "z"}]
    after = [{"job_id": "a", "level": "error", "message": "short"}]
    assert _run([("observe", errors), ("observe", unhashable), ("observe", after)],
                max_jobs=10) == 2


def test_a_new_job_per_record_over_the_bound_is_the_same_in_both_twins():
    """The bench corpus' worst case: a new job nearly every record, batches bigger than
    ``max_jobs``, repeated ids, errors over ``MAX_TEXT`` and events among them."""
    batches = [[{"job_id": f"j{b}-{n // 2}", "message": ("pipeline_start" if n % 7 == 0
                                                         else "e" * (n * 37)),
                 "level": "error" if n % 5 == 0 else "info", "timestamp": f"t{n}"}
                for n in range(60)] for b in range(5)]
    _run([("observe", batch) for batch in batches], max_jobs=25)
    _run([("observe", batch) for batch in batches], max_jobs=1000, max_bytes=40_000)


#: every field of a summary, and the value of each that ``JobSummary.__init__`` leaves as is
FIELDS = list(pure_tracker.SummaryBase.__annotations__)
DEFAULTS = {"drops": None, "stages": None, "active": False, "status": None,
            "started_at": None, "ended_at": None, "last_error": None, "last_error_at": None,
            "seq": 0, "stages_dropped": 0}


def _fields(job: Any) -> dict[str, Any]:
    return {name: getattr(job, name, "<unset>") for name in FIELDS}


def test_a_new_summary_is_built_as_jobsummary_init_builds_it():
    """The compiled loop makes new summaries without ``JobSummary.__init__`` (the contract
    of ``ObserveRules.summary``): every field, and its value, is what ``__init__`` leaves
    (the five it sets, the others at the defaults both ``SummaryBase`` twins give), and a
    dict-based summary (the pure twin's base) holds exactly the five ``__init__`` sets, so
    a field added to ``__init__`` fails here."""
    made = JobSummary("job-1", 12.5)
    set_by_init = {"job_id": "job-1", "first_seen": 12.5, "last_seen": 12.5, "levels": {},
                   "weight": JOB_COST + len("job-1")}
    assert _fields(made) == {**DEFAULTS, **set_by_init}
    own = getattr(made, "__dict__", None)  # None: the compiled base (struct members only)
    assert own is None or own == set_by_init
    metrics = Metrics(CollectorRegistry(), collectors=False)
    tracker = JobTracker(metrics, lambda: 12.5, 10)
    tracker._observe_records = compiled.observe_records
    tracker.observe([{"job_id": "job-1"}])
    kernel_made = tracker._jobs["job-1"]
    assert type(kernel_made) is JobSummary
    assert _fields(kernel_made) == {**_fields(made), "levels": {"info": 1}, "seq": 1}
    kernel_own = getattr(kernel_made, "__dict__", None)
    assert kernel_own is None or kernel_own == {**set_by_init, "levels": {"info": 1}, "seq": 1}


#: near misses and hits of ``"Stage "`` in 1-, 2- and 4-byte strings (the compiled loop
#: searches a 1-byte string's bytes itself, any other with ``str``'s test)
STAGE_TEXTS = ["Stage é1 started", "Stage ŝ2 started", "Stage 😀3 completed", "é Stage s4 started",
               "ŝ Stage s5 started", "x Stage", "stage s6 started", "Stagé s7 started",
               "Stage\u00a0s8 started", "😀Stage ", "Stage", "Stage ", "ÿStage é"]
#: event names and look-alikes (the compiled loop hashes only a message whose first
#: character and length are a name's)
NAME_TEXTS = [*sorted(EVENT_NAMES), "pipeline_starts", "Pipeline_start", "layer_errors",
              "layer_errór", "pipeline_stært", "l", "p" * 300, "lAyer_start", "layer_erro"]


def test_the_event_gate_is_the_same_for_every_string_width_and_near_misses():
    """Which records reach ``_account`` (the event path) is the same in both twins for
    ``"Stage "`` in Latin-1, 2-byte and 4-byte messages, for event names and near misses
    of both (exactly the names and those that hold ``"Stage "``), and so are the trackers
    after them."""
    texts = STAGE_TEXTS + NAME_TEXTS
    reached = {}
    for name, twin in (("pure", pure_tracker.observe_records),
                       ("compiled", compiled.observe_records)):
        tracker = JobTracker(Metrics(CollectorRegistry(), collectors=False), lambda: 1.0, 100)
        tracker._observe_records = twin
        seen: list[str] = []
        account = tracker._account

        def spy(job: Any, record: Any, level: object, seen: list[str] = seen,
                account: Any = account) -> None:
            seen.append(record["message"])
            account(job, record, level)

        tracker._account = spy  # type: ignore[method-assign]
        tracker.observe([{"job_id": f"j{i}", "message": text, "level": "error"}
                         for i, text in enumerate(texts)])
        reached[name] = (seen, tracker.summaries())
    assert reached["compiled"] == reached["pure"]
    assert reached["pure"][0] == [text for text in texts
                                  if "Stage " in text or text in EVENT_NAMES]


class Level(str):
    """A level whose ``==`` is its own (a dict calls it to match a key of equal hash)."""

    calls = 0

    def __eq__(self, other: object) -> bool:
        Level.calls += 1
        return str.__eq__(self, other) is True or other == "any"

    __hash__ = str.__hash__


def _read_at_end(batches: list[Any], reads: frozenset[int] = frozenset()) -> tuple[Any, ...]:
    """Both twins fed ``batches`` with nothing read in between but after the batches in
    ``reads`` (the compiled loop's one-level summaries stay lazy until read); the
    outcomes and the final state of each."""
    results = []
    for twin in (pure_tracker.observe_records, compiled.observe_records):
        metrics = Metrics(CollectorRegistry(), collectors=False)
        tracker = JobTracker(metrics, FakeClock(), 50)
        tracker._observe_records = twin
        outcomes = []
        for i, batch in enumerate(batches):
            outcomes.append(_outcome(partial(tracker.observe, list(batch))))
            if i in reads:
                outcomes.append(tracker.summaries())
        results.append((outcomes, _state(tracker, metrics)))
    return results[0], results[1]


def test_a_job_with_one_level_counts_it_as_a_dict_would():
    """The compiled loop counts a new job's level without a ``levels`` dict until the dict
    is read or a second level comes; it matches levels as a dict's keys do: the very
    object, or an equal hash and ``==`` (1, 1.0 and True are one key; two NaN objects are
    two, one NaN object is one; a str subclass's own ``==`` is called), an unhashable
    level raises alike, and a read in between (``summaries``) keeps counting right."""
    nan, other_nan = float("nan"), float("nan")
    batches = [
        [{"job_id": "a", "level": 1}, {"job_id": "a", "level": 1.0},
         {"job_id": "a", "level": True}, {"job_id": "b", "level": nan},
         {"job_id": "b", "level": nan}, {"job_id": "c", "level": nan},
         {"job_id": "c", "level": other_nan}, {"job_id": "d"}, {"job_id": "d", "level": "info"},
         {"job_id": "e", "level": "1"}, {"job_id": "e", "level": 1},
         {"job_id": "f", "level": Level("weird")}, {"job_id": "f", "level": "weird"},
         {"job_id": "g", "level": "warning"}],
        [{"job_id": "g", "level": "warning"}, {"job_id": "h", "level": "info"},
         {"job_id": "h", "level": ["error"]}],
        [{"job_id": "h", "level": "info"}, {"job_id": "g", "level": "error"},
         {"job_id": "i", "level": "info"}],
        [{"job_id": "i", "level": "info"}, {"job_id": "i", "level": "debug"}],
    ]
    for reads in (frozenset(), frozenset({0}), frozenset({1, 2})):
        pure, fast = _read_at_end(batches, reads)
        assert pure == fast
    assert dict(fast[1][0][-1]["levels"]) == {1: 3}  # job "a", the least recently updated
    assert Level.calls > 0
