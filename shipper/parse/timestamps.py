"""Timestamp normalisation to RFC 3339 UTC with millisecond precision (``...mmmZ``).

Accepts ISO 8601 with ``T`` or a space, ``.``/``,`` fractions, ``Z``/offset/no zone (no zone
means the configured default zone), epoch seconds/milliseconds/microseconds/nanoseconds as
numbers or number strings, Apache's ``03/Jan/2026:09:10:29 +0000`` and klog's year-less
``mmdd hh:mm:ss``. Every result is checked against :mod:`shipper.parse.instants` (calendar
and sane range): an impossible value gives ``IMPOSSIBLE``, a non-timestamp ``None``.

Hot path: the last validated UTC second is remembered, so a canonical string of that
second (``YYYY-MM-DDTHH:MM:SS.mmm[...]Z``) passes with a compare and two ``str`` checks,
and epoch numbers of the last second reuse its formatted prefix; other strings are cached
in a bounded dict.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from shipper.kernels.pure import ISO_PATTERN as ISO_PATTERN  # the prefix kernel's reference
from shipper.kernels.pure_text import UTC_ZONES as _UTC_ZONES  # the text kernel's too
from shipper.parse.instants import (
    FLOOR,
    FUTURE,
    IMPOSSIBLE,
    MILLIS_TAILS,
    NUMBER_FLOOR,
    NUMBER_FLOOR_MS,
    format_instant,
    instant,
    number_text,
    offset_minutes,
    time_shaped,
)

_ISO = re.compile(ISO_PATTERN + r"$", re.ASCII)
#: ISO 8601 to the minute (no seconds), accepted as a value only, not as a line prefix
_ISO_MINUTES = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(Z|z|[+-]\d{2}:?\d{2})?$",
                          re.ASCII)
_APACHE = re.compile(r"(\d{2})/(\w{3})/(\d{4}):(\d{2}:\d{2}:\d{2})(?:\.(\d+))? ?([+-]\d{4})?$",
                     re.ASCII)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_CACHE_MAX = 4096
_CACHE_KEY_MAX = 64  # longer strings are never timestamps worth remembering
_PARTS_MAX = 256  # split stamps remembered per file (from_iso_parts)
_YEAR_REFRESH = 60.0
#: how far ahead of the clock a date-less time may be before it is taken as yesterday's
TIME_OF_DAY_AHEAD = 300.0


class TimestampNormalizer:
    """Turns timestamp values into canonical strings. The processor's file parsers share one:
    it holds caches and clock-derived values only, no file's state (a result never depends on
    which file asked before)."""

    # slots: the ``JsonLines`` kernel reads the last seconds through their members
    __slots__ = ("utc_default", "_zone", "_clock", "_cache", "_parts", "_good_date",
                 "_good_clock", "good_second", "_epoch_second", "_epoch_prefix",
                 "_year_until", "_year", "_soon", "_tod_until", "_tod_today",
                 "_tod_yesterday", "_tod_limit")

    def __init__(self, default_timezone: str = "UTC",
                 clock: Callable[[], float] = time.time) -> None:
        self.utc_default = default_timezone in ("UTC", "Etc/UTC", "GMT", "Z")
        self._zone: tzinfo = UTC if self.utc_default else ZoneInfo(default_timezone)
        self._clock = clock
        self._cache: dict[str, str | None] = {}
        self._parts: dict[tuple[str, str, str | None, str | None], str] = {}
        # the last UTC date and time found possible, and both joined by ``T``; until one
        # is, a non-ASCII mark that prefixes no string the fast path takes (``good_second``
        # is read by the text kernel ``stamped_line``, which takes that second's lines)
        self._good_date = self._good_clock = self.good_second = "\uffff"
        self._epoch_second = -1
        self._epoch_prefix = ""
        self._year_until = -1.0
        self._year = 0
        self._soon = ""
        # from_time_of_day's cache: refreshed once a second (today, yesterday, the latest
        # canonical stamp that is not too far ahead, and until when they hold)
        self._tod_until = -1.0
        self._tod_today = self._tod_yesterday = self._tod_limit = ""

    def normalize(self, value: Any) -> str | None:
        """Canonical timestamp for a JSON/logfmt/text value, ``IMPOSSIBLE`` for one that
        cannot be a time, ``None`` if it is not a timestamp."""
        if isinstance(value, str):
            return self.from_string(value)
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return self.from_epoch(value)
        return None

    def from_string(self, text: str) -> str | None:
        size = len(text)
        if size >= 24 and text[-1] == "Z" and text[19] == "." and text.startswith(
                self.good_second) and text.isascii() and text[20:-1].isdigit():
            return text if size == 24 else text[:23] + "Z"  # CRI/docker: nanoseconds
        cached = self._cache.get(text)
        if cached is not None or text in self._cache:
            return cached
        result = self._parse_string(text)
        if size <= _CACHE_KEY_MAX:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[text] = result
        return result

    def _parse_string(self, text: str) -> str | None:
        text = text.strip()
        if text[:1].isdigit() and text[4:5] in ("-", "/"):
            match = _ISO.match(text)
            if match is not None:
                return self.from_iso_parts(*match.groups())
            match = _ISO_MINUTES.match(text)
            if match is not None:
                date, clock, zone = match.groups()
                return self.from_iso_parts(date, clock + ":00", None, zone)
        if number_text(text):
            return self._from_number_text(text)
        match = _APACHE.match(text)
        if match is not None:
            return self._from_apache(*match.groups())
        return IMPOSSIBLE if time_shaped(text) else None

    def _from_number_text(self, text: str) -> str:
        try:
            value = int(text) if text.isdigit() else float(text)
        except (ValueError, OverflowError):
            return IMPOSSIBLE
        return self.from_epoch(value)

    def from_iso_parts(self, date: str, clock: str, frac: str | None, zone: str | None) -> str:
        """Canonical form of an ISO timestamp already split by a regex (``IMPOSSIBLE`` when
        the calendar or the range rules it out). The last plain UTC second passes with two
        compares; other valid results are remembered (a small bounded dict, like
        ``from_string``'s); an impossible one is not (a time ahead of the clock may become
        possible)."""
        if "/" in date:
            date = date.replace("/", "-")
        if clock == self._good_clock and date == self._good_date and (
                self.utc_default if zone is None else zone in _UTC_ZONES):
            millis = (frac[:3] if len(frac) >= 3 else frac.ljust(3, "0")) if frac else "000"
            return f"{self.good_second}.{millis}Z"  # good_second is date T clock
        utc = (zone is None and self.utc_default) or zone in _UTC_ZONES
        key = (date, clock, frac, zone)
        stamp = self._parts.get(key)
        if stamp is None:
            stamp = self._convert(date, clock, frac or "", zone, utc)
            if stamp:
                if len(self._parts) >= _PARTS_MAX:
                    self._parts.clear()
                self._parts[key] = stamp
        return stamp

    def _convert(self, date: str, clock: str, frac: str, zone: str | None, utc: bool) -> str:
        if utc:
            return self._checked(date, clock, frac, 0, None, utc=True)
        if zone is None:
            return self._checked(date, clock, frac, 0, self._zone)
        offset = offset_minutes(zone)
        if offset is None:
            return IMPOSSIBLE
        return self._checked(date, clock, frac, offset, None)

    def _checked(self, date: str, clock: str, frac: str, offset: int,
                 zone: tzinfo | None, utc: bool = False) -> str:
        """The full rules (slow path: once per new UTC second, or zoned stamps)."""
        found = instant(date, clock, frac, offset, zone)
        if found is None or not FLOOR <= found[0] <= self._clock() + FUTURE:
            return IMPOSSIBLE
        stamp = format_instant(*found)
        if utc and stamp[:19] == f"{date}T{clock}":  # plain UTC (not 24:00, not :60):
            self._good_date, self._good_clock = date, clock  # its stamps skip the rules
            self.good_second = stamp[:19]
        return stamp

    def _from_apache(self, day: str, month: str, year: str, clock: str, frac: str | None,
                     zone: str | None) -> str:
        number = _MONTHS.get(month.capitalize())
        if number is None:
            return IMPOSSIBLE
        return self.from_iso_parts(f"{year}-{number:02d}-{day}", clock, frac, zone)

    def from_yearless(self, month: str, day: str, clock: str, frac: str | None) -> str:
        """A stamp without a year (klog ``mmdd hh:mm:ss``, default zone): this year's,
        unless that is impossible (29 February) or more than a day ahead of the clock
        (a December line read in January), then last year's."""
        now = self._clock()
        if now >= self._year_until:
            self._year = time.gmtime(now).tm_year
            self._soon = format_instant(int(now) + 86_400, 0)
            self._year_until = now + _YEAR_REFRESH
        stamp = self.from_iso_parts(f"{self._year}-{month}-{day}", clock, frac, None)
        if stamp and stamp <= self._soon:
            return stamp
        return self.from_iso_parts(f"{self._year - 1}-{month}-{day}", clock, frac, None)

    def from_time_of_day(self, clock: str, frac: str | None) -> str:
        """A time without a date (logback's ``HH:mm:ss.SSS``): today's date in the
        default zone, or yesterday's when that would put it more than
        ``TIME_OF_DAY_AHEAD`` seconds ahead of the clock (a 23:59:59 line read just
        after midnight)."""
        now = self._clock()
        if now >= self._tod_until:
            self._refresh_days(now)
        day = self._tod_today
        if self.utc_default and f"{day}T{clock}" > self._tod_limit[:19]:
            day = self._tod_yesterday  # decided before the check: one check a line
        stamp = self.from_iso_parts(day, clock, frac, None)
        if not stamp or self.utc_default or stamp <= self._tod_limit:
            return stamp
        return self.from_iso_parts(self._tod_yesterday, clock, frac, None)

    def _refresh_days(self, now: float) -> None:
        today = datetime.fromtimestamp(now, self._zone).date()
        self._tod_today = today.isoformat()
        self._tod_yesterday = (today - timedelta(days=1)).isoformat()
        self._tod_limit = format_epoch(now + TIME_OF_DAY_AHEAD)
        self._tod_until = float(int(now) + 1)

    def from_epoch(self, value: float) -> str:
        """Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by size);
        ``IMPOSSIBLE`` before 2000, past the range, negative or not finite."""
        if NUMBER_FLOOR <= value < 1e11:  # fast path: plausible seconds (zap, pino's ts/1000)
            millis_total = round(value * 1000)
        else:
            scaled = _scaled_millis(value)
            if scaled is None or scaled < NUMBER_FLOOR_MS:
                return IMPOSSIBLE
            millis_total = scaled
        seconds, millis = divmod(millis_total, 1000)
        if seconds != self._epoch_second:
            if seconds > self._clock() + FUTURE:
                return IMPOSSIBLE
            self._epoch_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            self._epoch_second = seconds
        # a table of ".mmmZ" tails: a formatted f-string costs ~1 us on the hot path
        return self._epoch_prefix + MILLIS_TAILS[millis]

    def from_month_day_short_year(self, month: str, day: str, year: str, clock: str) -> str:
        """``01/02/26 10:00:00`` by parts (rich's ``[%x %X]`` in the C locale: month, day,
        2-digit year of this century; default zone)."""
        return self.from_iso_parts(f"20{year}-{month}-{day}", clock, None, None)


def _scaled_millis(value: float) -> int | None:
    """Whole milliseconds of a positive epoch value in s/ms/us/ns (by magnitude), else
    ``None`` (negative, NaN, infinite, or past nanoseconds of year 5138)."""
    if not value > 0:  # also NaN
        return None
    if value < 1e11:
        return round(value * 1000)
    if value < 1e14:
        return round(value)
    if value < 1e17:
        return int(value) // 1000
    if value < 1e20:
        return int(value) // 1_000_000
    return None


def format_epoch(seconds: float) -> str:
    """``clock()`` output as a canonical timestamp."""
    millis_total = int(seconds * 1000)
    whole, millis = divmod(millis_total, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"
