"""The compiled ``JsonLines`` kernel's inline steps (KERNEL_API 21) give what the
reference gives, and so does the pure twin:

- the timestamp normalizer's two fast paths taken without the call: a canonical
  ``...SS.fffZ`` string of the last good second, and an epoch float of the last epoch
  second (``round`` half-even: exact half milliseconds are drawn on purpose);
- the level taken at once by ``_take_level`` from a pino/bunyan number under ``level``
  (with ``tidy_node``'s ``hostname``/``v``/``src`` steps) or from a word under
  ``severity``/``levelname``/... when ``level`` is absent or null.

Lines share a second and its neighbours, so the fast paths hit, miss and move on.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from tests.unit.kernels.test_json_lines import SETTINGS, _agree, _object_lines

SECOND = 1_751_797_800  # 2025-07-06T10:30:00Z
_PREFIXES = ["2025-07-06T10:30:00", "2025-07-06T10:30:01", "2025-07-06T10:29:59"]


@st.composite
def _iso(draw: st.DrawFn) -> str:
    """A canonical UTC string near ``SECOND`` with 0-9 fraction digits, or a near miss
    (a non-digit in the fraction, an offset, a non-ASCII digit)."""
    digits = draw(st.text("0123456789", min_size=0, max_size=9))
    tail = draw(st.sampled_from(["Z", "Z", "Z", "+00:00", "z"]))
    stamp = f"{draw(st.sampled_from(_PREFIXES))}.{digits}{tail}"
    return draw(st.sampled_from([stamp, stamp, stamp.replace("1", "\u0661", 1),
                                 stamp.replace("0Z", "xZ")]))


def _epoch() -> st.SearchStrategy[Any]:
    """Epoch floats in and around ``SECOND`` (exact half milliseconds included), other
    magnitudes, ints, and values outside the fast path's range."""
    near = st.floats(SECOND - 2, SECOND + 2, allow_nan=False)
    # k/16 seconds: exact doubles whose milliseconds end in .5 (62.5, 187.5 ...)
    halves = st.integers(-32, 48).map(lambda k: SECOND + k / 16)
    return st.one_of(near, near, halves, st.integers(SECOND - 2, SECOND + 2),
                     st.sampled_from([SECOND * 1000.0, 1e11, 946_684_799.9, 946_684_800.0,
                                      -1.5, 0.0, 4e9, 1.7e18]))


_LEVELS = st.one_of(st.integers(-5, 70), st.sampled_from(
    ["info", "INFO", "warning", "ERROR", "CRITICAL", "Warn", "notice", "INFO+2", "bogus", ""]),
    st.none(), st.booleans(), st.floats(0, 70))
_NODE = {"hostname": st.sampled_from(["h", 3]), "pid": st.just(7), "host": st.just("own"),
         "v": st.sampled_from([0, 1, 2, True]), "name": st.sampled_from(["api", "a b"]),
         "src": st.sampled_from([{"file": "a.js", "line": 3}, {"file": "a.js", "line": 3,
                                                               "func": "f"}, {"x": 1}]),
         "caller": st.just("b.go:1"), "label": st.just("lbl"), "logger": st.just("lg")}


@st.composite
def _fast_lines(draw: st.DrawFn) -> bytes:
    """An object in (or just out of) the inline shape: a message, a level under any of
    the level keys, node keys, and one or two time keys drawn from the above."""
    obj: dict[str, Any] = {draw(st.sampled_from(["msg", "message", "event"])):
                           draw(st.sampled_from(["ok", "GET /x 200", "failed"]))}
    for key in draw(st.lists(st.sampled_from(["level", "severity", "levelname", "lvl",
                                              "loglevel"]), unique=True, max_size=2)):
        obj[key] = draw(_LEVELS)
    for key in draw(st.lists(st.sampled_from(sorted(_NODE)), unique=True, max_size=5)):
        obj[key] = draw(_NODE[key])
    for key in draw(st.lists(st.sampled_from(["timestamp", "ts", "time", "@timestamp"]),
                             unique=True, min_size=1, max_size=2)):
        obj[key] = draw(st.one_of(_iso(), _epoch()))
    return orjson.dumps(obj)


@SETTINGS
@given(st.lists(_fast_lines() | _object_lines(), min_size=1, max_size=40),
       st.integers(1, 9))
@example([b'{"level":"info","msg":"a","ts":1751797800.5}',  # the second, then halves
          b'{"level":"info","msg":"b","ts":1751797800.0625}',  # 62.5 ms: .062Z
          b'{"level":"info","msg":"c","ts":1751797800.1875}'], 1)  # 187.5 ms: .188Z
@example([b'{"level":"info","msg":"a","timestamp":"2025-07-06T10:30:00.5Z"}',
          b'{"level":"info","msg":"b","timestamp":"2025-07-06T10:30:00.123456789Z"}',
          b'{"level":"info","msg":"c","timestamp":"2025-07-06T10:30:00.1234Z"}'], 3)
@example([b'{"level":30,"time":1751797800123,"pid":1,"hostname":"h","msg":"p","v":1}',
          b'{"severity":"CRITICAL","message":"s"}', b'{"level":null,"levelname":"ERROR",'
          b'"msg":"n"}', b'{"severity":5,"levelname":"INFO","msg":"x"}'], 2)
def test_same_second_times_and_level_keys_agree(lines: list[bytes], size: int) -> None:
    """Lines around one second (fast-path hits, misses, rounding halves, near-miss
    strings) with levels under every level key: compiled, pure and the reference make
    the same records, in the same order, counted the same."""
    _agree(lines, size)
