"""Level normalisation: every spelling a log line uses becomes one of ``record.LEVELS``."""

from __future__ import annotations

from typing import Any

_WORDS: dict[str, str] = {
    "trace": "trace", "trc": "trace", "finest": "trace", "finer": "trace",
    "debug": "debug", "dbg": "debug", "dbug": "debug", "fine": "debug", "verbose": "debug",
    "info": "info", "inf": "info", "information": "info", "informational": "info",
    "notice": "info", "success": "info", "config": "info",
    "warn": "warning", "warning": "warning", "wrn": "warning",
    "error": "error", "err": "error", "eror": "error", "erro": "error", "severe": "error",
    "exception": "error",
    "fatal": "critical", "critical": "critical", "crit": "critical", "panic": "critical",
    "dpanic": "critical", "emerg": "critical", "emergency": "critical", "alert": "critical",
}

#: pino / bunyan numeric levels
_NUMERIC: dict[int, str] = {10: "trace", 20: "debug", 30: "info", 40: "warning",
                            50: "error", 60: "critical"}

#: upper-case words as they appear in text layouts (cheap exact lookup before lowering)
TEXT_LEVELS: dict[str, str] = {}
for _word, _level in _WORDS.items():
    TEXT_LEVELS[_word.upper()] = _level
    TEXT_LEVELS[_word] = _level
    TEXT_LEVELS[_word.capitalize()] = _level
del _word, _level


def normalize_level(value: Any) -> str | None:
    """The canonical level for ``value`` (a word or a pino number), else ``None``."""
    if isinstance(value, str):
        level = TEXT_LEVELS.get(value)
        if level is None:
            level = _WORDS.get(value.strip().lower())
        return level
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _NUMERIC.get(value)
    if isinstance(value, float) and value.is_integer():
        return _NUMERIC.get(int(value))
    return None


def level_word(token: str) -> str | None:
    """Level for a text token such as ``INFO``, ``[ERROR]``, ``<warn>``, ``WARN:``."""
    level = TEXT_LEVELS.get(token)
    if level is not None or not token:
        return level
    stripped = token.strip("[]()<>:")
    if stripped == token or not stripped:
        return None
    return TEXT_LEVELS.get(stripped) or _WORDS.get(stripped.lower())
