"""Config models of the sinks (owned by shipper.sinks).

``SinkSettings`` is a discriminated union on ``type``; ``shipper.config`` holds a list of
them. Each type's model lives beside its kind (:mod:`shipper.sinks.settings_common` for
what they share and stdout/http, :mod:`shipper.sinks.loki_settings`,
:mod:`shipper.sinks.vendor_settings`); this module is the registry: the union, the type
names and ``--sink`` parsing. Credentials are ``SecretStr`` and may instead come from a
file (``*_file``, e.g. a mounted Kubernetes Secret) or an environment variable (``*_env``);
they are resolved when a sink starts (:func:`shipper.sinks.auth.resolve_secret`) and are
never dumped in clear.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from pydantic import Field

from shipper.sinks.loki_settings import (
    UNBOUNDED_FIELDS,
    LokiSinkSettings,
    is_unbounded,
    valid_tenant,
)
from shipper.sinks.settings_common import (
    BatchSettings,
    HttpSinkSettings,
    RetrySettings,
    SinkMatch,
    StdoutSinkSettings,
    TlsSettings,
    WorkerLimits,
    _SinkCommon,
    worker_limits,
)
from shipper.sinks.vendor_settings import (
    DatadogSinkSettings,
    ForwardSinkSettings,
    OtlpSinkSettings,
)

__all__ = [
    "UNBOUNDED_FIELDS", "BatchSettings", "DatadogSinkSettings", "ForwardSinkSettings",
    "HttpSinkSettings", "LokiSinkSettings", "OtlpSinkSettings", "RetrySettings", "SinkMatch",
    "SinkSettings", "StdoutSinkSettings", "TlsSettings", "WorkerLimits", "is_unbounded",
    "parse_sink_flag", "valid_tenant", "worker_limits", "SINK_MODELS", "SINK_TYPES",
    "SINK_MODEL_OF",
]


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
