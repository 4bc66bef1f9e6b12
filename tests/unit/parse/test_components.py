"""Building blocks: levels, key=value splitting, emoji markers, multi-line rules and the
runtime detector."""

from __future__ import annotations

from collections import Counter

import pytest

from shipper.parse.levels import level_word, normalize_level
from shipper.parse.logfmt import parse_logfmt, split_trailing_pairs
from shipper.parse.markers import leading_marker
from shipper.parse.multiline import GO_PANIC, NONE, TRACEBACK, continues, start_state
from shipper.parse.runtime import RuntimeUnwrapper, detect_runtime


@pytest.mark.parametrize("word, level", [
    ("WARN", "warning"), ("warning", "warning"), ("FATAL", "critical"), ("PANIC", "critical"),
    ("DPANIC", "critical"), ("CRITICAL", "critical"), ("NOTICE", "info"), ("ERR", "error"),
    ("TRACE", "trace"), ("Debug", "debug"), (" info ", "info"), (30, "info"), (60, "critical"),
    (40.0, "warning"),
])
def test_levels_normalise(word: object, level: str) -> None:
    assert normalize_level(word) == level


@pytest.mark.parametrize("word", ["verbose-ish", 35, True, None, "", "GET"])
def test_unknown_levels_give_none(word: object) -> None:
    assert normalize_level(word) is None


def test_level_words_in_brackets_and_with_colons() -> None:
    assert level_word("[ERROR]") == "error"
    assert level_word("WARN:") == "warning"
    assert level_word("<info>") == "info"
    assert level_word("[main]") is None


def test_trailing_pairs_move_to_attributes_in_order() -> None:
    message, pairs = split_trailing_pairs('Done  a=1 b="x y" c=')
    assert message == "Done" and pairs == {"a": "1", "b": "x y", "c": ""}
    assert list(pairs) == ["a", "b", "c"]


@pytest.mark.parametrize("message", [
    "no pairs here", "a=1 then words", "url https://x/?q=1", 'broken b="unterminated',
    "Retrying (Retry(total=2, connect=None)) after",
])
def test_messages_without_trailing_pairs_are_untouched(message: str) -> None:
    assert split_trailing_pairs(message) == (message, None)


def test_logfmt_lines_parse_fully_or_not_at_all() -> None:
    assert parse_logfmt('level=info msg="a b" n=1') == {"level": "info", "msg": "a b", "n": "1"}
    assert parse_logfmt("level=info and words") is None
    assert parse_logfmt("plain words") is None


def test_leading_markers() -> None:
    assert leading_marker("\u26a0\ufe0f  careful") == ("warning", "careful")
    assert leading_marker("\u2705 ok") == ("info", "ok")
    assert leading_marker("plain") == (None, "plain")
    assert leading_marker("\u00e9t\u00e9") == (None, "\u00e9t\u00e9")


def test_block_starts() -> None:
    assert start_state("Traceback (most recent call last):") == ("error", TRACEBACK)
    assert start_state("panic: oops") == ("critical", GO_PANIC)
    assert start_state("fatal error: all goroutines are asleep") == ("critical", GO_PANIC)
    assert start_state('Exception in thread "main" java.lang.Error') == ("error", NONE)
    assert start_state("INFO fine") == (None, NONE)


def test_continuation_rules() -> None:
    assert continues("  File \"x.py\", line 1", NONE) == (True, NONE)
    assert continues("\tat a.B.c(B.java:1)", NONE) == (True, NONE)
    assert continues("Caused by: java.io.IOException: x", NONE) == (True, NONE)
    assert continues("java.lang.IllegalStateException: boom", NONE) == (True, NONE)
    assert continues("ValueError: bad", TRACEBACK) == (True, NONE)
    assert continues("2026-01-02 10:00:00 INFO next", TRACEBACK) == (False, NONE)
    assert continues("goroutine 1 [running]:", GO_PANIC) == (True, GO_PANIC)
    assert continues("main.main()", GO_PANIC) == (True, GO_PANIC)
    assert continues('{"level": "info"}', GO_PANIC) == (False, NONE)
    assert continues("INFO next record", NONE) == (False, NONE)


def test_detect_runtime_from_first_line() -> None:
    assert detect_runtime(b"2026-01-02T19:56:59.817000123Z stdout F x") == "cri"
    assert detect_runtime(b"2026-01-02T19:56:59+02:00 stderr P x") == "cri"
    assert detect_runtime(b'{"log":"x\\n","stream":"stdout","time":"2026-01-02T00:00:00Z"}') == "docker"
    assert detect_runtime(b'{"log":"x","stream"') == "plain"
    assert detect_runtime(b'{"log": {"nested": 1}}') == "plain"
    assert detect_runtime(b"2026-01-02 10:00:00 INFO x") == "plain"


def test_unwrapper_drain_returns_partials_per_stream() -> None:
    unwrapper = RuntimeUnwrapper("cri", 1000, Counter())
    assert unwrapper.push(0, b"2026-01-02T00:00:00Z stdout P a") == []
    assert unwrapper.push(10, b"2026-01-02T00:00:00Z stderr P b") == []
    assert unwrapper.push(20, b"garbage") is None
    drained = unwrapper.drain()
    assert [(i.stream, i.data, i.offset) for i in drained] == [("stdout", b"a", 0),
                                                                ("stderr", b"b", 10)]
    assert not unwrapper.pending
