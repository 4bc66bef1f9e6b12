"""The generic ``http`` sink: POST NDJSON batches (gzip by default) with an idempotency key.

The ``Idempotency-Key`` is derived from the batch content (SHA-256 of the uncompressed
body), so a retried batch carries the same key and a receiver can deduplicate it.
"""

from __future__ import annotations

import asyncio
import hashlib

import orjson

from shipper.record import Record, public_view
from shipper.sinks.auth import auth_headers
from shipper.sinks.base import Payload
from shipper.sinks.batch import Lines
from shipper.sinks.http import compress
from shipper.sinks.http_post import HttpPostSink
from shipper.sinks.settings import HttpSinkSettings

_OPTS = orjson.OPT_APPEND_NEWLINE


def ndjson(records: list[Record]) -> bytes:
    """One JSON object per line (internal ``_`` keys removed)."""
    dumps = orjson.dumps
    return b"".join([dumps(public_view(r), option=_OPTS, default=str) for r in records])


class HttpSink(HttpPostSink):
    settings: HttpSinkSettings

    def encode(self, records: list[Record]) -> list[Payload]:
        return [self._payload(ndjson(records), records, None)]

    def encode_lines(self, lines: Lines) -> list[Payload]:
        """The buffered NDJSON as it is: no decoding, no re-encoding."""
        return [self._payload(lines.ndjson(), [], lines)]

    def _payload(self, raw: bytes, records: list[Record], lines: Lines | None) -> Payload:
        body, encoding = compress(raw, self.settings.compression)
        batch_id = hashlib.sha256(raw).hexdigest()[:32]
        headers = {"Content-Type": "application/x-ndjson", **encoding,
                   self.settings.idempotency_header: batch_id}
        return Payload(body, records, len(raw), headers, batch_id, lines)

    async def open(self) -> None:
        auth = await asyncio.to_thread(auth_headers, self.settings)
        self._headers = {**self.settings.headers, **auth}
        await self._transport.open()

