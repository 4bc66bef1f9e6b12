"""The HTTP sinks' kernels added for issue 14 (KERNEL_API 19): ``datadog_side`` (the
Datadog sink's side data, with its put-time age gate), compiled and pure, against its
reference."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.kernels import pure_datadog
from shipper.kernels.pure_datadog import old_at, plain
from shipper.record import Record

try:
    from shipper.kernels import _compiled
except ImportError:  # pragma: no cover - the extension is not built
    _compiled = None  # type: ignore[assignment]

_BUILT = pytest.mark.skipif(_compiled is None, reason="the compiled kernels are not built")
SIDES = [pytest.param(pure_datadog.datadog_side, id="pure"),
         pytest.param(getattr(_compiled, "datadog_side", None), id="compiled", marks=_BUILT)]


class _Blank:
    """An object whose ``str()`` is ``""`` (orjson writes it with ``default=str``)."""

    def __str__(self) -> str:
        return ""


class _Level(enum.Enum):
    INFO = "info"


class _Text(str):
    """A ``str`` subclass: not a JSON type of its own for the side path."""


STAMPS = st.one_of(st.none(), st.integers(), st.sampled_from([
    "2025-07-06T11:00:00Z", "2025-07-06T11:00:00.123Z", "2025-07-05T11:00:00Z",
    "2025-07-06T11:00:00+02:00", "2025-07-06 11:00:00Z", "2025-07-06T11:00Z", "", "Z",
    "2025-07-06T10:59:59.999999999Z", "２０２５-07-06T11:00:00Z"]),
    st.just(datetime(2025, 7, 6, tzinfo=UTC)), st.text(max_size=25))
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                   st.sampled_from(["", "info", "m", "warning"]), st.text(max_size=4),
                   st.lists(st.integers(), max_size=2), st.just({}), st.just([]),
                   st.just({"pod": "p"}), st.builds(_Blank), st.just(_Level.INFO),
                   st.builds(_Text, st.text(max_size=2)), st.just(b"bytes"))
KEYS = st.sampled_from(["message", "level", "k8s", "timestamp", "status", "hostname",
                        "service", "ddsource", "ddtags", "x", "logger", "job_id"])
RECORDS = st.lists(st.dictionaries(KEYS, VALUES, max_size=7).flatmap(
    lambda r: STAMPS.map(lambda s: {**r, "timestamp": s} if s != "" else r)), max_size=12)


@pytest.mark.parametrize("datadog_side", SIDES)
@settings(max_examples=300, deadline=None)
@given(RECORDS, st.sampled_from([None, "2025-07-06T00:00:00", "2025-07-06T11:00:00"]))
def test_datadog_side_is_the_reference_test_with_the_put_time_age_gate(datadog_side, records,
                                                                       first):
    """Flags: ``plain`` unless the stamp is before ``first`` (then not checked); levels
    (``"info"`` when missing), pod facts and timestamps as the records hold them; the
    pipeline's ``Record`` objects read as their plain dicts."""
    assert datadog_side([Record(r) for r in records], first) == datadog_side(records, first)
    flags, levels, facts, stamps = datadog_side(records, first)
    assert flags == [not (first is not None and old_at(r.get("timestamp"), first)) and plain(r)
                     for r in records]
    assert levels == [r.get("level", "info") for r in records]
    assert [id(f) for f in facts] == [id(r.get("k8s")) for r in records]
    assert [id(s) for s in stamps] == [id(r.get("timestamp")) for r in records]


@pytest.mark.parametrize("datadog_side", SIDES)
def test_datadog_side_tells_old_from_fresh_by_the_bound_second(datadog_side):
    """Before the bound's second is old (the fraction does not count, as in the sink's
    own comparison); other stamp forms are never old at ``put``: the encoder decides."""
    first = "2025-07-06T11:00:00"
    records = [{"message": "m", "timestamp": t} for t in (
        "2025-07-06T10:59:59.999Z", "2025-07-06T11:00:00.000Z", "2025-07-06T11:00:00Z",
        "2025-07-06T10:00:00+00:00", "2025-07-05T11:00:00Z")]
    assert datadog_side(records, first)[0] == [False, True, True, True, False]
    assert datadog_side(records, None)[0] == [True] * 5


@pytest.mark.parametrize("datadog_side", SIDES)
def test_datadog_side_reads_a_mapping_that_is_not_a_dict_as_the_reference(datadog_side):
    class Record(dict[str, Any]):
        pass

    records = [Record(message="m", level="info"), Record(message="", status="x")]
    assert datadog_side(records, None)[0] == [plain(r) for r in records] == [True, False]
