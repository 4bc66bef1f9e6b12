"""Config model of the HTTP server (owned by shipper.server).

``listen`` is ``HOST:PORT`` (``[::1]:9102`` for IPv6, port ``0`` picks a free one) or
``off``. The optional bearer token for ``/v1/*`` comes either inline (``token``, a
``SecretStr`` that never shows in dumps or logs) or from a mounted Secret file
(``token_file``, read when the server starts and re-read when it changes). Without a
token, ``/v1/*`` answers loopback clients only unless ``v1_open`` says otherwise.

Every ring, queue and response is bounded in bytes as well as in items; the defaults
keep the server's share of memory within a few tens of MiB (the chart's limit is 256 MiB).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from shipper.units import Duration, Model, Size

OFF = "off"
KIB = 1024
MIB = 1024 * KIB


def parse_listen(listen: str) -> tuple[str, int] | None:
    """``"HOST:PORT"`` -> ``(host, port)``; ``"off"`` -> ``None``; ``ValueError`` otherwise."""
    value = listen.strip()
    if value.lower() == OFF:
        return None
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"invalid listen address {listen!r} (use HOST:PORT or 'off')")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"invalid port in {listen!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", port


class ServerSettings(Model):
    """The metrics/health/tail/jobs HTTP server."""

    listen: str = "0.0.0.0:9102"
    #: ``/healthz`` fails when records wait but nothing was read or delivered this long
    stall_after: Duration = 120.0
    #: open connections at most; more are closed at once (also capped to a quarter of
    #: the process's descriptor limit, so the tailer always has descriptors left)
    max_connections: int = Field(64, ge=1, le=10_000)
    #: open connections from one client address at most (keeps probes and scrapes
    #: working while one peer floods the port)
    max_connections_per_client: int = Field(16, ge=1, le=10_000)
    #: a connection must send a complete request head this soon after it opens (and an
    #: idle keep-alive connection is closed after this long)
    header_timeout: Duration = Field(10.0, gt=0)
    #: recent records kept for ``/v1/tail`` replay: this many at most...
    tail_ring_size: int = Field(1000, ge=1, le=100_000)
    #: ...and this many bytes at most (JSON size plus a fixed cost per record)
    tail_ring_bytes: Size = Field(8 * MIB, ge=64 * KIB)
    #: default number of matching ring records replayed to a new tail client
    tail_replay: int = Field(100, ge=0, le=100_000)
    tail_max_clients: int = Field(8, ge=1, le=1000)
    #: records a tail client may lag behind before it is disconnected...
    tail_client_queue: int = Field(1000, ge=1, le=100_000)
    #: ...and bytes (also the most one replay sends)
    tail_client_queue_bytes: Size = Field(1 * MIB, ge=16 * KIB)
    #: SSE comment sent when idle so dead clients are noticed
    tail_heartbeat: Duration = 15.0
    #: job summaries kept (least recently updated evicted first)...
    jobs_max: int = Field(1000, ge=1, le=1_000_000)
    #: ...and their estimated bytes at most
    jobs_max_bytes: Size = Field(8 * MIB, ge=64 * KIB)
    #: stages/layers remembered per job (later ones are counted, not kept)
    jobs_max_stages: int = Field(100, ge=1, le=10_000)
    #: distinct stage names used as metric labels; later ones are counted as ``other``
    jobs_max_stage_labels: int = Field(100, ge=1, le=10_000)
    #: ``/v1/jobs`` page: default ``limit``, the largest ``limit`` and the body's byte cap
    jobs_page_size: int = Field(100, ge=1, le=100_000)
    jobs_page_max: int = Field(500, ge=1, le=100_000)
    jobs_page_max_bytes: Size = Field(512 * KIB, ge=16 * KIB)
    token: SecretStr | None = None
    token_file: Path | None = None
    #: serve ``/v1/*`` without a token to any client (default: loopback clients only)
    v1_open: bool = False

    @field_validator("listen")
    @classmethod
    def _valid_listen(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @model_validator(mode="after")
    def _one_token_source(self) -> ServerSettings:
        if self.token is not None and self.token_file is not None:
            raise ValueError("set either server.token or server.token_file, not both")
        if self.token is not None and not self.token.get_secret_value().strip():
            raise ValueError("server.token must not be empty")
        if self.jobs_page_size > self.jobs_page_max:
            raise ValueError("server.jobs_page_size must not exceed server.jobs_page_max")
        return self

    @property
    def enabled(self) -> bool:
        return parse_listen(self.listen) is not None
