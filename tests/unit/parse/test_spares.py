"""A parser handed on from a file let go to a new file (``SpareParsers``,
``FileParser.restart``) gives exactly the records a new parser gives, whatever files came
before it; a parser still holding something of its file is never handed on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse import FileParser, ParseCounts
from shipper.parse.multiline import StartJoiner
from shipper.parse.runtime import RuntimeFormat, runtime_format_for
from shipper.parse.settings import ParseSettings
from shipper.parse.spares import KEEP, SpareParsers

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "parse"
NOW = 1767225600.0
#: every golden case's lines as one file, with its runtime format
FILES = [(case["lines"], case.get("runtime", "auto"))
         for path in sorted(GOLDEN.glob("*.jsonl"))
         for case in map(orjson.loads, path.read_text(encoding="utf-8").splitlines())]
RICH_DATED = "[01/03/26 09:10:29] INFO     worker started                    main.py:12"
RICH_REPEAT = "                    INFO     still working                     main.py:13"
#: a path's runtime format and start pattern by its name: ``f1.cri.log``, ``f2.start.log``
SETTINGS = ParseSettings.model_validate({
    "multiline": {"start": {"*.start.log": r"^\d{4}-"}},
    "formats": {"*.cri.log": "cri", "*.docker.log": "docker"}})


def _lines(texts: list[str]) -> list[tuple[int, bytes]]:
    out, offset = [], 0
    for text in texts:
        raw = text.encode("utf-8")
        out.append((offset, raw))
        offset += len(raw) + 1
    return out


def _make(counts: ParseCounts) -> Callable[[str, RuntimeFormat], FileParser]:
    def make(path: str, runtime: RuntimeFormat) -> FileParser:
        return FileParser(path, SETTINGS, counts, clock=lambda: NOW, runtime_format=runtime)
    return make


def _new(counts: ParseCounts, path: str) -> FileParser:
    """A new parser for ``path``, as the processor makes one."""
    return _make(counts)(path, runtime_format_for(path, SETTINGS.formats))


def _spares(counts: ParseCounts, keep: int = KEEP) -> SpareParsers:
    return SpareParsers(_make(counts), SETTINGS.formats, keep)


def _read(parser: FileParser, texts: list[str], flush: bool) -> list[Any]:
    records = parser.feed(_lines(texts))
    return records + parser.flush(force=True) if flush else records


def _path(i: int, runtime: str, start: bool) -> str:
    return f"/logs/f{i}.start.log" if start else f"/logs/f{i}.{runtime}.log"


files = st.lists(st.tuples(st.sampled_from(range(len(FILES))), st.booleans(), st.booleans()),
                 min_size=2, max_size=8)


@settings(max_examples=150, deadline=None)
@given(files)
def test_handed_on_parsers_give_what_new_ones_give(picks: list[tuple[int, bool, bool]]) -> None:
    """Any sequence of golden files (any runtime, some with a start pattern, some let go
    without their held record flushed): the records through spares equal a new parser's
    for every file, counts included."""
    fresh_counts, spare_counts = ParseCounts(), ParseCounts()
    spares = _spares(spare_counts)
    for i, (pick, start, flush) in enumerate(picks):
        texts, runtime = FILES[pick]
        path = _path(i, runtime, start)
        expected = _read(_new(fresh_counts, path), texts, flush)
        parser = spares.parser(path)
        assert _read(parser, texts, flush) == expected, (path, texts)
        spares.spare(parser)
    assert spare_counts.formats == fresh_counts.formats
    assert spare_counts.errors == fresh_counts.errors


def test_a_restarted_parser_forgets_rich_last_time() -> None:
    """rich's blank time column takes the last dated line's time of the same file only:
    after a restart, a file that starts with one has no time of another file's."""
    counts = ParseCounts()
    parser = _new(counts, "/logs/a.log")
    first = _read(parser, [RICH_DATED, RICH_REPEAT], True)
    assert first[1]["timestamp"] == first[0]["timestamp"]
    assert parser.restart("/logs/b.log")
    again = _read(parser, [RICH_REPEAT], True)
    assert again == _read(_new(ParseCounts(), "/logs/b.log"), [RICH_REPEAT], True)
    assert again[0]["timestamp"] != first[0]["timestamp"]
    assert again[0]["file"]["path"] == "/logs/b.log"


def test_a_parser_holding_a_record_is_not_spared() -> None:
    """A file let go with a traceback still held (not flushed: read again after a
    restart) keeps its parser out of the spares, and restart refuses it."""
    counts = ParseCounts()
    spares = _spares(counts)
    parser = spares.parser("/logs/a.log")
    _read(parser, ["Traceback (most recent call last):", '  File "x.py", line 1'], False)
    assert parser.pending and not parser.idle
    assert not parser.restart("/logs/b.log")
    spares.spare(parser)
    assert len(spares) == 0
    assert spares.parser("/logs/b.log") is not parser


