"""Small pure helpers the encoders share: field getters, timestamps, UTF-8 safe truncation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shipper.record import Record

Getter = Callable[[Record], Any]


def compile_path(path: str) -> Getter:
    """A getter for a dotted field path; ``k8s.labels.<key>`` keeps ``<key>`` whole
    (Kubernetes label keys contain dots: ``app.kubernetes.io/name``)."""
    for prefix in ("k8s.labels.", "k8s.annotations."):
        if path.startswith(prefix):
            section, key = prefix.split(".")[1], path[len(prefix):]
            return lambda r: ((r.get("k8s") or {}).get(section) or {}).get(key)
    parts = path.split(".")
    if len(parts) == 1:
        name = parts[0]
        return lambda r: r[name] if name in r else (r.get("attributes") or {}).get(name)

    def get(record: Record) -> Any:
        value: Any = record
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


def first_of(paths: list[str]) -> Getter:
    """A getter returning the first non-empty value among several paths."""
    getters = [compile_path(p) for p in paths]

    def get(record: Record) -> Any:
        for getter in getters:
            value = getter(record)
            if value not in (None, ""):
                return value
        return None

    return get


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
