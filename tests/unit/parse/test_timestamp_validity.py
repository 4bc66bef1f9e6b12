"""Issue 11 item 14: no impossible timestamp is ever shipped as ``timestamp``, and no
possible one is refused. Rules and range: ``shipper/parse/instants.py`` (docs/records.md
"Timestamps"); the clock here is 2026-01-01T00:00:00Z, so the range ends 2027-01-02."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse.instants import FUTURE, IMPOSSIBLE, NUMBER_FLOOR
from shipper.parse.timestamps import TimestampNormalizer

NOW = 1767225600.0  # 2026-01-01T00:00:00Z
LATEST = datetime.fromtimestamp(NOW + FUTURE, UTC)
CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def stamps(zone: str = "UTC") -> TimestampNormalizer:
    return TimestampNormalizer(zone, clock=lambda: NOW)


def assert_possible(stamp: str) -> datetime:
    """``stamp`` is canonical, a real calendar instant, and inside the sane range."""
    assert CANONICAL.fullmatch(stamp), stamp
    moment = datetime.fromisoformat(stamp)
    assert datetime(1970, 1, 1, tzinfo=UTC) <= moment <= LATEST, stamp
    return moment


@pytest.mark.parametrize("value, expected", [
    ("2026-01-02T14:26:35.683Z", "2026-01-02T14:26:35.683Z"),
    ("2026-01-02T14:26:35Z", "2026-01-02T14:26:35.000Z"),
    ("2026-01-02 14:26:35,683", "2026-01-02T14:26:35.683Z"),
    ("2026-01-02T14:26:35.1234567891234Z", "2026-01-02T14:26:35.123Z"),
    ("2026-01-02T14:26Z", "2026-01-02T14:26:00.000Z"),  # ISO 8601 to the minute
    ("2026-01-02 14:26+01:00", "2026-01-02T13:26:00.000Z"),
    ("2026-01-02T14:26:35.683+14:00", "2026-01-02T00:26:35.683Z"),
    ("2026-01-02T14:26:35.683-14:00", "2026-01-03T04:26:35.683Z"),
    ("2024-02-29T10:00:00Z", "2024-02-29T10:00:00.000Z"),
    ("2000-02-29 10:00:00", "2000-02-29T10:00:00.000Z"),
    ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
    ("1970-01-01T00:30:00+00:30", "1970-01-01T00:00:00.000Z"),
    ("2027-01-01T23:59:59.999Z", "2027-01-01T23:59:59.999Z"),
    # 24:00:00 is the end of the day (ISO 8601), only with a zero fraction
    ("2026-01-02T24:00:00Z", "2026-01-03T00:00:00.000Z"),
    ("2025-12-31 24:00:00.000", "2026-01-01T00:00:00.000Z"),
    ("2026-02-28T24:00:00+01:00", "2026-02-28T23:00:00.000Z"),
    # leap seconds: 23:59:60 UTC on 30 June / 31 December, shipped as :59.999
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"),
    ("2015-06-30T23:59:60.5Z", "2015-06-30T23:59:59.999Z"),
    ("2016-12-31T18:59:60-05:00", "2016-12-31T23:59:59.999Z"),
    ("03/Jan/2026:10:10:29 +0100", "2026-01-03T09:10:29.000Z"),
    ("1767431444", "2026-01-03T09:10:44.000Z"),
    ("1767431444.5", "2026-01-03T09:10:44.500Z"),
    ("+1767431444", "2026-01-03T09:10:44.000Z"),
    ("1.767431444e9", "2026-01-03T09:10:44.000Z"),
    ("1767431444123456789", "2026-01-03T09:10:44.123Z"),
    (1767431444, "2026-01-03T09:10:44.000Z"),
    (1767431444.25, "2026-01-03T09:10:44.250Z"),
    (1767431444123, "2026-01-03T09:10:44.123Z"),
    (1767431444123456, "2026-01-03T09:10:44.123Z"),
    (1767431444123456789, "2026-01-03T09:10:44.123Z"),
    (NUMBER_FLOOR, "2000-01-01T00:00:00.000Z"),
])
def test_possible_timestamps_normalise(value: object, expected: str) -> None:
    """Every accepted spelling of a possible instant gives its canonical UTC text."""
    assert stamps().normalize(value) == expected


@pytest.mark.parametrize("value", [
    "2026-13-45T25:61:61Z",            # the example
    "2026-00-10T10:00:00Z", "2026-01-00T10:00:00Z", "2026-04-31T10:00:00Z",
    "2026-02-29T10:00:00Z", "2100-02-29T10:00:00Z",  # no 29 February
    "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
    "2030-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",  # more than a year ahead
    "10000-01-01T00:00:00Z", "+12026-01-01T00:00:00Z", "2026-1-2T3:04:05Z",
    "2026-01-02T25:00:00Z", "2026-01-02T23:60:00Z", "2026-01-02T24:00:01Z", "2026-01-02T10:61Z",
    "2026-01-02T24:00:00.5Z", "2026-01-02T24:01:00Z",
    "2026-01-02T10:00:60Z", "2016-12-30T23:59:60Z", "2016-12-31T23:59:60+01:00",
    "2026-01-02T10:00:00+14:01", "2026-01-02T10:00:00-15:00", "2026-01-02T10:00:00+05:60",
    "2026-01-02T10:00:00+9999",
    "45/Jan/2026:10:00:00 +0000", "03/Foo/2026:10:00:00 +0000",
    "03/Jan/2026:25:00:00 +0000", "03/Jan/2026:10:00:00 +2400",
    "-1", "-1767431444", "0", "12", "nan", "NaN", "-inf", "Infinity", "1e400", "9" * 5000,
    "946684799",  # 1999-12-31T23:59:59Z as a bare number: below the number floor
    -1, 0, 5, -1767431444.5, float("nan"), float("inf"), float("-inf"), 10**30, 1e25,
    4_102_444_800,  # 2100-01-01 in seconds: more than a year ahead
])
def test_impossible_timestamps_are_marked(value: object) -> None:
    """Shaped like a time, but no possible one: ``IMPOSSIBLE`` (never a stamp)."""
    assert stamps().normalize(value) == IMPOSSIBLE


def test_impossible_result_is_cached_and_stays_impossible() -> None:
    """The string cache and the last-good-second shortcut never let a bad value through,
    even right after a good stamp of the same date."""
    normalizer = stamps()
    assert normalizer.from_string("2026-01-02T10:00:00.123Z") == "2026-01-02T10:00:00.123Z"
    for _ in range(2):
        assert normalizer.from_string("2026-01-02T10:00:00.1x3Z") == IMPOSSIBLE
        assert normalizer.from_string("2026-01-02T10:00:61.123Z") == IMPOSSIBLE
        assert normalizer.from_string("2026-01-02T10:00:00.\u0661\u0662\u0663Z") == IMPOSSIBLE
    assert normalizer.from_string("2026-01-02T10:00:00.456789Z") == "2026-01-02T10:00:00.456Z"


@pytest.mark.parametrize("text", ["-000000000000000000.000Z", "-1234567890123456789.123456Z",
                                  "\uffff000000000000000.000Z"])
def test_the_shortcut_takes_nothing_before_a_first_good_second(text: str) -> None:
    """A fresh normalizer has no validated second: its shortcut matches no string."""
    assert not stamps().from_string(text)


def test_zone_less_times_in_a_default_zone_are_checked_too() -> None:
    """With a non-UTC default zone the same rules apply (and 24:00/leap seconds too)."""
    berlin = stamps("Europe/Berlin")
    assert berlin.normalize("2026-07-02 12:00:00") == "2026-07-02T10:00:00.000Z"
    assert berlin.normalize("2026-02-29 12:00:00") == IMPOSSIBLE
    assert berlin.normalize("2026-07-02 24:00:00") == "2026-07-02T22:00:00.000Z"
    assert berlin.normalize("2017-01-01 00:59:60") == "2016-12-31T23:59:59.999Z"
    assert berlin.normalize("2017-01-01 00:58:60") == IMPOSSIBLE


def test_klog_dates_without_a_year() -> None:
    """This year's date, else last year's when that one is impossible (29 February) or
    more than a day ahead of the clock (a December line read in January)."""
    january = stamps()
    assert january.from_yearless("12", "31", "23:59:59", "5") == "2025-12-31T23:59:59.500Z"
    assert january.from_yearless("01", "01", "10:00:00", None) == "2026-01-01T10:00:00.000Z"
    assert january.from_yearless("02", "29", "10:00:00", None) == IMPOSSIBLE  # 2026, 2025
    assert january.from_yearless("13", "01", "10:00:00", None) == IMPOSSIBLE
    march_2029 = TimestampNormalizer(clock=lambda: 1867651200.0)  # 2029-03-08
    assert march_2029.from_yearless("02", "29", "10:00:00", None) == "2028-02-29T10:00:00.000Z"


def test_the_range_follows_the_clock() -> None:
    """A year after the clock is the limit, measured when the value is read."""
    now = [NOW]
    normalizer = TimestampNormalizer(clock=lambda: now[0])
    assert normalizer.normalize("2027-06-01T00:00:00Z") == IMPOSSIBLE
    assert normalizer.normalize(1811808000) == IMPOSSIBLE  # 2027-06-01 as seconds
    now[0] += 200 * 86400
    assert normalizer.normalize("2027-06-01T00:00:01Z") == "2027-06-01T00:00:01.000Z"
    assert normalizer.normalize(1811808001) == "2027-06-01T00:00:01.000Z"


# --- properties -----------------------------------------------------------------------

_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=5)
_SEPARATORS = st.sampled_from(["-", "/", ":", "T", " ", ".", ",", "+", "Z", "x"])
_ZONES = st.sampled_from(["", "Z", "z", " UTC", "+00:00", "-0000", "+14:00", "-14:00",
                          "+14:01", "+05:30", "-0930", "+99:99", "+2400", " GMT"])


@st.composite
def time_shaped_strings(draw: st.DrawFn) -> str:
    """Strings shaped like ISO stamps with random (often impossible) field values."""
    year = draw(st.integers(0, 12000))
    fields = [draw(st.integers(0, 99)) for _ in range(5)]
    frac = draw(st.sampled_from(["", ".", ","])) + draw(st.text("0123456789", max_size=12))
    sep = draw(st.sampled_from(["T", " "]))
    month, day, hour, minute, second = fields
    text = (f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}"
            f"{frac}{draw(_ZONES)}")
    return text


@st.composite
def noisy_strings(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(_DIGITS, _SEPARATORS), max_size=14))
    return "".join(parts)


_ANY_VALUE = st.one_of(
    time_shaped_strings(), noisy_strings(), st.text(max_size=30),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.integers().map(str), st.floats().map(repr),
)


@settings(max_examples=3000, deadline=None)
@given(_ANY_VALUE)
def test_nothing_impossible_ever_comes_out(value: object) -> None:
    """Whatever the value, the result is ``None``, ``IMPOSSIBLE`` or a possible stamp."""
    normalizer = stamps()
    for _ in range(2):  # the second time through the caches and shortcuts
        result = normalizer.normalize(value)
        if result:
            assert_possible(result)


_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timedelta(minutes=minutes))
_INSTANTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2026, 12, 30))


def _zone_text(offset: timedelta, style: int) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if minutes == 0 and style in (0, 3):
        return "Z" if style == 0 else ""  # no zone: the default zone, UTC
    return f"{sign}{hours:02d}:{mins:02d}" if style < 2 else f"{sign}{hours:02d}{mins:02d}"


@settings(max_examples=3000, deadline=None)
@given(_INSTANTS, _OFFSETS, st.integers(0, 9), st.sampled_from(["T", " "]),
       st.sampled_from([".", ","]), st.integers(0, 3))
def test_every_valid_iso_stamp_is_accepted(moment: datetime, offset: timedelta,
                                           digits: int, sep: str, dot: str,
                                           style: int) -> None:
    """Any real instant in range, written in any accepted ISO spelling and offset within
    +-14:00, comes out as that instant (truncated to milliseconds)."""
    local = moment.replace(tzinfo=timezone(offset))
    frac = f"{local.microsecond:06d}000"[:digits]
    text = local.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + (dot + frac if digits else "")
    text += _zone_text(offset, style)
    utc = local.astimezone(UTC)
    millis = int(frac[:3].ljust(3, "0")) if digits else 0
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
    assert stamps().normalize(text) == expected, text


@settings(max_examples=2000, deadline=None)
@given(st.integers(NUMBER_FLOOR * 1000, int(NOW + FUTURE) * 1000),
       st.sampled_from([1, 1000, 1_000_000]), st.booleans())
def test_every_valid_epoch_is_accepted(millis: int, scale: int, as_text: bool) -> None:
    """Epoch milliseconds/microseconds/nanoseconds from 2000 to a year ahead, as numbers
    or digit strings, give their instant."""
    value = millis * scale
    expected = datetime.fromtimestamp(millis // 1000, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"
    assert stamps().normalize(str(value) if as_text else value) == expected
