"""Console renderers of Python jobs: tqdm progress bars and rich's logging handler.

* tqdm: ``desc:  45%|████▌     | 45/100 [00:04<00:05, 10.00it/s, loss=0.3]`` and, without a
  total, ``desc: 45it [00:04, 10.00it/s]``. ``FileParser`` already collapsed the carriage-
  return updates of the line to its last state (``last_state``); the record keeps
  ``attributes.progress``: ``percent``, ``n``, ``total``, ``elapsed`` and ``remaining``
  (seconds), ``rate`` (units per second), ``unit``, ``desc``, ``postfix`` (a dict).
* rich's ``RichHandler``: ``[01/02/26 10:00:00] INFO     msg        app.py:12`` (``caller``);
  a line of the same second has the time column blank (``rich_repeat``), so it takes the
  time of the last rich line of the file (one ``RichConsole`` per parser).

loguru's colourised console needs nothing here: ``FileParser`` strips ANSI escapes first.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.parse.access import small_int
from shipper.parse.families.python_workers import ray_prefix
from shipper.parse.levels import normalize_level
from shipper.parse.partial import partial_record
from shipper.parse.timestamps import TimestampNormalizer

Parsed = tuple[str, dict[str, Any]]

_SCALED = r"\d+(?:\.\d+)?[kMGTPEZY]?"
_INTERVAL = r"(?:\d+d, )?\d+(?::\d{2}){1,2}"
#: ``value unit/s`` or ``value s/unit`` (groups: value or ``?``, numerator, denominator)
_RATE = r"(\?|" + _SCALED + r")([A-Za-z]*)/([A-Za-z]+)"
#: the same with possessive quantifiers (no backtracking into a run that cannot end
#: anywhere else: what follows each is a character the run cannot hold), for the tail
_SCALED_P = r"\d++(?:\.\d++)?+[kMGTPEZY]?+"
_INTERVAL_P = r"(?:\d++d, )?+\d++(?::\d\d){1,2}+"
_RATE_P = r"(\?|" + _SCALED_P + r")([A-Za-z]*+)/([A-Za-z]++)"
#: ``| n/total [elapsed<remaining, rate(, postfix)]`` after ``N%``; the same matches and
#: groups as the plain-quantifier form (``test_tqdm_pattern``), ~2x cheaper
_TQDM_TAIL = re.compile(
    r"\|[^|]*+\| (" + _SCALED_P + r")/(" + _SCALED_P + r"|\?) \[(" + _INTERVAL_P + r")<("
    + _INTERVAL_P + r"|\?), ++" + _RATE_P + r"(?:, ([^\]]*+))?+\]$", re.ASCII)
#: ``N%`` from three characters before the ``%|`` (blanks, then one to three digits: what
#: right-aligned percents are), then the tail: one match for the whole state
_TQDM_BAR = re.compile(r" {0,2}+(\d{1,3}+)%" + _TQDM_TAIL.pattern, re.ASCII)
_TQDM_NO_TOTAL = re.compile(
    r"(?:(.{1,200}?): )?(" + _SCALED + r")([A-Za-z]\w*)? \[(" + _INTERVAL
    + r"), +" + _RATE + r"(?:, ([^\]]*))?\]$")
_SCALE = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21,
          "Y": 1e24}
_RICH = re.compile(r"\[(\d{2})/(\d{2})/(\d{2}) (\d{2}:\d{2}:\d{2})\] ([A-Z]+) +(.*)",
                   re.S | re.ASCII)
#: the level column is 8 wide and one blank follows it: the message starts at column 29
_RICH_REPEAT = re.compile(r" {20}(?=[A-Z ]{8} \S)([A-Z]+) +(\S.*)", re.S | re.ASCII)
_RICH_PATH = re.compile(r"(.*?) +((?:[\w.\-]+\.py|<[\w\-]+>):\d+)$", re.S | re.ASCII)


def last_state(text: str) -> str:
    """What a terminal shows for a line of carriage-return updates: its last non-blank
    state (a redrawn state loses its leading blanks: they were never indentation). Ray
    prefixes such a line once, before the first update: the prefix is kept."""
    body = text.rstrip("\r")
    cut = body.rfind("\r")
    if cut == -1:
        return body
    end = len(body)
    while cut != -1:  # the states from the last one back, without splitting them all
        state = body[cut + 1:end]
        if state.strip():
            first = body[:body.find("\r")]
            return (first if first[:1] == "(" and ray_prefix(first) else "") \
                + state.lstrip(" ")
        end, cut = cut, body.rfind("\r", 0, cut)
    first = body[:end]  # the first state, as it is
    return first if first.strip() else ""


def progress(text: str) -> Parsed | None:
    """A tqdm progress state (with a total: ``N%|bar| n/total [...]``; without one:
    ``Nunit [...]``)."""
    cut = text.find("%|")
    if cut > 0:
        return _with_total(text, cut)
    match = _TQDM_NO_TOTAL.match(text)
    if match is None:
        return None
    desc, n, unit, elapsed, value, numerator, denominator, postfix = match.groups()
    # ``_count``, ``_seconds`` and ``_rate`` inlined for their common cases, as below
    fields: dict[str, Any] = {
        "n": int(n) if n.isdigit() and len(n) <= 18 else _count(n),
        "elapsed": int(elapsed[:2]) * 60 + int(elapsed[3:]) if len(elapsed) == 5
        else _seconds(elapsed)}
    unit = numerator or unit or "it"
    if unit == "s" or value == "?" or value[-1:] in _SCALE:
        _rate(fields, value, unit, denominator)
    else:
        fields["rate"] = float(value)
        fields["unit"] = unit
    return _progress_record(text, fields, desc, postfix)


def _with_total(text: str, cut: int) -> Parsed | None:
    # ``cut`` is the first ``%|``: a match from ``cut - 3`` (or 0) has its ``%`` there
    match = _TQDM_BAR.match(text, cut - 3 if cut > 3 else 0)
    if match is None:
        return None
    desc = text[:cut - 3].rstrip(" ") if cut > 3 else ""
    if desc:
        if desc[-1:] != ":":
            return None
        desc = desc[:-1]
    digits, n, total, elapsed, remaining, value, numerator, denominator, postfix = \
        match.groups()
    # ``_count`` and ``_seconds`` inlined for plain counts and ``MM:SS`` (nearly always)
    fields: dict[str, Any] = {
        "percent": int(digits),
        "n": int(n) if n.isdigit() and len(n) <= 18 else _count(n),
        "elapsed": int(elapsed[:2]) * 60 + int(elapsed[3:]) if len(elapsed) == 5
        else _seconds(elapsed)}
    if total != "?":
        fields["total"] = int(total) if total.isdigit() and len(total) <= 18 \
            else _count(total)
    if remaining != "?":
        fields["remaining"] = int(remaining[:2]) * 60 + int(remaining[3:]) \
            if len(remaining) == 5 else _seconds(remaining)
    unit = numerator or "it"
    if unit == "s" or value == "?" or value[-1:] in _SCALE:
        _rate(fields, value, unit, denominator)
    else:  # ``_rate`` inlined for ``10.0it/s`` (nearly always)
        fields["rate"] = float(value)
        fields["unit"] = unit
    if desc or postfix:
        return _progress_record(text, fields, desc, postfix)
    return "tqdm", {"timestamp": None, "level": "info", "message": text,  # no desc, postfix
                    "attributes": {"progress": fields}}


def _rate(fields: dict[str, Any], value: str, numerator: str, denominator: str) -> None:
    """``10.0it/s`` -> rate 10.0, unit it; ``1.23s/it`` (seconds per unit) -> 1/1.23."""
    if numerator == "s" and value != "?":
        fields["rate"] = round(1 / max(_number(value), 1e-9), 6)
        fields["unit"] = denominator
        return
    if value != "?":  # ``_number`` inlined for a value without a scale letter
        fields["rate"] = float(value) if value[-1:] not in _SCALE else _number(value)
    fields["unit"] = numerator


def _progress_record(text: str, fields: dict[str, Any], desc: str | None,
                     postfix: str | None) -> Parsed:
    if desc:
        fields["desc"] = desc
    if postfix:
        fields["postfix"] = _postfix(postfix)
    return "tqdm", {"timestamp": None, "level": "info", "message": text,
                    "attributes": {"progress": fields}}


def _count(value: str) -> int | float | str:
    if value.isdigit():
        return small_int(value)
    return _number(value)


def _number(value: str) -> float:
    scale = _SCALE.get(value[-1:], 1.0)
    return float(value if scale == 1.0 else value[:-1]) * scale


def _seconds(interval: str) -> int:
    if len(interval) == 5:  # MM:SS, nearly always
        return int(interval[:2]) * 60 + int(interval[3:])
    days, _, clock = interval.rpartition("d, ")
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total + (int(days) * 86_400 if days else 0)


def _postfix(text: str) -> dict[str, str] | str:
    pairs: dict[str, str] = {}
    for part in text.split(", "):
        key, sep, value = part.partition("=")
        if not (sep and key):
            return text
        pairs[key] = value
    return pairs


def rich_repeat(text: str) -> bool:
    """True for a rich line whose time column is blank (same second as the last)."""
    if text[20:21] <= " " or not text[:20].isspace():
        return False
    match = _RICH_REPEAT.match(text)
    return match is not None and normalize_level(match.group(1)) is not None


class RichConsole:
    """rich's logging lines of one file (remembers the last time for blank columns)."""

    def __init__(self, stamps: TimestampNormalizer) -> None:
        self._stamps = stamps
        self._last: str | None = None

    def dated(self, text: str) -> Parsed | None:
        """``[mm/dd/yy HH:MM:SS] LEVEL    message    file.py:N``."""
        match = _RICH.match(text)
        if match is None:
            return None
        month, day, year, clock, word, rest = match.groups()
        level = normalize_level(word)
        if level is None:
            return None
        stamp = self._stamps.from_month_day_short_year(month, day, year, clock)
        self._last = stamp or None
        parsed = _rich_record(stamp, level, rest)
        if not stamp:
            parsed[1]["attributes"]["invalid_timestamp"] = text[1:18]
        return parsed

    def repeated(self, text: str) -> Parsed | None:
        """The same layout with the time column blank: the last rich line's time."""
        match = _RICH_REPEAT.match(text) if text[:20].isspace() else None
        if match is None:
            return None
        level = normalize_level(match.group(1))
        if level is None:
            return None
        return _rich_record(self._last, level, match.group(2))


def _rich_record(stamp: str | None, level: str, rest: str) -> Parsed:
    match = _RICH_PATH.match(rest.rstrip(" "))
    message, caller = match.groups() if match is not None else (rest.rstrip(" "), None)
    record = partial_record(stamp, level, message, None)
    if caller is not None:
        record["attributes"]["caller"] = caller
    return "rich", record
