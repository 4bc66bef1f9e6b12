"""Config model of the HTTP server (owned by shipper.server).

``listen`` is ``HOST:PORT`` (``[::1]:9102`` for IPv6, port ``0`` picks a free one) or
``off``. The optional bearer token for ``/v1/*`` comes either inline (``token``, a
``SecretStr`` that never shows in dumps or logs) or from a mounted Secret file
(``token_file``, read when the server starts).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from shipper.units import Duration, Model

OFF = "off"


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
    #: recent records kept for ``/v1/tail`` replay
    tail_ring_size: int = Field(1000, ge=1, le=100_000)
    #: default number of matching ring records replayed to a new tail client
    tail_replay: int = Field(100, ge=0, le=100_000)
    tail_max_clients: int = Field(8, ge=1, le=1000)
    #: records a tail client may lag behind before it is disconnected
    tail_client_queue: int = Field(1000, ge=1, le=100_000)
    #: SSE comment sent when idle so dead clients are noticed
    tail_heartbeat: Duration = 15.0
    #: job summaries kept (least recently updated evicted first)
    jobs_max: int = Field(1000, ge=1, le=1_000_000)
    #: distinct stage names used as metric labels; later ones are counted as ``other``
    jobs_max_stage_labels: int = Field(100, ge=1, le=10_000)
    token: SecretStr | None = None
    token_file: Path | None = None

    @field_validator("listen")
    @classmethod
    def _valid_listen(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @model_validator(mode="after")
    def _one_token_source(self) -> "ServerSettings":
        if self.token is not None and self.token_file is not None:
            raise ValueError("set either server.token or server.token_file, not both")
        if self.token is not None and not self.token.get_secret_value().strip():
            raise ValueError("server.token must not be empty")
        return self

    @property
    def enabled(self) -> bool:
        return parse_listen(self.listen) is not None
