"""The hot-path shortcuts give exactly what the general code gives.

Each fast path (str-method pair splitting, the epoch table, the line decode shortcut) is
checked against the slower reference it replaces, on generated inputs that hit the
edges: odd white space, keys with ``.-/@`` or non-ASCII letters, ``=`` inside values.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse import FileParser, ParseCounts
from shipper.parse.instants import IMPOSSIBLE
from shipper.parse.logfmt import _split_quoted, split_trailing_pairs
from shipper.parse.runtime import RuntimeUnwrapper
from shipper.parse.settings import ParseSettings
from shipper.parse.timestamps import TimestampNormalizer

_WORD_CHARS = "ab_Z9@.-/:=é\u0416"
_SPACES = [" ", "  ", "\t", "\x1c", "\xa0", "\u2003", " \n "]
words = st.text(alphabet=_WORD_CHARS, min_size=0, max_size=8)
messages = st.lists(st.tuples(words, st.sampled_from(_SPACES)), max_size=8).map(
    lambda parts: "".join(word + space for word, space in parts))


@settings(max_examples=200, deadline=None)
@given(messages, st.sampled_from(["", " ", "\t", "\n"]), st.sampled_from(["", " ", "x"]))
def test_unquoted_pair_split_matches_the_regex_reference(body: str, tail: str,
                                                          lead: str) -> None:
    """Without quotes, the word-based split equals the possessive-regex split."""
    message = lead + body + tail
    assert split_trailing_pairs(message) == _split_quoted(message)


def test_pair_split_keeps_the_head_and_last_duplicate() -> None:
    """The head keeps inner spacing; a repeated key keeps its first place, last value."""
    assert split_trailing_pairs("a  b\tk=1 x.y=2 k=3 ") == ("a  b", {"k": "3", "x.y": "2"})
    assert split_trailing_pairs("k=1 =2") == ("k=1 =2", None)
    assert split_trailing_pairs("only=pairs a=b=c") == ("", {"only": "pairs", "a": "b=c"})


@settings(max_examples=150, deadline=None)
@given(st.floats(min_value=946_684_800, max_value=4_102_444_700, allow_nan=False))
def test_epoch_seconds_table_matches_datetime(value: float) -> None:
    """Float epoch seconds give the same text as rounding to ms and formatting."""
    millis = round(value * 1000)
    expected = datetime.fromtimestamp(millis // 1000, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"
    # a clock in 2100 puts the whole generated range inside "at most a year ahead"
    assert TimestampNormalizer(clock=lambda: 4_102_444_800.0).from_epoch(value) == expected


def test_epoch_magnitudes_and_out_of_range() -> None:
    """ms/us/ns integers scale down; implausible or non-finite values are impossible
    times (``IMPOSSIBLE``, the caller keeps the value and counts it)."""
    stamps = TimestampNormalizer()
    assert stamps.from_epoch(1751797800123) == "2025-07-06T10:30:00.123Z"
    assert stamps.from_epoch(1751797800123456) == "2025-07-06T10:30:00.123Z"
    assert stamps.from_epoch(1751797800123456789) == "2025-07-06T10:30:00.123Z"
    for value in (5, -1751797800.5, float("nan"), float("inf"), 1e25, -1):
        assert stamps.from_epoch(value) == IMPOSSIBLE, value


def _reference_raw(data: bytes) -> str:
    """What ``raw`` holds for a line: NULs dropped, UTF-8 with replacement, ANSI
    escapes removed, trailing CRs cut, and a line of carriage-return updates (a progress
    bar) reduced to its last non-blank state without leading blanks (the documented slow
    path)."""
    text = data.replace(b"\x00", b"").decode("utf-8", "replace")
    text = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]",
                  "", text)
    text = text.rstrip("\r") if text.endswith("\r") else text
    if "\r" not in text:
        return text
    states = [state for state in text.split("\r") if state.strip()]
    return states[-1].lstrip(" ") if states else ""


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([b"2026-01-02T03:04:05Z INFO ", b"x", b" ", b"\x00", b"\r",
                                 b"\x1b[31m", b"\xff", "é".encode(), b"k=v", b"\t"]),
                min_size=1, max_size=10).map(b"".join))
def test_line_decode_fast_path_matches_the_reference(data: bytes) -> None:
    """Clean lines (no NUL/ESC/CR, valid UTF-8) and dirty ones end up with the same
    ``raw`` the reference cleaning gives."""
    parser = FileParser("/l/a.log", ParseSettings(), ParseCounts(), clock=lambda: 0.0,
                        runtime_format="plain")
    records = parser.feed([(0, b"2026-01-02T03:04:05Z INFO first"), (40, data)])
    records += parser.flush(force=True)
    expected = _reference_raw(data)
    assert records[0].raw == "2026-01-02T03:04:05Z INFO first"
    if expected and not expected.isspace() and expected[:1] not in (" ", "\t"):
        assert records[-1].raw == expected  # its own record
    else:
        assert len(records) == 1  # empty, or an indented continuation of the first


def test_json_line_ends_a_pending_traceback() -> None:
    """A '{' line skips the continuation rules: it always starts a new record."""
    parser = FileParser("/l/a.log", ParseSettings(), ParseCounts(), clock=lambda: 0.0)
    lines = [b"Traceback (most recent call last):", b'  File "x.py", line 1, in <module>',
             b'{"msg": "next", "level": "info"}']
    offsets = [0, 40, 80]
    records = parser.feed(list(zip(offsets, lines))) + parser.flush(force=True)
    assert [r["message"].count("\n") for r in records] == [1, 0]
    assert records[1]["message"] == "next"


def test_cri_whole_lines_pass_through_while_another_stream_holds_a_piece() -> None:
    """The 'F with nothing held' shortcut steps aside while any piece is held."""
    unwrapper = RuntimeUnwrapper("cri", 1000, Counter())
    stamp = b"2026-01-02T00:00:00.123456789Z "
    assert unwrapper.push(0, stamp + b"stdout F whole") == [(0, b"whole", "stdout",
                                                              stamp.decode().strip())]
    assert unwrapper.push(10, stamp + b"stdout P par") == []
    assert [i.data for i in unwrapper.push(20, stamp + b"stderr F other")] == [b"other"]
    done = unwrapper.push(30, stamp + b"stdout F t")
    assert [(i.offset, i.data, i.stream) for i in done] == [(10, b"part", "stdout")]
    assert not unwrapper.pending
