"""A generic NDJSON receiver: ``application/x-ndjson``, gzip/zstd, and deduplication of
retried batches by their ``Idempotency-Key``."""

from __future__ import annotations

import orjson
from aiohttp import web

from tests.receivers.common import HttpReceiver, Rejected, decode_body


class NdjsonReceiver(HttpReceiver):
    path = "/ingest"

    def __init__(self, *, delay: float = 0.0, auth: str | None = None) -> None:
        super().__init__(delay=delay)
        self.auth = auth
        self.records: list[dict] = []
        self.keys: set[str] = set()
        self.duplicates = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def handle(self, request: web.Request, body: bytes) -> tuple[int, str]:
        if self.auth is not None and request.headers.get("Authorization") != self.auth:
            raise Rejected(401, "unauthorized")
        if request.headers.get("Content-Type") != "application/x-ndjson":
            raise Rejected(415, "expected application/x-ndjson")
        key = request.headers.get("Idempotency-Key")
        if not key:
            raise Rejected(400, "missing Idempotency-Key")
        raw = decode_body(body, request.headers.get("Content-Encoding"))
        if not raw.endswith(b"\n"):
            raise Rejected(400, "NDJSON must end with a newline")
        records = [orjson.loads(line) for line in raw.splitlines()]
        if key in self.keys:
            self.duplicates += 1
            return 200, "duplicate"
        self.keys.add(key)
        self.records.extend(records)
        return 200, "ok"
