"""HTTP access-log lines: combined/common log format (gunicorn's and werkzeug's too),
uvicorn's access line, Django's runserver request, and a bare ``METHOD /path STATUS`` at
the start of a message.

Each puts ``method``, ``path``, ``status`` (int) and, when present, ``client``,
``user_agent`` into the attributes, so noise filters can match requests by field.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.kernels import combined_fields
from shipper.kernels.pure_access import small_int as small_int
from shipper.kernels.pure_access import status_level as status_level
from shipper.kernels.pure_text import BARE_REQUEST as _BARE
from shipper.parse.instants import IMPOSSIBLE
from shipper.parse.timestamps import TimestampNormalizer

_UVICORN = re.compile(r'(\S+) - "(\S+) (\S+?)(?: (HTTP/[\d.]+))?" (\d{3})\b')
#: ``_UVICORN`` for a path without a quote (nearly every line): the client and the method
#: end at their first blank, so the lazy path can only end at its first blank or quote,
#: where this greedy one ends; a match here is ``_UVICORN``'s match, ~3x cheaper (sre
#: tries the rest of the pattern after each character of a lazy path)
_UVICORN_PLAIN = re.compile(r'(\S+) - "(\S+) ([^\s"]+)(?: (HTTP/[\d.]+))?" (\d{3})\b')
#: Django's runserver message: ``"GET /x HTTP/1.1" 200 1234``
_QUOTED = re.compile(r'"(\S+) (\S+?)(?: (HTTP/[\d.]+))?" (\d{3}) (\d+|-)$')
METHOD_INITIALS = frozenset("GPDHOCT")


def parse_combined(text: str, stamps: TimestampNormalizer) -> dict[str, Any] | None:
    """A combined/common log format line as a partial record, else ``None`` (the fields:
    the ``combined_fields`` kernel, compiled or ``pure_access``; the time: here)."""
    fields = combined_fields(text)
    if fields is None:
        return None
    record, when = fields
    stamp = spaced_time(when, stamps) if when[11:12] == " " else stamps.from_string(when)
    if not stamp:  # the bracketed field is the time: unreadable is impossible
        record["attributes"]["invalid_timestamp"] = when
        stamp = IMPOSSIBLE
    record["timestamp"] = stamp
    return record


def spaced_time(when: str, stamps: TimestampNormalizer) -> str | None:
    """``02/Jan/2026 10:00:00`` (werkzeug, Django's runserver: Apache's date with a space
    before the time, no zone, so the default zone), read as Apache's (and cached)."""
    return stamps.from_string(f"{when[:11]}:{when[12:]}")


def quoted_request(message: str) -> dict[str, Any] | None:
    """``"GET /x HTTP/1.1" 200 1234`` -> request attributes (``bytes`` unless ``-``)."""
    match = _QUOTED.match(message)
    if match is None:
        return None
    method, path, proto, status, size = match.groups()
    attributes: dict[str, Any] = {"method": method, "path": path, "status": int(status)}
    if proto:
        attributes["protocol"] = proto
    if size != "-":
        attributes["bytes"] = small_int(size)
    return attributes


def uvicorn_request(message: str) -> dict[str, Any] | None:
    """``ip:port - "GET /health HTTP/1.1" 200 OK`` -> request attributes."""
    if ' - "' not in message:  # every match has it
        return None
    match = _UVICORN_PLAIN.match(message) or _UVICORN.match(message)
    if match is None:
        return None
    client, method, path, proto, status = match.groups()
    attributes: dict[str, Any] = {"method": method, "path": path, "status": int(status),
                                  "client": client}
    if proto:
        attributes["protocol"] = proto
    return attributes


def bare_request(message: str, attributes: dict[str, Any]) -> None:
    """Adds method/path/status when ``message`` starts ``GET /path 200``."""
    if message[:1] not in METHOD_INITIALS or "method" in attributes:
        return
    match = _BARE.match(message)
    if match is not None:
        attributes["method"] = match.group(1)
        attributes["path"] = match.group(2)
        attributes["status"] = int(match.group(3))