def test_a_spare_refused_for_one_file_stays_for_the_next() -> None:
    """A start pattern on the new file's path, or another runtime format, makes a new
    parser; the spare stays and serves the next plain file."""
    spares = _spares(ParseCounts())
    parser = spares.parser("/logs/a.log")
    _read(parser, ['{"msg": "hi"}'], True)
    spares.spare(parser)
    assert spares.parser("/logs/b.start.log") is not parser
    assert spares.parser("/logs/c.cri.log") is not parser
    assert len(spares) == 1
    assert spares.parser("/logs/d.log") is parser
    assert len(spares) == 0


def test_a_parser_with_a_start_pattern_is_never_spared() -> None:
    """The start pattern is the file's (its joiner is built for it): such a parser is
    not idle for another file even when it holds nothing."""
    spares = _spares(ParseCounts())
    parser = spares.parser("/logs/a.start.log")
    _read(parser, ["2026-01-01 one"], True)
    assert not parser.pending and not parser.idle
    spares.spare(parser)
    assert len(spares) == 0


def test_spares_are_capped() -> None:
    """At most ``keep`` idle parsers are kept."""
    counts = ParseCounts()
    spares = _spares(counts, keep=2)
    parsers = [spares.parser(f"/logs/{i}.log") for i in range(4)]
    for parser in parsers:
        spares.spare(parser)
    assert len(spares) == 2


def test_a_key_block_cut_by_the_last_flush_does_not_go_on_in_the_next_file() -> None:
    """A file let go just after a flush cut a PEM block (the joiner may resume that block
    with the next key lines): the next file's key-like lines are its own records, as with
    a new parser, not the continuation of the other file's key."""
    key = ["-----BEGIN RSA PRIVATE KEY-----", *["QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"] * 3]
    parser = _new(ParseCounts(), "/logs/a.log")
    first = _read(parser, key, True)
    assert len(first) == 1 and parser.idle
    assert parser.restart("/logs/b.log")
    tail = ["QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "-----END RSA PRIVATE KEY-----"]
    assert _read(parser, tail, True) == _read(_new(ParseCounts(), "/logs/b.log"),
                                              tail, True)


CRI = ['2026-01-02T19:56:59.000000001Z stdout F {"msg": "in cri", "level": "warn"}',
       "2026-01-02T19:57:00.000000001Z stderr F plain text from stderr"]
DOCKER = ['{"log":"from docker\\n","stream":"stdout","time":"2026-01-02T19:56:59.000000001Z"}']
PLAIN = ['{"msg": "plain json"}', "2026-01-02 19:56:59 INFO plain text"]


@pytest.mark.parametrize(("before", "after"), [
    (PLAIN, CRI), (CRI, PLAIN), (DOCKER, PLAIN), (PLAIN, DOCKER), (CRI, DOCKER)],
    ids=["plain then cri", "cri then plain", "docker then plain", "plain then docker",
         "cri then docker"])
def test_the_runtime_is_detected_again_for_the_next_file(before: list[str],
                                                         after: list[str]) -> None:
    """``auto`` files: what the first file's lines told (CRI, docker, plain) is forgotten;
    the next file's own first line tells, as for a new parser."""
    spares = _spares(ParseCounts())
    parser = spares.parser("/logs/a.log")
    assert _read(parser, before, True) == _read(_new(ParseCounts(), "/logs/a.log"), before, True)
    spares.spare(parser)
    again = spares.parser("/logs/b.log")
    assert again is parser
    assert _read(again, after, True) == _read(_new(ParseCounts(), "/logs/b.log"), after, True)


def test_a_partial_cri_line_keeps_the_parser_out_of_the_spares() -> None:
    """A CRI ``P`` piece still waiting for its ``F`` (file let go without a flush: read
    again after a restart) is held: the parser is not idle and not handed on."""
    spares = _spares(ParseCounts())
    parser = spares.parser("/logs/a.log")
    assert _read(parser, ["2026-01-02T19:56:59.000000001Z stdout P half a li"], False) == []
    assert parser.pending and not parser.idle
    spares.spare(parser)
    assert len(spares) == 0


def test_a_start_joiner_restarted_has_not_seen_its_pattern() -> None:
    """A start-pattern joiner's ``restart`` forgets that the pattern matched (such
    parsers are never handed on; the joiner itself starts over all the same)."""
    joiner = StartJoiner(lambda text: text.startswith("2026"), 10, 1000, ParseCounts().errors)
    joiner.seen = True
    joiner.restart()
    assert not joiner.seen and joiner.pending is None
