"""An OTLP/HTTP logs receiver behaving like an OpenTelemetry Collector's ``otlp`` receiver.

Decodes ``ExportLogsServiceRequest`` with the official message classes
(``opentelemetry-proto``): protobuf, or OTLP/JSON through ``google.protobuf.json_format``
(hex trace/span ids turned into bytes first, as the Collector's JSON unmarshaler does).
Refuses like the Collector: 415 for another ``Content-Type``, 400 for a body it cannot
decode (a ``google.rpc.Status`` in the request's encoding), gzip ``Content-Encoding``
understood. ``reject`` makes it answer 200 with ``partial_success``. ``path`` may be
Loki's native ``/otlp/v1/logs``.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from tests.receivers.common import HttpReceiver, Seen

PROTOBUF, JSON = "application/x-protobuf", "application/json"


@dataclass
class OtlpLog:
    """One decoded log record with its resource, as Python values."""

    resource: dict[str, Any]
    scope: str
    time_ns: int
    observed_ns: int
    severity_number: int
    severity_text: str
    body: Any
    attributes: dict[str, Any]
    trace_id: str
    span_id: str


def py_value(value: AnyValue) -> Any:
    """An ``AnyValue`` as a Python value (maps as dicts, arrays as lists)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return {kv.key: py_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [py_value(v) for v in value.array_value.values]
    return getattr(value, kind)


def _hex_ids_to_base64(document: Any) -> None:
    """OTLP/JSON carries ids as hex; ``json_format`` expects bytes as base64."""
    for resource_logs in document.get("resourceLogs", []):
        for scope_logs in resource_logs.get("scopeLogs", []):
            for log in scope_logs.get("logRecords", []):
                for key in ("traceId", "spanId"):
                    if key in log:
                        log[key] = base64.b64encode(bytes.fromhex(log[key])).decode()


def _status(code: int, message: str, content_type: str) -> bytes:
    """A ``google.rpc.Status`` body (code=1, message=2) in the request's encoding."""
    if content_type == JSON:
        return orjson.dumps({"code": code, "message": message})
    text = message.encode()[:127]  # a one-byte length (varint below 128)
    return b"\x08" + bytes([code]) + b"\x12" + bytes([len(text)]) + text


class OtlpReceiver(HttpReceiver):
    path = "/v1/logs"

    def __init__(self, *, path: str = "/v1/logs",
                 reject: Callable[[LogRecord], bool] | None = None,
                 reject_message: str = "log record refused", delay: float = 0.0) -> None:
        super().__init__(delay=delay)
        self.path = path
        self.reject, self.reject_message = reject, reject_message
        self.requests: list[ExportLogsServiceRequest] = []
        self.logs: list[OtlpLog] = []
        self.rejected = 0
        #: send ``reject_message`` even when nothing is rejected (a warning, per the spec)
        self.warn_always = False

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        seen = Seen(request.path, dict(request.headers), body)
        self.seen.append(seen)
        scripted = self.script.next()
        if scripted is not None:
            seen.status = scripted[0]
            return web.Response(status=scripted[0], headers=scripted[1], text="scripted")
        status, content_type, payload = self._export(request, body)
        seen.status = status
        return web.Response(status=status, body=payload, content_type=content_type)

    def _export(self, request: web.Request, body: bytes) -> tuple[int, str, bytes]:
        content_type = request.content_type
        if content_type not in (PROTOBUF, JSON):
            return 415, "text/plain", f"unsupported content type {content_type}".encode()
        try:
            if request.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            export = self._decode(body, content_type)
        except (OSError, EOFError, DecodeError, ValueError, json_format.ParseError) as exc:
            return 400, content_type, _status(3, f"cannot decode: {exc}"[:120], content_type)
        rejected = self._accept(export)
        return 200, content_type, self._response(rejected, content_type)

    @staticmethod
    def _decode(body: bytes, content_type: str) -> ExportLogsServiceRequest:
        if content_type == PROTOBUF:
            return ExportLogsServiceRequest.FromString(body)
        document = orjson.loads(body)
        _hex_ids_to_base64(document)
        return json_format.ParseDict(document, ExportLogsServiceRequest())

    def _accept(self, export: ExportLogsServiceRequest) -> int:
        self.requests.append(export)
        rejected = 0
        for resource_logs in export.resource_logs:
            resource = {kv.key: py_value(kv.value) for kv in resource_logs.resource.attributes}
            for scope_logs in resource_logs.scope_logs:
                for log in scope_logs.log_records:
                    if self.reject is not None and self.reject(log):
                        rejected += 1
                        continue
                    self.logs.append(OtlpLog(
                        resource, scope_logs.scope.name, log.time_unix_nano,
                        log.observed_time_unix_nano, log.severity_number, log.severity_text,
                        py_value(log.body), {kv.key: py_value(kv.value) for kv in log.attributes},
                        log.trace_id.hex(), log.span_id.hex()))
        self.rejected += rejected
        return rejected

    def _response(self, rejected: int, content_type: str) -> bytes:
        response = ExportLogsServiceResponse()
        if rejected or self.warn_always:
            response.partial_success.rejected_log_records = rejected
            response.partial_success.error_message = self.reject_message
        if content_type == JSON:
            return json_format.MessageToJson(response).encode()
        data: bytes = response.SerializeToString()
        return data
