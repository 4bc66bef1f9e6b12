"""Issue 11 item 8 (parse part): the parser never produces a record that cannot be encoded.

orjson decodes up to 1,024 levels but encodes only 254, so a JSON line nested deeper than
``parse.max_json_depth`` (default 200) ships as a text-shaped record: message = the raw
line, ``attributes.json_too_deep: true``, level/timestamp/logger from its top level,
counted as ``json_too_deep``. Huge integers and other values orjson refuses are checked
too. "Encodable" here is ``orjson.dumps`` of the record inside two wrappers (the
dead-letter and ``explain --json`` add one level each)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse import FileParser, ParseCounts
from shipper.parse.json_line import too_deep
from shipper.parse.settings import ParseSettings

NOW = 1767225600.0


def parse(lines: list[bytes], settings_: ParseSettings | None = None,
          runtime: str = "auto") -> tuple[list[dict[str, Any]], ParseCounts]:
    counts = ParseCounts()
    parser = FileParser("/logs/d.log", settings_ or ParseSettings(), counts,
                        clock=lambda: NOW, runtime_format=runtime)  # type: ignore[arg-type]
    batch, offset = [], 0
    for raw in lines:
        batch.append((offset, raw))
        offset += len(raw) + 1
    return parser.feed(batch) + parser.flush(force=True), counts


def encodes(record: dict[str, Any]) -> bool:
    """The record survives the deepest wrapping an exit puts around it."""
    try:
        orjson.dumps({"sink": "x", "record": {"wrapped": record}})
    except TypeError:
        return False
    return True


def nested(depth: int, kinds: str = "{[") -> bytes:
    """A JSON object ``depth`` levels deep (the line's own object is level 1)."""
    opening, closing = [], []
    for level in range(depth - 1):
        if kinds[level % len(kinds)] == "{":
            opening.append(b'{"k":')
            closing.append(b"}")
        else:
            opening.append(b"[")
            closing.append(b"]")
    inner = b"".join(opening) + b"1" + b"".join(reversed(closing))
    return b'{"level":"error","msg":"deep","time":"2026-01-02T10:00:00Z","a":' + inner + b"}"


@pytest.mark.parametrize("depth", [2, 64, 199, 200])
def test_json_up_to_the_limit_stays_json(depth: int) -> None:
    """Up to ``max_json_depth`` levels the line is a normal JSON record."""
    (record,), counts = parse([nested(depth)])
    assert record["message"] == "deep" and "a" in record["attributes"]
    assert counts.errors["json_too_deep"] == 0
    assert encodes(record)


@pytest.mark.parametrize("depth", [201, 253, 254, 255, 256, 300, 512, 1000, 1023, 1024])
def test_deeper_json_ships_as_the_raw_line(depth: int) -> None:
    """Past the limit (255..1,024 used to pass decoding and kill the sink at encoding)
    the record is the raw line, marked and counted, with level and time kept."""
    line = nested(depth)
    (record,), counts = parse([line])
    assert encodes(record)
    assert record["message"] == line.decode()
    assert record["attributes"] == {"json_too_deep": True}
    assert record["level"] == "error" and record["timestamp"] == "2026-01-02T10:00:00.000Z"
    assert counts.errors["json_too_deep"] == 1 and counts.formats["json"] == 1


def test_past_orjson_decoding_limit_the_line_is_text() -> None:
    """Past 1,024 levels orjson refuses the line: it is text (``invalid_json``)."""
    line = nested(1100)
    (record,), counts = parse([line])
    assert encodes(record) and record["message"] == line.decode()
    assert counts.errors["invalid_json"] == 1


def test_the_limit_is_a_setting() -> None:
    """``parse.max_json_depth`` moves the limit (bounded so every exit can encode)."""
    tight = ParseSettings(max_json_depth=4)
    (shallow, deep), _counts = parse([nested(4), nested(5)], tight)
    assert shallow["message"] == "deep" and deep["attributes"] == {"json_too_deep": True}
    with pytest.raises(ValueError):
        ParseSettings(max_json_depth=300)  # past what every exit can encode
    (low, high), counts = parse([nested(64), nested(65)], ParseSettings(max_json_depth=64))
    assert "a" in low["attributes"] and high["attributes"] == {"json_too_deep": True}
    assert counts.errors["json_too_deep"] == 1


def test_brackets_inside_strings_and_wide_values_are_not_depth() -> None:
    """Many brackets in strings, or many shallow containers, keep a line JSON."""
    in_strings = orjson.dumps({"msg": "[" * 500 + "{" * 500, "a": ["]]]"] * 10})
    wide = orjson.dumps({"msg": "wide", "rows": [[i, {"v": [i]}] for i in range(300)]})
    records, counts = parse([in_strings, wide])
    assert [r["message"][:4] for r in records] == ["[[[[", "wide"]
    assert counts.errors["json_too_deep"] == 0


def test_deep_fields_after_a_zap_console_line_are_kept_as_text() -> None:
    """zap console's trailing JSON object gets the same guard."""
    deep = nested(260).decode()
    line = f"2026-01-02T10:00:00.000Z\tINFO\tx.go:1\tdone\t{deep}".encode()
    (record,), counts = parse([line])
    assert encodes(record)
    assert record["message"] == "done"
    assert record["attributes"] == {"caller": "x.go:1", "fields": deep, "json_too_deep": True}
    assert counts.errors["json_too_deep"] == 1


def test_deep_json_inside_runtime_wrappers() -> None:
    """CRI- and docker-wrapped deep lines are guarded the same way."""
    deep = nested(400)
    cri = b"2026-01-02T10:00:00.000000000Z stdout F " + deep
    docker = orjson.dumps({"log": deep.decode() + "\n", "stream": "stderr",
                           "time": "2026-01-02T10:00:00.000000000Z"})
    for line, runtime in ((cri, "cri"), (docker, "docker")):
        (record,), _counts = parse([line], runtime=runtime)
        assert encodes(record) and record["attributes"] == {"json_too_deep": True}


@pytest.mark.parametrize("line", [
    b'{"msg": "big", "n": ' + b"9" * 30 + b"}",
    b'{"msg": "big", "n": -' + b"9" * 30 + b"}",
    b'{"msg": "huge", "n": ' + b"9" * 5000 + b"}",
    b'{"msg": "inf", "n": 1e400}',
    b'{"msg": "nan", "n": NaN}',
    b'{"msg": "bad surrogate", "s": "\\ud800"}',
    b"2026-01-02 10:00:01.000 | INFO | m:f:" + b"9" * 30 + b" - loguru with a huge line",
    b'10.0.0.1 - - [03/Jan/2026:09:10:29 +0000] "GET / HTTP/1.1" 200 ' + b"9" * 30,
])
def test_values_orjson_refuses_never_reach_a_record(line: bytes) -> None:
    """Integers past 64 bits (orjson reads them as floats or refuses the line), NaN,
    infinities, lone surrogates, and huge numbers the text parsers read: encodable."""
    records, _counts = parse([line])
    assert records and all(encodes(record) for record in records)


_LEAVES = st.one_of(st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False,
                    allow_infinity=False), st.text(max_size=5), st.booleans(), st.none())


def _chains(depth: int) -> st.SearchStrategy[Any]:
    return st.recursive(_LEAVES, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
        max_leaves=depth)


@settings(max_examples=300, deadline=None)
@given(_chains(40), st.integers(1, 400))
def test_any_json_line_gives_an_encodable_record(value: Any, wrap: int) -> None:
    """Random values wrapped in up to 400 more levels: the record always encodes, and it
    is marked too deep exactly when the line is deeper than the limit."""
    for _ in range(wrap):
        value = [value] if wrap % 2 else {"w": value}
    line = b'{"msg": "r", "v": ' + json.dumps(value).encode() + b"}"  # orjson stops at 254
    (record,), _counts = parse([line])
    assert encodes(record)
    deep = too_deep(orjson.loads(line), 200)
    assert (record["attributes"] == {"json_too_deep": True}) == deep
