"""The Datadog sink's side data (computed at ``put`` while the records are dicts): a batch
encoded from its buffered JSON gives the entries the reference encoder gives (the same JSON
objects, in the same arrays, with the same owners, counts, withheld records and
clamped/truncated counts), through sheds, a 413's halves and a buffer without side data."""

from __future__ import annotations

import enum
import gzip
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shipper.acks import AckToken
from shipper.kernels.pure_datadog import fast_second, old_at
from shipper.metrics import Metrics
from shipper.sinks.batch import Lines
from shipper.sinks.datadog import DatadogSink
from shipper.sinks.datadog_side import RECORD_BYTES, DatadogSide, bound, plain, side_of
from shipper.sinks.http import HttpSink
from shipper.sinks.settings import DatadogSinkSettings, HttpSinkSettings
from tests.unit.sinks.test_loki_side import undecorated
from tests.unit.sinks.test_loki_wire import varied_records

NOW = 1_751_800_000.0  # 2025-07-06T11:06:40Z: after varied_records' timestamps


def sink(**kw: Any) -> DatadogSink:
    return DatadogSink(DatadogSinkSettings(url="http://127.0.0.1:1", name="d", **kw),
                       metrics=Metrics(collectors=False), wall_clock=lambda: NOW)


async def buffered(s: DatadogSink, *envelopes: list[dict[str, Any]]) -> Lines:
    for records in envelopes:
        await s.put(records, AckToken("f", 0, pending=1))
    return s.queue.buffer.take(100_000, 1 << 30)  # type: ignore[attr-defined]


def odd_records(n: int = 400) -> list[dict[str, Any]]:
    """``varied_records`` plus what the reference treats apart: reserved attributes of
    the record's own, empty values, no message, a non-string level, pod facts that are not
    a dict, timestamps too old or too far ahead, unified service labels, long messages."""
    records = varied_records(n)
    odd: list[dict[str, Any]] = [
        {"status": "weird"}, {"ddsource": "x", "hostname": "h"}, {"logger": ""},
        {"message": ""}, {"message": "", "logger": ""}, {"level": ["x"]},
        {"k8s": "not-a-dict"}, {"k8s": {}}, {"k8s": []}, {"timestamp": "2025-07-05T10:00:00Z"},
        {"timestamp": "2025-07-06T14:30:00Z"}, {"timestamp": "2025-07-06T16:30:00+02:00"},
        {"message": "m" * 3000}, {"service": "", "attributes": {"service": "a"}},
        {"k8s": {"namespace": "n", "pod": "p", "node": "node-b", "labels": {
            "tags.datadoghq.com/service": "svc", "tags.datadoghq.com/env": "prod",
            "batch.kubernetes.io/job-name": "backup-29000000"}}},
    ]
    for i, change in enumerate(odd * 3):
        record = dict(records[i * 7 % n])
        record.update(change)
        records[i * 7 % n] = record
    del records[5]["message"]
    return [r for r in records if _encodes(r)]


def _encodes(record: dict[str, Any]) -> bool:
    """The reference encodes it (misshapen pod labels or an unhashable level make it
    raise: the delivery then encodes record by record, see the test below)."""
    try:
        sink().encoder.entry(record)
    except (AttributeError, TypeError):
        return False
    return True


def entries(payloads: list[Any]) -> list[Any]:
    return [(p.withheld, p.count, [orjson.loads(gzip.decompress(p.body)) if p.body else []],
             orjson.loads(orjson.dumps(p.lines.records() if p.lines else p.records)))
            for p in payloads]


@pytest.mark.parametrize("extra", [{}, {"max_age": None}, {"max_future": None},
                                   {"service": "api", "tags": ["team:a,b"], "source": ""},
                                   {"max_entries": 7, "max_entry_bytes": 2048},
                                   {"max_payload_bytes": 9000}])
async def test_side_payloads_hold_the_reference_encoders_entries(extra):
    """Varied and odd records in two envelopes: the same entries (as JSON objects), arrays,
    owners, withheld records and counts as the decoding path."""
    records = odd_records()
    fast, slow = sink(**extra), sink(**extra)
    lines = await buffered(fast, records[:230], records[230:])
    sides = [span.side for span in lines.spans]
    assert all(isinstance(side, DatadogSide) for side in sides)
    assert sum(sum(side.plain) for side in sides) > len(records) // 4  # spliced ones too
    got = fast.encode_lines(lines)
    assert entries(got) == entries(slow.encode_lines(undecorated(lines)))
    assert fast.counts == slow.counts


