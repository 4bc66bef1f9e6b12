"""Config models of the sinks (owned by shipper.sinks).

``SinkSettings`` is a discriminated union on ``type``; ``shipper.config`` holds a list of
them. Each type's model lives beside its kind (:mod:`shipper.sinks.settings_common` for
what they share and stdout/http, :mod:`shipper.sinks.loki_settings`,
:mod:`shipper.sinks.vendor_settings`); this module is the registry: the type names and where each
model lives (:data:`SINK_MODULES`), the union and ``--sink`` parsing. A model is imported
when a configuration names its type (or when one of the names here is first used): a
stdout-only configuration never builds the validators of the HTTP sinks. Credentials are
``SecretStr`` and may instead come from a file (``*_file``, e.g. a mounted Kubernetes
Secret) or an environment variable (``*_env``); they are resolved when a sink starts
(:func:`shipper.sinks.auth.resolve_secret`) and are never dumped in clear.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, PlainValidator, TypeAdapter

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

if TYPE_CHECKING:
    from shipper.sinks.loki_settings import (
        UNBOUNDED_FIELDS,
        LokiSinkSettings,
        is_unbounded,
        valid_tenant,
    )
    from shipper.sinks.vendor_settings import (
        DatadogSinkSettings,
        ForwardSinkSettings,
        OtlpSinkSettings,
    )

    SinkSettings = Annotated[
        StdoutSinkSettings | HttpSinkSettings | LokiSinkSettings | DatadogSinkSettings
        | ForwardSinkSettings | OtlpSinkSettings,
        Field(discriminator="type"),
    ]
    #: the type of ``Settings.sinks``
    SinkList = list[SinkSettings]
    SINK_MODELS: tuple[type[_SinkCommon], ...]
    SINK_MODEL_OF: dict[str, type[_SinkCommon]]

__all__ = [
    "UNBOUNDED_FIELDS", "BatchSettings", "DatadogSinkSettings", "ForwardSinkSettings",
    "HttpSinkSettings", "LokiSinkSettings", "OtlpSinkSettings", "RetrySettings", "SinkMatch",
    "SinkSettings", "StdoutSinkSettings", "TlsSettings", "WorkerLimits", "is_unbounded",
    "parse_sink_flag", "valid_tenant", "worker_limits", "SINK_MODELS", "SINK_TYPES",
    "SINK_MODEL_OF", "SINK_MODULES", "SinkList", "sink_model",
]

#: every sink type (its model's ``type``, in the order ``--sink`` errors list them) and
#: where its settings model lives (``module:Class``); each model's ``worker`` names its
#: worker class
SINK_MODULES: dict[str, str] = {
    "stdout": "shipper.sinks.settings_common:StdoutSinkSettings",
    "http": "shipper.sinks.settings_common:HttpSinkSettings",
    "loki": "shipper.sinks.loki_settings:LokiSinkSettings",
    "datadog": "shipper.sinks.vendor_settings:DatadogSinkSettings",
    "forward": "shipper.sinks.vendor_settings:ForwardSinkSettings",
    "otlp": "shipper.sinks.vendor_settings:OtlpSinkSettings",
}
SINK_TYPES: tuple[str, ...] = tuple(SINK_MODULES)
#: names served from the modules of the models that load on demand
_LAZY = {"UNBOUNDED_FIELDS": "loki", "LokiSinkSettings": "loki", "is_unbounded": "loki",
         "valid_tenant": "loki", "DatadogSinkSettings": "datadog",
         "ForwardSinkSettings": "forward", "OtlpSinkSettings": "otlp"}


def sink_model(kind: str) -> type[_SinkCommon] | None:
    """The settings model of a sink type (imported on first use); ``None`` if unknown."""
    where = SINK_MODULES.get(kind)
    if where is None:
        return None
    module, _, name = where.partition(":")
    model: type[_SinkCommon] = getattr(importlib.import_module(module), name)
    return model


@cache
def _sinks_adapter(kinds: tuple[str, ...]) -> TypeAdapter[list[Any]]:
    """A list of sinks of these types: the discriminated union of their models."""
    sinks: Any = list[_union(kinds)]  # type: ignore[misc]  # built at run time
    return TypeAdapter(sinks)


def _union(kinds: tuple[str, ...]) -> Any:
    """The models of these sink types as one union discriminated by ``type``."""
    models = tuple(sink_model(kind) for kind in kinds)
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007


def _validate_sinks(value: Any) -> list[Any]:
    """``Settings.sinks``: validated against the models of the types it names, as against
    the union of all of them (the same values, the same errors at the same places); the
    whole union when an entry's type is missing or unknown, so the error lists them all."""
    kinds = {_kind(entry) for entry in value} if isinstance(value, list) else {None}
    known = tuple(kind for kind in SINK_TYPES if kind in kinds)
    adapter = _sinks_adapter(known if known and len(known) == len(kinds) else SINK_TYPES)
    return adapter.validate_python(value)


def _kind(entry: Any) -> str | None:
    kind = entry.get("type") if isinstance(entry, dict) else getattr(entry, "type", None)
    return kind if isinstance(kind, str) else None


if not TYPE_CHECKING:
    SinkList = Annotated[list[Any], PlainValidator(_validate_sinks)]


def __getattr__(name: str) -> Any:
    """The names of the models loaded on demand (PEP 562)."""
    if name in _LAZY:
        module = SINK_MODULES[_LAZY[name]].partition(":")[0]
        return getattr(importlib.import_module(module), name)
    if name == "SINK_MODELS":
        return tuple(sink_model(kind) for kind in SINK_TYPES)
    if name == "SINK_MODEL_OF":
        return {kind: sink_model(kind) for kind in SINK_TYPES}
    if name == "SinkSettings":
        return _union(SINK_TYPES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
