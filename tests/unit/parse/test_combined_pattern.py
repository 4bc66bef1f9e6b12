"""The combined-log pattern's quoted fields (referer, user agent) are the alternation
``(?:[^"\\]|\\.)*`` unrolled for speed: both forms must match the same lines with the
same groups, escapes, stray quotes, backslashes and newlines included."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipper.kernels.pure_access import _COMBINED

#: the pattern as it was written before the unrolling (the reference)
_ALTERNATION = re.compile(
    r'(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+?)(?: (HTTP/[\d.]+))?" (\d{3}) (\d+|-)'
    r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?'
)
_HEAD = ('10.0.0.1 - - [06/Jul/2025:10:30:00 +0000] "GET /health HTTP/1.1" 200 2',
         '1.2.3.4 - bob [x] "POST /a" 500 -')
_PIECES = ['"', " ", '\\', '\\"', "\\\\", "a", "-", "kube-probe/1.29", "\n", "\t", "\u00e9",
           '" "', "x=1"]
_TAILS = st.lists(st.sampled_from(_PIECES), max_size=16).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_HEAD), _TAILS)
@example(_HEAD[0], ' "-" "kube-probe/1.29"')
@example(_HEAD[0], ' "a\\"b" "c\\\\" tail')  # escaped quote, escaped backslash
@example(_HEAD[0], ' "a\\\n" "b"')  # a backslash before a newline: no field
@example(_HEAD[0], ' "a" "b\\')  # a trailing backslash: no second field
def test_the_unrolled_pattern_matches_as_the_alternation(head: str, tail: str) -> None:
    """Same match or no match, same span and same groups, for generated tails."""
    line = head + tail
    got, expected = _COMBINED.match(line), _ALTERNATION.match(line)
    assert (got is None) == (expected is None)
    if got is not None and expected is not None:
        assert got.span() == expected.span()
        assert got.groups() == expected.groups()


def test_the_reference_is_the_pattern_that_was_replaced() -> None:
    """Only the two quoted fields changed (the reference is the pattern as it was)."""
    unrolled = _ALTERNATION.pattern.replace(r'"((?:[^"\\]|\\.)*)"',
                                            r'"([^"\\]*(?:\\.[^"\\]*)*)"')
    assert unrolled != _ALTERNATION.pattern
    assert _COMBINED.pattern == unrolled
