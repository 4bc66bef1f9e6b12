"""Console renderers of Python jobs: tqdm progress bars and rich's logging handler.

* tqdm: ``desc:  45%|████▌     | 45/100 [00:04<00:05, 10.00it/s, loss=0.3]`` and, without a
  total, ``desc: 45it [00:04, 10.00it/s]``. ``FileParser`` already collapsed the carriage-
  return updates of the line to its last state (``last_state``); the record keeps
  ``attributes.progress``: ``percent``, ``n``, ``total``, ``elapsed`` and ``remaining``
  (seconds), ``rate`` (units per second), ``unit``, ``desc``, ``postfix`` (a dict): the
  ``tqdm_progress`` kernel (``shipper.kernels.pure_tqdm``).
* rich's ``RichHandler``: ``[01/02/26 10:00:00] INFO     msg        app.py:12`` (``caller``);
  a line of the same second has the time column blank (``rich_repeat``), so it takes the
  time of the last rich line of the file (one ``RichConsole`` per parser).

loguru's colourised console needs nothing here: ``FileParser`` strips ANSI escapes first.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.kernels import tqdm_progress
from shipper.parse.families.python_workers import ray_prefix
from shipper.parse.levels import normalize_level
from shipper.parse.partial import partial_record
from shipper.parse.timestamps import TimestampNormalizer

Parsed = tuple[str, dict[str, Any]]
#: a tqdm progress state as its record, else ``None`` (``shipper.kernels.pure_tqdm``, the
#: reference; compiled when the extension is built)
progress = tqdm_progress

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


def rich_repeat(text: str) -> bool:
    """True for a rich line whose time column is blank (same second as the last)."""
    if text[20:21] <= " " or not text[:20].isspace():
        return False
    match = _RICH_REPEAT.match(text)
    return match is not None and normalize_level(match.group(1)) is not None


class RichConsole:
    """rich's logging lines of one file at a time (remembers the last time for blank
    columns; :meth:`forget` when the lines become another file's)."""

    def __init__(self, stamps: TimestampNormalizer) -> None:
        self._stamps = stamps
        self._last: str | None = None

    def forget(self) -> None:
        """The next lines are another file's: no last time yet."""
        self._last = None

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
