"""The pure twin of the ``combined_fields`` kernel: a combined/common log format access
line (nginx, Apache, gunicorn, werkzeug) as its partial record and its bracketed time.

``combined_fields(text)`` is ``None`` unless ``_COMBINED`` matches at the start of
``text``; else ``(record, when)``: ``record`` is ``{"timestamp": None, "level", "message":
text, "attributes"}`` with the attributes in this order: ``method``, ``path``, ``status``
(int), ``client``, then, when present, ``protocol``, ``bytes`` (``small_int``; not for
``-``), ``user`` (not ``-``), ``referer`` and ``user_agent`` (neither empty nor ``-``).
``when`` is the bracketed time as written; the caller reads it (``parse.access``).
The compiled kernel reads ASCII lines itself and hands any other line to this twin.
"""

from __future__ import annotations

import re
from typing import Any

#: a quoted field with backslash escapes: ``(?:[^"\\]|\\.)*`` unrolled (the same
#: strings and the same match, the first unescaped quote ends it; 9k fewer instructions
#: a combined line than the alternation, which sre runs once a character)
_QUOTED_FIELD = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_COMBINED = re.compile(
    r'(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+?)(?: (HTTP/[\d.]+))?" (\d{3}) (\d+|-)'
    r'(?: ' + _QUOTED_FIELD + " " + _QUOTED_FIELD + ")?"
)


def status_level(status: int) -> str:
    if status >= 500:
        return "error"
    if status >= 400:
        return "warning"
    return "info"


def small_int(digits: str) -> int | str:
    """``int(digits)`` when it fits a signed 64-bit integer (what encoders accept), else
    the digits as they are."""
    return int(digits) if len(digits) <= 18 else digits


def combined_fields(text: str) -> tuple[dict[str, Any], str] | None:
    """A combined/common log format line as ``(record, when)`` (module docstring)."""
    match = _COMBINED.match(text)
    if match is None:
        return None
    client, _ident, user, when, method, path, proto, status, size, referer, agent = (
        match.groups())
    code = int(status)
    attributes: dict[str, Any] = {"method": method, "path": path, "status": code,
                                  "client": client}
    if proto:
        attributes["protocol"] = proto
    if size != "-":
        attributes["bytes"] = small_int(size)
    if user != "-":
        attributes["user"] = user
    if referer and referer != "-":
        attributes["referer"] = referer
    if agent and agent != "-":
        attributes["user_agent"] = agent
    return {"timestamp": None, "level": status_level(code), "message": text,
            "attributes": attributes}, when
