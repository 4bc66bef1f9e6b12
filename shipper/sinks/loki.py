"""Grafana Loki sink: ``POST /loki/api/v1/push``.

Protobuf ``PushRequest`` compressed with raw (block) snappy by default, or JSON (optionally
gzip). Streams carry only low-cardinality labels (``namespace``, ``app``, ``container``,
``level`` by default); ``job_id``, ``correlation_id``, ``shard_index``, ``pod`` and ``node``
travel as structured metadata, so ``{namespace="video"} | job_id="job-abc123"`` finds one
job. Unbounded labels are refused at config time or, with ``unbounded_labels: demote``,
moved to structured metadata (counted in :attr:`LokiSink.counts`). Entries are sorted by
timestamp within each stream; an over-size line is truncated (counted).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import snappy

from shipper.record import Record, public_view
from shipper.sinks.auth import auth_headers
from shipper.sinks.base import Payload
from shipper.sinks.batch import Lines
from shipper.sinks.fields import (
    Getter,
    compile_path,
    first_of,
    rfc3339_to_ns,
    shorten_text,
    truncate_utf8,
)
from shipper.sinks.http import compress
from shipper.sinks.http_post import HttpPostSink
from shipper.sinks.proto import load_push_schema
from shipper.sinks.settings import LokiSinkSettings, is_unbounded

log = logging.getLogger("shipper.sinks")

PUSH_PATH = "/loki/api/v1/push"
FALLBACK_LABELS = {"job": "shipper"}  # Loki rejects a stream without labels

Entry = tuple[int, str, list[tuple[str, str]]]


def push_url(url: str) -> str:
    """A bare Loki address gets the push path; a URL with a path is used as given."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=PUSH_PATH))
    return url


def label_string(labels: dict[str, str]) -> str:
    """``{a="x", b="y"}`` with names sorted and values quoted like Go/PromQL strings."""
    def quote(value: str) -> str:
        return (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                .replace("\r", "\\r").replace("\t", "\\t"))
    return "{" + ", ".join(f'{k}="{quote(v)}"' for k, v in sorted(labels.items())) + "}"


class LokiEncoder:
    """Records -> streams of ``(ns, line, structured metadata)``; pure apart from counts."""

    def __init__(self, settings: LokiSinkSettings, wall_clock: Any) -> None:
        self.settings = settings
        self.counts: Counter[str] = Counter()
        self._wall_clock = wall_clock
        self.demoted = sorted(n for n, p in settings.labels.items() if is_unbounded(n, p))
        self._labels: list[tuple[str, Getter]] = [
            (n, first_of(p)) for n, p in settings.labels.items() if n not in self.demoted]
        self._meta: list[tuple[str, Getter]] = [
            (n, compile_path(p)) for n, p in settings.structured_metadata.items()]
        self._meta += [(n, first_of(settings.labels[n])) for n in self.demoted
                       if n not in settings.structured_metadata]

    def streams(self, records: list[Record], raws: list[memoryview] | None = None
                ) -> dict[str, tuple[dict[str, str], list[Entry]]]:
        """Entries by stream; ``raws``: each record's JSON as buffered (then reused as the
        line instead of encoding the record again)."""
        streams: dict[str, tuple[dict[str, str], list[Entry]]] = {}
        for i, record in enumerate(records):
            labels = self._stream_labels(record)
            key = label_string(labels)
            raw = raws[i] if raws is not None else None
            streams.setdefault(key, (labels, []))[1].append(self._entry(record, raw))
        for _, entries in streams.values():
            entries.sort(key=lambda entry: entry[0])  # stable: equal timestamps keep order
        return streams

    def _stream_labels(self, record: Record) -> dict[str, str]:
        labels = dict(self.settings.static_labels)
        for name, get in self._labels:
            value = get(record)
            if value not in (None, ""):
                labels[name] = str(value)
        return labels or dict(FALLBACK_LABELS)

    def _entry(self, record: Record, raw: memoryview | None = None) -> Entry:
        ns = rfc3339_to_ns(record.get("timestamp"))
        if ns is None:
            ns = int(self._wall_clock() * 1e9)
            self.counts["timestamp-missing"] += 1
        meta = []
        for name, get in self._meta:
            value = get(record)
            if value not in (None, ""):
                meta.append((name, str(value)))
        if self.demoted:
            self.counts["label-demoted"] += 1
        settings = self.settings
        if raw is not None and settings.line == "record" and len(raw) <= settings.max_line_bytes:
            return ns, str(raw, "utf-8"), meta
        return ns, self._line(record), meta

    def _line(self, record: Record) -> str:
        limit = self.settings.max_line_bytes
        if self.settings.line == "message":
            raw = str(record.get("message", "")).encode("utf-8")
            if len(raw) <= limit:
                return raw.decode("utf-8")
            self.counts["truncated"] += 1
            return shorten_text(raw.decode("utf-8"), len(raw) - limit)
        view = public_view(record)
        raw = orjson.dumps(view, default=str)
        if len(raw) <= limit:
            return raw.decode("utf-8")
        self.counts["truncated"] += 1
        message = str(view.get("message", ""))
        view["message"] = shorten_text(message, len(raw) - limit)
        raw = orjson.dumps(view, default=str)
        return truncate_utf8(raw, limit).decode("utf-8")


