"""A Loki push receiver: decodes raw-snappy protobuf with the schema generated from Loki's
``push.proto`` (or JSON, optionally gzip) and validates like a distributor/ingester:
at most 15 labels, valid label names, line size limit, and entries of a stream in
timestamp order (within a push and, with ``strict_order``, across pushes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
import snappy
from aiohttp import web
from google.protobuf.message import DecodeError

from shipper.sinks.proto import load_push_schema
from tests.receivers.common import HttpReceiver, Rejected, decode_body

_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@dataclass
class LokiEntry:
    labels: dict[str, str]
    ts_ns: int
    line: str
    metadata: dict[str, str]


def parse_labels(text: str) -> dict[str, str]:
    """``{a="x", b="y"}`` -> dict, like Loki's selector parser (400 if malformed)."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise Rejected(400, f"error parsing labels {text!r}")
    inner, labels, pos = text[1:-1], {}, 0
    while pos < len(inner):
        match = _PAIR.match(inner, pos)
        if not match:
            raise Rejected(400, f"error parsing labels {text!r}")
        labels[match.group(1)] = match.group(2).encode().decode("unicode_escape")
        pos = match.end()
    return labels


class LokiReceiver(HttpReceiver):
    path = "/loki/api/v1/push"

    def __init__(self, *, max_labels: int = 15, max_line_bytes: int = 256 * 1024,
                 strict_order: bool = False, tenant: str | None = None, delay: float = 0.0,
                 auth: str | None = None) -> None:
        super().__init__(delay=delay)
        self.schema = load_push_schema()
        self.max_labels, self.max_line_bytes = max_labels, max_line_bytes
        self.strict_order, self.tenant, self.auth = strict_order, tenant, auth
        self.entries: list[LokiEntry] = []
        self._last: dict[str, int] = {}

    def handle(self, request: web.Request, body: bytes) -> tuple[int, str]:
        if self.tenant is not None and request.headers.get("X-Scope-OrgID") != self.tenant:
            raise Rejected(401, "no org id")
        if self.auth is not None and request.headers.get("Authorization") != self.auth:
            raise Rejected(401, "unauthorized")
        streams = self._decode(request, body)
        accepted = [self._check_stream(labels, entries) for labels, entries in streams]
        for labels, entries in zip((s[0] for s in streams), accepted):
            self._last[labels] = entries[-1].ts_ns if entries else self._last.get(labels, 0)
            self.entries.extend(entries)
        return 204, ""

    def _decode(self, request: web.Request, body: bytes) -> list[tuple[str, list[LokiEntry]]]:
        kind = request.headers.get("Content-Type", "")
        if kind == "application/x-protobuf":
            try:
                push = self.schema.PushRequest.FromString(snappy.uncompress(body))
            except (DecodeError, snappy.UncompressError) as exc:
                raise Rejected(400, f"cannot decode protobuf: {exc}") from None
            return [(s.labels, [LokiEntry(parse_labels(s.labels),
                                          e.timestamp.seconds * 10**9 + e.timestamp.nanos, e.line,
                                          {p.name: p.value for p in e.structuredMetadata})
                                for e in s.entries]) for s in push.streams]
        if kind == "application/json":
            data = orjson.loads(decode_body(body, request.headers.get("Content-Encoding")))
            out = []
            for s in data["streams"]:
                key = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(s["stream"].items())) + "}"
                out.append((key, [LokiEntry(dict(s["stream"]), int(v[0]), v[1],
                                            v[2] if len(v) > 2 else {}) for v in s["values"]]))
            return out
        raise Rejected(415, f"unsupported Content-Type {kind!r}")

    def _check_stream(self, key: str, entries: list[LokiEntry]) -> list[LokiEntry]:
        labels = parse_labels(key) if key.startswith("{") else {}
        if not labels and entries:
            labels = entries[0].labels
        if not labels:
            raise Rejected(400, "error at least one label pair is required per stream")
        if len(labels) > self.max_labels:
            raise Rejected(400, f"entry for stream '{key}' has {len(labels)} label names; "
                                f"limit {self.max_labels}")
        last = self._last.get(key, 0) if self.strict_order else 0
        for entry in entries:
            if len(entry.line.encode()) > self.max_line_bytes:
                raise Rejected(400, f"max entry size '{self.max_line_bytes}' bytes exceeded")
            if entry.ts_ns < last:
                raise Rejected(400, f"entry out of order for stream {key}")
            last = entry.ts_ns
        return entries
