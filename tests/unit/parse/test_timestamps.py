"""TimestampNormalizer: every accepted spelling becomes ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""

from __future__ import annotations

import pytest

from shipper.parse.access import spaced_time
from shipper.parse.instants import IMPOSSIBLE
from shipper.parse.timestamps import TimestampNormalizer, format_epoch

UTC = TimestampNormalizer()


@pytest.mark.parametrize("value, expected", [
    ("2026-01-02T14:26:35.683Z", "2026-01-02T14:26:35.683Z"),
    ("2026-01-02T19:56:59.817000123Z", "2026-01-02T19:56:59.817Z"),
    ("2026-01-02T14:26:35Z", "2026-01-02T14:26:35.000Z"),
    ("2026-01-02 16:33:21,370", "2026-01-02T16:33:21.370Z"),
    ("2026-01-02 16:33:21.5", "2026-01-02T16:33:21.500Z"),
    ("2026/01/02 16:33:21", "2026-01-02T16:33:21.000Z"),
    ("2026-01-02T10:00:00.123+02:00", "2026-01-02T08:00:00.123Z"),
    ("2026-01-02T01:00:00-0130", "2026-01-02T02:30:00.000Z"),
    ("2026-01-02T10:00:00+00:00", "2026-01-02T10:00:00.000Z"),
    ("03/Jan/2026:09:10:29 +0000", "2026-01-03T09:10:29.000Z"),
    ("03/Jan/2026:10:10:29 +0100", "2026-01-03T09:10:29.000Z"),
    ("1767431444", "2026-01-03T09:10:44.000Z"),
    ("1767431444.668", "2026-01-03T09:10:44.668Z"),
    ("1767431444668", "2026-01-03T09:10:44.668Z"),
    ("1767431444668123", "2026-01-03T09:10:44.668Z"),
    ("1767431444668123456", "2026-01-03T09:10:44.668Z"),
])
def test_strings_normalise(value: str, expected: str) -> None:
    assert UTC.normalize(value) == expected


@pytest.mark.parametrize("value, expected", [
    (1767431424.864, "2026-01-03T09:10:24.864Z"),
    (1767431424, "2026-01-03T09:10:24.000Z"),
    (1767431424864, "2026-01-03T09:10:24.864Z"),
    (1767431424864000000, "2026-01-03T09:10:24.864Z"),
])
def test_epoch_numbers_normalise_by_magnitude(value: float, expected: str) -> None:
    assert UTC.normalize(value) == expected


@pytest.mark.parametrize("value", ["", "soon", "12ms", True, None, {"a": 1}, "2026-01-02"])
def test_non_timestamps_give_none(value: object) -> None:
    """Values that are not meant as a time at all: ``None`` (not counted anywhere)."""
    assert UTC.normalize(value) is None


@pytest.mark.parametrize("value", ["12", 5, 10**30, "-1767431444", -1, "nan", "Infinity"])
def test_numbers_that_cannot_be_times_are_impossible(value: object) -> None:
    """Numbers (and number strings) under a time key that are no plausible epoch:
    ``IMPOSSIBLE`` (the caller keeps the value and counts a bad timestamp)."""
    assert UTC.normalize(value) == IMPOSSIBLE


def test_zone_less_times_use_the_default_zone() -> None:
    berlin = TimestampNormalizer("Europe/Berlin")
    assert berlin.normalize("2026-07-02 12:00:00") == "2026-07-02T10:00:00.000Z"
    assert berlin.normalize("2026-07-02T12:00:00Z") == "2026-07-02T12:00:00.000Z"


def test_results_are_cached_and_cache_is_bounded() -> None:
    stamps = TimestampNormalizer()
    for second in range(5000):
        stamps.normalize(f"2026-01-02 10:00:{second % 60:02d},{second % 1000:03d}")
    assert len(stamps._cache) <= 4096
    assert stamps.normalize("2026-01-02 10:00:01,001") == "2026-01-02T10:00:01.001Z"


def test_format_epoch_of_the_clock() -> None:
    assert format_epoch(1767225600.25) == "2026-01-01T00:00:00.250Z"


def test_klog_lines_have_no_year_so_the_current_utc_year_is_assumed() -> None:
    """A klog date of this year up to a day ahead of the clock is this year's."""
    from shipper.parse import FileParser, ParseCounts
    from shipper.parse.settings import ParseSettings

    december = 1796083200.0  # 2026-12-01T00:00:00Z
    parser = FileParser("/l/k.log", ParseSettings(), ParseCounts(), clock=lambda: december)
    records = parser.feed([(0, b"I1102 10:00:05.123456 1 c.go:1] hello"),
                           (40, b"I1201 23:00:00.000001 1 c.go:1] just ahead")])
    first, second = records + parser.flush(force=True)  # text is held: it may continue
    assert first["timestamp"] == "2026-11-02T10:00:05.123Z"
    assert second["timestamp"] == "2026-12-01T23:00:00.000Z"


