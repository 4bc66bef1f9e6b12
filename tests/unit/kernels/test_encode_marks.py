"""The compiled ``ndjson_records`` splits its one ``orjson.dumps`` of
``[r1,"\\u0000",r2,...]`` at the ``},"\\u0000",{`` marks and puts a shared ``k8s`` dict's
JSON in place of its marked form, both found by their backslashes in one pass: records
that hold NULs, backslashes, the mark itself (in a list of their own), the marker key, or
the shared dict ahead of their ``"k8s"`` give the pure twin's bytes and end offsets; and
ordinary records with escapes in them are split, not handed to the twin."""

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

MARK_KEY = "\x00k8s\x00"
NEAR = ["\x00", "\\", '\\"', "\x00k8s\x00", '},"\\u0000",{', '"k8s":', "\\u0000", "k8s",
        '{"\\u0000k8s\\u0000":null}', "é\x00✓"]
TEXT = st.one_of(st.text(max_size=6), st.sampled_from(NEAR))
LEAF = st.one_of(TEXT, st.integers(-5, 5), st.none())
VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3),
    st.just([{}, "\x00", {}]), st.just({MARK_KEY: None}), st.just({"k8s": {MARK_KEY: None}})),
    max_leaves=6)



def _same(records: list[Any]) -> None:
    assert encode_outcome(compiled.ndjson_records, records) == \
        encode_outcome(pure_encode.ndjson_records, records)


@settings(max_examples=400, deadline=None)
@given(fields=st.lists(st.dictionaries(TEXT, VALUE, max_size=4), min_size=2, max_size=6),
       shared=st.booleans(), before=st.booleans())
def test_records_near_the_marks_give_the_twins_bytes(fields: list[dict[str, Any]],
                                                     shared: bool, before: bool) -> None:
    k8s: dict[str, Any] = {"namespace": "ns", "pod": "p\x00", "labels": {"a": "\\"}}
    records = []
    for extra in fields:
        own = k8s if shared else {"pod": "x"}
        head = {"x": k8s} if before else {}
        records.append(Record({**head, **extra, "k8s": own}))
    items = list(k8s.items())
    _same(records)
    assert list(k8s.items()) == items


@pytest.mark.parametrize("extra", [
    {"x": "SHARED"},  # the shared dict ahead of "k8s", a few bytes into the record
    {"tags": [{}, "\x00", {}]},  # a mark of the record's own
    {"attributes": {MARK_KEY: None}},  # the marked dict's JSON, not the shared dict
    {"message": '},"\\u0000",{ and {"\\u0000k8s\\u0000":null}'},
])
def test_a_record_holding_a_mark_or_a_marked_dict_is_encoded_as_the_twin(
        extra: dict[str, Any]) -> None:
    k8s = {"namespace": "ns", "pod": "p"}
    first = {key: (k8s if value == "SHARED" else value) for key, value in extra.items()}
    records = [Record({**first, "k8s": k8s}), Record({"message": "b", "k8s": k8s}),
               Record({"message": "c", "k8s": k8s})]
    _same(records)


def test_a_records_own_k8s_that_looks_marked_is_not_replaced() -> None:
    """A ``k8s`` that is the marker's JSON but not the shared dict: encoded as it is."""
    k8s = {"namespace": "ns"}
    records = [Record({"message": "a", "k8s": k8s}), Record({"message": "b", "k8s": k8s}),
               Record({"message": "c", "k8s": {MARK_KEY: None}})]
    _same(records)


@pytest.mark.parametrize("shared", [True, False])
def test_records_with_escapes_are_split_not_handed_to_the_twin(
        monkeypatch: pytest.MonkeyPatch, shared: bool) -> None:
    """Backslashes in strings (escaped quotes, NULs, control characters) are passed over:
    the one ``dumps`` of the list is split, the twin never runs."""
    def refuse(records: list[Any], default: Any) -> Any:
        raise AssertionError("handed to the twin")

    k8s = {"namespace": "ns", "pod": "p"}
    records = [Record({"message": f'say "{i}"\x00\t\\', "k8s": k8s if shared else {"n": i},
                       "attributes": {"path": "C:\\x", "n": i}}) for i in range(7)]
    expected = b"".join(orjson.dumps(r) + b"\n" for r in records)
    monkeypatch.setattr(compiled, "_ndjson_each", refuse)
    data, ends = compiled.ndjson_records(records, str)
    assert data == expected
    assert ends.tolist() == list(pure_encode.ndjson_records(records, str)[1])
