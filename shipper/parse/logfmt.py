"""``key=value`` pairs: whole logfmt lines (and their record) and trailing pairs at the
end of a message.

Values are bare (up to white space) or double-quoted with ``\\"``/``\\\\`` escapes; every
value is kept as a string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.kernels import logfmt_pairs, trailing_pairs

# the grammar of a pair and of a whole line, and the unquoting, are the pure twin's: one
# definition for both (``shipper.kernels`` cannot import ``shipper.parse``)
from shipper.kernels.pure_logfmt import _PAIR, _unquote, regex_pairs
from shipper.parse.access import bare_request
from shipper.parse.instants import IMPOSSIBLE
from shipper.parse.levels import normalize_level
from shipper.parse.timestamps import TimestampNormalizer

_TRAILING = re.compile(
    r'(?<!\S)(?:[A-Za-z_@][\w.\-/@]*+=(?:"(?:[^"\\]|\\.)*+"|[^\s"]*+)\s*+)++$')
_TAIL_WINDOW = 4096
_MESSAGE_KEYS = ("msg", "message")
_LEVEL_KEYS = ("level", "lvl", "severity")
_TIME_KEYS = ("ts", "time", "timestamp", "t")
_LOGGER_KEYS = ("logger", "caller_logger", "module")


def split_trailing_pairs(message: str) -> tuple[str, dict[str, str] | None]:
    """Move the run of ``key=value`` pairs that ends ``message`` out of it.

    ``"Progress processed=209 total=500"`` -> ``("Progress", {"processed": "209", ...})``.
    Pairs followed by other words stay in the message. Without quotes the run is the
    last words that each read ``key=value`` (the ``trailing_pairs`` kernel, compiled or
    pure: a regex pass over the pairs costs several microseconds); quoted values go
    through one possessive regex.
    """
    if "=" not in message:
        return message, None
    if '"' in message or len(message) > _TAIL_WINDOW:
        return _split_quoted(message)
    return trailing_pairs(message)


def _split_quoted(message: str) -> tuple[str, dict[str, str] | None]:
    """``split_trailing_pairs`` for messages with quotes (or huge ones): one possessive
    regex finds the run in the last ``_TAIL_WINDOW`` characters (no backtracking)."""
    window = max(0, len(message) - _TAIL_WINDOW)
    first_eq = message.find("=", window)
    # The run's first key ends at an "=" at or after ``first_eq`` and holds no white
    # space, so it starts after the last space before ``first_eq``.
    match = _TRAILING.search(message, max(window, message.rfind(" ", window, first_eq) + 1))
    if match is None:
        return message, None
    start = match.start()
    pairs = {key: (_unquote(value) if value[:1] == '"' else value)
             for key, value in _PAIR.findall(message, start)}
    return message[:start].rstrip(), pairs


def parse_logfmt(text: str) -> dict[str, str] | None:
    """All pairs of a line made only of ``key=value`` pairs (separated by spaces or
    tabs), else ``None``: one possessive whole-line match, then one ``findall`` (an ASCII
    line: the ``logfmt_pairs`` kernel, the same grammar in one typed scan when compiled)."""
    return logfmt_pairs(text) if text.isascii() else regex_pairs(text)


def is_logfmt(pairs: dict[str, str]) -> bool:
    """Pairs that name a message, level or time: a logfmt line, not prose with an ``=``."""
    return any(key in pairs for key in _MESSAGE_KEYS + _LEVEL_KEYS + _TIME_KEYS)


def logfmt_record(pairs: dict[str, Any], stamps: TimestampNormalizer) -> dict[str, Any]:
    """The record fields of a logfmt line; the pairs not mapped stay as attributes."""
    message = _pop_any(pairs, _MESSAGE_KEYS, lambda value: value) or ""
    level = _pop_any(pairs, _LEVEL_KEYS, normalize_level)
    stamp = _pop_time(pairs, stamps)
    record: dict[str, Any] = {"timestamp": stamp, "level": level or "info",
                              "message": message, "attributes": pairs}
    logger = _pop_any(pairs, _LOGGER_KEYS, lambda value: value)
    if logger:
        record["logger"] = logger
    bare_request(message, pairs)
    return record


def _pop_time(pairs: dict[str, Any], stamps: TimestampNormalizer) -> str | None:
    """The first time key that converts (it leaves the attributes); ``IMPOSSIBLE`` when
    one holds an impossible time (that one stays as written)."""
    impossible = False
    for key in _TIME_KEYS:
        value = pairs.get(key)
        if value is not None:
            stamp = stamps.from_string(value)
            if stamp:
                del pairs[key]
                return stamp
            impossible = impossible or stamp is not None
    return IMPOSSIBLE if impossible else None


def _pop_any(pairs: dict[str, Any], keys: tuple[str, ...],
             convert: Callable[[str], Any]) -> Any:
    """The converted value of the first key that converts; it leaves the attributes."""
    for key in keys:
        value = pairs.get(key)
        if value is not None:
            converted = convert(value)
            if converted is not None:
                del pairs[key]
                return converted
    return None
