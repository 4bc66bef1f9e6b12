"""What a possible timestamp is: the calendar rules and the sane range (docs/records.md).

- Range: ``1970-01-01T00:00:00Z`` up to one year after the clock. Bare numbers (epoch
  seconds/ms/us/ns, the unit told by magnitude) start at ``2000-01-01``: smaller numbers
  are durations or counters, not times.
- Calendar: month 1-12, the days of that month (29 February only in leap years), hour
  0-23, minute 0-59, second 0-59; zone offsets up to +-14:00 with minutes below 60.
- ``24:00:00`` (ISO 8601's end of day, zero fraction only) is the next day's ``00:00:00``.
- A leap second (second 60) is accepted at ``23:59:60`` UTC on 30 June or 31 December
  and shipped as ``23:59:59.999Z``, so it sorts after every earlier instant of that day.

Normalizers return :data:`IMPOSSIBLE` for a value shaped like a timestamp that is not a
possible one, and ``None`` for a value that is not a timestamp at all.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime, tzinfo
from typing import Final

#: a value shaped like a timestamp that breaks the rules above (falsy, unlike a stamp)
IMPOSSIBLE: Final = ""
FLOOR: Final = 0
NUMBER_FLOOR: Final = 946_684_800
NUMBER_FLOOR_MS: Final = NUMBER_FLOOR * 1000
FUTURE: Final = 366 * 86_400
MAX_OFFSET_MINUTES: Final = 14 * 60
MILLIS_TAILS: Final = tuple(f".{millis:03d}Z" for millis in range(1000))
_LEAP_DAYS = ((6, 30), (12, 31))
#: strings that are meant as a time but that no accepted spelling matched
_TIME_SHAPED = re.compile(
    r"[+-]?\d{4,}[-/]\d{1,2}[-/]\d{1,2}[T ]\d{1,2}:\d{1,2}|\d{1,2}/[A-Za-z]{3}/\d+:\d",
    re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
                     r"|[+-]?(?:nan|inf|infinity)", re.ASCII | re.IGNORECASE)


def time_shaped(text: str) -> bool:
    """True when ``text`` is meant as a date-time or an epoch number (then a failure to
    read it is a bad timestamp, not merely "no timestamp")."""
    return bool(_TIME_SHAPED.match(text) or _NUMBER.fullmatch(text))


def number_text(text: str) -> bool:
    """True for a decimal number (sign, fraction, exponent) or ``nan``/``inf`` text."""
    return _NUMBER.fullmatch(text) is not None


def offset_minutes(zone: str) -> int | None:
    """``+05:30``/``-0130`` as signed minutes; ``None`` past +-14:00 or minutes >= 60."""
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4])
    if minutes > 59 or hours * 60 + minutes > MAX_OFFSET_MINUTES:
        return None
    return -(hours * 60 + minutes) if zone[0] == "-" else hours * 60 + minutes


def instant(date: str, clock: str, frac: str, offset: int = 0,
            zone: tzinfo | None = None) -> tuple[int, int] | None:
    """``(UTC epoch seconds, milliseconds)`` of ``YYYY-MM-DD`` + ``HH:MM:SS`` + fraction
    digits in a zone (``offset`` minutes east of UTC, or a ``tzinfo``), else ``None``
    when the calendar rules say it cannot be. The range is the caller's to check."""
    year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    hour, minute, second = int(clock[:2]), int(clock[3:5]), int(clock[6:8])
    millis = int(frac[:3].ljust(3, "0")) if frac else 0
    if year < 1 or not 1 <= month <= 12 or not 1 <= day <= _days_in(year, month):
        return None
    end_of_day = hour == 24 and minute == 0 and second == 0 and not frac.strip("0")
    leap = second == 60
    if end_of_day:
        hour = 23  # 23:00:00 + 1 h: stays inside the (valid) date
    elif leap:
        second = 59
    if hour > 23 or minute > 59 or second > 59:
        return None
    try:
        if zone is not None:
            epoch = int(datetime(year, month, day, hour, minute, second, tzinfo=zone).timestamp())
        else:
            epoch = calendar.timegm((year, month, day, hour, minute, second)) - offset * 60
    except (OverflowError, ValueError):
        return None
    if end_of_day:
        epoch += 3600
    elif leap:
        moment = time.gmtime(epoch)
        if (moment.tm_mon, moment.tm_mday) not in _LEAP_DAYS or moment.tm_hour != 23 or (
                moment.tm_min != 59):
            return None
        millis = 999
    return epoch, millis


def format_instant(epoch: int, millis: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of whole UTC epoch seconds and milliseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + MILLIS_TAILS[millis]


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31
