"""shipper.config builds its settings as pydantic-settings' ``BaseSettings`` did (the model
it was until issue 14): same values, same errors, for every mix of CLI, ``SHIPPER_*``
environment and config file; and pydantic-settings is loaded only when a variable names
a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shipper import config
from shipper.config import Settings, load_settings
from shipper.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


class _FileSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Reference(Settings, BaseSettings):  # type: ignore[misc]
    """The former model: a ``BaseSettings`` with the former sources."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPPER_", env_nested_delimiter="__", frozen=True, extra="forbid",
        env_parse_none_str="null")

    def __init__(self, **values: Any) -> None:
        BaseSettings.__init__(self, **values)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: Any,
                                   env_settings: Any, dotenv_settings: Any,
                                   file_secret_settings: Any) -> tuple[Any, ...]:
        return init_settings, env_settings, _FileSource(settings_cls, REFERENCE_FILE[0])


REFERENCE_FILE: list[dict[str, Any]] = [{}]

FILES = [
    {},
    {"paths": ["/file/*.log"], "server": {"listen": "127.0.0.1:1", "stall_after": "5s"},
     "parse": {"multiline": {"max_lines": 9}}, "log_level": "debug"},
    {"server": "not a mapping", "sinks": [{"type": "stdout", "name": "out"}]},
    {"sources": {"rotate_grace": "3s", "chunk_max_lines": 99}, "redact": {"enabled": False}},
]
ENVS = [
    {},
    {"SHIPPER_PURE": "0", "SHIPPER_FAULT_SCALE": "1"},  # not keys: ignored by both
    {"SHIPPER_PATHS": '["/env/*.log"]', "SHIPPER_SERVER__LISTEN": "127.0.0.1:2"},
    {"shipper_log_level": "warning", "SHIPPER_PARSE__MULTILINE__MAX_LINES": "7",
     "SHIPPER_SERVER": '{"listen": "off"}'},
    {"SHIPPER_SOURCES__ROTATE_GRASE": "2s"},
    {"SHIPPER_STATE_DIR": "null", "SHIPPER_SINKS": '[{"type": "stdout", "name": "e"}]'},
]
CLIS = [
    {},
    {"paths": ["/cli/*.log"], "server": {"listen": "127.0.0.1:3"}},
    {"parse": {"default_timezone": "Europe/Berlin"}, "sources": {"rotate_grace": 5}},
]


def outcome(build: Any) -> Any:
    try:
        return build().model_dump(mode="json")
    except ValidationError as exc:
        return exc.errors(include_url=False)


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.lower().startswith("shipper_"):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("data", FILES)
@pytest.mark.parametrize("cli", CLIS)
def test_every_mix_of_sources_gives_what_base_settings_gave(clean_env, env, data, cli):
    for key, value in env.items():
        clean_env.setenv(key, value)
    REFERENCE_FILE[0] = data
    given = config._FILE_DATA.set(data)
    try:
        ours = outcome(lambda: Settings(**cli))
    finally:
        config._FILE_DATA.reset(given)
    assert ours == outcome(lambda: Reference(**cli))


def test_a_model_built_directly_reads_the_environment(clean_env):
    clean_env.setenv("SHIPPER_LOG_LEVEL", "error")
    assert Settings().log_level == "error"
    assert Settings(log_level="debug").log_level == "debug"


def test_only_a_variable_naming_a_key_loads_the_environment_reader(clean_env):
    clean_env.setenv("SHIPPER_PURE", "1")
    clean_env.setenv("SHIPPER_PATHSX", "x")  # not a key, nor a nested one
    assert config._environment(Settings) == {}
    clean_env.setenv("Shipper_Queue_Max_Batches", "3")
    assert config._environment(Settings) == {"queue_max_batches": "3"}


def test_an_unknown_nested_variable_is_still_an_error_naming_it(clean_env):
    clean_env.setenv("SHIPPER_SERVER__LISTN", "x")
    with pytest.raises(ConfigError, match=r"^server\.listn: unknown key"):
        load_settings()


def test_a_load_without_shipper_variables_does_not_import_pydantic_settings():
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("shipper_")}
    code = ("import sys; from shipper.config import load_settings; "
            "s = load_settings(None, paths=['/x']); "
            "print(s.paths, 'pydantic_settings' in sys.modules)")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**env, "PYTHONPATH": str(REPO), "SHIPPER_PURE": "0"})
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["['/x']", "False"]
    with_key = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env={**env, "PYTHONPATH": str(REPO),
                                                "SHIPPER_LOG_LEVEL": "debug"})
    assert with_key.stdout.split() == ["['/x']", "True"]
