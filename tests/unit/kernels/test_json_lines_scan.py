"""The compiled ``JsonLines`` kernel reads the keys of the common shape in one pass over
the object (KERNEL_API 35) and matches level words by their characters; its records stay
the reference's, and so do the pure twin's:

- keys in any order, written twice (orjson keeps the last value at the first place),
  with a JSON null (the reference's ``get`` reads None, its ``in`` sees the key), or
  only inside a nested object (not the line's key);
- keys that look like the known ones (same length or first letter, other case,
  non-ASCII letters, a trailing space) and are not them;
- levels that are not words (numbers, floats, booleans, lists), more level words than
  the kernel remembers, one word in several cases, non-ASCII words;
- float, int, string and huge-int times under each time key, with nulls before them;
- messages starting with every letter (the bare-request test's initials), non-ASCII
  text, and lines long enough to be cut at the size cap (``_agree`` marks every fifth).
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.unit.kernels.test_json_lines import SETTINGS, _agree

_KNOWN = ["message", "msg", "event", "log", "level", "severity", "levelname", "lvl",
          "loglevel", "log.level", "level_name", "timestamp", "time", "ts", "@timestamp",
          "datetime", "asctime", "source", "logger", "logger_name", "name", "label"]
_LOOKALIKES = ["Level", "LEVEL", "lével", "levels", "leve", "msg ", "mgs", "tz", "tS",
               "times", "tim\u00e9", "logger\u00df", "loggers", "name_", "sourc", "évent",
               "@timestamps", "log_level", "LOG", "\u2603", "", "m", "timestamp\u0000"]
_WORD_LIST = ["info", "INFO", "Info", "warn", "WARN", "warning", "error", "ERROR", "err",
              "debug", "DEBUG", "trace", "fatal", "critical", "notice", "verbose",
              "ınfo", "informational", "\u00e9rror", "bogus", ""]
_LEVEL_VALUES = st.one_of(st.sampled_from(_WORD_LIST), st.integers(-3, 70),
                          st.floats(0, 70, allow_nan=False), st.booleans(), st.none(),
                          st.lists(st.just("info"), max_size=1))
_TIME_VALUES = st.one_of(
    st.none(), st.floats(1.75e9, 1.76e9), st.integers(1_751_797_800, 1_751_797_802),
    st.integers(1_751_797_800_000, 1_751_797_802_000), st.sampled_from(
        ["2025-07-06T10:30:00.002908Z", "2025-07-06T10:30:00.002Z", "2025-07-06T10:30:01Z",
         "2025-07-06 10:30:00", "x", "", "2025-07-06T10:30:00.00\u0661Z"]),
    st.sampled_from([2**63 - 1, 2**64 - 1, -(2**63)]))
_MESSAGE_VALUES = st.one_of(
    st.text(alphabet=string.ascii_letters + " /", max_size=12),
    st.sampled_from(["GET /x 200", "POST /y 503", "caf\u00e9 \u2603", "x" * 600]),
    st.none(), st.integers(), st.lists(st.just("m"), max_size=1))


def _value(key: str) -> st.SearchStrategy[Any]:
    if key in ("level", "severity", "levelname", "lvl", "loglevel", "log.level",
               "level_name"):
        return _LEVEL_VALUES
    if key in ("timestamp", "time", "ts", "@timestamp", "datetime", "asctime"):
        return _TIME_VALUES
    if key == "source":
        return st.sampled_from([{"function": "f", "file": "a.go", "line": 1}, None, "s"])
    return _MESSAGE_VALUES


@st.composite
def _pairs_lines(draw: st.DrawFn) -> bytes:
    """An object written pair by pair (so a key may come twice), known keys, lookalikes
    and nested copies of known keys, in any order."""
    pairs: list[tuple[str, Any]] = []
    if draw(st.booleans()):
        pairs += [("level", draw(st.sampled_from(_WORD_LIST))),
                  (draw(st.sampled_from(["msg", "message", "event"])),
                   draw(st.sampled_from(["ok", "GET /a 200", "Db done"])))]
    for key in draw(st.lists(st.sampled_from(_KNOWN), max_size=8)):
        pairs.append((key, draw(_value(key))))
    for key in draw(st.lists(st.sampled_from(_LOOKALIKES), max_size=3)):
        pairs.append((key, draw(st.sampled_from(["info", "m", 1751797800.5, None]))))
    if draw(st.booleans()):
        pairs.append(("nested", {key: draw(_value(key))
                                 for key in draw(st.lists(st.sampled_from(_KNOWN),
                                                          max_size=4))}))
    pairs = draw(st.permutations(pairs))
    body = ",".join(f"{json.dumps(key)}:{json.dumps(value)}" for key, value in pairs)
    return ("{" + body + "}").encode()


@SETTINGS
@given(st.lists(_pairs_lines(), min_size=1, max_size=30), st.integers(1, 9))
@example([b'{"msg":"a","level":"info","msg":"b"}',  # the last value, at the first place
          b'{"level":"info","msg":null,"event":"e","msg":"m"}',
          b'{"level":null,"severity":"warn","msg":"s","level":"error"}',
          b'{"level":"info","msg":"t","ts":null,"time":1751797800.25,"ts":"x"}',
          b'{"level":"info","msg":"n","source":null}',  # present: the reference's way
          b'{"level":"info","message":"w","label":null}',
          b'{"level":"info","message":"w","label":"api"}',  # winston: the logger
          b'{"level":"info","msg":"w","label":"api"}',
          b'{"level":"info","msg":"h","logger":null,"name":null}',
          b'{"level":"info","msg":"q","nested":{"level":"error","ts":1,"logger":"x"}}',
          b'{"Level":"error","lvl":"warn","msg":"c","LEVEL":"info"}',
          b'{"l\xc3\xa9vel":"error","level":"info","msg":"u","tim\xc3\xa9":1751797800.5}',
          b'{"level":"info","msg":"i","ts":18446744073709551615}',
          b'{"level":"info","msg":"j","ts":123456789012345678901234567890}'], 3)
def test_scanned_keys_agree_with_the_reference(lines: list[bytes], size: int) -> None:
    _agree(lines, size)


def test_more_level_words_than_the_kernel_remembers_agree() -> None:
    """Every word twice, in turn: the first ones are remembered, the later ones looked
    up each time; one word in several cases maps as the table says."""
    lines = [f'{{"level":{json.dumps(word)},"msg":"w{i}"}}'.encode()
             for i, word in enumerate(_WORD_LIST * 2)]
    _agree(lines, 4)


def test_messages_starting_with_every_letter_agree() -> None:
    """The bare-request test runs for the method initials only; every other first
    letter (and non-ASCII, digits, an empty message) skips it, as in the reference."""
    heads = list(string.ascii_letters + string.digits) + ["\u00c9", "\u2603", ""]
    lines = [f'{{"level":"info","msg":{json.dumps(head + "ET /x 200")}}}'.encode()
             for head in heads]
    lines += [b'{"level":"info","msg":"GET /x 200"}', b'{"level":"info","msg":"OPTIONS /"}']
    _agree(lines, 5)
