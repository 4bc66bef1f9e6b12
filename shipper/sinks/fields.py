"""Small pure helpers the encoders share: timestamps, UTF-8 safe truncation (field getters
are :mod:`shipper.record_fields`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def rfc3339_to_ns(value: Any) -> int | None:
    """``2024-05-01T10:00:00.123456789Z`` -> nanoseconds since the epoch (``None`` if invalid)."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    head, frac, zone = value[:19], "", value[19:]
    if zone.startswith("."):
        digits = len(zone) - len(zone[1:].lstrip("0123456789"))
        frac, zone = zone[1:digits], zone[digits:]
    try:
        seconds = datetime.fromisoformat(head + (zone if zone not in ("Z", "z", "") else "+00:00"))
    except ValueError:
        return None
    nanos = int((frac + "000000000")[:9]) if frac else 0
    return int(seconds.timestamp()) * 1_000_000_000 + nanos


def truncate_utf8(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes, never cutting a UTF-8 sequence in half."""
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", errors="ignore").encode("utf-8")


def shorten_text(text: str, excess: int, marker: str = "…[truncated]") -> str:
    """``text`` made at least ``excess`` UTF-8 bytes shorter, ending with ``marker``."""
    raw = text.encode("utf-8")
    keep = max(0, len(raw) - excess - len(marker.encode("utf-8")))
    return truncate_utf8(raw, keep).decode("utf-8") + marker