async def test_a_whole_batch_is_carried_as_lines_and_its_halves_encode_alike():
    """The usual batch (all fresh, one array) is one payload carrying the batch; a 413's
    halves, encoded again from their side data, give the reference's entries."""
    records = [r for r in odd_records() if plain(r)]
    fast, slow = sink(max_age=None, max_future=None), sink(max_age=None, max_future=None)
    lines = await buffered(fast, records[:100], records[100:])
    [payload] = fast.encode_lines(lines)
    assert payload.lines is lines and payload.records == [] and payload.count == len(records)
    for half in lines.halves():
        assert entries(fast.encode_lines(half)) == entries(slow.encode_lines(undecorated(half)))


async def test_a_record_the_reference_refuses_fails_the_side_path_too():
    """Pod labels that are not a dict: both paths raise, so the delivery encodes the batch
    record by record (and ships that record as text) whichever path it took."""
    bad = {"message": "m", "k8s": {"pod": "p", "labels": "not-a-dict"}}
    fast, slow = sink(), sink()
    lines = await buffered(fast, [*varied_records(5), bad])
    with pytest.raises(AttributeError):
        slow.encode_lines(undecorated(lines))
    with pytest.raises(AttributeError):
        fast.encode_lines(lines)


def test_plain_records_are_those_whose_json_becomes_their_entry():
    assert plain({"message": "m", "level": "info", "k8s": {"node": "n"}, "x": 0})
    assert plain({"message": ""}) and not plain({"message": "", "logger": ""})
    assert plain({"message": "m", "k8s": []})  # the reference reads an empty one as {}
    for bad in ({"level": "info"}, {"message": "m", "status": 1}, {"message": "m", "k8s": ["p"]},
                {"message": "m", "level": None}, {"message": "m", "a": ""}):
        assert not plain(bad), bad


def test_side_data_charges_records_not_their_shared_pod_facts_and_keeps_cut_records():
    k8s = {"namespace": "n" * 200, "pod": "p"}
    side = side_of([{"message": str(i), "k8s": k8s, "timestamp": str(i)} for i in range(10)])
    assert side.nbytes == 10 * RECORD_BYTES  # the facts' JSON is in each record's JSON already
    kept = side.keep([2, 7])
    assert kept.stamps == ["2", "7"] and kept.facts == [k8s, k8s] and kept.plain == [True] * 2
    assert kept.nbytes == 2 * RECORD_BYTES


async def test_one_record_envelopes_count_about_what_the_http_sink_counts():
    """The datadog memory buffer's counted bytes stay within 1.3x of the http sink's for
    the same 1-record envelopes of records sharing one pod facts dict (3.57x when each
    envelope was charged 5x its facts' JSON)."""
    labels = {f"app.kubernetes.io/l{i}": "v" * 30 for i in range(12)}
    k8s = {"namespace": "shop", "pod": "checkout-7d9f8c6b5d-x2x9q", "node": "ip-10-0-12-34",
           "labels": labels}
    counted = []
    for cls, settings in ((HttpSink, HttpSinkSettings), (DatadogSink, DatadogSinkSettings)):
        s = cls(settings(url="http://127.0.0.1:1", name="x"), metrics=Metrics(collectors=False))
        for i in range(500):
            await s.put([{"timestamp": "2025-07-06T11:00:00.000Z", "level": "info",
                          "message": f"GET /api/cart/{i} 200 12ms", "k8s": k8s}],
                        AckToken("f", i, pending=1))
        counted.append(s.queue.bytes)
    assert counted[0] < counted[1] <= 1.3 * counted[0], counted


class _Level(enum.StrEnum):
    ERROR = "error"


class _Blank:
    """An object whose ``str()`` (what orjson writes for it) is ``""``."""

    def __str__(self) -> str:
        return ""


_K8S = {"namespace": "ns", "pod": "p", "node": "node-a", "labels": {"app": "web"}}
_TS = "2025-07-06T11:00:00Z"


@pytest.mark.parametrize("record", [
    {"message": "m", "timestamp": datetime(2020, 1, 1, tzinfo=UTC), "k8s": _K8S},  # too old
    {"message": "m", "timestamp": datetime(2025, 7, 6, 11, tzinfo=UTC), "k8s": _K8S},
    {"message": "m", "timestamp": 1_751_799_000, "k8s": _K8S},
    {"message": "m", "x": _Blank(), "timestamp": _TS, "k8s": _K8S},  # left out when read back
    {"message": "m", "level": _Level.ERROR, "timestamp": _TS, "k8s": _K8S},
    {"message": "\u2028\"\\\x00é😀" * 1000, "timestamp": _TS, "k8s": _K8S},
    {"message": "é" * (500_000 - 60), "timestamp": _TS, "k8s": _K8S},
    {"message": "m", "k8s": {"node": 5, "pod": "p", "labels": {"app": 3}}},
], ids=["datetime-old", "datetime", "int-stamp", "str-empty-object", "strenum-level",
        "escapes", "near-limit", "nonstr-facts"])
