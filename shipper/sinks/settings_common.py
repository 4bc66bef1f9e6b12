"""What every sink's settings share: batch, retry, TLS, route (``match``), buffer and dead
letter limits, and the stdout and generic HTTP sinks' models (see :mod:`shipper.sinks.settings`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from shipper.buffer.settings import BufferSettings
from shipper.filters.settings import LevelName, Regex, check_match_fields
from shipper.units import Duration, Model, Size


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
    """Delivery limits of a sink (the stdout sink: no retries, no dead letter)."""
    if isinstance(settings, _WorkerSettings):
        return WorkerLimits(settings.retry, settings.concurrency, settings.dead_letter_max_bytes)
    concurrency = settings.concurrency if isinstance(settings, StdoutSinkSettings) else 1
    return WorkerLimits(RetrySettings(), concurrency, 0)


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
    #: batches handed to the writer thread at once, written in the order they were cut.
    #: One at a time, each write waited for the event loop between two chunks: with the
    #: threads on one CPU (``cpu.pin``) the writer fell behind and the buffer filled to its
    #: cap (1M lines: peak RSS 77 MiB at 1, 44.6 at 4, and 5.4 against 6.0 CPU-s)
    concurrency: int = Field(4, ge=1, le=64)


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
