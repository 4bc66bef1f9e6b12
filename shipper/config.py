"""Configuration: one validated, frozen model from CLI flags, ``SHIPPER_*`` env and YAML.

Precedence is CLI > environment > config file > defaults. Validation happens once at
start-up; every component compiles its section into runtime objects (regexes included)
from here. Errors become one :class:`~shipper.errors.ConfigError` line naming the key.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shipper.errors import ConfigError
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.server.settings import ServerSettings
from shipper.sinks.settings import SINK_TYPES, SinkSettings, StdoutSinkSettings
from shipper.units import Duration, Model, Size, compile_regex

DEFAULT_PATHS = ("/var/log/app/**/*.log",)


class DownwardApiSettings(Model):
    """Names of the downward-API env vars (defaults match the Helm chart)."""

    pod_name: str = "POD_NAME"
    namespace: str = "POD_NAMESPACE"
    pod_uid: str = "POD_UID"
    node_name: str = "NODE_NAME"
    pod_ip: str = "POD_IP"
    container_name: str = "CONTAINER_NAME"
    completion_index: str = "JOB_COMPLETION_INDEX"


class MultilineSettings(Model):
    #: a held record (it may continue on the next line) is shipped after this much quiet
    flush_after: Duration = 0.5
    max_lines: int = Field(500, ge=1)
    max_bytes: Size = 1_048_576


class ParseSettings(Model):
    """How lines become records."""

    default_timezone: str = "UTC"
    multiline: MultilineSettings = MultilineSettings()
    #: a JSON line nested deeper ships as a text record (message = the line), counted as
    #: ``json_too_deep``; orjson encodes 254 levels, a record and its wrappers add 1-3,
    #: recursive walkers (redaction, ``explain``) need room below Python's 1,000 frames
    max_json_depth: int = Field(200, ge=2, le=224)
    #: per-glob format override (``auto``, ``cri``, ``docker``, ``plain``), matched on the path
    formats: dict[str, Literal["auto", "cri", "docker", "plain"]] = {}

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


def _default_sinks() -> list[SinkSettings]:
    return [StdoutSinkSettings()]


class Settings(BaseSettings):
    """The whole effective configuration."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPPER_", env_nested_delimiter="__", frozen=True, extra="forbid",
        env_parse_none_str="null",
    )

    paths: list[str] = Field(default_factory=lambda: list(DEFAULT_PATHS))
    exclude: list[str] = []
    path_templates: list[str] = []
    podinfo_dir: Path | None = Path("/etc/podinfo")
    once: bool = False
    state_dir: Path | None = None
    drain_on_exit: bool = True
    #: symbolic links among the matched files and directories: followed only when they
    #: resolve inside a root (``inside_roots``), ``always``, or ``never``
    follow_symlinks: Literal["inside_roots", "always", "never"] = "inside_roots"
    #: directories links may point into, besides the literal prefixes of ``paths``
    #: (``/var/log/pods`` for ``/var/log/containers/*.log``)
    symlink_roots: list[str] = []
    shutdown_deadline: Duration = 20.0
    poll_interval: Duration = 0.25
    read_chunk_bytes: Size = 262_144
    max_line_bytes: Size = 262_144
    queue_max_batches: int = Field(8, ge=1)
    k8s_api: bool = False
    downward_api: DownwardApiSettings = DownwardApiSettings()
    parse: ParseSettings = ParseSettings()
    filters: FilterSettings = FilterSettings()
    redact: RedactSettings = RedactSettings()
    sinks: list[SinkSettings] = Field(default_factory=_default_sinks)
    server: ServerSettings = ServerSettings()
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    @field_validator("paths", "exclude")
    @classmethod
    def _valid_globs(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _check_glob(pattern)
        return value

    @field_validator("symlink_roots")
    @classmethod
    def _absolute_roots(cls, value: list[str]) -> list[str]:
        for root in value:
            if not root.startswith("/") or "\x00" in root or _glob_magic(root):
                raise ValueError(f"symlink root must be an absolute directory, not a glob: "
                                 f"{root!r}")
        return value

    @field_validator("path_templates")
    @classmethod
    def _valid_templates(cls, value: list[str]) -> list[str]:
        from shipper.enrich.templates import compile_template

        for template in value:
            compile_template(template)
        return value

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


def _glob_magic(path: str) -> bool:
    return any(c in path for c in "*?[")


def _check_glob(pattern: str) -> None:
    if not pattern or "\x00" in pattern:
        raise ValueError(f"invalid glob {pattern!r}")
    if pattern.count("[") != pattern.count("]"):
        raise ValueError(f"invalid glob {pattern!r}: unbalanced brackets")
    try:
        compile_regex(fnmatch.translate(pattern.replace("**", "*")))
    except ValueError as exc:
        raise ValueError(f"invalid glob {pattern!r}: {exc}") from None


class _MappingSource(PydanticBaseSettingsSource):
    """Values from the YAML config file, already parsed into a mapping."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML config file into a mapping (``ConfigError`` if it is not one)."""
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

    class _FromSources(Settings):
        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _MappingSource(settings_cls, data))

    cli = {key: value for key, value in overrides.items() if value is not None}
    try:
        return _FromSources(**cli)
    except ValidationError as exc:
        raise format_validation_error(exc, sink_entries(cli, os.environ, data)) from None


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
