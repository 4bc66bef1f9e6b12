"""Config models of the sinks (owned by shipper.sinks).

``SinkSettings`` is a discriminated union on ``type``; ``shipper.config`` holds a list of
them. Credentials are ``SecretStr`` and may instead come from a file (``*_file``, e.g. a
mounted Kubernetes Secret) or an environment variable (``*_env``); they are resolved when a
sink starts (:func:`shipper.sinks.auth.resolve_secret`) and are never dumped in clear.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from shipper.buffer.settings import BufferSettings
from shipper.filters.settings import LevelName, Regex, check_match_fields
from shipper.record_fields import field_leaf
from shipper.units import Duration, Model, Size

#: record fields whose values are unbounded: never a Loki stream label
UNBOUNDED_FIELDS = frozenset({"job_id", "correlation_id", "pod", "pod_uid", "file", "pod_ip",
                              "request_id", "offset"})
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class BatchSettings(Model):
    max_records: int = Field(1000, ge=1)
    max_bytes: int = Field(1_048_576, ge=1024)
    max_wait: Duration = 1.0


class RetrySettings(Model):
    """Exponential backoff with full jitter; ``max_attempts: null`` retries forever."""

    initial_backoff: Duration = 0.5
    max_backoff: Duration = 60.0
    max_attempts: int | None = Field(None, ge=1)


class TlsSettings(Model):
    verify: bool = True
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None


class SinkMatch(Model):
    """Which records a sink gets (its route): ``min_level`` and ``field: regex`` pairs in
    the language of ``filters.drop`` (every one must match, ``re.search``; a missing field
    never matches), e.g. ``match: {min_level: error, k8s.labels.team: "^payments$"}``.
    Compiled once (:mod:`shipper.routes`); no ``match`` at all means every record."""

    model_config = ConfigDict(frozen=True, extra="allow")
    __pydantic_extra__: dict[str, Regex] = Field(init=False)

    min_level: LevelName | None = None

    @model_validator(mode="after")
    def _known_fields(self) -> SinkMatch:
        check_match_fields(self.fields)
        return self

    @property
    def fields(self) -> dict[str, re.Pattern[str]]:
        """The ``field: regex`` pairs (everything but ``min_level``)."""
        return dict(self.__pydantic_extra__ or {})


class _SinkCommon(Model):
    """What every sink has: a name, batch limits, a buffer of its own and a route."""

    #: the worker class (``module:Class``), imported only when a sink of the type is built
    worker: ClassVar[str]
    name: str
    #: the records this sink gets; ``None`` = all of them (see :class:`SinkMatch`)
    match: SinkMatch | None = None
    batch: BatchSettings = BatchSettings()
    buffer: BufferSettings = BufferSettings()


class _WorkerSettings(_SinkCommon):
    """What the generic delivery worker needs from every network sink."""

    retry: RetrySettings = RetrySettings()
    #: no longer a limit (``buffer.max_bytes`` bounds the buffer); accepted so existing
    #: configs load, and a warning says it is ignored
    queue_max: int | None = Field(None, ge=1)
    concurrency: int = Field(2, ge=1, le=64)
    timeout: Duration = 10.0
    tls: TlsSettings = TlsSettings()
    dead_letter_max_bytes: Size = 100 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WorkerLimits:
    retry: RetrySettings
    concurrency: int
    dead_letter_max_bytes: int


def worker_limits(settings: _SinkCommon) -> WorkerLimits:
    """Delivery limits of a sink (the stdout sink writes one batch at a time, no retries)."""
    if isinstance(settings, _WorkerSettings):
        return WorkerLimits(settings.retry, settings.concurrency, settings.dead_letter_max_bytes)
    return WorkerLimits(RetrySettings(), 1, 0)


class _HttpSettings(_WorkerSettings):
    url: str
    headers: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"invalid URL {value!r}: expected http(s)://host[:port][/path]")
        return value


def _check_secret_sources(model: Any, field: str) -> None:
    """A secret comes from its value, a file or an env var (in that precedence); giving
    both a value and a file is ambiguous."""
    if getattr(model, field) is not None and getattr(model, f"{field}_file") is not None:
        raise ValueError(f"set only one of {field}, {field}_file")


class StdoutSinkSettings(_SinkCommon):
    """NDJSON on the shipper's stdout, for a node agent; batches of at most 512 records
    and ``batch.max_bytes`` (1 MiB)."""

    type: Literal["stdout"] = "stdout"
    worker: ClassVar[str] = "shipper.sinks.stdout:StdoutSink"
    name: str = "stdout"
    batch: BatchSettings = BatchSettings(max_records=512, max_wait=0.2)


class _BasicOrBearerAuth(Model):
    """Basic auth or a bearer token; each secret as a value, a file or an env var name."""

    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None
    bearer_token: SecretStr | None = None
    bearer_token_file: Path | None = None
    bearer_token_env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _BasicOrBearerAuth:
        _check_secret_sources(self, "password")
        _check_secret_sources(self, "bearer_token")
        return self


class HttpSinkSettings(_HttpSettings, _BasicOrBearerAuth):
    """POST NDJSON batches with a content-derived ``Idempotency-Key``."""

    type: Literal["http"] = "http"
    worker: ClassVar[str] = "shipper.sinks.http:HttpSink"
    name: str = "http"
    compression: Literal["gzip", "zstd", "none"] = "gzip"
    idempotency_header: str = "Idempotency-Key"



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


class DatadogSinkSettings(_HttpSettings):
    """Datadog logs intake ``/api/v2/logs``; ``url`` defaults from ``site``."""

    type: Literal["datadog"] = "datadog"
    worker: ClassVar[str] = "shipper.sinks.datadog:DatadogSink"
    name: str = "datadog"
    url: str = ""
    site: str = "datadoghq.com"
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    api_key_env: str | None = "DD_API_KEY"
    compression: Literal["gzip", "none"] = "gzip"
    service: str | None = None
    source: str = "kubernetes"
    tags: list[str] = []
    max_entries: int = Field(1000, ge=1, le=1000)
    max_payload_bytes: Size = 5 * 1024 * 1024
    max_entry_bytes: Size = 1024 * 1024
    #: the intake ignores logs stamped more than 18 h ago: older records are dead-lettered
    #: instead of sent (``null``: no check, for an intake that keeps them)
    max_age: Duration | None = 18 * 3600.0
    #: ... and more than 2 h ahead: such records are sent stamped now (``null``: no check)
    max_future: Duration | None = 2 * 3600.0

    @model_validator(mode="before")
    @classmethod
    def _fill_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("url"):
            site = data.get("site") or "datadoghq.com"
            data = {**data, "url": f"https://http-intake.logs.{site}/api/v2/logs"}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> DatadogSinkSettings:
        _check_secret_sources(self, "api_key")
        return self


class OtlpSinkSettings(_HttpSettings, _BasicOrBearerAuth):
    """OpenTelemetry OTLP/HTTP logs: ``POST {url}/v1/logs`` (protobuf or JSON)."""

    type: Literal["otlp"] = "otlp"
    worker: ClassVar[str] = "shipper.sinks.otlp:OtlpSink"
    name: str = "otlp"
    encoding: Literal["protobuf", "json"] = "protobuf"
    compression: Literal["gzip", "none"] = "gzip"
    #: uncompressed request size; batches are split before sending, never after a 413
    max_request_bytes: Size = Field(4 * 1024 * 1024, ge=16 * 1024)
    #: ``resource`` attributes added to (and overriding) the ones derived from ``k8s``
    resource_attributes: dict[str, str] = {}
    #: header name -> file holding its value (a mounted Secret, e.g. Datadog's ``dd-api-key``)
    header_files: dict[str, Path] = {}


class ForwardSinkSettings(_WorkerSettings):
    """Fluentd forward protocol v1 (PackedForward or CompressedPackedForward, EventTime,
    chunk acks) over TCP/TLS, with the HELO/PING/PONG ``shared_key`` handshake and optional
    user auth when ``shared_key`` is set."""

    type: Literal["forward"] = "forward"
    worker: ClassVar[str] = "shipper.sinks.forward:ForwardSink"
    name: str = "forward"
    url: str = "tcp://127.0.0.1:24224"
    tag: str = "shipper"
    require_ack: bool = True
    concurrency: int = Field(1, ge=1, le=1)
    #: ``gzip``: CompressedPackedForward (option ``compressed: gzip``)
    compression: Literal["none", "gzip"] = "none"
    shared_key: SecretStr | None = None
    shared_key_file: Path | None = None
    shared_key_env: str | None = None
    #: the client hostname in PING (Fluentd's ``self_hostname``); default: this host's name
    self_hostname: str = Field(default_factory=socket.gethostname, min_length=1)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None

    @field_validator("url")
    @classmethod
    def _tcp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
            raise ValueError(f"invalid URL {value!r}: expected tcp://host:port or tls://host:port")
        return value

    @model_validator(mode="after")
    def _secrets(self) -> ForwardSinkSettings:
        _check_secret_sources(self, "shared_key")
        _check_secret_sources(self, "password")
        keyless = self.shared_key is None and self.shared_key_file is None \
            and self.shared_key_env is None
        if self.username and keyless:
            raise ValueError("username/password are sent in the shared_key handshake: "
                             "set shared_key (or shared_key_file / shared_key_env) too")
        if not self.username and (self.password is not None or self.password_file is not None):
            raise ValueError("password without username")
        return self


SinkSettings = Annotated[
    StdoutSinkSettings | HttpSinkSettings | LokiSinkSettings | DatadogSinkSettings
    | ForwardSinkSettings | OtlpSinkSettings,
    Field(discriminator="type"),
]

#: every sink type's settings model: the one list of sink types (``type`` is each
#: model's discriminator, ``worker`` its worker class)
SINK_MODELS: tuple[type[_SinkCommon], ...] = get_args(get_args(SinkSettings)[0])
SINK_TYPES: tuple[str, ...] = tuple(model.model_fields["type"].default for model in SINK_MODELS)
SINK_MODEL_OF: dict[str, type[_SinkCommon]] = dict(zip(SINK_TYPES, SINK_MODELS, strict=True))


def parse_sink_flag(flag: str) -> dict[str, Any]:
    """``--sink TYPE=URL`` -> a sink mapping (``stdout`` needs no URL).

    ``parse_sink_flag("loki=http://127.0.0.1:3100")`` ->
    ``{"type": "loki", "name": "loki", "url": "http://127.0.0.1:3100"}``.
    """
    kind, sep, url = flag.partition("=")
    kind, url = kind.strip().lower(), url.strip()
    if kind not in SINK_TYPES:
        raise ValueError(f"--sink {flag!r}: unknown sink type {kind!r} "
                         f"(expected one of {', '.join(SINK_TYPES)})")
    if kind == "stdout":
        return {"type": "stdout", "name": "stdout"}
    if not sep or not url:
        raise ValueError(f"--sink {flag!r}: expected {kind}=URL")
    return {"type": kind, "name": kind, "url": url}
