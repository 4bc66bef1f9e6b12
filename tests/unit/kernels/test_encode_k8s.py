"""The compiled ``ndjson_records`` encodes a ``k8s`` dict every record of the batch shares
once (emptied while the list is encoded, its JSON put in each record's ``"k8s":{}``): the
same bytes, end offsets and exceptions as the pure twin (one ``orjson.dumps`` per record),
and the dict is given back untouched (the same object, the same items in the same order).

Records are generated to break the splice: other ``k8s`` keys holding ``{}`` (nested, or
a key ending in an escaped quote and ``k8s``), strings holding ``"k8s":{}``, values only
``default`` encodes, and shared dicts that do not qualify (empty, non-string leaves)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_encode
from shipper.record import Record
from tests.unit.helpers import encode_outcome

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")

TEXT = st.one_of(st.text(max_size=8), st.sampled_from(
    ['"k8s":{}', 'a"k8s', "k8s", '},"",{', "\\", "", "é ✓"]))
LEAVES = st.one_of(TEXT, st.integers(-(2**63), 2**63 - 1), st.none(), st.booleans())
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3),
    st.just({}), st.just({"k8s": {}})), max_leaves=8)
K8S = st.one_of(
    st.dictionaries(TEXT, st.one_of(TEXT, st.dictionaries(TEXT, TEXT, max_size=3)),
                    min_size=1, max_size=4),
    st.sampled_from([{}, {"pod": 3}, {"labels": {"a": None}}, {"k8s": {}}]))


class Opaque:
    def __str__(self) -> str:
        return '"k8s":{}'



@settings(max_examples=400, deadline=None)
@given(k8s=K8S, fields=st.lists(st.dictionaries(TEXT, VALUES, max_size=4), min_size=2,
                                 max_size=6),
       records_type=st.sampled_from([dict, Record]), opaque=st.booleans())
def test_a_shared_k8s_gives_the_twins_bytes_and_is_given_back(
        k8s: dict[str, Any], fields: list[dict[str, Any]], records_type: type,
        opaque: bool) -> None:
    records = [records_type({**extra, "k8s": k8s}) for extra in fields]
    if opaque:
        records[-1]["other"] = Opaque()
    before = list(k8s.items())
    expected = encode_outcome(pure_encode.ndjson_records, records)
    assert encode_outcome(compiled.ndjson_records, records) == expected
    assert list(k8s.items()) == before
    assert all(record["k8s"] is k8s for record in records)


def test_the_shared_k8s_is_encoded_once_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """One ``dumps`` of the dict and one of the list (none per record), the same bytes."""
    calls: list[type] = []

    class Counting:
        @staticmethod
        def dumps(obj: Any, **kwargs: Any) -> bytes:
            calls.append(type(obj))
            return orjson.dumps(obj, **kwargs)

    k8s = {"namespace": "ns", "pod": "p-1", "labels": {"app": "a"}}
    records = [Record({"message": f"m{i}", "k8s": k8s, "file": {"path": "/x"}})
               for i in range(5)]
    monkeypatch.setattr(compiled, "_orjson", Counting)
    data, ends = compiled.ndjson_records(records, str)
    assert calls == [dict, list]
    assert data == b"".join(orjson.dumps(r) + b"\n" for r in records)
    assert ends.tolist() == list(pure_encode.ndjson_records(records, str)[1])


def test_a_record_that_cannot_be_encoded_raises_as_the_twin_and_leaves_k8s_whole() -> None:
    k8s = {"namespace": "ns", "pod": "p"}
    records = [{"message": "a", "k8s": k8s}, {"message": "\ud800", "k8s": k8s}]
    assert encode_outcome(compiled.ndjson_records, records) == \
        encode_outcome(pure_encode.ndjson_records, records)
    assert k8s == {"namespace": "ns", "pod": "p"} and list(k8s) == ["namespace", "pod"]


@pytest.mark.parametrize("k8s", [{"pod": "\ud800"}, {"labels": {"a": "\udfff"}}])
def test_a_shared_k8s_orjson_refuses_raises_as_the_twin(k8s: dict[str, Any]) -> None:
    records = [Record({"message": "a", "k8s": k8s}), Record({"message": "b", "k8s": k8s})]
    before = list(k8s.items())
    assert encode_outcome(compiled.ndjson_records, records) == \
        encode_outcome(pure_encode.ndjson_records, records)
    assert list(k8s.items()) == before


def test_no_default_runs_while_the_shared_k8s_is_empty() -> None:
    """A value only ``default`` encodes ends the attempt: ``default`` sees ``k8s`` whole."""
    k8s = {"namespace": "ns", "pod": "p"}
    seen: list[dict[str, Any]] = []

    def default(value: object) -> str:
        seen.append(dict(k8s))
        return str(value)

    records = [Record({"message": "a", "k8s": k8s, "x": Opaque()}),
               Record({"message": "b", "k8s": k8s})]
    data, _ends = compiled.ndjson_records(records, default)
    assert data == pure_encode.ndjson_records(records, str)[0]
    assert seen and all(view == {"namespace": "ns", "pod": "p"} for view in seen)


@pytest.mark.parametrize("where", ["attributes", "top", "list"])
def test_the_shared_k8s_held_elsewhere_in_a_record_too_is_encoded_whole(where: str) -> None:
    """The very dict as another value of a record: the twin's bytes (not its marked JSON
    where the splice does not go)."""
    k8s = {"namespace": "ns", "pod": "p", "labels": {"app": "a"}}
    extras: dict[str, dict[str, Any]] = {"attributes": {"copy": k8s}, "top": {"k8s_copy": k8s},
                                         "list": {"tags": [k8s, "x"]}}
    extra = extras[where]
    records = [Record({"message": "a", "k8s": k8s, **extra}), Record({"message": "b", "k8s": k8s})]
    before = list(k8s.items())
    assert encode_outcome(compiled.ndjson_records, records) == \
        encode_outcome(pure_encode.ndjson_records, records)
    assert list(k8s.items()) == before
