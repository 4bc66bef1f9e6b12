"""Records -> OTLP ``ExportLogsServiceRequest`` bodies, protobuf or OTLP/JSON.

One ``ResourceLogs`` per distinct resource (:func:`~shipper.sinks.otlp_values.resource_of`)
in a request, with one ``ScopeLogs`` (scope ``shipper``). Requests are cut so that none
exceeds ``max_request_bytes`` uncompressed (the sink never relies on a 413 to split); a
record too big on its own has its body shortened, then its own attributes left out
(counted ``truncated``). No request is ever empty.

The log records and resources are serialised with the official message classes
(``opentelemetry-proto``); the outer messages are joined as protobuf fields (length-
delimited, concatenable), so each request's size is known before it is built. OTLP/JSON
follows the spec: lowerCamelCase names, 64-bit integers as strings, trace and span ids as
hex, enums as numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ResourceMessage

import shipper
from shipper.record import Record
from shipper.sinks.fields import rfc3339_to_ns, shorten_text
from shipper.sinks.otlp_values import (
    SEVERITY,
    UNKNOWN_SEVERITY,
    Resource,
    any_value_json,
    fill_any_value,
    hex_id,
    log_attributes,
    resource_of,
)

SCOPE_NAME = "shipper"
#: protobuf tags of the length-delimited fields joined here: field 1 and field 2
_TAG1, _TAG2 = b"\x0a", b"\x12"
#: the most a record's framing can add to a request besides its own bytes (tag + varint)
_PROTO_FRAME = 6
#: the OTLP/JSON text around a group's resource, scope and records
_JSON_OPEN, _JSON_SCOPE, _JSON_RECORDS, _JSON_CLOSE = (
    b'{"resource":', b',"scopeLogs":[{"scope":', b',"logRecords":[', b"]}]}")
_JSON_GROUP = len(_JSON_OPEN) + len(_JSON_SCOPE) + len(_JSON_RECORDS) + len(_JSON_CLOSE) + 1


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


@dataclass(slots=True)
class _Group:
    header: bytes
    items: list[bytes] = field(default_factory=list)
    owners: list[Record] = field(default_factory=list)


class OtlpEncoder:
    """Records -> ``(body, records)`` requests within ``max_request_bytes``; pure apart
    from :attr:`counts` and the observed time (``wall_clock``)."""

    def __init__(self, settings: Any, wall_clock: Callable[[], float]) -> None:
        self.json = settings.encoding == "json"
        self.max_bytes: int = settings.max_request_bytes
        self.extra: dict[str, str] = dict(settings.resource_attributes)
        self.counts: Counter[str] = Counter()
        self._wall_clock = wall_clock
        self._headers: dict[Resource, bytes] = {}
        self._scope_json = orjson.dumps({"name": SCOPE_NAME, "version": shipper.__version__})
        self._scope_proto = InstrumentationScope(
            name=SCOPE_NAME, version=shipper.__version__).SerializeToString()

    # --- requests -------------------------------------------------------------------------
    def requests(self, records: list[Record]) -> list[tuple[bytes, list[Record]]]:
        """The records as request bodies (uncompressed), each with the records it holds."""
        observed = int(self._wall_clock() * 1e9)
        out: list[tuple[bytes, list[Record]]] = []
        groups: dict[Resource, _Group] = {}
        size = self._empty_size()
        for record in records:
            resource = resource_of(record.get("k8s"), self.extra)
            header = self._header(resource)
            item = self._fitting_item(record, observed, header)
            cost = self._item_cost(item) + (0 if resource in groups else self._group_cost(header))
            if groups and size + cost > self.max_bytes:
                out.append(self._assemble(groups))
                groups, size = {}, self._empty_size()
                cost = self._item_cost(item) + self._group_cost(header)
            group = groups.setdefault(resource, _Group(header))
            group.items.append(item)
            group.owners.append(record)
            size += cost
        if groups:
            out.append(self._assemble(groups))
        return out

    def _empty_size(self) -> int:
        return len(b'{"resourceLogs":[]}') if self.json else 0

    def _item_cost(self, item: bytes) -> int:
        return len(item) + 1 if self.json else len(item) + _PROTO_FRAME

    def _group_cost(self, header: bytes) -> int:
        if self.json:
            return len(header) + len(self._scope_json) + _JSON_GROUP
        return len(header) + len(self._scope_proto) + 4 * _PROTO_FRAME

    def _assemble(self, groups: dict[Resource, _Group]) -> tuple[bytes, list[Record]]:
        owners = [record for group in groups.values() for record in group.owners]
        if self.json:
            parts = [_JSON_OPEN + g.header + _JSON_SCOPE + self._scope_json + _JSON_RECORDS
                     + b",".join(g.items) + _JSON_CLOSE for g in groups.values()]
            return b'{"resourceLogs":[' + b",".join(parts) + b"]}", owners
        body = b"".join(
            _field(_TAG1, _field(_TAG1, g.header) + _field(_TAG2, _field(_TAG1, self._scope_proto)
                                                           + b"".join(_field(_TAG2, i)
                                                                      for i in g.items)))
            for g in groups.values())
        return body, owners

    def _header(self, resource: Resource) -> bytes:
        """The serialised ``Resource`` (cached: a batch has few distinct ones)."""
        header = self._headers.get(resource)
        if header is None:
            if len(self._headers) > 1024:
                self._headers.clear()
            if self.json:
                header = orjson.dumps({"attributes": [
                    {"key": k, "value": {"stringValue": v}} for k, v in resource]})
            else:
                message = ResourceMessage()
                for key, value in resource:
                    message.attributes.add(key=key).value.string_value = value
                header = message.SerializeToString()
            self._headers[resource] = header
        return header

    # --- one log record -------------------------------------------------------------------
    def _fitting_item(self, record: Record, observed: int, header: bytes) -> bytes:
        """The record's bytes; shortened (counted) if a request cannot hold it alone."""
        item = self._item(record, observed)
        room = self.max_bytes - self._empty_size() - self._group_cost(header)
        excess = self._item_cost(item) - room
        if excess <= 0:
            return item
        self.counts["truncated"] += 1
        message = str(record.get("message", ""))
        shorter = Record({**record, "message": shorten_text(message, excess + 64)})
        item = self._item(shorter, observed)
        if self._item_cost(item) > room:  # its own attributes alone are too big
            shorter["attributes"] = {"otlp.attributes_dropped": True}
            item = self._item(shorter, observed)
        return item

    def _item(self, record: Record, observed: int) -> bytes:
        log = self._log_fields(record, observed)
        return _json_item(log) if self.json else _proto_item(log)

    def _log_fields(self, record: Record, observed: int) -> _Log:
        """What the log record says, whichever the encoding."""
        timestamp = rfc3339_to_ns(record.get("timestamp"))
        if timestamp is None:
            self.counts["timestamp-missing"] += 1
            timestamp = observed
        number, text = SEVERITY.get(str(record.get("level")), UNKNOWN_SEVERITY)
        attributes = log_attributes(record)
        trace_id, span_id = hex_id(record.get("trace_id"), 16), hex_id(record.get("span_id"), 8)
        for name, raw in (("trace_id", trace_id), ("span_id", span_id)):
            if raw is None and record.get(name) is not None:  # not a valid id: kept as text
                attributes[name] = record[name]
        message = record.get("message", "")
        body = message if isinstance(message, str) else str(message)
        return _Log(timestamp, observed, number, text, body, attributes, trace_id, span_id)


