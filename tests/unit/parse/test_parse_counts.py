"""``ParseCounts.take`` between two feeds: what the parts of a file parser count (the line
parsers, the multi-line joiner, the runtime unwrapper hold the counters they were given)
still reaches the next ``take`` (the pipeline's metrics flush)."""

from __future__ import annotations

from shipper.parse import FileParser, ParseCounts
from shipper.parse.settings import MultilineSettings, ParseSettings


def test_counts_after_a_take_still_reach_the_next_take() -> None:
    counts = ParseCounts()
    settings = ParseSettings(multiline=MultilineSettings(max_lines=2))
    parser = FileParser("/logs/a.log", settings, counts, clock=lambda: 1.8e9)
    parser.feed([(0, b"{broken")])
    first = counts.take()
    assert first[1] == {"invalid_json": 1}
    parser.feed([(60, b"{broken again"), (80, b"ERROR x"), (90, b"  a"), (95, b"  b")])
    formats, errors = counts.take()
    assert errors == {"invalid_json": 1, "multiline_capped": 1}  # lost before
    assert formats == {"text": 3}  # the broken line, "ERROR x", the capped continuation
    assert counts.take() == ({}, {})
