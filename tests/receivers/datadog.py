"""A Datadog logs intake (``/api/v2/logs``) as documented for v2 ("Send logs"): 401 without
an API key, 403 with a wrong one; 413 over 5 MB uncompressed; 400 on a body that is not a
JSON array (or object) of at most 1,000 entries, or a reserved attribute of the wrong type;
an entry over 1 MB is accepted and truncated; 202 when accepted. Like the real intake, it
accepts and then silently ignores entries stamped more than 18 h in the past or 2 h in the
future (``ignored``), which is why the sink must not send them (``clock=None``: no time
window, for a corpus recorded long ago)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import orjson
from aiohttp import web

from tests.receivers.common import HttpReceiver, Rejected, decode_body

MAX_ENTRIES = 1000
MAX_PAYLOAD = 5 * 1024 * 1024
MAX_ENTRY = 1024 * 1024
MAX_AGE = 18 * 3600
MAX_AHEAD = 2 * 3600
STRING_KEYS = ("message", "status", "ddsource", "ddtags", "service", "hostname")
DATE_KEYS = ("timestamp", "date", "_timestamp", "Timestamp", "eventTime", "published_date")


def entry_time(entry: dict) -> float | None:
    """The entry's official date (ISO 8601 or epoch milliseconds), seconds; else ``None``."""
    for key in DATE_KEYS:
        value = entry.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value / 1000
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


class DatadogReceiver(HttpReceiver):
    path = "/api/v2/logs"

    def __init__(self, api_key: str, *, delay: float = 0.0, max_payload: int = MAX_PAYLOAD,
                 clock: Callable[[], float] | None = time.time) -> None:
        super().__init__(delay=delay)
        self.api_key = api_key
        self.max_payload = max_payload
        self.clock = clock
        self.entries: list[dict] = []
        #: accepted with 202, then dropped: out of the intake's time window
        self.ignored: list[dict] = []
        self.truncated = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def handle(self, request: web.Request, body: bytes) -> tuple[int, str]:
        key = request.headers.get("DD-API-KEY")
        if not key:
            raise Rejected(401, "Unauthorized")
        if key != self.api_key:
            raise Rejected(403, "Forbidden")
        if request.headers.get("Content-Type") != "application/json":
            raise Rejected(400, "expected application/json")
        raw = decode_body(body, request.headers.get("Content-Encoding"))
        if len(raw) > self.max_payload:
            raise Rejected(413, "Payload too large")
        try:
            entries = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Rejected(400, "Bad request: invalid JSON") from None
        entries = [entries] if isinstance(entries, dict) else entries
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            raise Rejected(400, "expected an array of at most 1000 entries")
        for entry in entries:
            self._check(entry)
        now = self.clock() if self.clock is not None else None
        for entry in entries:
            stamp = entry_time(entry)
            in_window = (stamp is None or now is None
                         or now - MAX_AGE <= stamp <= now + MAX_AHEAD)
            (self.entries if in_window else self.ignored).append(self._truncate(entry))
        return 202, "{}"

    @staticmethod
    def _check(entry: object) -> None:
        if not isinstance(entry, dict) or "message" not in entry:
            raise Rejected(400, "entry without message")
        for key in STRING_KEYS:
            if key in entry and not isinstance(entry[key], str):
                raise Rejected(400, f"reserved attribute {key} must be a string")

    def _truncate(self, entry: dict) -> dict:
        size = len(orjson.dumps(entry))
        if size <= MAX_ENTRY:
            return entry
        self.truncated += 1
        message = str(entry["message"]).encode()
        keep = max(0, len(message) - (size - MAX_ENTRY))
        return {**entry, "message": message[:keep].decode("utf-8", "ignore")}
