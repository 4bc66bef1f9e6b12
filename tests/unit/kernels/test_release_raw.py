"""``release_raw``: once a batch is processed, each record's ``raw`` is let go (the compiled
kernel writes an exact Record's slot directly, as ``PyMember_SetOne`` does): the same as the
pure twin's ``record.raw = None`` loop for Records, their subclasses and objects without
the attribute, whatever the records hold; the delivery releases every delivered record's."""

from __future__ import annotations

import gc
import sys
from typing import Any

import pytest

from shipper.kernels import pure_encode
from shipper.record import Record

compiled = pytest.importorskip("shipper.kernels._compiled",
                               reason="the compiled kernels are not built")
TWINS = [pure_encode.release_raw, compiled.release_raw]


class Sub(Record):
    __slots__ = ("extra",)


def _batch() -> list[Record]:
    records: list[Record] = []
    for i, cls in enumerate([Record, Sub, Record, Record]):
        record = cls({"message": f"m{i}", "n": i})
        record.raw = f"line {i}" if i != 2 else None
        record.before = [Record({"message": "earlier"})] if i == 3 else None
        records.append(record)
    return records


@pytest.mark.parametrize("release", TWINS)
def test_every_records_raw_is_let_go_and_nothing_else_changes(release: Any) -> None:
    records = _batch()
    before = [(dict(r), r.before) for r in records]
    assert release(records) is None
    assert [r.raw for r in records] == [None] * 4
    assert [(dict(r), r.before) for r in records] == before


@pytest.mark.parametrize("release", TWINS)
def test_the_released_text_is_freed(release: Any) -> None:
    """The record held the only reference: the text goes (the slot's reference is
    dropped, None's taken)."""
    text = "".join(["x"] * 100)
    records = [Record({"message": "m"})]
    records[0].raw = text
    held = sys.getrefcount(text)
    release(records)
    assert sys.getrefcount(text) == held - 1
    assert records[0].raw is None


@pytest.mark.parametrize("release", TWINS)
def test_an_object_without_raw_raises_as_the_twin_after_the_records_before_it(
        release: Any) -> None:
    records: list[Any] = [Record({"a": 1}), {"plain": "dict"}, Record({"b": 2})]
    records[0].raw = records[2].raw = "line"
    with pytest.raises(AttributeError):
        release(records)
    assert records[0].raw is None and records[2].raw == "line"


@pytest.mark.parametrize("release", TWINS)
def test_a_list_that_shrinks_while_released_is_not_read_past_its_end(release: Any) -> None:
    """A raw whose release runs code that empties the list: both stop there (the
    compiled kernel reads the length each time, never a freed item)."""
    records: list[Any] = []

    class Emptier:
        def __del__(self) -> None:
            records.clear()

    records.extend(Record({"i": i}) for i in range(5))
    records[1].raw = Emptier()  # type: ignore[assignment]
    gc.disable()
    try:
        release(records)
    finally:
        gc.enable()
    assert records == []
