"""The compiled ``enrich_records`` and ``lift_trace`` (enrichment's loop and the trace-context
gate) equal their pure twins in :mod:`shipper.kernels.pure_enrich`.

Both twins get deep copies of the same generated batch; afterwards the records are equal
key order included, the per-record callbacks were called on the same records (by index) in
the same order with the same arguments, and a batch that raises raises the same exception
(``BatchStopped`` with the same index and cause). The rules themselves (against the
documented enrichment and trace rules) are tested in ``tests/unit/enrich``."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.enrich.ids import ID_KEYS
from shipper.enrich.trace import GATE_KEYS
from shipper.errors import BatchStopped
from shipper.kernels import pure_enrich
from shipper.record import Record

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")


class Attrs(dict[str, Any]):
    """A dict subclass as ``attributes`` (not the exact-dict path of the compiled loop)."""


IDS = st.sampled_from(["job-1", "corr-9", "", 7, None, 0, 2.5, " 3 ", ("x",)])
KEYS = st.sampled_from(sorted(ID_KEYS | GATE_KEYS) + ["other", "event", "traceX", "race"])
VALUES = st.one_of(IDS, st.sampled_from(["4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7",
                                         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]))
#: ``attributes``: how it is made (exact dict, dict subclass, read-only mapping) and its
#: items, or a value that is no mapping
#: the usual line's ids first (both strings most often), a shard key now and then, then
#: any keys
ITEMS = st.tuples(
    st.lists(st.tuples(st.sampled_from(["job_id", "correlation_id"]),
                       st.one_of(st.sampled_from(["job-1", "corr-9"]), IDS)), max_size=2),
    st.lists(st.tuples(st.sampled_from(["shard_index", "shardIndex"]), IDS), max_size=1),
    st.lists(st.tuples(KEYS, VALUES), max_size=4)).map(lambda parts: [*parts[0], *parts[1],
                                                                     *parts[2]])
ATTRIBUTES = st.one_of(
    st.tuples(st.sampled_from(["dict", "dict", "subclass", "mapping"]), ITEMS),
    st.tuples(st.just("value"), st.sampled_from([None, "", "text", 0, 1, "list"])))
MESSAGES = st.one_of(st.sampled_from(["plain", "", "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
                                      "Trace here", "grace", None, 5]),
                     st.text(max_size=12))
RECORDS = st.tuples(st.booleans(), st.one_of(st.none(), MESSAGES),
                    st.one_of(st.none(), ATTRIBUTES), st.booleans())


def _build(specs: list[Any]) -> list[Any]:
    """Fresh records from their specs (each twin gets its own)."""
    out: list[Any] = []
    for is_record, message, attributes, traced in specs:
        rec: dict[str, Any] = {}
        if message is not None:
            rec["message"] = message
        if attributes is not None:
            kind, data = attributes
            if kind == "value":
                rec["attributes"] = [] if data == "list" else data
            else:
                made = dict(data)
                rec["attributes"] = (made if kind == "dict" else Attrs(made)
                                     if kind == "subclass" else MappingProxyType(made))
        if traced:
            rec["trace_id"] = "b" * 32
        out.append(Record(rec) if is_record else rec)
    return out


CONTEXTS = st.fixed_dictionaries({
    "k8s": st.sampled_from([{"namespace": "ns", "pod": "p"}, {}]),
    "fields": st.sampled_from([{}, {"tenant": "t1"}, {"tenant": "t1", "job_id": "j"}]),
    "defaults": st.sampled_from([(), (("job_id", "file-job"),),
                                 (("job_id", "fj"), ("correlation_id", "fc"),
                                  ("shard_index", 3))]),
    "plain": st.booleans(),
    "raise_on": st.sampled_from([None, 0, 2, 5]),
})


def _snapshot(batch: list[Any]) -> list[Any]:
    """Each record as its type and (key, value) pairs in order, nested dicts included."""
    def value(v: Any) -> Any:
        if isinstance(v, dict):
            return (type(v).__name__, [(k, value(x)) for k, x in v.items()])
        return v
    return [value(r) if isinstance(r, dict) else ("other", repr(r)) for r in batch]


def _enrich(kernel: Any, batch: list[Any], ctx: dict[str, Any]) -> tuple[Any, ...]:
    calls: list[int] = []

    def one(record: Any) -> None:
        index = next(i for i, r in enumerate(batch) if r is record)
        calls.append(index)
        if index == ctx["raise_on"]:
            raise ValueError("the rule set raised")
        record["one"] = index

    try:
        kernel(batch, ctx["k8s"], ctx["fields"], ctx["defaults"], ctx["plain"], ID_KEYS, one)
        outcome: Any = None
    except BatchStopped as stopped:
        outcome = (stopped.index, type(stopped.error).__name__, str(stopped.error),
                   stopped.__cause__ is stopped.error)
    return _snapshot(batch), calls, outcome


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORDS, max_size=8), CONTEXTS)
def test_enrich_records_compiled_equals_the_pure_twin(specs: list[Any],
                                                      ctx: dict[str, Any]) -> None:
    """Same records out (key order included), same records handed to the rule set, same
    ``BatchStopped`` (index, cause) for a record that raises or has no ``attributes``."""
    pure = _enrich(pure_enrich.enrich_records, _build(specs), ctx)
    fast = _enrich(compiled.enrich_records, _build(specs), ctx)
    assert fast == pure


def _lift(kernel: Any, batch: list[Any]) -> tuple[Any, ...]:
    calls: list[tuple[str, int, Any]] = []

    def index(record: Any) -> int:
        return next(i for i, r in enumerate(batch) if r is record)

    def from_attributes(record: Any, attrs: Any) -> None:
        calls.append(("attributes", index(record), _snapshot([attrs])))
        if index(record) % 2:
            record["trace_id"] = "a" * 32

    def from_text(record: Any, message: str) -> None:
        calls.append(("text", index(record), message))

    try:
        kernel(batch, GATE_KEYS, from_attributes, from_text)
        outcome: Any = None
    except Exception as exc:  # noqa: BLE001 - compared between the twins
        outcome = (type(exc).__name__, str(exc))
    return _snapshot(batch), calls, outcome


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORDS, max_size=8))
def test_lift_trace_compiled_equals_the_pure_twin(specs: list[Any]) -> None:
    """The gate passes the same records to the same callbacks in the same order (the
    message test seeing a ``trace_id`` set by the attributes' callback), and raises alike
    on attributes it cannot test."""
    assert _lift(compiled.lift_trace, _build(specs)) == \
        _lift(pure_enrich.lift_trace, _build(specs))


def test_the_gate_sends_only_candidates_to_the_callbacks() -> None:
    """A record without a gate key or ``race`` in its message reaches no callback; one with
    a gate key reaches ``from_attributes``, one with ``Trace`` in its message ``from_text``
    (both twins)."""
    for kernel in (compiled.lift_trace, pure_enrich.lift_trace):
        batch = [Record({"message": "plain", "attributes": {"a": 1}}),
                 Record({"message": "x", "attributes": {"traceparent": "00-x"}}),
                 Record({"message": "Trace 1", "attributes": {}})]
        _snap, calls, outcome = _lift(kernel, batch)
        assert outcome is None
        assert [(kind, i) for kind, i, _arg in calls] == [("attributes", 1), ("text", 2)]


#: attribute keys around a gate's first characters: same first letter, empty, non-ASCII
#: first character, a ``str`` subclass equal to a gate key, non-string keys
class Key(str):
    """A ``str`` subclass key (looked up, never skipped by its first character)."""


AWKWARD_KEYS = ["tags", "span", "dd", "d", "", "é", "😀trace_id", "trace_id", Key("traceId"),
                Key("other"), 7, ("trace_id",), "traceparent", "Trace_id", "spanID"]


@pytest.mark.parametrize("gate", [GATE_KEYS, ID_KEYS, frozenset({"", "x"}),
                                  frozenset({"é", "trace_id"}), frozenset({7, "span"}),
                                  frozenset({Key("tags")}), frozenset()])
def test_the_gate_skips_only_keys_no_gate_key_starts_like(gate: frozenset[Any]) -> None:
    """The compiled gate skips an exact string key whose first character starts no gate
    key; every other key is looked up, and a gate of keys that are not all non-empty
    strings starting in ASCII looks every key up: for each awkward key alone, and all of
    them in one record, the same records reach ``from_attributes`` as in the pure twin
    (exactly those whose keys meet the gate)."""
    batch = [{"message": "m", "attributes": {key: 1}} for key in AWKWARD_KEYS]
    batch.append({"message": "m", "attributes": dict.fromkeys(AWKWARD_KEYS, 1)})
    calls = {}
    for kernel in (compiled.lift_trace, pure_enrich.lift_trace):
        seen: list[int] = []
        kernel([dict(r, attributes=dict(r["attributes"])) for r in batch], gate,
               lambda record, attrs, seen=seen: seen.append(batch.index(
                   next(r for r in batch if r["attributes"].keys() == attrs.keys()))),
               lambda record, message: None)
        calls[kernel] = seen
    assert calls[compiled.lift_trace] == calls[pure_enrich.lift_trace] == \
        [i for i, r in enumerate(batch) if not gate.isdisjoint(r["attributes"])]


def test_the_race_test_is_the_same_for_every_string_width() -> None:
    """``"race"`` in a message sends it to ``from_text`` in both twins, whatever the
    message's width (Latin-1, 2-byte, 4-byte), and near misses do not."""
    texts = ["trace é", "ŝ trace", "😀 race", "é", "rac", "RACE", "Trace", "ŝrac e", "race",
             "gracé", "x\u00a0race", ""]
    batch = [Record({"message": text}) for text in texts]
    for kernel in (compiled.lift_trace, pure_enrich.lift_trace):
        _snap, calls, outcome = _lift(kernel, [Record(r) for r in batch])
        assert outcome is None
        assert [message for _kind, _i, message in calls] == [t for t in texts if "race" in t]


ENRICH_KEYS = ["caller", "jobs", "sharded", "c", "", "é", "request_id", "requestId",
               "shardIndex", "shard_index", Key("job_id"), Key("caller"), 7, "jobId"]


@pytest.mark.parametrize("plain", [True, False])
@pytest.mark.parametrize("id_keys", [ID_KEYS, frozenset({"request_id"}), frozenset({"", 7}),
                                     frozenset()])
@pytest.mark.parametrize("extra", [[], *([key] for key in ENRICH_KEYS), ENRICH_KEYS[:4]])
def test_one_walk_over_the_attributes_reads_the_ids_as_lookups_do(
        plain: bool, id_keys: frozenset[Any], extra: list[Any]) -> None:
    """The compiled loop reads ``job_id``, ``correlation_id``, the shard keys and whether
    any id key is there in one walk over ``attributes`` (comparing only keys whose first
    character starts one of them): with look-alike keys, a shard key, other id keys, a
    ``str`` subclass or non-string key (the lookups instead), and id key sets without the
    named keys, each record comes out as the pure twin's and the same records go to the
    rule set."""
    batch = []
    for ids in ({"job_id": "job-1", "correlation_id": "corr-9"}, {"job_id": "job-1"},
                {"correlation_id": "corr-9"}, {}, {"job_id": 7, "correlation_id": "c"}):
        attrs = {"a": 1, **ids, **{key: f"v{n}" for n, key in enumerate(extra)}}
        batch.append(Record({"message": "m", "attributes": attrs}))
    ctx = {"k8s": {"pod": "p"}, "fields": {}, "defaults": (("job_id", "fj"),),
           "plain": plain, "raise_on": None}
    pure = _enrich_with(pure_enrich.enrich_records, batch, ctx, id_keys)
    assert _enrich_with(compiled.enrich_records, batch, ctx, id_keys) == pure


def _enrich_with(kernel: Any, batch: list[Any], ctx: dict[str, Any],
                 id_keys: frozenset[Any]) -> tuple[Any, ...]:
    records = [Record({**r, "attributes": dict(r["attributes"])}) for r in batch]
    calls: list[int] = []

    def one(record: Any) -> None:
        calls.append(next(i for i, r in enumerate(records) if r is record))
    kernel(records, ctx["k8s"], ctx["fields"], ctx["defaults"], ctx["plain"], id_keys, one)
    return _snapshot(records), calls


# --- the trace gate's hint (``enrich_records(..., gate)`` -> ``lift_trace(..., clean)``) ---

#: contexts as above, and files with a field that is a gate key (no hint then)
HINT_CONTEXTS = CONTEXTS | st.fixed_dictionaries({
    "k8s": st.just({"pod": "p"}),
    "fields": st.sampled_from([{"trace_id": "t"}, {"tenant": "t1", "dd": "x"}]),
    "defaults": st.just((("job_id", "fj"),)),
    "plain": st.booleans(),
    "raise_on": st.sampled_from([None, 1]),
})


def _enrich_gated(kernel: Any, batch: list[Any], ctx: dict[str, Any],
                  gate: frozenset[str] | None) -> Any:
    """``kernel`` over ``batch`` as ``_enrich`` runs it, given ``gate``: its hint, or
    ``"stopped"``."""
    def one(record: Any) -> None:
        index = next(i for i, r in enumerate(batch) if r is record)
        if index == ctx["raise_on"]:
            raise ValueError("the rule set raised")
        record["one"] = index
    try:
        return kernel(batch, ctx["k8s"], ctx["fields"], ctx["defaults"], ctx["plain"], ID_KEYS,
                      one, gate)
    except BatchStopped:
        return "stopped"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORDS, max_size=8), HINT_CONTEXTS)
