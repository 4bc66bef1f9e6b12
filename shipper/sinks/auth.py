"""Credentials of a sink: from the config value, a file (a mounted Secret) or an env var.

Resolved once when the sink starts, in a thread (file reads are blocking I/O). Values stay
``SecretStr`` until the moment a header is built; errors name the setting, never the value.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from shipper.errors import ConfigError


def resolve_secret(settings: Any, field: str,
                   environ: Mapping[str, str] | None = None) -> SecretStr | None:
    """``field`` > ``field_file`` > ``field_env`` (env var name); ``None`` if none is set."""
    value: SecretStr | None = getattr(settings, field, None)
    if value is not None:
        return value
    path: Path | None = getattr(settings, f"{field}_file", None)
    if path is not None:
        try:
            return SecretStr(Path(path).read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(f"cannot read {field}_file {path}: {exc.strerror}",
                              key=f"sinks.{settings.name}.{field}_file") from None
    env_name: str | None = getattr(settings, f"{field}_env", None)
    env = os.environ if environ is None else environ
    if env_name and env.get(env_name):
        return SecretStr(env[env_name])
    return None


def auth_headers(settings: Any, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``Authorization`` for basic (``username`` + password) or bearer auth, if configured."""
    token = resolve_secret(settings, "bearer_token", environ)
    password = resolve_secret(settings, "password", environ)
    if token is not None and (password is not None or settings.username):
        raise ConfigError("set either basic auth (username/password) or bearer_token",
                          key=f"sinks.{settings.name}")
    if token is not None:
        return {"Authorization": f"Bearer {token.get_secret_value()}"}
    if settings.username:
        secret = password.get_secret_value() if password is not None else ""
        raw = f"{settings.username}:{secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    return {}
