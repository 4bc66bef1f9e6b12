"""Timestamp normalisation to RFC 3339 UTC with millisecond precision (``...mmmZ``).

Accepts ISO 8601 with ``T`` or a space, ``.``/``,`` fractions, ``Z``/offset/no zone (no zone
means the configured default zone), epoch seconds/milliseconds/microseconds/nanoseconds as
numbers or digit strings, and Apache's ``03/Jan/2026:09:10:29 +0000``. The common case
(already ``YYYY-MM-DDTHH:MM:SS.mmmZ``) passes through untouched; UTC strings are rebuilt
with slicing only; results that needed ``datetime`` are cached in a bounded dict.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

#: ISO date-time anywhere we accept one (groups: date, time, fraction, zone)
ISO_PATTERN = (
    r"(\d{4}-\d{2}-\d{2}|\d{4}/\d{2}/\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?"
    r"(?: ?(Z|z|UTC|GMT|[+-]\d{2}:?\d{2})(?![\w:]))?"
)
_ISO = re.compile(ISO_PATTERN + r"$")
_APACHE = re.compile(r"(\d{2})/(\w{3})/(\d{4}):(\d{2}:\d{2}:\d{2})(?:\.(\d+))? ?([+-]\d{4})?$")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_CACHE_MAX = 4096
#: plausible epoch seconds (2000-01-01 .. 2100-01-01): smaller numbers are not times
_EPOCH_MIN = 946_684_800
_EPOCH_MAX = 4_102_444_800
_MILLIS_TAILS = tuple(f".{millis:03d}Z" for millis in range(1000))


class TimestampNormalizer:
    """Turns timestamp values into canonical strings; one per file parser (not shared)."""

    def __init__(self, default_timezone: str = "UTC") -> None:
        self._utc_default = default_timezone in ("UTC", "Etc/UTC", "GMT", "Z")
        self._zone = timezone.utc if self._utc_default else ZoneInfo(default_timezone)
        self._cache: dict[str, str | None] = {}
        self._epoch_second = -1
        self._epoch_prefix = ""

    def normalize(self, value: Any) -> str | None:
        """Canonical timestamp for a JSON/logfmt/text value, or ``None`` if it is not one."""
        if isinstance(value, str):
            return self.from_string(value)
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return self.from_epoch(value)
        return None

    def from_string(self, text: str) -> str | None:
        size = len(text)
        if size >= 24 and text[-1] == "Z" and text[10] == "T" and text[19] == ".":
            if size == 24:
                return text
            if text[20:-1].isdigit():  # nanoseconds (CRI, docker): keep milliseconds
                return text[:23] + "Z"
        cached = self._cache.get(text)
        if cached is not None or text in self._cache:
            return cached
        result = self._parse_string(text)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[text] = result
        return result

    def _parse_string(self, text: str) -> str | None:
        text = text.strip()
        if not text:
            return None
        if text[0] != "-" and text.replace(".", "", 1).isdigit():
            try:
                return self.from_epoch(float(text) if "." in text else int(text))
            except (ValueError, OverflowError):
                return None
        match = _ISO.match(text)
        if match is not None:
            return self.from_iso_parts(*match.groups())
        match = _APACHE.match(text)
        if match is not None:
            return self._from_apache(*match.groups())
        return None

    def from_iso_parts(self, date: str, clock: str, frac: str | None,
                       zone: str | None) -> str | None:
        """Canonical form of an ISO timestamp already split by a regex."""
        if "/" in date:
            date = date.replace("/", "-")
        millis = (frac[:3] if len(frac) >= 3 else frac.ljust(3, "0")) if frac else "000"
        if zone is None:
            if self._utc_default:
                return f"{date}T{clock}.{millis}Z"
            return self._convert(date, clock, millis, None)
        if zone in ("Z", "z", "UTC", "GMT") or zone in ("+00:00", "+0000", "-00:00", "-0000"):
            return f"{date}T{clock}.{millis}Z"
        return self._convert(date, clock, millis, zone)

    def _convert(self, date: str, clock: str, millis: str, zone: str | None) -> str | None:
        try:
            naive = datetime.fromisoformat(f"{date}T{clock}.{millis}")
        except ValueError:
            return None
        if zone is None:
            aware = naive.replace(tzinfo=self._zone)
        else:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
            aware = naive.replace(tzinfo=timezone(sign * offset))
        return format_datetime(aware)

    def _from_apache(self, day: str, month: str, year: str, clock: str, frac: str | None,
                     zone: str | None) -> str | None:
        number = _MONTHS.get(month.capitalize())
        if number is None:
            return None
        return self.from_iso_parts(f"{year}-{number:02d}-{day}", clock, frac, zone)

    def from_epoch(self, value: float | int) -> str | None:
        """Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by size)."""
        if _EPOCH_MIN <= value < 1e11:  # fast path: plausible seconds (zap, pino's ts/1000)
            millis_total = round(value * 1000)
        else:
            millis_total = _scaled_millis(value)
            if millis_total is None:
                return None
        seconds, millis = divmod(millis_total, 1000)
        if seconds != self._epoch_second:
            if not _EPOCH_MIN <= seconds <= _EPOCH_MAX:
                return None
            try:
                self._epoch_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            except (OverflowError, OSError, ValueError):
                return None
            self._epoch_second = seconds
        # a table of ".mmmZ" tails: a formatted f-string costs ~1 us on the hot path
        return self._epoch_prefix + _MILLIS_TAILS[millis]


def _scaled_millis(value: float | int) -> int | None:
    """Whole milliseconds of an epoch value in s/ms/us/ns (by magnitude), else ``None``."""
    magnitude = abs(value)
    if magnitude < 1e11:
        return round(value * 1000)
    if magnitude < 1e14:
        return round(value)
    if magnitude < 1e17:
        return int(value) // 1000
    if magnitude < 1e20:
        return int(value) // 1_000_000
    return None


def format_datetime(moment: datetime) -> str:
    """An aware ``datetime`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_epoch(seconds: float) -> str:
    """``clock()`` output as a canonical timestamp."""
    millis_total = int(seconds * 1000)
    whole, millis = divmod(millis_total, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"
