"""Configuration: one validated, frozen model from CLI flags, ``SHIPPER_*`` env and YAML.

Precedence is CLI > environment > config file > defaults. Validation happens once at
start-up; every component compiles its section into runtime objects (regexes included)
from here. Errors become one :class:`~shipper.errors.ConfigError` line naming the key.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator
from pydantic._internal._utils import deep_update  # what pydantic-settings merges with

from shipper.cpu.settings import CpuSettings
from shipper.enrich.settings import EnrichSettings
from shipper.errors import ConfigError
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.parse.settings import ParseSettings
from shipper.server.settings import ServerSettings
from shipper.sinks.settings import SINK_TYPES, SinkList, StdoutSinkSettings
from shipper.sources.settings import TailSettings
from shipper.units import Duration

#: how ``SHIPPER_*`` variables name keys (lower case: they are matched case-insensitively)
ENV_PREFIX = "shipper_"
ENV_NESTED_DELIMITER = "__"

#: the config file's mapping while :func:`load_settings` builds a :class:`Settings` (one
#: model class for every load: a subclass per load would build its validators again)
_FILE_DATA: ContextVar[dict[str, Any] | None] = ContextVar("config_file_data",
                                                           default=None)


def _default_sinks() -> SinkList:
    return [StdoutSinkSettings()]


class Settings(EnrichSettings, TailSettings):
    """The whole effective configuration: the tailer's keys (:class:`TailSettings`) and
    the enrichers' (:class:`EnrichSettings`) at the top level, as users have them, then
    one section per component.

    Built as pydantic-settings builds a ``BaseSettings`` (its validation options, its
    sources and its merge): keyword arguments (the CLI) > ``SHIPPER_*`` environment >
    the config file :func:`load_settings` read. The environment is read by
    pydantic-settings itself (:mod:`shipper.config_env`), which is imported only when a
    ``SHIPPER_*`` variable names a key: a configuration without any never loads it
    (40 modules, ~2 MiB of a sidecar's resident memory)."""

    #: ``BaseSettings``' options that apply to validation, and ours
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True,
                              arbitrary_types_allowed=True)

    state_dir: Path | None = None
    shutdown_deadline: Duration = 20.0
    queue_max_batches: int = Field(8, ge=1)
    parse: ParseSettings = ParseSettings()
    filters: FilterSettings = FilterSettings()
    redact: RedactSettings = RedactSettings()
    sinks: SinkList = Field(default_factory=_default_sinks)
    server: ServerSettings = ServerSettings()
    cpu: CpuSettings = CpuSettings()
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    def __init__(self, **values: Any) -> None:
        super().__init__(**_sourced(type(self), values))

    @field_validator("sinks")
    @classmethod
    def _unique_sink_names(cls, value: list[Any]) -> list[Any]:
        names = [sink.name for sink in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sink names must be unique, repeated: {', '.join(dupes)}")
        if not value:
            raise ValueError("at least one sink is required")
        return value


def _sourced(model: type[Settings], init: dict[str, Any]) -> dict[str, Any]:
    """The values of every source merged as pydantic-settings merges them: from the
    highest priority down, each source's values under those merged so far (nested
    mappings merge key by key). Without a config file (a model built directly), the
    sources of a plain ``BaseSettings``: the other two (``.env`` files and a secrets
    directory) are not configured and give nothing."""
    data = _FILE_DATA.get()
    sources = [init, _environment(model)] + ([dict(data)] if data is not None else [])
    state: dict[str, Any] = {}
    for values in sources:
        state = deep_update(values, state)
    return state


def _environment(model: type[Settings]) -> dict[str, Any]:
    """The ``SHIPPER_*`` values, read by pydantic-settings' ``EnvSettingsSource`` when a
    variable names a key of ``model`` (case-insensitive, as it reads them)."""
    keys = tuple(f"{ENV_PREFIX}{name}" for name in model.model_fields)
    nested = tuple(f"{key}{ENV_NESTED_DELIMITER}" for key in keys)
    if not any(name.lower() in keys or name.lower().startswith(nested)
               for name in os.environ):
        return {}
    from shipper.config_env import environment_values

    return environment_values(model)


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML config file into a mapping (``ConfigError`` if it is not one)."""
    import yaml  # only with a config file: not loaded by a run without one

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", key=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}".replace("\n", " "), key=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the config file must hold a mapping of keys", key=str(path))
    return data


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Build the effective settings; CLI values go in ``overrides`` (``None`` = not given)."""
    data = read_config_file(config_file) if config_file else {}
    cli = {key: value for key, value in overrides.items() if value is not None}
    given = _FILE_DATA.set(data)
    try:
        return Settings(**cli)
    except ValidationError as exc:
        raise format_validation_error(exc, sink_entries(cli, os.environ, data)) from None
    finally:
        _FILE_DATA.reset(given)


SinkEntry = tuple[str, str]  # (name, type) of a sink as written


def sink_entries(cli: dict[str, Any], env: Any, data: dict[str, Any]) -> list[SinkEntry]:
    """The sinks as given (CLI > ``SHIPPER_SINKS`` > file), to name them in errors."""
    raw: Any = cli.get("sinks")
    if raw is None and env.get("SHIPPER_SINKS"):
        try:
            raw = json.loads(env["SHIPPER_SINKS"])
        except ValueError:
            raw = None
    if raw is None:
        raw = data.get("sinks")
    if not isinstance(raw, list):
        return []
    entries = []
    for entry in raw:
        entry = entry if isinstance(entry, dict) else {}
        kind = str(entry.get("type", ""))
        entries.append((str(entry.get("name") or kind), kind))
    return entries


def _error_key(loc: tuple[int | str, ...], sinks: list[SinkEntry]) -> str:
    """``sinks.0.loki.url`` -> ``sinks.<name>.url``: a sink is named by its ``name`` (its
    type by default), not by its position and the union's tag."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "sinks" and isinstance(parts[1], int):
        index = parts[1]
        name, kind = sinks[index] if index < len(sinks) else (str(index), "")
        rest = parts[2:]
        if rest and rest[0] in ({kind} if kind else set(SINK_TYPES)):
            rest = rest[1:]
        parts = ["sinks", name or str(index), *rest]
    return ".".join(str(part) for part in parts) or "config"


def format_validation_error(exc: ValidationError, sinks: list[SinkEntry] | None = None,
                            ) -> ConfigError:
    """One clear line for the first problem (and a count of the others)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    key = _error_key(tuple(first["loc"]), sinks or [])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return ConfigError(message + more, key=key)


#: sections printed as they are: their strings are patterns, not values
_PATTERN_SECTIONS = frozenset({"filters", "redact"})


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The settings as plain data with every secret masked: ``SecretStr`` values as
    ``**********``; as ``[REDACTED]`` the password (or a lone user part) and secret query
    values (``api_key=``, ``token=``, ``sig=``) of every URL, the values of headers named
    like a credential (``Authorization``, ``X-Api-Key``, ``Cookie``) and anything else the
    built-in redaction rules find in a value. Filter and redaction patterns are shown
    as written."""
    from shipper.filters.redact import Redactor

    data = settings.model_dump(mode="json")
    redactor = Redactor(RedactSettings())
    for section, value in data.items():
        if section not in _PATTERN_SECTIONS:
            data[section] = _masked(value, redactor)
    return data


def _masked(value: Any, redactor: Any, key: str = "") -> Any:
    from shipper.filters.secrets_urls import MASK, mask_url, secret_header

    if isinstance(value, dict):
        if key == "headers":
            return {name: MASK if secret_header(str(name)) else _masked(item, redactor)
                    for name, item in value.items()}
        return {name: _masked(item, redactor, str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, redactor) for item in value]
    if isinstance(value, str):
        return redactor.redact_text(mask_url(value) if "://" in value else value)
    return value