@example([(False, None, ("dict", [("dd", "job-1")]), False),
          (True, "Trace", ("dict", [("job_id", "job-1"), ("correlation_id", "corr-9"),
                                    ("traceparent", "00-x")]), False)],
         {"k8s": {"pod": "p"}, "fields": {}, "defaults": (), "plain": True, "raise_on": None})
def test_the_hint_flags_only_records_whose_attributes_hold_no_gate_key(
        specs: list[Any], ctx: dict[str, Any]) -> None:
    """The compiled ``enrich_records`` given the gate enriches as without it; every record
    its hint flags has, once enriched, exact-dict ``attributes`` without a gate key, so
    ``lift_trace`` given the hint (either twin) calls back exactly as without it; a file
    field that is a gate key makes no hint."""
    batch, unhinted = _build(specs), _build(specs)
    clean = _enrich_gated(compiled.enrich_records, batch, ctx, GATE_KEYS)
    assert (_enrich_gated(compiled.enrich_records, unhinted, ctx, None) is None) \
        or clean == "stopped"
    assert _snapshot(batch) == _snapshot(unhinted)
    if clean == "stopped":
        return
    if not GATE_KEYS.isdisjoint(ctx["fields"]):
        assert clean is None
        return
    assert isinstance(clean, bytearray) and len(clean) == len(batch)
    for record, flag in zip(batch, clean, strict=True):
        if flag:
            assert type(record["attributes"]) is dict
            assert GATE_KEYS.isdisjoint(record["attributes"])
    reference = _lift(pure_enrich.lift_trace, unhinted)
    for kernel in (compiled.lift_trace, pure_enrich.lift_trace):
        hinted = _build(specs)
        _enrich_gated(compiled.enrich_records, hinted, ctx, GATE_KEYS)
        assert _lift(lambda *args, k=kernel: k(*args, clean), hinted) == reference


