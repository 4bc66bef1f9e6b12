"""Conventions of JSON loggers beyond the common keys (``json_line`` calls these only when
a line shows the logger's shape, so other JSON lines pay a dict lookup or two).

- pino / bunyan (numeric ``level`` 10-60 with ``hostname`` and ``pid``, as both write by
  default): ``hostname`` becomes ``attributes.host`` (unless the line has a ``host`` of
  its own); ``v`` (the log format's version, 0 or 1: nothing about the event) is
  dropped; bunyan's ``src`` object becomes ``caller``/``function``.
- Go ``log/slog``: the ``source`` object (exactly ``{"function", "file", "line"}``) becomes
  ``caller`` (``file:line``) and ``function``; levels with an offset (``INFO+2``) are
  read by :func:`shipper.parse.levels.slog_level`.
- winston: its level names ``http`` (info) and ``silly`` (trace); the ``label`` format's
  ``label`` is the logger when the line is winston's shape (``level`` a lower-case word,
  the text under ``message``) and names no logger otherwise.
- No level at all, but an error object with a ``stack`` (pino/bunyan ``err``, zerolog
  ``error``) or a top-level ``stack`` (winston's ``errors`` format): ``error``. A line
  without a message takes its error object's ``message``.
"""

from __future__ import annotations

from typing import Any

from shipper.parse.levels import slog_level

#: level words of JSON loggers that text layouts must not take as levels
JSON_LEVEL_WORDS = {"http": "info", "silly": "trace"}
_NODE_VERSIONS = frozenset({0, 1})


def json_level(value: str) -> str | None:
    """The level of a JSON logger's own level word or slog's ``INFO+2``, else ``None``."""
    level = JSON_LEVEL_WORDS.get(value)
    if level is None and ("+" in value or "-" in value):
        level = slog_level(value)
    return level


def tidy_node(obj: dict[str, Any]) -> None:
    """pino/bunyan's ``hostname``/``v``/``src`` (call it for a numeric level)."""
    if "hostname" not in obj or "pid" not in obj:
        return
    if "host" not in obj and obj["hostname"].__class__ is str:
        obj["host"] = obj.pop("hostname")
    version = obj.get("v")
    if version.__class__ is int and version in _NODE_VERSIONS:
        del obj["v"]
    source = obj.get("src")
    if source.__class__ is dict and len(source) in (2, 3):
        _caller_from(obj, "src", source, "func")


def tidy_source(obj: dict[str, Any]) -> None:
    """slog's ``source`` object as ``caller`` and ``function`` (call it when the line
    has a ``source`` key)."""
    source = obj["source"]
    if source.__class__ is dict and len(source) == 3:  # slog writes all three
        _caller_from(obj, "source", source, "function")


def _caller_from(obj: dict[str, Any], key: str, source: dict[str, Any],
                 function_key: str) -> None:
    """``{file, line[, <function_key>]}`` -> ``caller: "file:line"``, ``function``; the
    object stays when it is not that shape or the line has its own ``caller``."""
    file, line = source.get("file"), source.get("line")
    if file.__class__ is not str or line.__class__ is not int or "caller" in obj:
        return
    if not set(source) <= {"file", "line", function_key}:
        return
    del obj[key]
    obj["caller"] = f"{file}:{line}"
    function = source.get(function_key)
    if function.__class__ is str and "function" not in obj:
        obj["function"] = function


def winston_label(obj: dict[str, Any], level_value: Any) -> str | None:
    """The ``label`` of a winston line as its logger (it leaves ``obj``), else ``None``."""
    label = obj.get("label")
    if label.__class__ is not str or not label or level_value.__class__ is not str:
        return None
    if not level_value.islower():
        return None
    del obj["label"]
    return label


def error_implied(obj: dict[str, Any]) -> bool:
    """True when the line carries an error with a stack (``err``/``error`` object or a
    top-level ``stack`` string)."""
    for key in ("err", "error"):
        value = obj.get(key)
        if value.__class__ is dict and "stack" in value:
            return True
    return obj.get("stack").__class__ is str


def error_message(obj: dict[str, Any]) -> str | None:
    """The ``message`` of the line's ``err``/``error`` object, for a line without one."""
    for key in ("err", "error"):
        value = obj.get(key)
        if value.__class__ is dict:
            message = value.get("message")
            if message.__class__ is str and message:
                return message
    return None
