"""The Datadog, OTLP and forward sinks' settings."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from shipper.sinks.settings_common import (
    _BasicOrBearerAuth,
    _check_secret_sources,
    _HttpSettings,
    _WorkerSettings,
)
from shipper.units import Duration, Size


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
