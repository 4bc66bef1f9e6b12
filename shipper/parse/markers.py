"""Leading emoji level markers of console loggers (``✅ done``, ``⚠️ slow``, ``❌ failed``)."""

from __future__ import annotations

_MARKERS: dict[str, str] = {
    "\u2705": "info", "\u2139": "info", "\u25b6": "info", "\u2714": "info", "\u2713": "info",
    "\U0001f3ac": "info", "\U0001f680": "info", "\U0001f4dd": "info", "\U0001f504": "info",
    "\u23f3": "info", "\U0001f4e6": "info", "\U0001f4be": "info", "\U0001f389": "info",
    "\U0001f7e2": "info", "\U0001f535": "info", "\u23e9": "info", "\U0001f4ca": "info",
    "\u23f1": "info", "\U0001f3c1": "info", "\u2b50": "info", "\U0001f4e4": "info",
    "\U0001f4e5": "info",
    "\u26a0": "warning", "\U0001f7e1": "warning", "\U0001f7e0": "warning",
    "\u274c": "error", "\u2717": "error", "\u2718": "error", "\U0001f534": "error",
    "\U0001f6d1": "error", "\u26d4": "error", "\U0001f6a8": "error", "\U0001f4a5": "error",
    "\U0001f525": "error", "\u2757": "error",
    "\U0001f41b": "debug", "\U0001f50d": "debug", "\U0001f527": "debug",
    "\U0001f480": "critical", "\u2620": "critical",
}
_SKIP = "\ufe0f\u200d "


def leading_marker(message: str) -> tuple[str | None, str]:
    """``(level, message without the marker)`` when ``message`` starts with a known
    marker, else ``(None, message)``."""
    if not message or message[0] < "\u2000":
        return None, message
    level = _MARKERS.get(message[0])
    if level is None:
        return None, message
    rest = message[1:].lstrip(_SKIP)
    return level, rest
