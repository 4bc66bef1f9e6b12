"""JSON-object lines (structlog, zap, pino, bunyan, winston, zerolog, slog, logstash ...).

Known keys map to the record (message from ``message``/``msg``/``event``/``log``, level
from ``level``/``severity``/``levelname``/``lvl``..., timestamp from ``timestamp``/``time``/
``ts``/``@timestamp``, logger from ``logger``/``logger_name``/``name``); every other key
stays in ``attributes`` with nested values kept; the loggers' own conventions (pino/bunyan
``hostname``/``v``, slog ``source`` and ``INFO+2``, winston ``label``) are in
:mod:`shipper.parse.families.json_conventions`. A line that is not a JSON object, or that
orjson refuses (broken, deeper than 1,024 levels, NaN/Infinity), returns ``None`` and is
parsed as text. An object nested deeper than ``parse.max_json_depth`` (``too_deep``) becomes
a record whose message is the raw line (see ``JsonLineParser.too_deep_record``), so no
record is ever deeper than the encoders take.
"""

from __future__ import annotations

from typing import Any

import orjson

from shipper.parse.access import METHOD_INITIALS, bare_request
from shipper.parse.families.json_conventions import (
    error_implied,
    error_message,
    json_level,
    tidy_node,
    tidy_source,
    winston_label,
)
from shipper.parse.instants import IMPOSSIBLE
from shipper.parse.levels import TEXT_LEVELS, normalize_level
from shipper.parse.timestamps import TimestampNormalizer

MESSAGE_KEYS = ("message", "msg", "event", "log")
LEVEL_KEYS = ("level", "severity", "levelname", "lvl", "loglevel", "log.level", "level_name")
TIME_KEYS = ("timestamp", "time", "ts", "@timestamp", "datetime", "asctime")
_FAILURE_WORDS = ("error", "fail", "exception", "fatal")
_FAILURE_STATUSES = frozenset({"error", "failed", "failure", "fail", "fatal", "errored",
                               "exception", "crashed", "aborted"})


def load_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text``, or ``None`` (not an object / not valid JSON)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def deeper_than(text: str, value: dict[str, Any] | list[Any], limit: int) -> bool:
    """True when ``value``, decoded from ``text``, nests more than ``limit`` levels.

    Cheapest first: a line that short cannot (every level costs 2 characters), one
    without a nested container cannot (two memchr), one with at most ``limit`` brackets
    cannot (``find`` up to ``limit`` times: a ``count`` scan costs ~5 instructions a
    character); only then the decoded value is walked."""
    if len(text) <= 2 * limit or (text.rfind("{") <= 0 and "[" not in text):
        return False
    find = text.find
    brackets = 0
    for bracket in "{[":
        at = find(bracket)
        while at != -1:
            brackets += 1
            if brackets > limit:
                return too_deep(value, limit)
            at = find(bracket, at + 1)
    return False


