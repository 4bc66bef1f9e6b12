"""``SHIPPER_*`` environment variables, read by pydantic-settings.

Imported by :mod:`shipper.config` only when a variable names a key (pydantic-settings
loads 40 modules, ~2 MiB resident, that a configuration without any does not need). The
reader is a ``BaseSettings`` with the fields of :class:`shipper.config.Settings` and the
options it always had (prefix ``SHIPPER_``, ``__`` between nested keys, ``null`` for
``None``), so its ``EnvSettingsSource`` finds, decodes and nests the values as before.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from shipper.config import ENV_NESTED_DELIMITER, ENV_PREFIX


def environment_values(model: type[BaseModel]) -> dict[str, Any]:
    """What pydantic-settings' environment source gives for ``model``'s fields."""
    return EnvSettingsSource(reader(model))()


@cache
def reader(model: type[BaseModel]) -> type[BaseSettings]:
    """A ``BaseSettings`` with ``model``'s fields, never validated itself (its validators
    are not built)."""
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__annotations__": {name: info.annotation for name, info in model.model_fields.items()},
        "model_config": SettingsConfigDict(
            env_prefix=ENV_PREFIX.upper(), env_nested_delimiter=ENV_NESTED_DELIMITER,
            env_parse_none_str="null", frozen=True, extra="forbid", defer_build=True),
        **{name: info for name, info in model.model_fields.items()},
    }
    return type(model.__name__, (BaseSettings,), namespace)
