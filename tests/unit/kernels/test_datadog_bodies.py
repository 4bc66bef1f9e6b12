"""The Datadog sink's ``datadog_bodies`` kernel (KERNEL_API 42): a batch's entries spliced
from the buffered JSON and packed into the intake's arrays in one pass, compiled and pure
alike, within the intake's limits; and ``datadog_side``'s one-pass scan of a record, which
asks the reference for keys that are not exact ``str``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from shipper.kernels import pure_datadog
from shipper.kernels.pure_datadog import pack_arrays, plain
from shipper.record import Record
from shipper.sinks import datadog_side as side_module
from shipper.sinks.datadog_side import DatadogSide, bodies_from_side
from tests.unit.kernels.test_sink_kernels import _BUILT, SIDES, _compiled
from tests.unit.sinks.test_datadog_side import buffered, odd_records, sink

BODIES = [pytest.param(pure_datadog.datadog_bodies, id="pure"),
          pytest.param(getattr(_compiled, "datadog_bodies", None), id="compiled", marks=_BUILT)]
#: the last: each entry's tags longer than the room the compiled body is first given
#: for them (256 bytes an entry), so the body grows while it is written
LIMITS = [{}, {"max_age": None, "max_future": None}, {"max_entries": 7},
          {"max_payload_bytes": 9000}, {"max_entry_bytes": 2048, "max_entries": 50},
          {"tags": ["team:" + "x" * 600], "max_entry_bytes": 4096}]


class _Key(str):
    """A ``str`` subclass key: equal to a reserved name, not an exact ``str``."""


def _odd_stamps(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stamps of the fast shape in wide characters, ones that sort after ``~``, and ones
    the bound parses (an offset, no ``Z``), spread over the records."""
    stamps = ["２０２５-07-06T11:00:00Z", "\u00ff025-07-06T11:00:00Z",
              "2025-07-06T11:00:00+00:00", "2025-07-06T11:00:00.5Z", "2025-07-06T10:59:59Z",
              "2099-01-01T00:00:00Z"]
    return [{**r, "timestamp": stamps[i % len(stamps)]} if i % 5 == 0 else r
            for i, r in enumerate(records)]


def _payloads(bodies: list[bytes]) -> list[Any]:
    return [orjson.loads(body) for body in bodies]


@pytest.mark.parametrize("extra", LIMITS)
async def test_compiled_bodies_are_the_pure_twins_bytes_and_counts(extra, monkeypatch):
    """Varied and odd records, odd stamps too: the same array bodies (byte for byte), the
    same entries per array, the same fresh and old indices and the same counts."""
    records = _odd_stamps(odd_records())
    got = []
    for kernel in (pure_datadog.datadog_bodies, getattr(_compiled, "datadog_bodies", None)):
        if kernel is None:  # pragma: no cover - the extension is not built
            pytest.skip("the compiled kernels are not built")
        monkeypatch.setattr(side_module, "datadog_bodies", kernel)
        s = sink(**extra)
        lines = await buffered(s, records[:230], records[230:])
        sides = [span.side for span in lines.spans]
        assert all(isinstance(side, DatadogSide) for side in sides)
        got.append((bodies_from_side(s.encoder, lines, sides), dict(s.counts)))
    assert got[0] == got[1]


@pytest.mark.parametrize("extra", LIMITS)
async def test_bodies_hold_the_intake_limits_and_every_fresh_entry(extra):
    """Each array holds at most ``max_entries`` entries and ``max_payload_bytes`` bytes (one
    entry alone may be more), each entry at most ``max_entry_bytes``; the arrays hold the
    fresh records in batch order, the old ones are left out."""
    s = sink(**extra)
    records = _odd_stamps(odd_records())
    lines = await buffered(s, records[:230], records[230:])
    bodies, counts, fresh, old = bodies_from_side(
        s.encoder, lines, [span.side for span in lines.spans])  # type: ignore[misc]
    settings = s.settings
    assert sum(counts) == len(fresh) and len(fresh) + len(old) == len(records)
    assert sorted(fresh + old) == list(range(len(records)))
    for body, count, entries in zip(bodies, counts, _payloads(bodies), strict=True):
        assert len(entries) == count <= settings.max_entries
        assert count == 1 or len(body) <= settings.max_payload_bytes
        assert all(len(orjson.dumps(e)) <= settings.max_entry_bytes for e in entries)
    messages = [e.get("message") for entries in _payloads(bodies) for e in entries]
    assert messages[:3] == [orjson.loads(line).get("message", "") for line in
                            [bytes(v) for v in list(lines.lines())[:3]]] or old


def test_pack_arrays_cuts_at_the_entry_count_and_the_byte_limit():
    """An array is counted as 2 bytes and each entry's length plus one (its comma, as
    main counts it): a cut before the limit is passed; an entry alone is kept whatever its
    size."""
    raws = [b'{"a":1}', b'{"b":22}', b'{"c":333}', b"x" * 50]
    ab, c, x = b'[{"a":1},{"b":22}]', b'[{"c":333}]', b"[" + b"x" * 50 + b"]"
    assert pack_arrays(raws, 2, 1000) == ([ab, c[:-1] + b"," + x[1:]], [2, 2])
    assert pack_arrays(raws, 10, 20) == ([ab, c, x], [2, 1, 1])
    assert pack_arrays(raws, 10, 18) == ([b'[{"a":1}]', b'[{"b":22}]', c, x], [1, 1, 1, 1])
    assert pack_arrays([], 10, 18) == ([], [])


@pytest.mark.parametrize("datadog_side", SIDES)
def test_keys_not_exact_str_or_wide_are_read_as_the_reference_reads_them(datadog_side):
    """A ``str`` subclass key equal to a reserved name, an int key, a key that looks like
    ``message`` in another script: the same flag, level, facts and stamp as ``plain``."""
    records: list[dict[Any, Any]] = [
        {"message": "m", _Key("status"): "x"}, {"message": "m", 1: "x"},
        {_Key("message"): "m"}, {"mеssage": "m"}, {"message": "m", "lеvel": 3},
        {"message": "m", "sтatus": "x"}, {"message": "m", "dd": "", "hostnamé": 1},
        {"message": "m", "level": "warning", "k8s": {"pod": "p"}, "timestamp": "t"}]
    flags, levels, facts, stamps = datadog_side([Record(r) for r in records], None)
    assert flags == [plain(r) for r in records] == [False, True, True, False, True, True,
                                                    False, True]
    assert levels == [r.get("level", "info") for r in records]
    assert facts == [r.get("k8s") for r in records] and stamps == [r.get("timestamp")
                                                                  for r in records]
