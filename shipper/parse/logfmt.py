"""``key=value`` pairs: whole logfmt lines and trailing pairs at the end of a message.

Values are bare (up to white space) or double-quoted with ``\\"``/``\\\\`` escapes; every
value is kept as a string.
"""

from __future__ import annotations

import re

_PAIR = re.compile(r'([A-Za-z_@][\w.\-/@]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_LOGFMT_START = re.compile(r'[A-Za-z_@][\w.\-/@]*=')


def _unquote(value: str) -> str:
    if value[:1] == '"' and len(value) >= 2:
        value = value[1:-1]
        if "\\" in value:
            value = value.replace('\\"', '"').replace("\\\\", "\\")
    return value


def split_trailing_pairs(message: str) -> tuple[str, dict[str, str] | None]:
    """Move the run of ``key=value`` pairs that ends ``message`` out of it.

    ``"Progress processed=209 total=500"`` -> ``("Progress", {"processed": "209", ...})``.
    Pairs followed by other words stay in the message.
    """
    if "=" not in message:
        return message, None
    end = len(message.rstrip())
    block_start = -1
    last_end = -1
    pairs: list[tuple[str, str]] = []
    for match in _PAIR.finditer(message):
        start = match.start()
        if start and not message[start - 1].isspace():
            block_start, pairs = -1, []
            continue
        if block_start < 0 or message[last_end:start].strip():
            block_start, pairs = start, []
        pairs.append((match.group(1), match.group(2)))
        last_end = match.end()
    if block_start < 0 or last_end != end:
        return message, None
    return message[:block_start].rstrip(), {key: _unquote(value) for key, value in pairs}


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
