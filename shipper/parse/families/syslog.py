"""Syslog lines: RFC 3164 (BSD, with or without ``<PRI>``) and RFC 5424.

- RFC 3164: ``<34>Oct 11 22:14:15 mymachine su[123]: msg`` (also without ``<34>``, or
  without the host as local-socket writers send it: ``<30>Oct 11 22:14:15 app[1]: msg``). The
  time has no year: this year's unless that is in the future (``from_yearless``), in
  ``parse.default_timezone``.
- RFC 5424: ``<165>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg`` with
  ``-`` for a missing field and an optional BOM before the message.

``PRI`` gives ``facility`` and ``severity`` (attributes, by name) and the level; without
one the level is a leading level word of the message, else ``info``. The host goes to
``attributes.host``, the app (tag) to ``logger``, procid to ``pid`` (an int when it is
digits, else ``procid``), ``msgid`` and each structured-data element (``{SD-ID: {param:
value}}``) to attributes. Trailing ``k=v`` pairs of the message are split off as for other
text layouts.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.parse.access import METHOD_INITIALS, bare_request, small_int
from shipper.parse.levels import level_word
from shipper.parse.logfmt import split_trailing_pairs
from shipper.parse.markers import leading_marker
from shipper.parse.timestamps import TimestampNormalizer

MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_BSD = re.compile(r"([A-Z][a-z]{2}) ([ 1-3]?\d) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? "
                  r"(?:([^\s\[\]:]+) )?(?:([^\s\[\]:]+)(?:\[([^\]\s]*)\])?: ?)?(.*)",
                  re.S | re.ASCII)
_RFC5424 = re.compile(r"([1-9]\d?) (\S+) (\S+) (\S+) (\S+) (\S+) (.*)", re.S | re.ASCII)
_SD_ELEMENT = re.compile(r'\[([^\s\]="]+)((?: [^\s\]="]+="(?:[^"\\]|\\.)*")*)\]', re.S)
_SD_PARAM = re.compile(r' ([^\s\]="]+)="((?:[^"\\]|\\.)*)"', re.S)
_SD_ESCAPE = re.compile(r"\\([\"\\\]])")
_SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_SEVERITY_LEVELS = ("critical", "critical", "critical", "error", "warning", "info",
                    "info", "debug")
_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
               "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
               "local0", "local1", "local2", "local3", "local4", "local5", "local6",
               "local7")

#: PRI -> (level, {"facility", "severity"}) for every PRI 0-191
_PRI_FIELDS = tuple(
    (_SEVERITY_LEVELS[pri % 8], {"facility": _FACILITIES[pri // 8],
                                 "severity": _SEVERITIES[pri % 8]})
    for pri in range(192))


def syslog_line(text: str, stamps: TimestampNormalizer) -> tuple[str, dict[str, Any]] | None:
    """``("syslog", record)`` for an RFC 3164/5424 line, else ``None``; call it for
    lines that start with ``<`` or a capital letter."""
    pri = None
    body = text
    if text[:1] == "<":
        end = text.find(">", 1, 5)
        if end == -1 or not text[1:end].isdigit() or int(text[1:end]) > 191:
            return None
        pri, body = int(text[1:end]), text[end + 1:]
        if body[:1].isdigit():
            return _rfc5424(pri, body, stamps)
    if body[:3] not in MONTHS or body[3:4] != " ":
        return None
    return _rfc3164(pri, body, stamps)


def _rfc3164(pri: int | None, body: str,
             stamps: TimestampNormalizer) -> tuple[str, dict[str, Any]] | None:
    match = _BSD.match(body)
    if match is None:
        return None
    month, day, clock, frac, host, app, procid, message = match.groups()
    day = day.strip().zfill(2)
    stamp = stamps.from_yearless(MONTHS[month], day, clock, frac)
    record = _record(pri, message, app)
    attributes = record["attributes"]
    if not stamp:
        attributes["invalid_timestamp"] = match.group(0)[:match.end(4 if frac else 3)]
    record["timestamp"] = stamp
    if host is not None:  # Go's log/syslog and docker write none to a local socket
        attributes["host"] = host
    if procid:
        _procid(procid, attributes)
    return "syslog", record


def _rfc5424(pri: int, body: str,
             stamps: TimestampNormalizer) -> tuple[str, dict[str, Any]] | None:
    match = _RFC5424.match(body)
    if match is None:
        return None
    _version, when, host, app, procid, msgid, rest = match.groups()
    structured, message = _structured_data(rest)
    if structured is None:
        return None
    if message[:1] == "\ufeff":
        message = message[1:]
    record = _record(pri, message, None if app == "-" else app)
    attributes = record["attributes"]
    stamp = None if when == "-" else stamps.from_string(when)
    if stamp == "":
        attributes["invalid_timestamp"] = when
    record["timestamp"] = stamp
    for key, value in (("host", host), ("msgid", msgid)):
        if value != "-":
            attributes[key] = value
    if procid != "-":
        _procid(procid, attributes)
    for sd_id, params in structured.items():
        attributes.setdefault(sd_id, {}).update(params)
    return "syslog", record


def _structured_data(rest: str) -> tuple[dict[str, dict[str, str]] | None, str]:
    """``({SD-ID: {param: value}}, message)``; ``(None, rest)`` when ``rest`` starts with
    neither ``-`` nor well-formed elements."""
    if rest[:1] == "-" and rest[1:2] in ("", " "):
        return {}, rest[2:]
    elements: dict[str, dict[str, str]] = {}
    at = 0
    while rest[at:at + 1] == "[":
        close = -1 if "\\" in rest else rest.find("]", at)
        if close == -1:  # escapes (or no end): the exact, slower pattern
            at = _escaped_element(rest, at, elements)
        else:
            at = _plain_element(rest, at, close, elements)
        if at == -1:
            return None, rest
    if not elements or rest[at:at + 1] not in ("", " "):
        return None, rest
    return elements, rest[at + 1:]


def _plain_element(rest: str, at: int, close: int,
                   elements: dict[str, dict[str, str]]) -> int:
    """``[id k="v" ...]`` without backslashes (``]`` must be escaped inside values, so
    the first one closes it): string methods; the end, or -1 when malformed."""
    sd_id, _, body = rest[at + 1:close].partition(" ")
    params = elements.setdefault(sd_id, {})
    index, size = 0, len(body)
    while index < size:
        equals = body.find('="', index)
        end = body.find('"', equals + 2)
        key = body[index:equals]
        if equals == -1 or end == -1 or not key or " " in key:
            return -1
        params[key] = body[equals + 2:end]
        index = end + 2 if body[end + 1:end + 2] == " " else end + 1
        if index < size and body[index - 1] != " ":
            return -1
    return close + 1 if sd_id and " " not in sd_id else -1


def _escaped_element(rest: str, at: int, elements: dict[str, dict[str, str]]) -> int:
    element = _SD_ELEMENT.match(rest, at)
    if element is None:
        return -1
    params = elements.setdefault(element.group(1), {})
    for key, value in _SD_PARAM.findall(element.group(2)):
        params[key] = _SD_ESCAPE.sub(r"\1", value) if "\\" in value else value
    return element.end()


def _procid(procid: str, attributes: dict[str, Any]) -> None:
    if procid.isdigit() and procid.isascii():
        attributes["pid"] = small_int(procid)
    else:
        attributes["procid"] = procid


def _record(pri: int | None, message: str, app: str | None) -> dict[str, Any]:
    """The record fields of ``message`` (``_finish``-style: a leading marker or level
    word, trailing pairs, a bare request) with PRI's facility and severity."""
    level = None
    if message[:1] >= "\u2000":
        level, message = leading_marker(message)
    attributes: dict[str, Any]
    if pri is not None:
        level, fields = _PRI_FIELDS[pri]
        attributes = fields.copy()
    else:
        attributes = {}
    if level is None:
        token, _, after = message.partition(" ")
        level = level_word(token)
        if level is not None:
            message = after.lstrip(" ")
    if "=" in message:
        message, pairs = split_trailing_pairs(message)
        if pairs:
            attributes.update(pairs)
    if message[:1] in METHOD_INITIALS:
        bare_request(message, attributes)
    record: dict[str, Any] = {"timestamp": None, "level": level or "info",
                              "message": message.rstrip(), "attributes": attributes}
    if app:
        record["logger"] = app
    return record
