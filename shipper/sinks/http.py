"""The HTTP sinks: their shared shape, and the generic ``http`` sink.

:class:`HttpPostSink` is the base of every sink that POSTs each payload to one URL through
one reused session (http, loki, datadog, otlp): the session and TLS are
:class:`~shipper.sinks.transport.HttpTransport`, a response becomes an outcome in
:meth:`HttpPostSink.classify` (by default :func:`~shipper.sinks.transport.classify_http`;
a protocol with other rules overrides it).

:class:`HttpSink` (``type: http``) POSTs NDJSON batches (gzip by default) with an
idempotency key derived from the batch content (SHA-256 of the uncompressed body: the same
whichever gzip implementation compresses it), so a retried batch carries the same key and a
receiver can deduplicate it.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson

from shipper.record import Record
from shipper.sinks.auth import auth_headers
from shipper.sinks.base import BaseSink, Payload
from shipper.sinks.batch import Lines
from shipper.sinks.settings import HttpSinkSettings
from shipper.sinks.transport import HttpTransport, classify_http, compress

_OPTS = orjson.OPT_APPEND_NEWLINE


class HttpPostSink(BaseSink):
    """A sink that POSTs each payload to one URL through one reused session; subclasses
    set ``_url`` and fill ``_headers`` (auth, tenant) in :meth:`open`."""

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._transport = HttpTransport(settings, sink=self.name)
        self._headers: dict[str, str] = {}
        self._url: str = str(settings.url)

    async def shutdown(self) -> None:
        await self._transport.close()

    async def send(self, payload: Payload) -> None:
        status, headers, text = await self._transport.post(
            self._url, payload.body, {**self._headers, **payload.headers})
        self.classify(status, headers, text)

    def classify(self, status: int, headers: Any, detail: str = "") -> None:
        """HTTP outcome -> ``None`` (delivered) or one of the sink errors."""
        classify_http(status, headers, sink=self.name, now=self._wall_clock(), detail=detail)


def ndjson(records: list[Record]) -> bytes:
    """One JSON object per line (internal ``_`` keys removed)."""
    dumps = orjson.dumps
    return b"".join([dumps(r, option=_OPTS, default=str) for r in records])


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
