"""Server logs: nginx's error log and PostgreSQL's server log (``log_line_prefix``).

Both start with a date-time that ``TextParser`` has already matched; ``server_line`` gets
that match and the rest of the line, and returns ``None`` unless the rest is exactly one
of these layouts:

- nginx: ``2026/01/02 10:00:00 [error] 7#7: *12 msg, client: ..., request: "..."`` (slash
  date, no fraction, a bracketed nginx level, ``pid#tid:``), so Go's ``log`` lines with the
  same date are never taken.
- PostgreSQL: ``2026-01-02 10:00:00.123 UTC [1234] LOG:  msg`` with the default
  ``%m [%p] `` and the common additions (``%q%u@%d``, ``[%l-1] user=%u,db=%d,...``); the
  severity is followed by two spaces, as the server writes it. ``DETAIL``/``HINT``/
  ``STATEMENT``/``CONTEXT``/``QUERY``/``LOCATION`` lines join the record before them
  (``multiline.continues``, state ``POSTGRES``), as written.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.kernels.pure import IsoPrefix
from shipper.parse.access import small_int
from shipper.parse.levels import TEXT_LEVELS
from shipper.parse.timestamps import TimestampNormalizer

_NGINX = re.compile(r" \[(debug|info|notice|warn|error|crit|alert|emerg)\] (\d+)#(\d+): "
                    r"(?:\*(\d+) )?(.*)", re.S | re.ASCII)
#: the context nginx appends to a message (``ngx_http_log_error``), in its order
_NGINX_NAMES = frozenset({"client", "server", "request", "subrequest", "upstream", "host",
                          "referrer", "port"})
_PG_SEVERITIES = ("LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|STATEMENT|CONTEXT"
                  "|QUERY|LOCATION|DEBUG[1-5]")
#: what follows the ISO prefix: a zone it did not take, ``[pid]`` (``[pid-line]``),
#: ``[%l-1]``, one prefix word (``user@db``, ``user=..,db=..``), ``SEVERITY:  message``
_POSTGRES = re.compile(
    r"(?: ([A-Z]{2,5}|[+-]\d{2}(?::?\d{2})?))? \[(\d+)(?:-\d+)?\]:?(?: \[\d+-\d+\])?"
    r"(?: (\S+?))? (" + _PG_SEVERITIES + r"):  (.*)", re.S | re.ASCII)
#: a whole PostgreSQL line up to its severity (``postgres_line``, ``postgres_continuation``)
_PG_HEAD = (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?"
            r"(?: [A-Z]{2,5}| [+-]\d{2}(?::?\d{2})?)?"
            r" \[\d+(?:-\d+)?\]:?(?: \[\d+-\d+\])?(?: \S+?)? ")
_PG_LINE = re.compile(_PG_HEAD + r"(?:" + _PG_SEVERITIES + r"):  ", re.ASCII)
_PG_CONTINUATION = re.compile(
    _PG_HEAD + r"(?:DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION):  ", re.ASCII)
_PG_LEVELS = {"LOG": "info", "INFO": "info", "NOTICE": "info", "WARNING": "warning",
              "ERROR": "error", "FATAL": "critical", "PANIC": "critical"}
_PG_PREFIX_KEYS = {"user": "user", "db": "database", "app": "application",
                   "client": "client", "host": "client"}
#: zone names PostgreSQL prints for ``log_timezone`` that mean one offset (minutes);
#: others (``CST``, ``IST``, ``BST``: ambiguous) are read in ``parse.default_timezone``
_ZONE_NAMES = {"UTC": 0, "GMT": 0, "WET": 0, "WEST": 60, "CET": 60, "CEST": 120,
               "EET": 120, "EEST": 180, "MSK": 180, "EST": -300, "EDT": -240,
               "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
               "AKST": -540, "AKDT": -480, "HST": -600, "JST": 540, "KST": 540,
               "HKT": 480, "SGT": 480, "AWST": 480, "ACST": 570, "ACDT": 630,
               "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780}


def server_line(prefix: IsoPrefix, text: str,
                stamps: TimestampNormalizer) -> tuple[str, dict[str, Any]] | None:
    """``(format, record)`` for an nginx error or PostgreSQL line ``text`` whose leading
    date-time is ``prefix`` (``shipper.kernels.iso_prefix``), else ``None``."""
    rest = text[prefix[4]:]
    if "a" <= rest[2:3] <= "z":
        if prefix[0][4] == "/" and prefix[2] is None and prefix[3] is None:
            return _nginx(prefix, text, rest, stamps)
        return None
    return _postgres(prefix, text, rest, stamps)


def _nginx(prefix: IsoPrefix, text: str, rest: str,
           stamps: TimestampNormalizer) -> tuple[str, dict[str, Any]] | None:
    found = _NGINX.match(rest)
    if found is None:
        return None
    level, pid, tid, connection, message = found.groups()
    attributes: dict[str, Any] = {"pid": small_int(pid), "thread": tid}
    if connection is not None:
        attributes["connection"] = small_int(connection)
    message = _nginx_fields(message, attributes)
    stamp = stamps.from_iso_parts(*prefix[:4])
    if not stamp:
        attributes["invalid_timestamp"] = text[:prefix[4]]
    return "nginx_error", {"timestamp": stamp, "level": TEXT_LEVELS[level],
                           "message": message, "attributes": attributes}


def _nginx_fields(message: str, attributes: dict[str, Any]) -> str:
    """Moves the trailing ``, client: ..., request: "..."`` context into ``attributes``
    (the request split as access lines are); the message without it. String methods
    only: a regex over quoted values costs microseconds a line."""
    start = message.find(", client: ")
    if start == -1:
        start = message.find(", server: ")
        if start == -1:
            return message
    fields = _context(message, start)
    if fields is None:
        return message  # not nginx's context after all: the message stays whole
    attributes.update(fields)
    request = fields.get("request")
    if request is not None:
        method, _, target = request.partition(" ")
        path, _, protocol = target.rpartition(" ")
        if not protocol.startswith("HTTP/"):
            path, protocol = target, ""
        if method and path and " " not in path:
            attributes.update(method=method, path=path)
            if protocol:
                attributes["protocol"] = protocol
    return message[:start]


def _context(message: str, at: int) -> dict[str, str] | None:
    """``{name: value}`` of the ``, name: value`` / ``, name: "value"`` run from ``at`` to
    the end, or ``None`` when anything else is there."""
    fields: dict[str, str] = {}
    end = len(message.rstrip())
    while at < end:
        colon = message.find(": ", at + 2)
        name = message[at + 2:colon]
        if colon == -1 or name not in _NGINX_NAMES or not message.startswith(", ", at):
            return None
        value_at = colon + 2
        if message[value_at:value_at + 1] == '"':
            close = message.find('"', value_at + 1)
            if close == -1:
                return None
            fields[name], at = message[value_at + 1:close], close + 1
        else:
            comma = message.find(", ", value_at, end)
            at = end if comma == -1 else comma
            fields[name] = message[value_at:at]
    return fields


def _postgres(iso: IsoPrefix, text: str, rest: str,
              stamps: TimestampNormalizer) -> tuple[str, dict[str, Any]] | None:
    found = _POSTGRES.match(rest) if iso[0][4] == "-" else None
    if found is None:
        return None
    zone_name, pid, prefix, severity, message = found.groups()
    date, clock, frac, zone = iso[:4]
    if zone is None and zone_name is not None:
        zone = _zone(zone_name)
    stamp = stamps.from_iso_parts(date, clock, frac, zone)
    attributes: dict[str, Any] = {"pid": small_int(pid), "severity": severity}
    if prefix is not None:
        _prefix_fields(prefix, attributes)
    if not stamp:
        written = text[:iso[4]] + (f" {zone_name}" if zone_name else "")
        attributes["invalid_timestamp"] = written
    level = _PG_LEVELS.get(severity) or ("debug" if severity[:5] == "DEBUG" else "info")
    return "postgres", {"timestamp": stamp, "level": level, "message": message.rstrip(),
                        "attributes": attributes}


def _zone(name: str) -> str | None:
    """``+03``/``-0330``/``CET`` as an offset ``from_iso_parts`` reads; ``None`` (the
    default zone) for a name that is not one offset."""
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        return f"{name[0]}{digits[:2]}:{digits[2:4] or '00'}"
    minutes = _ZONE_NAMES.get(name)
    if minutes is None:
        return None
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _prefix_fields(prefix: str, attributes: dict[str, Any]) -> None:
    """``user@db`` (``%u@%d``) or ``user=..,db=..,app=..,client=..`` into attributes;
    ``[unknown]`` (no session yet) is left out."""
    if "=" in prefix:
        for pair in prefix.split(","):
            key, _, value = pair.partition("=")
            if value and value != "[unknown]":
                attributes[_PG_PREFIX_KEYS.get(key, key)] = value
        return
    user, at, database = prefix.partition("@")
    if user and user != "[unknown]":
        attributes["user"] = user
    if at and database and database != "[unknown]":
        attributes["database"] = database


def postgres_line(text: str) -> bool:
    """True for a PostgreSQL server line (its record may take continuation lines);
    the cheap part first: the severity's two spaces."""
    if ":  " not in text:
        return False
    return _PG_LINE.match(text) is not None



def postgres_continuation(text: str) -> bool:
    """True for a ``DETAIL``/``HINT``/``STATEMENT``/``CONTEXT``/``QUERY``/``LOCATION``
    line, which belongs to the PostgreSQL record before it."""
    return ":  " in text and _PG_CONTINUATION.match(text) is not None
