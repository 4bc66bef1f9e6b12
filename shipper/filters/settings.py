"""Config models of the noise presets, user rules and redaction (owned by shipper.filters).

Shape (YAML; every key optional)::

    filters:
      presets: {health: true, polling: true, auth_success: true, third_party: true}
      #   or a list naming the presets to keep on (``[health]``), or ``false`` / ``[]`` for none
      health_paths: [/health, /healthz, ...]      # matched as the last path segments
      polling_routes: [/jobs/{id}, /tasks/{id}, /status]
      third_party_loggers: [urllib3, botocore, ...]
      min_level: info
      drop:     [{name: chatty, match: {message: "^tick", attributes.kind: "poll"}}]
      sample:   [{name: progress, match: {message: "^Progress"}, keep_one_in: 10}]
      throttle: [{name: per-job, key: [job_id], rate: 50, burst: 100}]
      dedupe:   {enabled: true, window: 10s}
    redact:
      enabled: true
      replacement: mask            # or hash (needs hash_key): [REDACTED:3f9a1c2b]
      disable: [card_number]       # built-in rules switched off by name
      mask_emails: false
      rules: [{name: order-id, pattern: "ORD-\\d{8}"}]

Every regex is compiled here, once, at validation; a bad one is reported with its key
(``filters.drop.0.match.message: invalid regex ...``). Every user rule except
``min_level`` leaves records at ``warning`` or above alone unless it sets
``allow_warning: true``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from shipper.filters.secrets import RULE_NAMES
from shipper.record_fields import is_rule_field
from shipper.units import Duration, Model, compile_regex

LevelName = Literal["trace", "debug", "info", "warning", "error", "critical"]
PRESET_NAMES = ("health", "polling", "auth_success", "third_party")
BUILTIN_REDACTIONS = RULE_NAMES
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


def _compile(value: Any) -> Any:
    return compile_regex(value) if isinstance(value, str) else value


#: A regex given as a string, compiled once when the config is validated.
Regex = Annotated[re.Pattern[str], BeforeValidator(_compile)]
RuleName = Annotated[str, Field(pattern=_NAME)]


def _presets_shape(value: Any) -> Any:
    """``false``/``true``/a list of names -> the mapping form."""
    if isinstance(value, bool):
        return {name: value for name in PRESET_NAMES}
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        unknown = sorted(set(value) - set(PRESET_NAMES))
        if unknown:
            raise ValueError(f"unknown preset(s) {', '.join(unknown)}; "
                             f"known: {', '.join(PRESET_NAMES)}")
        return {name: name in value for name in PRESET_NAMES}
    return value


class PresetSettings(Model):
    """Which noise presets are on (all by default)."""

    health: bool = True
    polling: bool = True
    auth_success: bool = True
    third_party: bool = True

    def enabled(self) -> list[str]:
        return [name for name in PRESET_NAMES if getattr(self, name)]


class _MatchRule(Model):
    """A named rule with per-field regexes (all must match, ``re.search``)."""

    name: RuleName
    match: dict[str, Regex] = {}
    #: also act on records at warning or above
    allow_warning: bool = False

    @field_validator("match")
    @classmethod
    def _known_fields(cls, value: dict[str, re.Pattern[str]]) -> dict[str, re.Pattern[str]]:
        check_match_fields(value)
        return value


def check_match_fields(fields: Iterable[str]) -> None:
    """``ValueError`` naming the first field a rule's ``match`` cannot read (also used by
    a sink's ``match``, :class:`shipper.sinks.settings.SinkMatch`)."""
    for key in fields:
        if not is_rule_field(key):
            raise ValueError(
                f"unknown field {key!r} (use message, logger, level, raw, job_id, "
                "attributes.<key>, k8s.labels.<key>, ...)")


