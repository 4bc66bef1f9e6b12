"""Python web servers and frameworks, as they log by default.

* uvicorn: ``INFO:     Started server process [1]`` (the level and its colon padded to
  9 columns, the message at column 10; ``pid`` from ``server process [N]``). Its access
  line (``INFO:     ip:port - "GET /x HTTP/1.1" 200 OK``) stays ``access`` (text.py).
* gunicorn's error log: ``[2026-01-02 10:00:00 +0000] [7] [ERROR] msg`` (``pid``); its
  access log is the combined format (``access.parse_combined``).
* Flask: ``[2026-01-02 10:00:00,123] INFO in app: msg`` (logger = the module).
* Django: runserver's ``django.server`` lines ``[02/Jan/2026 10:00:00] "GET /x HTTP/1.1"
  200 1234`` (``access``, level from the status as Django logs it, other messages
  ``django``), and the ``verbose`` format of Django's logging docs
  ``INFO 2026-01-02 10:00:00,123 views 1234 140234 msg`` (logger = module, ``pid``,
  ``thread``).
* werkzeug behind Python logging: ``INFO:werkzeug:127.0.0.1 - - [02/Jan/2026 10:00:00]
  "GET / HTTP/1.1" 200 -`` (``access``, the line's level; the bare line is combined).

Each function returns ``(format, partial record)`` or ``None`` (not its layout).
"""

from __future__ import annotations

import re
from typing import Any

from shipper.parse.access import (
    parse_combined,
    quoted_request,
    small_int,
    spaced_time,
    status_level,
)
from shipper.parse.levels import normalize_level
from shipper.parse.partial import partial_record
from shipper.parse.timestamps import TimestampNormalizer

Parsed = tuple[str, dict[str, Any]]

_UVICORN_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
_SERVER_PID = re.compile(r"(?:Started|Finished) server process \[(\d+)\]$", re.ASCII)
_GUNICORN = re.compile(r" \[(\d+)\] \[([A-Z]+)\] (.*)", re.S | re.ASCII)
_FLASK = re.compile(r" ([A-Z]+) in ([\w.<>\-]+): (.*)", re.S | re.ASCII)
_DJANGO_SERVER = re.compile(r"\[(\d{2}/[A-Z][a-z]{2}/\d{4} \d{2}:\d{2}:\d{2})\] (.*)",
                            re.S | re.ASCII)
_DJANGO_VERBOSE = re.compile(
    r"([A-Z]+) (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3}) ([A-Za-z_]\w*) (\d+) (\d+) (.*)",
    re.S | re.ASCII)


def uvicorn(text: str, level: str, message: str) -> Parsed | None:
    """uvicorn's ``LEVEL:`` prefix padded so the message starts at column 10."""
    head = text[:9].rstrip(" ")
    if text[9:10] != " " or text[10:11] == " " or head[-1:] != ":" \
            or head[:-1] not in _UVICORN_LEVELS:
        return None
    record = partial_record(None, level, message, None)
    if message[-1:] == "]":
        match = _SERVER_PID.search(message)
        if match is not None:
            record["attributes"]["pid"] = small_int(match.group(1))
    return "uvicorn", record


def werkzeug(level: str, message: str, stamps: TimestampNormalizer) -> Parsed | None:
    """werkzeug's request line behind Python logging (``INFO:werkzeug:...``)."""
    if '] "' not in message:
        return None
    request = parse_combined(message, stamps)
    if request is None:
        return None
    request.update(level=level, message=message, logger="werkzeug")
    return "access", request


def bracketed_iso(stamp: str | None, rest: str) -> Parsed | None:
    """What follows a bracketed ISO time: gunicorn's ``[pid] [LEVEL]`` or Flask's
    ``LEVEL in module:``."""
    if rest[:2] == " [":
        match = _GUNICORN.match(rest)
        if match is None:
            return None
        pid, word, message = match.groups()
        level = normalize_level(word)
        if level is None:
            return None
        record = partial_record(stamp, level, message, None)
        record["attributes"]["pid"] = small_int(pid)
        return "gunicorn", record
    if " in " not in rest[:40]:
        return None
    match = _FLASK.match(rest)
    if match is None:
        return None
    word, module, message = match.groups()
    level = normalize_level(word)
    if level is None:
        return None
    return "flask", partial_record(stamp, level, message, module)


def django_server(text: str, stamps: TimestampNormalizer) -> Parsed | None:
    """``[02/Jan/2026 10:00:00] message`` (Django's runserver, ``django.server``)."""
    match = _DJANGO_SERVER.match(text)
    if match is None:
        return None
    when, message = match.groups()
    stamp = spaced_time(when, stamps) or ""  # the shape matched: "" = impossible
    request = quoted_request(message) if message[:1] == '"' else None
    if request is None:
        record = partial_record(stamp, "info", message, None)
        fmt = "django"
    else:
        record = {"timestamp": stamp, "level": status_level(request["status"]),
                  "message": message, "attributes": request}
        fmt = "access"
    if not stamp:
        record["attributes"]["invalid_timestamp"] = when
    return fmt, record


def django_verbose(text: str, stamps: TimestampNormalizer) -> Parsed | None:
    """``LEVEL asctime module process thread message`` (Django's logging docs)."""
    match = _DJANGO_VERBOSE.match(text)
    if match is None:
        return None
    word, date, clock, frac, module, pid, thread, message = match.groups()
    level = normalize_level(word)
    if level is None:
        return None
    stamp = stamps.from_iso_parts(date, clock, frac, None)
    record = partial_record(stamp, level, message, module)
    attributes = record["attributes"]
    attributes["pid"] = small_int(pid)
    attributes["thread"] = thread
    if not stamp:
        attributes["invalid_timestamp"] = f"{date} {clock},{frac}"
    return "django", record