@dataclass(slots=True)
class _Log:
    timestamp: int
    observed: int
    severity_number: int
    severity_text: str
    body: str
    attributes: dict[str, Any]
    trace_id: bytes | None
    span_id: bytes | None


def _proto_item(log: _Log) -> bytes:
    """A serialised ``LogRecord``."""
    message = LogRecord(time_unix_nano=log.timestamp, observed_time_unix_nano=log.observed,
                        severity_number=log.severity_number,  # type: ignore[arg-type]
                        severity_text=log.severity_text)
    message.body.string_value = log.body
    for key, value in log.attributes.items():
        fill_any_value(message.attributes.add(key=str(key)).value, value)
    if log.trace_id is not None:
        message.trace_id = log.trace_id
    if log.span_id is not None:
        message.span_id = log.span_id
    data: bytes = message.SerializeToString()
    return data


def _json_item(log: _Log) -> bytes:
    """An OTLP/JSON ``LogRecord`` (int64 as strings, ids as hex, the enum as a number)."""
    item: dict[str, Any] = {"timeUnixNano": str(log.timestamp),
                            "observedTimeUnixNano": str(log.observed)}
    if log.severity_number:
        item["severityNumber"] = log.severity_number
        item["severityText"] = log.severity_text
    item["body"] = {"stringValue": log.body}
    if log.attributes:
        item["attributes"] = [{"key": str(k), "value": any_value_json(v)}
                              for k, v in log.attributes.items()]
    if log.trace_id is not None:
        item["traceId"] = log.trace_id.hex()
    if log.span_id is not None:
        item["spanId"] = log.span_id.hex()
    return orjson.dumps(item)
