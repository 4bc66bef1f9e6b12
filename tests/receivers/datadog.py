"""A Datadog logs intake (``/api/v2/logs``): API key, gzip, JSON array, intake limits,
reserved attributes. Mirrors the documented behaviour: 403 on a bad key, 413 over 5 MB
uncompressed, 400 for more than 1,000 entries or an entry over 1 MB; 202 when accepted."""

from __future__ import annotations

import orjson
from aiohttp import web

from tests.receivers.common import HttpReceiver, Rejected, decode_body

MAX_ENTRIES = 1000
MAX_PAYLOAD = 5 * 1024 * 1024
MAX_ENTRY = 1024 * 1024
STRING_KEYS = ("message", "status", "ddsource", "ddtags", "service", "hostname")


class DatadogReceiver(HttpReceiver):
    path = "/api/v2/logs"

    def __init__(self, api_key: str, *, delay: float = 0.0, max_payload: int = MAX_PAYLOAD) -> None:
        super().__init__(delay=delay)
        self.api_key = api_key
        self.max_payload = max_payload
        self.entries: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def handle(self, request: web.Request, body: bytes) -> tuple[int, str]:
        if request.headers.get("DD-API-KEY") != self.api_key:
            raise Rejected(403, "Forbidden")
        if request.headers.get("Content-Type") != "application/json":
            raise Rejected(400, "expected application/json")
        raw = decode_body(body, request.headers.get("Content-Encoding"))
        if len(raw) > self.max_payload:
            raise Rejected(413, "Payload too large")
        entries = orjson.loads(raw)
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            raise Rejected(400, "expected an array of at most 1000 entries")
        for entry in entries:
            self._check(entry)
        self.entries.extend(entries)
        return 202, "{}"

    @staticmethod
    def _check(entry: dict) -> None:
        if len(orjson.dumps(entry)) > MAX_ENTRY:
            raise Rejected(400, "entry over 1MB")
        if "message" not in entry:
            raise Rejected(400, "entry without message")
        for key in STRING_KEYS:
            if key in entry and not isinstance(entry[key], str):
                raise Rejected(400, f"reserved attribute {key} must be a string")