class LokiSink(HttpPostSink):
    settings: LokiSinkSettings

    def __init__(self, settings: LokiSinkSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.encoder = LokiEncoder(settings, self._wall_clock)
        self.counts = self.encoder.counts
        self._schema = load_push_schema() if settings.encoding == "protobuf" else None
        self._url = push_url(settings.url)

    def encode(self, records: list[Record]) -> list[Payload]:
        return self._payloads(records, self.encoder.streams(records))

    def encode_lines(self, lines: Lines) -> list[Payload]:
        """The buffered JSON is the line (``line: record``): decoded once for the labels,
        never encoded again."""
        raws = list(lines.lines())
        loads = orjson.loads
        records = [loads(raw) for raw in raws]
        return self._payloads(records, self.encoder.streams(records, raws))

    def _payloads(self, records: list[Record],
                  streams: dict[str, tuple[dict[str, str], list[Entry]]]) -> list[Payload]:
        if self._schema is not None:
            raw = self._protobuf(streams)
            body, headers = snappy.compress(raw), {"Content-Type": "application/x-protobuf"}
        else:
            raw = self._json(streams)
            body, encoding = compress(raw, self.settings.compression)
            headers = {"Content-Type": "application/json", **encoding}
        return [Payload(body, records, len(raw), headers)]

    def _protobuf(self, streams: dict[str, tuple[dict[str, str], list[Entry]]]) -> bytes:
        assert self._schema is not None
        request = self._schema.PushRequest()
        for key, (_, entries) in streams.items():
            stream = request.streams.add(labels=key)
            for ns, line, meta in entries:
                entry = stream.entries.add(line=line)
                entry.timestamp.seconds, entry.timestamp.nanos = divmod(ns, 1_000_000_000)
                for name, value in meta:
                    entry.structuredMetadata.add(name=name, value=value)
        data: bytes = request.SerializeToString()
        return data

    @staticmethod
    def _json(streams: dict[str, tuple[dict[str, str], list[Entry]]]) -> bytes:
        out = [{"stream": labels,
                "values": [[str(ns), line, dict(meta)] if meta else [str(ns), line]
                           for ns, line, meta in entries]}
               for labels, entries in streams.values()]
        return orjson.dumps({"streams": out})

    async def open(self) -> None:
        if self.encoder.demoted:
            log.warning("sink %s: unbounded label(s) %s demoted to structured metadata",
                        self.name, ", ".join(self.encoder.demoted))
        auth = await asyncio.to_thread(auth_headers, self.settings)
        tenant = {"X-Scope-OrgID": self.settings.tenant_id} if self.settings.tenant_id else {}
        self._headers = {**self.settings.headers, **tenant, **auth}
        await self._transport.open()