async def test_values_the_side_path_does_not_assume_go_the_reference_way(record):
    """Fuzz cases (a timestamp that is not a str, an object whose str() is "", ...): the
    same payloads, withheld records and counts as the reference encoder."""
    fast, slow = sink(), sink()
    lines = await buffered(fast, [dict(record)])
    assert entries(fast.encode_lines(lines)) == entries(slow.encode_lines(undecorated(lines)))
    assert fast.counts == slow.counts


def test_a_timestamp_or_value_of_another_type_is_not_plain():
    assert plain({"message": "m", "timestamp": _TS}) and plain({"message": "m", "timestamp": None})
    for bad in ({"message": "m", "timestamp": datetime(2020, 1, 1, tzinfo=UTC)},
                {"message": "m", "timestamp": 5}, {"message": "m", "x": _Blank()}):
        assert not plain(bad), bad


async def test_pod_facts_replaced_between_envelopes_give_each_record_its_own_facts():
    """Pod facts are replaced, never changed in place (PodInfo, redaction): records put
    before and after a replacement, encoded in one batch, carry their own facts' tags."""
    new = {**_K8S, "node": "node-b", "labels": {"app": "api"}}
    fast, slow = sink(), sink()
    lines = await buffered(fast, [{"message": "a", "timestamp": _TS, "k8s": _K8S}],
                           [{"message": "b", "timestamp": _TS, "k8s": new}])
    got = entries(fast.encode_lines(lines))
    assert got == entries(slow.encode_lines(undecorated(lines)))
    sent = got[0][2][0]
    assert [(e["hostname"], e["service"]) for e in sent] == [("node-a", "web"), ("node-b", "api")]


async def test_a_record_already_too_old_at_put_is_not_checked_and_is_withheld_unsent():
    """Its side flag says not plain (no per-value check for a record the batch will
    dead-letter); the batch gives the reference's payloads: the old one withheld."""
    old = {"message": "m", "timestamp": "2025-07-05T10:00:00Z", "k8s": _K8S}
    fresh = {"message": "n", "timestamp": _TS, "k8s": _K8S}
    fast, slow = sink(), sink()
    assert fast.side([old, fresh]).plain == [False, True]
    lines = await buffered(fast, [old, fresh])
    got = entries(fast.encode_lines(lines))
    assert got == entries(slow.encode_lines(undecorated(lines)))
    assert [(bool(withheld), count) for withheld, count, _, _ in got] == [(True, 1), (False, 1)]


async def test_records_old_at_put_but_not_at_encode_after_the_clock_went_back_are_sent():
    """A wall clock set back between ``put`` and the batch: the records are fresh again
    and go the reference's way, with the reference's entries (none withheld)."""
    clock = [NOW + 3 * 86_400]
    fast = DatadogSink(DatadogSinkSettings(url="http://127.0.0.1:1", name="d"),
                       metrics=Metrics(collectors=False), wall_clock=lambda: clock[0])
    records = [dict(r, timestamp=_TS, k8s=_K8S) for r in varied_records(20)]
    lines = await buffered(fast, records)
    flags = [flag for span in lines.spans for flag in span.side.plain]  # type: ignore[union-attr]
    assert flags == [False] * 20
    clock[0] = NOW
    got = entries(fast.encode_lines(lines))
    assert got == entries(sink().encode_lines(undecorated(lines)))
    assert [(bool(withheld), count) for withheld, count, _, _ in got] == [(False, 20)]


STAMPS = ["2025-07-06T11:06:39Z", "2025-07-06T11:06:39.999999Z", "2025-07-06T11:06:40Z",
          "2025-07-06T11:06:40.5Z", "2025-07-06T11:06:41Z", "2025-07-06 11:06:39Z",
          "2025-07-06T11:06:39+00:00", "2025-07-06T11:06Z", "", None, 1_751_799_999]


@pytest.mark.parametrize("stamp", STAMPS)
def test_put_and_encode_time_take_a_stamp_as_old_by_the_same_check(stamp: Any) -> None:
    """``old_at`` (at ``put``) and ``Bound.later_than`` (at encode time) share one
    fast-shape check: on a bound that is a whole second they agree for any stamp of that
    shape, and ``old_at`` never calls a stamp of another shape old (encode time parses it)."""
    at = bound(NOW)
    assert at is not None and at.text == "2025-07-06T11:06:40"
    second = fast_second(stamp) if isinstance(stamp, str) else None
    assert second == (stamp[:19] if isinstance(stamp, str) and stamp.endswith("Z")
                      and len(stamp) >= 20 and stamp[10] == "T" else None)
    expected = at.later_than(stamp) if second is not None else False
    assert old_at(stamp, at.text) is expected