def test_the_usual_records_are_flagged_and_skip_the_gate_test() -> None:
    """The usual lines (string ids, or no id, and attributes without a gate key) are all
    flagged by the compiled loop, one with a ``traceparent`` is not; given the hint, both
    twins of ``lift_trace`` skip the gate test of the flagged records (a flagged record
    with a gate key, which the hint never makes, is not sent to ``from_attributes``) but
    still test every message. The pure ``enrich_records`` makes no hint."""
    def batch() -> list[Any]:
        return [Record({"message": "m", "attributes": {"job_id": "j", "correlation_id": "c",
                                                       "user": "u"}}),
                Record({"message": "Trace", "attributes": {"status": 200}}),
                Record({"message": "m", "attributes": {"job_id": "j", "correlation_id": "c",
                                                       "traceparent": "00-x"}})]
    args = ({"pod": "p"}, {}, (), True, ID_KEYS, lambda record: None, GATE_KEYS)
    assert compiled.enrich_records(batch(), *args) == bytearray([1, 1, 0])
    assert pure_enrich.enrich_records(batch(), *args) is None
    for kernel in (compiled.lift_trace, pure_enrich.lift_trace):
        records = batch()
        records[0]["attributes"]["traceId"] = "4bf92f3577b34da6a3ce929d0e0e4736"
        seen: list[tuple[str, int]] = []

        def called(kind: str, seen: list[tuple[str, int]] = seen,
                   records: list[Any] = records) -> Any:
            return lambda record, _arg: seen.append(
                (kind, next(i for i, r in enumerate(records) if r is record)))
        kernel(records, GATE_KEYS, called("attributes"), called("text"),
               bytearray([1, 1]))  # shorter than the batch: the rest are tested
        assert seen == [("text", 1), ("attributes", 2)]