class DropRule(_MatchRule):
    match: dict[str, Regex]

    @field_validator("match")
    @classmethod
    def _not_empty(cls, value: dict[str, re.Pattern[str]]) -> dict[str, re.Pattern[str]]:
        if not value:
            raise ValueError("a drop rule needs at least one field to match")
        return value


class SampleRule(_MatchRule):
    keep_one_in: int = Field(ge=1)


class ThrottleRule(_MatchRule):
    """At most ``rate`` records/s with ``burst`` per key (token bucket)."""

    rate: float = Field(gt=0)
    burst: int | None = Field(None, ge=1)
    key: list[str] = []
    #: distinct keys tracked; the least recently seen is forgotten first
    max_keys: int = Field(10_000, ge=1, le=1_000_000)

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else max(1, int(self.rate + 0.999))


class DedupeSettings(Model):
    """Collapse consecutive records with the same message template (per file)."""

    enabled: bool = False
    name: RuleName = "dedupe"
    window: Duration = 10.0
    allow_warning: bool = False
    #: files (streams) tracked at once; the least recently seen is flushed first
    max_streams: int = Field(1024, ge=1, le=100_000)


class FilterSettings(Model):
    """Noise presets and user rules."""

    presets: Annotated[PresetSettings, BeforeValidator(_presets_shape)] = PresetSettings()
    health_paths: list[str] = [
        "/health", "/healthz", "/livez", "/readyz", "/ready", "/ping", "/metrics",
        "/live", "/liveness", "/readiness", "/health/live", "/health/ready",
    ]
    polling_routes: list[str] = ["/jobs/{id}", "/tasks/{id}", "/status"]
    third_party_loggers: list[str] = [
        "urllib3", "botocore", "boto3", "s3transfer", "matplotlib", "PIL", "asyncio", "httpx",
        "httpcore", "charset_normalizer", "filelock", "kubernetes.client",
    ]
    min_level: LevelName | None = None
    drop: list[DropRule] = []
    sample: list[SampleRule] = []
    throttle: list[ThrottleRule] = []
    dedupe: DedupeSettings = DedupeSettings()

    @field_validator("health_paths", "polling_routes")
    @classmethod
    def _routes(cls, value: list[str]) -> list[str]:
        for route in value:
            if not route.startswith("/") or any(c in route for c in "?# "):
                raise ValueError(f"invalid route {route!r}: start with '/', no query")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> FilterSettings:
        names = [rule.name for rule in (*self.drop, *self.sample, *self.throttle)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique, repeated: {', '.join(dupes)}")
        return self


class RedactRule(Model):
    """A user regex: each match (or its ``group``) is replaced."""

    name: RuleName
    pattern: Regex
    group: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _group_exists(self) -> RedactRule:
        if self.group > self.pattern.groups:
            raise ValueError(f"pattern has no group {self.group}")
        return self


class RedactSettings(Model):
    """Secret redaction (on by default)."""

    enabled: bool = True
    replacement: Literal["mask", "hash"] = "mask"
    #: HMAC-SHA256 key of ``replacement: hash`` (equal secrets get equal short hashes)
    hash_key: SecretStr | None = None
    disable: list[Literal[BUILTIN_REDACTIONS]] = []  # type: ignore[valid-type]
    mask_emails: bool = False
    #: key names whose values are secrets (case, ``-`` and ``_`` ignored; suffix match)
    secret_keys: list[str] = [
        "password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_token",
        "refresh_token", "client_secret", "private_key", "secret_key", "secret_access_key",
        "authorization", "credentials",
    ]
    rules: list[RedactRule] = []
    #: also redact the internal raw line (``_raw``)
    raw: bool = True

    @model_validator(mode="after")
    def _hash_needs_key(self) -> RedactSettings:
        if self.replacement == "hash" and not (self.hash_key and self.hash_key.get_secret_value()):
            raise ValueError("replacement 'hash' needs hash_key")
        return self

    @field_validator("secret_keys")
    @classmethod
    def _plain_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", key):
                raise ValueError(f"invalid key name {key!r}")
        return value
