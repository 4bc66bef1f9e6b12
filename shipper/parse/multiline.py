"""Multi-line records: which lines continue the pending record, and the capped joiner.

Continuations: indented lines, Python tracebacks (through the final exception line, with
chained ``During handling ...`` sections), Java traces (``\\tat``, ``Caused by:``,
``... N more``, a qualified ``...Exception: msg`` line), Go panics with their goroutine
dumps, and blank lines inside a record (trailing ones are trimmed).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from shipper.parse.levels import level_word

NONE, TRACEBACK, GO_PANIC = 0, 1, 2
_TRACEBACK = "Traceback (most recent call last)"
_CHAINED = ("During handling of the above exception",
            "The above exception was the direct cause")
_PY_EXCEPTION = re.compile(r"[A-Za-z_][\w.]*(?::(?: .*)?)?$", re.S)
_JAVA_EXCEPTION = re.compile(
    r"(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)(?::|$)")
#: lines that end a Go panic dump: a timestamp, JSON, logfmt (``time=...``), klog
_RECORD_START = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}|\{|\[\d{4}-|[A-Za-z_][\w.]*=|[IWEF]\d{4} \d")


#: first characters of the lines ``start_state`` looks at (any other line: ``(None, NONE)``)
BLOCK_INITIALS = frozenset("TpfE")


def start_state(text: str) -> tuple[str | None, int]:
    """Level implied by a line that opens a multi-line block, and the block's state."""
    first = text[:1]
    if first == "T" and text.startswith(_TRACEBACK):
        return "error", TRACEBACK
    if first == "p" and text.startswith("panic: "):
        return "critical", GO_PANIC
    if first == "f" and text.startswith("fatal error: "):
        return "critical", GO_PANIC
    if first == "E" and text.startswith("Exception in thread "):
        return "error", NONE
    return None, NONE


def continues(text: str, state: int) -> tuple[bool, int]:
    """Whether ``text`` belongs to the pending record, and the state after it."""
    first = text[:1]
    if state == NONE and (first == "{" or "0" <= first <= "9"):
        return False, NONE  # a JSON object or a timestamp: a new record
    if first in (" ", "\t") or not text or text.isspace():
        return True, state
    if text.startswith(_TRACEBACK) or text.startswith(_CHAINED):
        return True, TRACEBACK
    if state == TRACEBACK:
        return (True, NONE) if _PY_EXCEPTION.match(text) else (False, NONE)
    if text.startswith(("Caused by: ", "Suppressed: ")) or _JAVA_EXCEPTION.match(text):
        return True, state
    if state == GO_PANIC:
        if _RECORD_START.match(text) or level_word(text.partition(" ")[0]) is not None:
            return False, NONE
        return True, GO_PANIC
    return False, NONE


class MultilineJoiner:
    """Holds one pending record and joins its continuation lines, within the caps."""

    def __init__(self, max_lines: int, max_bytes: int, errors: Counter[str]) -> None:
        self._max_lines = max_lines
        self._max_bytes = max_bytes
        self._errors = errors
        self.pending: dict[str, Any] | None = None
        self._parts: list[str] | None = None
        self._size = 0
        self._state = NONE

    def accepts(self, text: str) -> bool:
        """True when ``text`` continues the pending record (the state moves on)."""
        if self.pending is None:
            return False
        first = text[:1]
        if self._state == NONE and (first == "{" or "0" <= first <= "9"):
            return False  # the common case, as in ``continues``, without the call
        joined, self._state = continues(text, self._state)
        return joined

    def append(self, text: str, offset: int) -> dict[str, Any] | None:
        """Join ``text``; returns the pending record if the caps forced it out first."""
        parts = self._parts
        if parts is None:
            parts = self._parts = [self.pending["message"]]  # type: ignore[index]
        if len(parts) >= self._max_lines or self._size + len(text) + 1 > self._max_bytes:
            self._errors["multiline_capped"] += 1
            return self._overflow(text, offset)
        parts.append(text)
        self._size += len(text) + 1
        return None

    def _overflow(self, text: str, offset: int) -> dict[str, Any]:
        state = self._state
        capped = self.take()
        if capped is None:  # pragma: no cover - append() is only called with a pending record
            raise ValueError("no pending record to cap")
        record = {key: capped[key] for key in ("timestamp", "level", "logger", "stream")
                  if key in capped}
        record.update(message=text, attributes={}, file={**capped["file"], "offset": offset},
                      _raw=text)
        self.start(record, state)
        return capped

    def start(self, record: dict[str, Any], state: int) -> dict[str, Any] | None:
        """Make ``record`` the pending one; returns the record it replaces (finished)."""
        previous = self.pending
        if previous is not None:
            previous = self.take()
        self.pending = record
        self._size = len(record["message"])
        self._state = state
        return previous

    def take(self) -> dict[str, Any] | None:
        """The pending record with its lines joined by ``\\n`` (``None`` if none)."""
        record = self.pending
        if record is None:
            return None
        if self._parts is not None:
            record["message"] = "\n".join(self._parts).rstrip()
            self._parts = None
        self.pending = None
        self._state = NONE
        return record
