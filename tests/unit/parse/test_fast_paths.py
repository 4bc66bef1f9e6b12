"""The hot-path shortcuts give exactly what the general code gives.

Each fast path (str-method pair splitting, the epoch table, the line decode shortcut) is
checked against the slower reference it replaces, on generated inputs that hit the
edges: odd white space, keys with ``.-/@`` or non-ASCII letters, ``=`` inside values.
"""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse.logfmt import _split_quoted, split_trailing_pairs
from shipper.parse.timestamps import TimestampNormalizer

_WORD_CHARS = "ab_Z9@.-/:=é\u0416"
_SPACES = [" ", "  ", "\t", "\x1c", "\xa0", "\u2003", " \n "]
words = st.text(alphabet=_WORD_CHARS, min_size=0, max_size=8)
messages = st.lists(st.tuples(words, st.sampled_from(_SPACES)), max_size=8).map(
    lambda parts: "".join(word + space for word, space in parts))


@settings(max_examples=400, deadline=None)
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


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=946_684_800, max_value=4_102_444_700, allow_nan=False))
def test_epoch_seconds_table_matches_datetime(value: float) -> None:
    """Float epoch seconds give the same text as rounding to ms and formatting."""
    millis = round(value * 1000)
    expected = datetime.fromtimestamp(millis // 1000, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"
    assert TimestampNormalizer().from_epoch(value) == expected


def test_epoch_magnitudes_and_out_of_range() -> None:
    """ms/us/ns integers scale down; implausible or non-finite values are not times."""
    stamps = TimestampNormalizer()
    assert stamps.from_epoch(1751797800123) == "2025-07-06T10:30:00.123Z"
    assert stamps.from_epoch(1751797800123456) == "2025-07-06T10:30:00.123Z"
    assert stamps.from_epoch(1751797800123456789) == "2025-07-06T10:30:00.123Z"
    assert stamps.from_epoch(5) is None
    assert stamps.from_epoch(-1751797800.5) is None
    assert stamps.from_epoch(float("nan")) is None
    assert stamps.from_epoch(1e25) is None
