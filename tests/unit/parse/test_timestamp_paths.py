"""Issue 11 item 14 through ``FileParser``: every path that yields a timestamp (JSON,
logfmt, text prefixes, klog, access logs, zap console, CRI and docker wrappers) ships only
possible ones, keeps an impossible one in the attributes and counts it once as
``bad_timestamp``. The cases live in ``tests/golden/parse/timestamps.jsonl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import ParseSettings
from tests.unit.parse.test_timestamp_validity import (
    NOW,
    assert_possible,
    time_shaped_strings,
)

CASES = Path(__file__).resolve().parents[2] / "golden" / "parse" / "timestamps.jsonl"
READ_TIME = "2026-01-01T00:00:00.000Z"


def parse(lines: list[str]) -> tuple[list[dict[str, Any]], ParseCounts]:
    counts = ParseCounts()
    parser = FileParser("/logs/t.log", ParseSettings(), counts, clock=lambda: NOW)
    batch, offset = [], 0
    for line in lines:
        raw = line.encode()
        batch.append((offset, raw))
        offset += len(raw) + 1
    return parser.feed(batch) + parser.flush(force=True), counts


def _cases() -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in
            map(orjson.loads, CASES.read_text(encoding="utf-8").splitlines())]


@pytest.mark.parametrize("case", _cases())
def test_each_impossible_timestamp_is_counted_once(case: dict[str, Any]) -> None:
    """``bad_timestamp`` counts exactly the records whose own time was impossible."""
    records, counts = parse(case["lines"])
    assert counts.errors["bad_timestamp"] == case["bad_timestamps"], counts.errors
    for record in records:
        assert_possible(record["timestamp"])


_TIME_KEYS = st.sampled_from(["timestamp", "time", "ts", "@timestamp", "datetime"])
_VALUES = st.one_of(time_shaped_strings(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=20),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["nan", "-inf", "Infinity", "-1", "0", "1e999"]))


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(_TIME_KEYS, _VALUES), min_size=1, max_size=3))
def test_json_lines_never_ship_an_impossible_timestamp(fields: list[tuple[str, Any]]) -> None:
    """Whatever a JSON line holds under its time keys, the record's timestamp is
    possible; a value that did not become the timestamp is still in the attributes."""
    obj = {"msg": "m", **dict(fields)}
    (record,), _counts = parse([orjson.dumps(obj).decode()])
    assert_possible(record["timestamp"])
    kept = {key: value for key, value in obj.items() if key != "msg"}
    taken = [key for key in kept if key not in record["attributes"]]
    assert len(taken) <= 1
    if record["timestamp"] == READ_TIME and not taken:
        assert record["attributes"] == kept


@settings(max_examples=500, deadline=None)
@given(time_shaped_strings(), st.sampled_from(["{} ERROR boom", "[{}] INFO x - y",
                                               "ts={} level=info msg=z"]))
def test_text_lines_never_ship_an_impossible_timestamp(stamp: str, layout: str) -> None:
    """Text and logfmt lines with random stamps: the timestamp is possible, and a stamp
    that was not used stays in the record as written."""
    line = layout.format(stamp)
    (record,), counts = parse([line])
    assert_possible(record["timestamp"])
    if counts.errors["bad_timestamp"]:
        attributes = record["attributes"]
        kept = attributes.get("invalid_timestamp", attributes.get("ts"))
        assert kept and kept in line and kept[:4] == stamp[:4], (line, record)
