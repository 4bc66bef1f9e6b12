"""The compiled ``evict_front`` (``JobTracker._shrink``'s eviction by count) and
``distinct_values`` (the redaction pre-scan's side check of ``stream``) equal their pure
twins: the same results, the same dict left behind (keys in order, the same summaries), the
same exceptions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.jobs.summary import JobSummary
from shipper.kernels import pure_enrich, pure_tracker
from shipper.record import Record

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")


class PlainJob:
    """A summary that is no ``SummaryBase``: the compiled loop reads its attributes."""

    def __init__(self, weight: int, active: bool) -> None:
        self.weight, self.active = weight, active


def _jobs(specs: list[tuple[int, bool, bool]], popped: int) -> dict[str, Any]:
    """Jobs in insertion order, the first ``popped`` of them popped again (a dict whose
    front holds deleted entries, as the tracker's does between two resizes)."""
    jobs: dict[str, Any] = {}
    for i, (weight, active, plain) in enumerate(specs):
        if plain:
            job: Any = PlainJob(weight, active)
        else:
            job = JobSummary(f"job-{i}", 1.0)
            job.weight, job.active = weight, active
        jobs[f"job-{i}"] = job
    for key in list(jobs)[:popped]:
        del jobs[key]
    return jobs


@settings(max_examples=300, deadline=None)
@given(specs=st.lists(st.tuples(st.integers(0, 10**6), st.booleans(), st.booleans()),
                      max_size=40),
       popped=st.integers(0, 10), count=st.integers(-2, 50))
def test_evict_front_compiled_equals_the_pure_twin(specs: list[tuple[int, bool, bool]],
                                                    popped: int, count: int) -> None:
    mine, theirs = _jobs(specs, popped), _jobs(specs, popped)
    left = list(mine)
    assert compiled.evict_front(mine, count) == pure_tracker.evict_front(theirs, count)
    assert list(mine) == list(theirs) == left[max(count, 0):]


def test_evict_front_sums_weights_and_active_jobs_of_the_oldest() -> None:
    """The sums are those of the popped jobs only, the newest stay (both twins)."""
    for evict in (compiled.evict_front, pure_tracker.evict_front):
        jobs = _jobs([(10, True, False), (20, False, True), (40, True, True),
                      (80, True, False)], 0)
        assert evict(jobs, 3) == (70, 2)
        assert list(jobs) == ["job-3"]
        assert evict(jobs, 5) == (80, 1)
        assert evict(jobs, 1) == (0, 0) and jobs == {}


VALUES = st.one_of(st.none(), st.sampled_from(["stdout", "stderr", "", 3, 2.5]),
                   st.text(max_size=3), st.just(["unhashable"]))
RECORDS = st.one_of(
    st.fixed_dictionaries({}, optional={"stream": VALUES, "message": st.just("m")}),
    st.fixed_dictionaries({}, optional={"stream": VALUES}).map(Record),
    st.sampled_from(["not a dict", 7, None]))


def _outcome(function: Any, records: list[Any], key: Any) -> Any:
    try:
        return function(records, key)
    except Exception as exc:  # noqa: BLE001 - compared: the same type on both sides
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(records=st.lists(RECORDS, max_size=12), key=st.sampled_from(["stream", "message", 3]))
def test_distinct_values_compiled_equals_the_pure_twin(records: list[Any], key: Any) -> None:
    assert _outcome(compiled.distinct_values, records, key) == \
        _outcome(pure_enrich.distinct_values, records, key)


def test_distinct_values_adds_a_repeated_object_once_and_equal_values_as_one() -> None:
    """Both twins: ``None`` for records without the key; equal strings that are distinct
    objects are one member, as in a set."""
    one, other = "std" + "out", "".join(["std", "out"])
    assert one is not other
    records = [Record({"stream": one}), {"stream": one}, {"stream": other}, {}]
    for distinct in (compiled.distinct_values, pure_enrich.distinct_values):
        assert distinct(records, "stream") == {"stdout", None}
        assert distinct([], "stream") == set()


def _objects_outcome(kernel: Any, records: list[Any], key: Any, subkey: Any) -> Any:
    """The identities of what ``kernel`` returns, or the exception type it raises."""
    try:
        return [id(value) for value in kernel(records, key, subkey)]
    except Exception as exc:  # noqa: BLE001 - the type is the outcome compared
        return type(exc)


SHARED = [{"path": "/a"}, {"path": "/b"}, {"namespace": "ns"}]
HOLDERS = st.one_of(
    st.builds(lambda i: Record({"file": {"path": SHARED[i % 2]["path"]}, "k8s": SHARED[i % 3]}),
              st.integers(0, 5)),
    st.builds(lambda i: {"file": SHARED[i % 2], "k8s": SHARED[2]}, st.integers(0, 5)),
    st.just({"k8s": None}), st.just({"file": "no dict"}), st.just(7))


@settings(max_examples=400, deadline=None)
@given(records=st.lists(HOLDERS, max_size=12),
       keys=st.sampled_from([("file", "path"), ("k8s", None), ("file", None), (3, None)]))
def test_distinct_objects_compiled_equals_the_pure_twin(records: list[Any],
                                                        keys: tuple[Any, Any]) -> None:
    """The same objects in the same order, or the same exception type."""
    assert _objects_outcome(compiled.distinct_objects, records, *keys) == \
        _objects_outcome(pure_enrich.distinct_objects, records, *keys)


def test_distinct_objects_finds_a_value_between_two_runs_of_another() -> None:
    """A, B, A: B is found though the first and last records hold A (by identity: equal
    objects that are distinct are both kept)."""
    a, b, twin = {"path": "/a"}, {"path": "/b"}, {"path": "/a"}
    records = [{"k8s": a}, {"k8s": a}, {"k8s": b}, {"k8s": a}, {"k8s": twin}]
    for distinct in (compiled.distinct_objects, pure_enrich.distinct_objects):
        found = distinct(records, "k8s")
        assert [id(v) for v in found] == [id(a), id(b), id(twin)]
        assert distinct([{"file": a}, {"file": b}, {"file": a}], "file", "path") == ["/a", "/b"]
        assert distinct([], "k8s") == []
