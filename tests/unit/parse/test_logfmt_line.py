"""``parse_logfmt`` (one whole-line match plus one ``findall``) gives exactly what the
pair-by-pair scan it replaced gave, for any line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.kernels.pure_logfmt import _LOGFMT_START, _PAIR, _unquote
from shipper.parse.logfmt import parse_logfmt


def _pair_by_pair(text: str) -> dict[str, str] | None:
    """The reference: match a pair, skip spaces and tabs, demand one between pairs."""
    if _LOGFMT_START.match(text) is None:
        return None
    pairs: dict[str, str] = {}
    position, length = 0, len(text)
    while position < length:
        match = _PAIR.match(text, position)
        if match is None:
            return None
        pairs[match.group(1)] = _unquote(match.group(2))
        position = match.end()
        while position < length and text[position] in " \t":
            position += 1
        if position == match.end() and position < length:
            return None
    return pairs


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet='ab=_ "\\\t.\r\n1-@/é', max_size=24))
def test_same_pairs_as_the_pair_by_pair_scan(text: str) -> None:
    """Any line over logfmt's own characters: the same pairs, or ``None`` for both."""
    assert parse_logfmt(text) == _pair_by_pair(text)


def test_usual_lines() -> None:
    """Quoted values with escapes, tabs, trailing spaces; a missing separator is no line."""
    assert parse_logfmt('level=info msg="a \\"b\\" c"\tn=1  ') == {
        "level": "info", "msg": 'a "b" c', "n": "1"}
    assert parse_logfmt('a=1b=2 c=3') == {"a": "1b=2", "c": "3"}
    assert parse_logfmt('a="x"b=2') is None
    assert parse_logfmt(' a=1') is None
