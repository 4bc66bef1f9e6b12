"""``key=value`` pairs: whole logfmt lines and trailing pairs at the end of a message.

Values are bare (up to white space) or double-quoted with ``\\"``/``\\\\`` escapes; every
value is kept as a string.
"""

from __future__ import annotations

import re

_PAIR = re.compile(r'([A-Za-z_@][\w.\-/@]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_LOGFMT_START = re.compile(r'[A-Za-z_@][\w.\-/@]*=')
_KEY = re.compile(r"[A-Za-z_@][\w.\-/@]*")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _unquote(value: str) -> str:
    if value[:1] == '"' and len(value) >= 2:
        value = value[1:-1]
        if "\\" in value:
            value = value.replace('\\"', '"').replace("\\\\", "\\")
    return value


def split_trailing_pairs(message: str) -> tuple[str, dict[str, str] | None]:
    """Move the run of ``key=value`` pairs that ends ``message`` out of it.

    ``"Progress processed=209 total=500"`` -> ``("Progress", {"processed": "209", ...})``.
    Pairs followed by other words stay in the message. Scans from the end, token by
    token, so the cost is linear in the pairs found.
    """
    if "=" not in message:
        return message, None
    end = len(message.rstrip())
    found: list[tuple[str, str]] = []
    while end > 0:
        pair = _pair_ending_at(message, end)
        if pair is None:
            break
        key, value, start = pair
        found.append((key, value))
        end = len(message[:start].rstrip())
    if not found:
        return message, None
    return message[:end], {key: value for key, value in reversed(found)}


def _pair_ending_at(message: str, end: int) -> tuple[str, str, int] | None:
    """``(key, value, start)`` of the pair that ends at ``end``, else ``None``."""
    if message[end - 1] == '"':
        equals = message.rfind('="', 0, end - 1)
        if equals < 0 or _QUOTED.fullmatch(message, equals + 1, end) is None:
            return None
        value = _unquote(message[equals + 1:end])
    else:
        start = max(message.rfind(" ", 0, end), message.rfind("\t", 0, end)) + 1
        equals = message.find("=", start, end)
        if equals < 0 or '"' in message[equals:end]:
            return None
        value = message[equals + 1:end]
    start = max(message.rfind(" ", 0, equals), message.rfind("\t", 0, equals)) + 1
    if _KEY.fullmatch(message, start, equals) is None:
        return None
    return message[start:equals], value, start


def parse_logfmt(text: str) -> dict[str, str] | None:
    """All pairs of a line made only of ``key=value`` pairs, else ``None``."""
    if _LOGFMT_START.match(text) is None:
        return None
    pairs: dict[str, str] = {}
    position = 0
    length = len(text)
    while position < length:
        match = _PAIR.match(text, position)
        if match is None:
            return None
        pairs[match.group(1)] = _unquote(match.group(2))
        position = match.end()
        while position < length and text[position] in " \t":
            position += 1
        if position == match.end() and position < length:
            return None
    return pairs
