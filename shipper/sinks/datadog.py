"""Datadog logs sink: ``POST /api/v2/logs`` with ``DD-API-KEY``, a gzip JSON array.

Limits of the intake are enforced before sending: at most ``max_entries`` (1,000) entries
and ``max_payload_bytes`` (5 MB, uncompressed) per request, ``max_entry_bytes`` (1 MB) per
entry (the message is truncated to fit; counted in :attr:`DatadogSink.counts`).
Reserved attributes: ``message``, ``status`` (level), ``hostname`` (node), ``service``
(config, else the app label), ``ddsource``, ``ddtags``; ``job_id`` and ``correlation_id``
stay top-level attributes so ``@job_id:job-abc123`` finds one job.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from shipper.errors import ConfigError
from shipper.record import Record, public_view
from shipper.sinks.auth import resolve_secret
from shipper.sinks.base import Payload
from shipper.sinks.fields import first_of, shorten_text, truncate_utf8
from shipper.sinks.http import compress
from shipper.sinks.http_post import HttpPostSink
from shipper.sinks.settings import DatadogSinkSettings

STATUS = {"trace": "debug", "debug": "debug", "info": "info", "warning": "warning",
          "error": "error", "critical": "critical"}
_TAG_SOURCES = (("kube_namespace", "namespace"), ("pod_name", "pod"),
                ("kube_container_name", "container"))
INTAKE_PATH = "/api/v2/logs"
_RESERVED = ("message", "status", "hostname", "service", "ddsource", "ddtags")


def intake_url(url: str) -> str:
    """A bare intake address gets ``/api/v2/logs``; a URL with a path is used as given."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=INTAKE_PATH))
    return url


class DatadogEncoder:
    """Records -> Datadog log entries, packed into arrays within the intake limits."""

    def __init__(self, settings: DatadogSinkSettings) -> None:
        self.settings = settings
        self.counts: Counter[str] = Counter()
        self._app = first_of(["k8s.labels.app.kubernetes.io/name", "k8s.labels.app"])
        self._tags = ",".join(settings.tags)

    def entry(self, record: Record) -> dict[str, Any]:
        view = public_view(record)
        k8s = view.get("k8s") or {}
        level = view.get("level", "info")
        out = {key: value for key, value in view.items() if key not in _RESERVED}
        out.update({
            "message": view.get("message", ""),
            "status": STATUS.get(level, "info"),
            "hostname": k8s.get("node") or "",
            "service": self.settings.service or self._app(view) or "",
            "ddsource": self.settings.source,
            "ddtags": self._ddtags(k8s),
        })
        return {k: v for k, v in out.items() if v != "" or k == "message"}

    def _ddtags(self, k8s: dict[str, Any]) -> str:
        tags = [f"{tag}:{k8s[key]}" for tag, key in _TAG_SOURCES if k8s.get(key)]
        return ",".join(tags + ([self._tags] if self._tags else []))

    def dumps(self, record: Record) -> bytes:
        """One entry as JSON, its message truncated if the entry exceeds the entry limit."""
        entry = self.entry(record)
        raw = orjson.dumps(entry, default=str)
        limit = self.settings.max_entry_bytes
        if len(raw) <= limit:
            return raw
        self.counts["truncated"] += 1
        entry["message"] = shorten_text(str(entry["message"]), len(raw) - limit)
        raw = orjson.dumps(entry, default=str)
        if len(raw) > limit:  # the other attributes alone are too big: keep the essentials
            essentials = {k: entry[k] for k in _RESERVED if k in entry}
            essentials["message"] = truncate_utf8(
                str(entry["message"]).encode(), limit // 2).decode("utf-8")
            raw = orjson.dumps(essentials, default=str)
        return raw

    def pack(self, records: list[Record]) -> list[tuple[bytes, list[Record]]]:
        """``[...]`` arrays of at most ``max_entries`` entries and ``max_payload_bytes``."""
        arrays: list[tuple[bytes, list[Record]]] = []
        parts: list[bytes] = []
        owners: list[Record] = []
        size = 2
        for record in records:
            raw = self.dumps(record)
            if parts and (len(parts) >= self.settings.max_entries
                          or size + len(raw) + 1 > self.settings.max_payload_bytes):
                arrays.append((b"[" + b",".join(parts) + b"]", owners))
                parts, owners, size = [], [], 2
            parts.append(raw)
            owners.append(record)
            size += len(raw) + 1
        if parts:
            arrays.append((b"[" + b",".join(parts) + b"]", owners))
        return arrays


class DatadogSink(HttpPostSink):
    settings: DatadogSinkSettings

    def __init__(self, settings: DatadogSinkSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.encoder = DatadogEncoder(settings)
        self.counts = self.encoder.counts
        self._url = intake_url(settings.url)

    def encode(self, records: list[Record]) -> list[Payload]:
        payloads = []
        for raw, owners in self.encoder.pack(records):
            body, encoding = compress(raw, self.settings.compression)
            headers = {"Content-Type": "application/json", **encoding}
            payloads.append(Payload(body, owners, len(raw), headers))
        return payloads

    async def open(self) -> None:
        key = await asyncio.to_thread(resolve_secret, self.settings, "api_key")
        if key is None:
            raise ConfigError("no Datadog API key (set api_key, api_key_file or the "
                              f"{self.settings.api_key_env or 'DD_API_KEY'} env var)",
                              key=f"sinks.{self.name}.api_key")
        self._headers = {**self.settings.headers, "DD-API-KEY": key.get_secret_value()}
        await self._transport.open()