def test_spaced_server_time_is_werkzeug_and_django_time() -> None:
    """``02/Jan/2026 10:00:00`` (access.spaced_time): the default zone, impossible days."""
    assert spaced_time("02/Jan/2026 10:00:00", UTC) == "2026-01-02T10:00:00.000Z"
    berlin = TimestampNormalizer("Europe/Berlin")
    assert spaced_time("02/Jul/2026 10:00:00", berlin) == "2026-07-02T08:00:00.000Z"
    assert spaced_time("30/Feb/2026 10:00:00", UTC) == IMPOSSIBLE
    assert spaced_time("02/Foo/2026 10:00:00", UTC) == IMPOSSIBLE


def test_month_day_short_year_is_rich_time() -> None:
    """``01/02/26 10:00:00`` (rich's ``%x %X``): month first, 20yy, the default zone."""
    assert UTC.from_month_day_short_year("01", "02", "26", "10:00:00") == \
        "2026-01-02T10:00:00.000Z"
    tokyo = TimestampNormalizer("Asia/Tokyo")
    assert tokyo.from_month_day_short_year("01", "02", "26", "10:00:00") == \
        "2026-01-02T01:00:00.000Z"
    assert UTC.from_month_day_short_year("13", "02", "26", "10:00:00") == IMPOSSIBLE


def test_time_of_day_takes_todays_date_in_the_default_zone() -> None:
    """logback's ``HH:mm:ss.SSS``: today's date, in the default zone (Berlin: +01:00)."""
    noon = 1767355200.0  # 2026-01-02T12:00:00Z
    utc = TimestampNormalizer("UTC", clock=lambda: noon)
    assert utc.from_time_of_day("10:00:00", "123") == "2026-01-02T10:00:00.123Z"
    berlin = TimestampNormalizer("Europe/Berlin", clock=lambda: noon)
    assert berlin.from_time_of_day("10:00:00", "5") == "2026-01-02T09:00:00.500Z"


def test_time_of_day_ahead_of_the_clock_is_yesterdays() -> None:
    """A time more than five minutes ahead is yesterday's (a 23:59 line read at 00:01);
    up to five minutes ahead (clock skew) it stays today's."""
    after_midnight = 1767312060.0  # 2026-01-02T00:01:00Z
    stamps = TimestampNormalizer("UTC", clock=lambda: after_midnight)
    assert stamps.from_time_of_day("23:59:59", "900") == "2026-01-01T23:59:59.900Z"
    assert stamps.from_time_of_day("00:05:00", None) == "2026-01-02T00:05:00.000Z"
    assert stamps.from_time_of_day("00:06:01", None) == "2026-01-01T00:06:01.000Z"


def test_impossible_time_of_day_is_impossible() -> None:
    """``25:61:00`` is no time on any day."""
    stamps = TimestampNormalizer("UTC", clock=lambda: 1767355200.0)
    assert stamps.from_time_of_day("25:61:00", None) == IMPOSSIBLE
