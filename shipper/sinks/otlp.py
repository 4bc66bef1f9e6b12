"""OpenTelemetry OTLP/HTTP logs sink: ``POST {url}/v1/logs``.

``ExportLogsServiceRequest`` as protobuf (``application/x-protobuf``, default) or OTLP/JSON
(``application/json``), gzip by default (:mod:`shipper.sinks.otlp_encode`). Works against
an OpenTelemetry Collector (``http://collector:4318``), Loki's native endpoint
(``http://loki:3100/otlp``) and any OTLP/HTTP intake.

Outcomes follow the OTLP/HTTP spec (:func:`classify_otlp`): only 429, 502, 503 and 504 are
retried (``Retry-After`` honoured); every other status is final (dead-lettered), 413
included (requests are already cut to ``max_request_bytes``). A 2xx whose
``partial_success`` reports rejected log records is not retried: those records are counted
in ``shipper_records_failed_total{reason="otlp-rejected"}`` (and not in
``records_forwarded_total``: the receiver did not keep them) and the receiver's
``error_message`` (redacted, bounded) is logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceResponse,
)

from shipper.errors import ConfigError, FatalSinkError, RetryableSinkError
from shipper.record import Record
from shipper.sinks.auth import auth_headers
from shipper.sinks.base import Payload
from shipper.sinks.health import REPEAT_EVERY
from shipper.sinks.http import HttpPostSink
from shipper.sinks.otlp_encode import OtlpEncoder
from shipper.sinks.settings import OtlpSinkSettings
from shipper.sinks.transport import HttpTransport, compress, parse_retry_after, safe_origin

log = logging.getLogger("shipper.sinks")

LOGS_PATH = "/v1/logs"
#: the statuses the OTLP/HTTP spec makes retryable
RETRYABLE = frozenset({429, 502, 503, 504})
#: bytes of a response body read (an export response or a ``google.rpc.Status``)
MAX_RESPONSE_BYTES = 64 * 1024
#: characters of a receiver's message kept in errors and logs
MAX_MESSAGE_CHARS = 300
CONTENT_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}


def logs_url(url: str) -> str:
    """The endpoint as a base URL gets ``/v1/logs`` appended (``http://c:4318`` ->
    ``http://c:4318/v1/logs``, ``http://loki:3100/otlp`` -> ``…/otlp/v1/logs``); a URL
    already ending in ``/v1/logs`` is used as given."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith(LOGS_PATH):
        return url
    return urlunsplit(parts._replace(path=path + LOGS_PATH))


def classify_otlp(status: int, headers: Mapping[str, str] | None, *, sink: str, now: float,
                  detail: str = "") -> None:
    """OTLP/HTTP outcome: 2xx delivered; 429/502/503/504 retryable (``Retry-After``
    seconds or HTTP-date honoured); anything else final."""
    if 200 <= status < 300:
        return
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in RETRYABLE:
        retry_after = parse_retry_after((headers or {}).get("Retry-After"), now)
        raise RetryableSinkError(message, sink=sink, status=status, retry_after=retry_after)
    raise FatalSinkError(message, sink=sink, status=status)


def status_message(body: bytes, content_type: str) -> str:
    """The message of an error body: a ``google.rpc.Status`` (protobuf or JSON) or text."""
    text = ""
    if content_type.startswith("application/x-protobuf"):
        text = _proto_string_field(body, 2)
    elif content_type.startswith("application/json"):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        text = str(parsed.get("message", "")) if isinstance(parsed, dict) else ""
    if not text:
        text = body.decode("utf-8", errors="replace")
    return " ".join(text.split())[:MAX_MESSAGE_CHARS]


def _proto_string_field(data: bytes, number: int) -> str:
    """The first length-delimited field ``number`` of a protobuf message ("" if none)."""
    pos = 0
    try:
        while pos < len(data):
            key, pos = _read_varint(data, pos)
            kind = key & 7
            if kind == 0:
                _, pos = _read_varint(data, pos)
            elif kind == 2:
                size, pos = _read_varint(data, pos)
                if key >> 3 == number:
                    return data[pos:pos + size].decode("utf-8", errors="replace")
                pos += size
            elif kind in (1, 5):
                pos += 8 if kind == 1 else 4
            else:
                return ""
    except IndexError:
        return ""
    return ""


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def partial_success(body: bytes, content_type: str) -> tuple[int, str]:
    """``(rejected_log_records, error_message)`` of an export response (0 if none or
    unreadable: a 2xx is a delivery whatever its body)."""
    if not body:
        return 0, ""
    if content_type.startswith("application/json"):
        try:
            parsed = orjson.loads(body)
            partial = parsed.get("partialSuccess") or parsed.get("partial_success") or {}
            rejected = int(partial.get("rejectedLogRecords")
                           or partial.get("rejected_log_records") or 0)
            return rejected, str(partial.get("errorMessage") or partial.get("error_message") or "")
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            return 0, ""
    try:
        response = ExportLogsServiceResponse.FromString(body)
    except DecodeError:
        return 0, ""
    return (int(response.partial_success.rejected_log_records),
            response.partial_success.error_message)


class OtlpTransport(HttpTransport):
    """The shared HTTP transport, returning the (bounded) response body as bytes."""

    async def post_bytes(self, url: str, body: bytes, headers: Mapping[str, str]
                         ) -> tuple[int, Mapping[str, str], bytes]:
        if self._session is None:
            raise RetryableSinkError("sink is not started", sink=self._sink)
        try:
            async with self._session.post(url, data=body, headers=dict(headers)) as response:
                return response.status, response.headers, await _bounded_body(response)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RetryableSinkError(f"{type(exc).__name__} talking to {safe_origin(url)}",
                                     sink=self._sink) from None


async def _bounded_body(response: aiohttp.ClientResponse) -> bytes:
    """The response body, at most :data:`MAX_RESPONSE_BYTES` (the rest is not read)."""
    data = bytearray()
    while len(data) < MAX_RESPONSE_BYTES:
        chunk = await response.content.read(MAX_RESPONSE_BYTES - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


class OtlpSink(HttpPostSink):
    settings: OtlpSinkSettings

    def __init__(self, settings: OtlpSinkSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._transport: OtlpTransport = OtlpTransport(settings, sink=self.name)
        self.encoder = OtlpEncoder(settings, self._wall_clock)
        self.counts = self.encoder.counts
        self._url = logs_url(settings.url)
        self._content_type = CONTENT_TYPES[settings.encoding]
        self._rejected = self._m.failed("otlp-rejected")
        self._partial_logged_at: float | None = None
        self._partial_unlogged = 0
        self._warning_logged_at: float | None = None
        self._redact: Callable[[str], str] | None = None

    def encode(self, records: list[Record]) -> list[Payload]:
        payloads = []
        for raw, owners in self.encoder.requests(records):
            body, encoding = compress(raw, self.settings.compression)
            headers = {"Content-Type": self._content_type, **encoding}
            payloads.append(Payload(body, owners, len(raw), headers))
        return payloads

    def classify(self, status: int, headers: Any, detail: str = "") -> None:
        classify_otlp(status, headers, sink=self.name, now=self._wall_clock(), detail=detail)

    async def send(self, payload: Payload) -> None:
        status, headers, body = await self._transport.post_bytes(
            self._url, payload.body, {**self._headers, **payload.headers})
        content_type = headers.get("Content-Type", "")
        detail = "" if 200 <= status < 300 else status_message(body, content_type)
        self.classify(status, headers, detail)
        rejected, message = partial_success(body, content_type)
        if rejected > 0:
            payload.refused = min(rejected, payload.count)
            self._partially_rejected(payload.refused, message)
        elif message:
            self._receiver_warning(message)

    def _partially_rejected(self, rejected: int, message: str) -> None:
        """Count records the receiver accepted the request for but refused (never
        retried: the spec says a retry would be refused again)."""
        self._rejected.inc(rejected)
        self._partial_unlogged += rejected
        now = self._clock()
        if self._partial_logged_at is not None and now - self._partial_logged_at < REPEAT_EVERY:
            return
        log.warning("sink %s: the receiver rejected %d log record(s) (partial success): %s",
                    self.name, self._partial_unlogged, self._redacted(message))
        self._partial_logged_at, self._partial_unlogged = now, 0

    def _receiver_warning(self, message: str) -> None:
        """A fully accepted request whose ``partial_success`` carries a warning (the spec
        allows it with ``rejected_log_records`` 0): logged at most once a minute."""
        now = self._clock()
        if self._warning_logged_at is not None and now - self._warning_logged_at < REPEAT_EVERY:
            return
        self._warning_logged_at = now
        log.info("sink %s: the receiver accepted every record with a warning: %s",
                 self.name, self._redacted(message))

    def _redacted(self, message: str) -> str:
        if self._redact is None:
            from shipper.filters.redact import Redactor
            from shipper.filters.settings import RedactSettings

            self._redact = Redactor(RedactSettings()).redact_text
        return self._redact(" ".join(message.split())[:MAX_MESSAGE_CHARS]) or "(no message)"

    async def open(self) -> None:
        auth = await asyncio.to_thread(auth_headers, self.settings)
        files = await asyncio.to_thread(_header_files, self.settings)
        self._headers = {**self.settings.headers, **files, **auth}
        await self._transport.open()


def _header_files(settings: OtlpSinkSettings) -> dict[str, str]:
    """Headers whose value is read from a file (a mounted Secret: ``dd-api-key``)."""
    out = {}
    for name, path in settings.header_files.items():
        try:
            out[name] = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read header file {path}: {exc.strerror}",
                              key=f"sinks.{settings.name}.header_files.{name}") from None
    return out
