"""The Loki sink's settings (labels, structured metadata, order and tenants)."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from shipper.record_fields import field_leaf
from shipper.sinks.settings_common import (
    _BasicOrBearerAuth,
    _HttpSettings,
)
from shipper.units import Duration, Size

#: record fields whose values are unbounded: never a Loki stream label
UNBOUNDED_FIELDS = frozenset({"job_id", "correlation_id", "pod", "pod_uid", "file", "pod_ip",
                              "request_id", "offset"})
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _default_loki_labels() -> dict[str, list[str]]:
    """Loki's own guidance: few, low-cardinality labels (Loki derives ``service_name`` from
    ``app``); the level is structured metadata (see ``_default_structured_metadata``)."""
    return {"namespace": ["k8s.namespace"],
            "app": ["k8s.labels.app.kubernetes.io/name", "k8s.labels.app"],
            "container": ["k8s.container"]}


def _default_structured_metadata() -> dict[str, str]:
    """``level`` (not ``detected_level``): Loki 3.x derives ``detected_level`` from a
    ``level`` entry itself, and ``| level="error"`` keeps working in LogQL."""
    return {"level": "level", "job_id": "job_id", "correlation_id": "correlation_id",
            "shard_index": "shard_index", "pod": "k8s.pod", "node": "k8s.node",
            "trace_id": "trace_id", "span_id": "span_id"}


#: Loki's tenant ID rules: at most 150 of these characters, not "." or ".."
_TENANT_ID = re.compile(r"^[A-Za-z0-9!\-_.*'()]{1,150}$")


def valid_tenant(value: str) -> bool:
    return bool(_TENANT_ID.match(value)) and value not in (".", "..")


def _check_label_names(names: Any, what: str) -> None:
    for name in names:
        if name.startswith("__"):
            raise ValueError(f"invalid Loki {what} name {name!r}: names starting with __ are "
                             "reserved for Loki")
        if not _LABEL_NAME.match(name):
            hint = f" (try {re.sub(r'[^a-zA-Z0-9_]', '_', name)!r})" if name else ""
            raise ValueError(f"invalid Loki {what} name {name!r}: Loki needs "
                             f"[a-zA-Z_][a-zA-Z0-9_]* (no dots, dashes or slashes){hint}")


class LokiSinkSettings(_HttpSettings, _BasicOrBearerAuth):
    """Grafana Loki ``/loki/api/v1/push`` (protobuf + snappy, or JSON)."""

    type: Literal["loki"] = "loki"
    worker: ClassVar[str] = "shipper.sinks.loki:LokiSink"
    name: str = "loki"
    concurrency: int = Field(1, ge=1, le=64)
    encoding: Literal["protobuf", "json"] = "protobuf"
    compression: Literal["gzip", "none"] = "none"  # JSON only; protobuf is always snappy
    #: static ``X-Scope-OrgID``; with ``tenant_from``, the default for records without it
    tenant_id: str | None = None
    #: field path of each record's tenant (one request per tenant and batch)
    tenant_from: str | None = None
    #: stream label -> candidate field paths (first non-empty wins)
    labels: dict[str, list[str]] = Field(default_factory=_default_loki_labels)
    static_labels: dict[str, str] = {}
    #: structured metadata name -> field path
    structured_metadata: dict[str, str] = Field(default_factory=_default_structured_metadata)
    unbounded_labels: Literal["refuse", "demote"] = "refuse"
    line: Literal["record", "message"] = "record"
    #: Loki's default max_line_size "256KB" is 256,000 bytes (a longer line is refused)
    max_line_bytes: Size = 256_000
    max_labels: int = Field(15, ge=1)
    #: entries further behind their stream's newest than ``max_behind`` (Loki:
    #: ``max_chunk_age / 2``): sent at the newest timestamp, sent as they are, or dropped
    out_of_order_action: Literal["rewrite_timestamp", "accept", "drop"] = "rewrite_timestamp"
    max_behind: Duration = 3600.0
    #: entries further ahead of the clock than this (Loki: ``creation_grace_period``) are
    #: sent at the current time
    max_ahead: Duration = 600.0
    #: streams whose newest timestamp is remembered (least recently used forgotten first)
    max_tracked_streams: int = Field(10_000, ge=1)
    #: a stream not seen for this long is forgotten (Loki has flushed it by then)
    stream_idle_forget: Duration = 7200.0
    #: the part of a refusal (400) read to find which entries Loki did not take
    max_response_bytes: Size = 1024 * 1024

    @field_validator("labels", "static_labels")
    @classmethod
    def _label_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_label_names(value, "label")
        return value

    @field_validator("tenant_id")
    @classmethod
    def _tenant_id(cls, value: str | None) -> str | None:
        if value is not None and not valid_tenant(value):
            raise ValueError(f"invalid Loki tenant ID {value!r}: at most 150 of A-Z a-z 0-9 "
                             "! - _ . * ' ( ), not . or ..")
        return value

    @field_validator("structured_metadata")
    @classmethod
    def _metadata_names(cls, value: dict[str, str]) -> dict[str, str]:
        _check_label_names(value, "structured metadata")
        return value

    @model_validator(mode="after")
    def _check_labels(self) -> LokiSinkSettings:
        if self.unbounded_labels == "refuse":
            bad = sorted(name for name in self.labels if is_unbounded(name, self.labels[name]))
            if bad:
                raise ValueError(
                    f"label(s) {', '.join(bad)} are unbounded (one stream per value); put them "
                    "in structured_metadata or set unbounded_labels: demote")
        names = set(self.labels) | set(self.static_labels)
        if len(names) > self.max_labels:
            raise ValueError(f"labels + static_labels: {len(names)} stream labels, at most "
                             f"{self.max_labels} (Loki's limit)")
        return self


def is_unbounded(name: str, paths: list[str]) -> bool:
    """A label is unbounded if its name or any source field is a per-pod/job/request id."""
    return name in UNBOUNDED_FIELDS or any(field_leaf(p) in UNBOUNDED_FIELDS for p in paths)