@pytest.mark.parametrize("kernel", [compiled.enrich_records, pure_enrich.enrich_records])
def test_a_line_with_one_of_its_two_ids_is_enriched_without_the_rule_set(kernel: Any) -> None:
    """In a plain file, a line with only its ``correlation_id`` (or only its ``job_id``) as
    a non-empty string and no other id key is enriched in the loop (``one`` is not
    called): the id lifted, the file's id for the other, then ``k8s``, in that key order;
    any other id key, an empty or non-string value, or a non-plain file still goes to
    ``one``."""
    k8s = {"namespace": "ns"}

    def run(attrs: dict[str, Any], plain: bool = True) -> tuple[list[Any], list[Any]]:
        batch = [Record({"message": "m", "attributes": dict(attrs)})]
        calls: list[Any] = []
        kernel(batch, k8s, {}, (("job_id", "fj"),), plain, ID_KEYS, calls.append)
        return list(batch[0].items()), calls

    items, calls = run({"correlation_id": "c", "n": 1})
    assert calls == []
    assert items == [("message", "m"), ("attributes", {"n": 1}), ("job_id", "fj"),
                     ("correlation_id", "c"), ("k8s", k8s)]
    items, calls = run({"job_id": "j"})
    assert calls == [] and items[2:] == [("job_id", "j"), ("k8s", k8s)]
    for attrs, plain in (({"correlation_id": "c", "requestId": "r"}, True),
                         ({"correlation_id": "c", "shard_index": 1}, True),
                         ({"correlation_id": ""}, True), ({"job_id": 5}, True),
                         ({"correlation_id": "c"}, False)):
        assert len(run(attrs, plain)[1]) == 1, attrs