def too_deep(value: dict[str, Any] | list[Any], limit: int) -> bool:
    """True when ``value`` nests containers more than ``limit`` levels deep (``value``
    itself is level 1). Iterative, and it stops at the first container past the limit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if item.__class__ is dict else item
        stack.extend((child, depth + 1) for child in children
                     if child.__class__ is dict or child.__class__ is list)
    return False


class JsonLineParser:
    """Maps a decoded JSON object onto the record fields (and hands the ``JsonLines``
    kernel, :mod:`shipper.kernels.pure_json`, what it needs to map the common shape
    inline: the keys, level words and steps below)."""

    message_keys = MESSAGE_KEYS
    level_keys = LEVEL_KEYS
    time_keys = TIME_KEYS
    text_levels = TEXT_LEVELS
    method_initials = METHOD_INITIALS
    impossible = IMPOSSIBLE
    bare_request = staticmethod(bare_request)
    normalize_level = staticmethod(normalize_level)
    tidy_node = staticmethod(tidy_node)

    def __init__(self, stamps: TimestampNormalizer) -> None:
        self.stamps = stamps  # the compiled kernel reads its last good second
        self.from_string = stamps.from_string
        self.from_epoch = stamps.from_epoch

    def parse(self, obj: dict[str, Any]) -> dict[str, Any]:
        """``obj`` becomes the record's ``attributes`` after the known keys are taken.

        Hot path: one ``get`` per candidate key, the common ``"level": "<word>"`` and
        ``"logger": "<name>"`` without any loop, the record built in one literal.
        """
        get = obj.get
        message = None
        message_key = ""
        for key in MESSAGE_KEYS:
            value = get(key)
            if value.__class__ is str:
                del obj[key]
                message, message_key = value, key
                break
        level_value = get("level")
        level = TEXT_LEVELS.get(level_value) if level_value.__class__ is str else None
        if level is None:
            level = _take_level(obj, message)
        else:
            del obj["level"]
        stamp = self._timestamp(obj)
        if message is None:
            message = error_message(obj) or ""
        if "source" in obj:  # Go slog's {"function", "file", "line"}
            tidy_source(obj)
        value = get("logger")
        if value.__class__ is str:
            del obj["logger"]
            record = {"timestamp": stamp, "level": level, "message": message,
                      "attributes": obj, "logger": value}
        else:
            record = {"timestamp": stamp, "level": level, "message": message,
                      "attributes": obj}
            logger = None
            if "logger_name" in obj or "name" in obj:
                logger = _take_logger(obj)
            elif "label" in obj and message_key == "message":  # winston's label format
                logger = winston_label(obj, level_value)
            if logger is not None:
                record["logger"] = logger
        if message and message[0] in METHOD_INITIALS:
            bare_request(message, obj)
        return record

    def implied_level(self, obj: dict[str, Any], message: str | None) -> str:
        """The level of an event whose level keys hold no value (``_take_level``'s last
        step), read from ``obj`` once the message left it."""
        return _implied_level(obj, message)

    def too_deep_record(self, obj: dict[str, Any], text: str) -> dict[str, Any]:
        """The record of a line nested too deep: level, timestamp and logger from its top
        level, the raw line as the message, ``attributes.json_too_deep: true``."""
        record = self.parse(obj)
        record["message"] = text
        record["attributes"] = {"json_too_deep": True}
        return record

    def _timestamp(self, obj: dict[str, Any]) -> str | None:
        """The first time key that converts (it leaves ``obj``); ``IMPOSSIBLE`` when a
        time key holds an impossible time (it stays in ``obj`` as written)."""
        # ``obj`` comes from orjson: exact classes, so ``bool`` never passes as a number
        get = obj.get
        impossible = False
        for key in TIME_KEYS:
            value = get(key)
            if value is None:
                continue
            kind = value.__class__
            if kind is str:
                stamp = self.from_string(value)
            elif kind is float or kind is int:
                stamp = self.from_epoch(value)
            else:
                continue
            if stamp:
                del obj[key]
                return stamp
            impossible = impossible or stamp is not None
        return IMPOSSIBLE if impossible else None


def _take_level(obj: dict[str, Any], message: str | None) -> str:
    """The level from the first level key that normalises (then it leaves ``obj``), else
    the level the event implies."""
    for key in LEVEL_KEYS:
        value = obj.get(key)
        if value is not None:
            level = TEXT_LEVELS.get(value) if value.__class__ is str else None
            if level is None:
                level = normalize_level(value)
                if level is None and value.__class__ is str:
                    level = json_level(value)  # winston's http/silly, slog's INFO+2
                elif level is not None and value.__class__ is int:
                    tidy_node(obj)  # pino / bunyan
            if level is not None:
                del obj[key]
                return level
    return _implied_level(obj, message)


def _take_logger(obj: dict[str, Any]) -> str | None:
    for key in ("logger", "logger_name"):
        value = obj.get(key)
        if isinstance(value, str):
            del obj[key]
            return value
    value = obj.get("name")
    if isinstance(value, str) and value and " " not in value:
        del obj["name"]
        return value
    return None


def _implied_level(obj: dict[str, Any], message: str | None) -> str:
    """Structured events without a level: ``error`` when the status or event name says
    error/failed (or an HTTP status is 5xx) or an error with a stack is attached, else
    ``info``."""
    if error_implied(obj):
        return "error"
    status = obj.get("status")
    if isinstance(status, str):
        if status.lower() in _FAILURE_STATUSES:
            return "error"
    elif isinstance(status, int) and not isinstance(status, bool) and status >= 500:
        return "error"
    if message and len(message) < 80:
        lowered = message.lower()
        if any(word in lowered for word in _FAILURE_WORDS):
            return "error"
    return "info"
