"""The compiled ``ndjson_records`` (one ``orjson.dumps`` of the list, split at its marks)
equals its pure twin in :mod:`shipper.kernels.pure_encode` (one ``orjson.dumps`` per record):
the same bytes, the same end offsets, the same exception when a record cannot be encoded.

Records are generated to break the split: strings and nested values holding the mark
``},"",{``, quotes, backslashes, braces and newlines, arrays of objects and empty strings
(a record's own marks), values only ``default`` can encode, and records nested as deep as
orjson allows on their own (one level too deep inside a list)."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_encode
from shipper.record import Record

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")


class Opaque:
    """A value orjson encodes only through ``default`` (``str``)."""

    def __str__(self) -> str:
        return 'opaque},"",{"x'


TEXT = st.one_of(st.text(max_size=12),
                 st.sampled_from(['},"",{', '"},"",{"', "\\", '\\"', "}", "{", "\n", ""]))
LEAVES = st.one_of(TEXT, st.integers(-(2**63), 2**64 - 1), st.booleans(), st.none(),
                   st.floats(allow_nan=False), st.just(""))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
RECORDS = st.lists(st.dictionaries(TEXT, VALUES, max_size=5), max_size=8)


def _both(records: list[Any]) -> tuple[Any, Any]:
    out = []
    for twin in (pure_encode.ndjson_records, compiled.ndjson_records):
        try:
            data, ends = twin(records, str)
            out.append((data, ends.tolist()))
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            out.append((type(exc), str(exc)))
    return out[0], out[1]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@settings(max_examples=200, deadline=None)
@given(RECORDS)
def test_generated_records_give_the_same_bytes_and_ends(records: list[dict[str, Any]]) -> None:
    pure, fast = _both([Record(r) for r in records])
    assert fast == pure


def test_the_lines_are_each_records_dumps_and_the_ends_are_after_each_newline() -> None:
    records = [{"a": [{"b": 1}, "", {"c": 2}]}, {"m": '},"",{'}, {"o": Opaque()}, {}]
    data, ends = compiled.ndjson_records(records, str)
    expected = [orjson.dumps(r, default=str) + b"\n" for r in records]
    assert data == b"".join(expected)
    assert ends.tolist() == [sum(map(len, expected[:i + 1])) for i in range(len(expected))]


@pytest.mark.parametrize("records", [
    [],
    [{"only": 1}],
    [{"a": [{"x": 1}, "", {"y": 2}]}, {"b": 2}],  # a record's own mark: the twin encodes
    [nested(253), {"b": 2}],  # fine alone, too deep inside a list
    [{"big": 2**70}, {"b": 2}],  # orjson refuses it: both raise
    [{"k": Opaque()}, {"b": [Opaque()]}],
], ids=["empty", "one", "own-mark", "deep", "refused", "default"])
def test_edge_batches_match_the_twin(records: list[dict[str, Any]]) -> None:
    pure, fast = _both(records)
    assert fast == pure


@pytest.mark.parametrize("twin", [pure_encode.ndjson_records, compiled.ndjson_records],
                         ids=["pure", "compiled"])
@pytest.mark.parametrize("count", [1, 2, 70])
def test_the_result_holds_its_size_not_an_encoders_buffer(twin: Any, count: int) -> None:
    """An ``orjson.dumps`` result keeps the encoder's spare capacity: the NDJSON a buffer
    keeps must be a bytes of its own size (a lone record's line included), as traced by
    tracemalloc over 40 results kept."""
    records = [{f"attr_{i}": 1000 + i for i in range(300)} for _ in range(count)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [twin(records, str) for _ in range(40)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held <= 1.25 * sum(len(data) for data, _ends in kept)
