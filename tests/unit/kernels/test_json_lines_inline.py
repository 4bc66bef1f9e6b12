"""The compiled ``JsonLines`` kernel maps more object lines inline (KERNEL_API 102); its
records stay the reference's, and so do the twin's:

- an event whose level keys hold no value (absent or null) gets the level it implies
  (an error with a stack, a failed status, a failure word) without ``mapper.parse``;
- the record is made as ``Record()`` makes it (``tp_new``, its slots set through their
  members), its ``file`` copied from a per-file template;
- the taken keys leave objects of a few to a few hundred keys, first, in the middle, last.

The records must then behave as any dict: keys added, looked up and deleted afterwards.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from shipper.parse import FileParser, ParseCounts
from shipper.parse.json_line import JsonLineParser
from shipper.parse.settings import ParseSettings
from shipper.parse.timestamps import TimestampNormalizer
from tests.unit.kernels.test_json_lines import NOW, _agree, _parser

try:
    from shipper.kernels import _compiled
except ImportError:  # not built: the compiled-only tests skip
    _compiled = None  # type: ignore[assignment]

_IMPLIED = [
    b'{"event":"layer_error","status":"error","timestamp":"2026-01-02T12:19:52.322Z"}',
    b'{"event":"pipeline_complete","status":"success","ts":1767431444.5}',
    b'{"event":"upload_failed","ts":1767431444}',
    b'{"msg":"worker crashed","err":{"message":"nil","stack":"main.main()"}}',
    b'{"msg":"x","error":{"stack":"s"},"logger":"app.db"}',
    b'{"msg":"x","stack":"Error\\n at y","level":null,"severity":null}',
    b'{"msg":"Task FAILED","status":503}',
    b'{"msg":"GET /x 200","status":"ok","time":"2026-01-02T10:00:17Z"}',
    b'{"message":"m","level":null,"lvl":null,"log.level":null,"level_name":null}',
    b'{"msg":"d","time":"2099-01-01T00:00:00Z"}',  # impossible: the read time, counted
    b'{"msg":"e","label":"cat"}',  # winston's label on "msg": not the logger
    b'{"event":"e","label":"cat","logger_name":"svc"}',  # a logger key: the reference
    b'{"msg":"f","level":"bogus"}',  # a level value that maps to none: the reference
]


def _wide(keys: int, at: str) -> bytes:
    """An object of ``keys`` attribute keys with the taken keys ``first``, ``middle`` or
    ``last``."""
    taken = [("level", "warn"), ("msg", "wide"), ("logger", "w"),
             ("timestamp", "2026-01-02T10:00:00.123Z")]
    pairs: list[tuple[str, Any]] = [(f"k{i}", i) for i in range(keys)]
    place = {"first": 0, "middle": keys // 2, "last": keys}[at]
    pairs[place:place] = taken
    return orjson.dumps(dict(pairs))


def test_implied_levels_agree_with_the_reference() -> None:
    """Events with no level value (absent or null level keys), with and without a logger,
    a time, a request message: the same records, key order and counts as the reference."""
    _agree(_IMPLIED * 2, 4)


@pytest.mark.parametrize("keys", [0, 3, 40, 81, 90, 300])
@pytest.mark.parametrize("at", ["first", "middle", "last"])
def test_small_and_wide_objects_agree(keys: int, at: str) -> None:
    """The taken keys deleted from small and wide objects, at every place: the attributes
    keep the other keys in order, as the reference's do."""
    _agree([_wide(keys, at), _wide(keys, at).replace(b'"logger":"w",', b"")], 1)


def _records(kernel: Any, lines: list[bytes]) -> list[Any]:
    parser = _parser(kernel, ParseCounts(), 200)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    return parser.feed(list(zip(offsets, lines, strict=False)), frozenset()) + parser.flush(
        force=True)


def _handled(record: Any, attribute_keys: list[str]) -> list[Any]:
    """What later stages do to a record: keys added and removed at both levels, every
    key looked up again."""
    record["k8s"] = {"pod": "p"}
    record["job_id"] = "j"
    del record["job_id"]
    attributes = record["attributes"]
    for key in attribute_keys[::2]:
        attributes.pop(key, None)
    attributes["added"] = 1
    found = [(key, key in attributes, attributes.get(key)) for key in attribute_keys]
    return [found, orjson.dumps(record), len(record), len(attributes),
            [record[key] for key in list(record)]]


@pytest.mark.skipif(_compiled is None, reason="the extension is not built")
@pytest.mark.parametrize("keys", [5, 40, 90])
def test_kernel_records_behave_as_dicts(keys: int) -> None:
    """A record the kernel built (its ``file`` a copied template) and whose attributes it
    took keys from takes inserts, lookups and deletions afterwards as the reference's
    record does."""
    lines = [_wide(keys, "middle"), _wide(keys, "first"), _IMPLIED[3], _IMPLIED[4]]
    names = [f"k{i}" for i in range(keys)] + ["status", "err", "error", "missing"]
    want = [_handled(record, names) for record in _records(None, lines)]
    assert [_handled(record, names) for record in _records(_compiled, lines)] == want


class _Counting(JsonLineParser):
    """The mapper, counting the objects it maps the general way."""

    def __init__(self, stamps: TimestampNormalizer) -> None:
        super().__init__(stamps)
        self.general = 0

    def parse(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.general += 1
        return super().parse(obj)


@pytest.mark.skipif(_compiled is None, reason="the extension is not built")
def test_compiled_kernel_maps_events_without_a_level_inline() -> None:
    """The first ten implied-level events (no logger key but ``logger``, no winston
    label on ``message``) take the inline shape: ``parse`` is not called for them."""
    parser = FileParser("/var/log/app/app.log", ParseSettings(), ParseCounts(),
                        clock=lambda: NOW, runtime_format="plain")
    mapper = _Counting(parser._lines.json_parser.stamps)
    kernel = _compiled.JsonLines("/var/log/app/app.log", parser._joiner, mapper,
                                 parser._text_line, parser._plain_line,
                                 parser._fallback_time, 200, parser.text_route())
    out: list[Any] = []
    kernel.feed([(i, line) for i, line in enumerate(_IMPLIED)], frozenset(), out)
    assert mapper.general == 2  # the logger_name line and the "bogus" level
    assert [record["level"] for record in out[:8]] == [
        "error", "info", "error", "error", "error", "error", "error", "info"]
