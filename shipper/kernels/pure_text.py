"""The pure-Python twin of the text-line kernel in ``_compiled.pyx`` (its last block).

``text_fields`` is the fast path of :func:`shipper.parse.partial.partial_record` for the
common case, an ASCII message: the same record, or ``None`` where the general function
must run (a non-ASCII message, which may open with an emoji marker; a quote or more than
4 KiB with an ``=``, which the quoted-pairs regex reads). A message opening
``METHOD /path STATUS`` gets its request attributes here (``access.bare_request``, whose
regex is ``BARE_REQUEST``). The equivalence tests hold both twins to each other and to
``partial_record``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from shipper.kernels.pure import iso_prefix, trailing_pairs

#: a caller in zap's console (``text._CALLER``)
_CALLER = re.compile(r"\S+:\d+$")
#: the zones ``TimestampNormalizer.from_iso_parts`` takes for UTC (``timestamps`` imports it)
UTC_ZONES = frozenset({"Z", "z", "UTC", "GMT", "+00:00", "+0000", "-00:00", "-0000"})
#: the second character after the time that sends a line to the JVM and Rust layouts
#: (``frameworks._FRAMEWORK_SECOND``)
_FRAMEWORK_SECOND = frozenset(" [TDIWEF")
#: most tab-separated fields of a zap console line the kernel reads
ZAP_PARTS = 8
#: what ``levels.level_word`` strips off a word before it looks the word up
_LEVEL_STRIPS = frozenset("[]()<>:")
#: a logger name before `` - LEVEL - `` (``text._NAME`` within ASCII)
_LOGGER = re.compile(r"[A-Za-z0-9_.\-:/<>$]+")

#: how a bare request opens (``BARE_REQUEST``'s methods, then the path's ``/``)
REQUEST_HEADS = ("GET /", "POST /", "PUT /", "PATCH /", "DELETE /", "HEAD /", "OPTIONS /",
                 "CONNECT /", "TRACE /")
#: a message opening ``GET /path 200`` (``access.bare_request`` reads it with this one)
BARE_REQUEST = re.compile(
    r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE) (/\S*) (\d{3})\b")
#: longest message whose trailing pairs the kernel splits (``logfmt._TAIL_WINDOW``)
PAIRS_MAX = 4096


def text_fields(stamp: str | None, level: str | None, message: str,
                logger: str | None) -> dict[str, Any] | None:
    """``{"timestamp", "level" (``info`` when none), "message", "attributes"[, "logger"]}``
    with the run of ``key=value`` words that ends an ASCII ``message`` moved into the
    attributes; ``None`` for any message the general ``partial_record`` must read."""
    if not message.isascii():
        return None
    attributes: dict[str, Any] = {}
    if "=" in message:
        if len(message) > PAIRS_MAX or '"' in message:
            return None
        message, pairs = trailing_pairs(message)
        if pairs is not None:
            attributes = pairs
    if message.startswith(REQUEST_HEADS) and "method" not in attributes:
        match = BARE_REQUEST.match(message)  # ``access.bare_request``, inlined
        if match is not None:
            attributes["method"] = match.group(1)
            attributes["path"] = match.group(2)
            attributes["status"] = int(match.group(3))
    record: dict[str, Any] = {"timestamp": stamp, "level": level or "info",
                              "message": message, "attributes": attributes}
    if logger:
        record["logger"] = logger
    return record


def stamped_fields(stamp: str | None, rest: str,
                   levels: dict[str, str]) -> dict[str, Any] | None:
    """The record of what follows a line's leading date-time (``rest``) in the two
    generic layouts of ``TextParser._after_timestamp`` when it is ASCII and plain:
    ``LEVEL msg`` (the level a key of ``levels``, no ``[thread]`` or ``logger - `` after
    it) and Python's ``- name - LEVEL - msg``; ``None`` for anything else (zap's tab,
    pipes, other words, and whatever ``text_fields`` declines)."""
    return _stamped_rest(stamp, rest, levels, False)


def _stamped_rest(stamp: str | None, rest: str, levels: dict[str, str],
                  body: bool) -> dict[str, Any] | None:
    """``stamped_fields``; with ``body``, also a rest whose first word is no level word
    (``_unleveled``)."""
    if not rest.isascii() or rest[:1] == "\t":
        return None
    rest = rest.lstrip(" ")
    if rest[:1] == "-" and rest[1:2] == " ":
        parts = rest[2:].split(" - ", 2)
        if len(parts) != 3:
            return None
        level = levels.get(parts[1].strip())
        if level is None or _LOGGER.fullmatch(parts[0]) is None:
            return None
        return text_fields(stamp, level, parts[2], parts[0])
    if rest[:1] == "|":
        return None
    token, _, after = rest.partition(" ")
    level = levels.get(token)
    if level is None:
        return _unleveled(stamp, rest, token, after, levels) if body else None
    message = after.lstrip(" ")
    if message[:1] == "[" or " - " in message:
        return None
    return text_fields(stamp, level, message, None)


def _unleveled(stamp: str | None, rest: str, token: str, after: str,
                levels: dict[str, str]) -> dict[str, Any] | None:
    """``TextParser._body`` of ``rest`` (``token`` its first word, no key of ``levels``,
    ``after`` what follows the space): when neither that word nor the next can be a level
    word (``level_word`` reads a key of ``levels``, or a word it strips of ``[]()<>:``),
    the whole rest is the message, level ``info``, no logger (``ISO GET /health 200``)."""
    if not token or token[0] in _LEVEL_STRIPS or token[-1] in _LEVEL_STRIPS:
        return None
    word = after.lstrip(" ").partition(" ")[0]
    if word and (word in levels or word[0] in _LEVEL_STRIPS or word[-1] in _LEVEL_STRIPS):
        return None
    return text_fields(stamp, None, rest, None)


def stamped_line(text: str, good: str, utc_default: bool, levels: dict[str, str],
                 max_depth: int) -> dict[str, Any] | None:
    """``TextParser.parse`` of an ASCII line opening with an ISO date-time of ``good``, the
    normalizer's last good UTC second (``date T clock``), when the generic rules read it:
    the record (format ``text``), else ``None``. ``None`` for a time that is not that
    second in UTC (``from_iso_parts`` decides it), a Go date with ``/``, and whatever a
    gate may send elsewhere: ``] "`` (combined access lines), `` [`` right after the
    time (nginx, PostgreSQL), the JVM, Rust and Ray gates of ``Frameworks.stamped``;
    then ``stamped_fields`` reads the rest (and a rest whose first two words cannot be
    level words: ``_unleveled``), or ``zap_fields`` after a tab. (The compiled
    ``JsonLines`` text route also takes another second's line, asking the normalizer.)"""
    if not "0" <= text[:1] <= "9" or not text.isascii():
        return None
    prefix = iso_prefix(text)
    if prefix is None:
        return None
    date, clock, frac, zone, end = prefix
    if len(good) != 19 or date != good[:10] or clock != good[11:] or not (
            utc_default if zone is None else zone in UTC_ZONES):
        return None
    if '] "' in text or " [" in text[end:end + 7]:
        return None
    millis = (frac[:3] if len(frac) >= 3 else frac.ljust(3, "0")) if frac else "000"
    stamp = f"{good}.{millis}Z"
    rest = text[end:]
    if rest[:1] == "\t":
        if " -- " in rest or "\n" in text:  # Ray's driver; _CALLER's "$" before a newline
            return None
        return zap_fields(stamp, rest[1:], levels, max_depth)
    if rest[1:2] in _FRAMEWORK_SECOND and (
            rest[:2] == " [" or " [" in rest[4:8] or rest.find(" --- ", 4, 160) != -1
            or (rest[:1] == " " and frac is not None and zone is not None)):
        return None
    return _stamped_rest(stamp, rest, levels, True)


def zap_fields(stamp: str, rest: str, levels: dict[str, str],
               max_depth: int) -> dict[str, Any] | None:
    """``TextParser._zap_console`` of an ASCII ``rest`` (after the tab), or ``None``: more
    than ``ZAP_PARTS`` fields, a level word with white space or not a key of ``levels``,
    a JSON object that may nest deeper than ``max_depth``, and whatever ``text_fields``
    declines."""
    parts = rest.split("\t")
    word = parts[0]
    if len(parts) > ZAP_PARTS or word.split() != [word]:
        return None
    level = levels.get(word)
    if level is None:
        return None
    fields: dict[str, Any] | None = None
    last = parts[-1]
    if len(parts) > 2 and last[:1] == "{":
        if len(last) > 2 * max_depth and last.count("{") + last.count("[") > max_depth:
            return None
        try:
            value = orjson.loads(last)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            fields = value
            parts.pop()
    message = parts.pop() if len(parts) > 1 else ""
    logger = caller = None
    for part in parts[1:]:
        if _CALLER.match(part):
            caller = part
        else:
            logger = part
    record = text_fields(stamp, level, message, logger)
    if record is None:
        return None
    attributes = record["attributes"]
    if caller is not None:
        attributes["caller"] = caller
    if fields:
        attributes.update(fields)
    return record
