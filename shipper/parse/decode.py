"""The slow path of a line's decoding (``FileParser._decoded`` takes the fast one): NUL
bytes, invalid UTF-8, ANSI escapes and carriage returns, each repaired and counted."""

from __future__ import annotations

import re
from collections import Counter

from shipper.parse.families.consoles import last_state

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def clean_line(data: bytes | str, errors: Counter[str]) -> str:
    """The text of a line with NUL bytes dropped (``nul_bytes``), invalid UTF-8 replaced
    (``invalid_utf8``), ANSI escapes removed and carriage-return updates collapsed to
    their last state."""
    text = _decode(data, errors)
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:  # CRLF, or a progress bar's updates: the last state
        text = last_state(text)
    return text


def _decode(data: bytes | str, errors: Counter[str]) -> str:
    if isinstance(data, str):
        if "\x00" in data:
            errors["nul_bytes"] += 1
            data = data.replace("\x00", "")
        return data
    if 0 in data:
        errors["nul_bytes"] += 1
        data = data.replace(b"\x00", b"")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        errors["invalid_utf8"] += 1
        return data.decode("utf-8", "replace")
