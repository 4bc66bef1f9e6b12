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


#: Go ``log/slog`` level names and their numbers (``INFO+2`` is 2, ``DEBUG-4`` is -8)
_SLOG_BASES = {"DEBUG": -4, "INFO": 0, "WARN": 4, "ERROR": 8}
#: upper bounds (exclusive) of each level on slog's number line; 12 and over is critical
_SLOG_STEPS = ((-4, "trace"), (0, "debug"), (4, "info"), (8, "warning"), (12, "error"))


def slog_level(value: str) -> str | None:
    """The level of a ``log/slog`` level with an offset (``INFO+2``, ``DEBUG-4``,
    ``ERROR+4``): the number it stands for, read on slog's scale (below -4 trace, below
    0 debug, below 4 info, below 8 warning, below 12 error, else critical); ``None`` for
    anything else."""
    base, sign, offset = value.partition("+")
    if not sign:
        base, sign, offset = value.partition("-")
    number = _SLOG_BASES.get(base)
    if number is None or not sign or not offset.isdigit() or len(offset) > 4:
        return None
    number += int(offset) if sign == "+" else -int(offset)
    for bound, level in _SLOG_STEPS:
        if number < bound:
            return level
    return "critical"
