"""Configuration: precedence CLI > env > file > defaults, and one clear error per problem."""

import pytest

from shipper.config import Settings, load_settings, masked_dump
from shipper.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("SHIPPER_"):
            monkeypatch.delenv(key)


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_need_no_file_and_ship_to_stdout():
    settings = load_settings()
    assert settings.paths == ["/var/log/app/**/*.log"]
    assert [s.type for s in settings.sinks] == ["stdout"]
    assert settings.max_line_bytes == 256 * 1024
    assert settings.parse.multiline.flush_after == 0.5


def test_file_overrides_defaults(tmp_path):
    cfg = write(tmp_path, "paths: ['/logs/*.log']\nmax_line_bytes: 64KiB\n")
    settings = load_settings(cfg)
    assert settings.paths == ["/logs/*.log"]
    assert settings.max_line_bytes == 65536


def test_env_overrides_file_and_nests_with_double_underscore(tmp_path, monkeypatch):
    cfg = write(tmp_path, "paths: ['/file/*.log']\nparse:\n  multiline:\n    max_lines: 9\n")
    monkeypatch.setenv("SHIPPER_PATHS", '["/env/*.log"]')
    monkeypatch.setenv("SHIPPER_PARSE__MULTILINE__MAX_LINES", "7")
    settings = load_settings(cfg)
    assert settings.paths == ["/env/*.log"]
    assert settings.parse.multiline.max_lines == 7


def test_cli_overrides_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPPER_PATHS", '["/env/*.log"]')
    settings = load_settings(None, paths=["/cli/*.log"], once=None)
    assert settings.paths == ["/cli/*.log"]
    assert settings.once is False


def test_cli_nested_override_keeps_the_rest_of_the_file_section(tmp_path):
    cfg = write(tmp_path, "parse:\n  default_timezone: Europe/Berlin\n")
    settings = load_settings(cfg, parse={"multiline": {"max_lines": 3}})
    assert settings.parse.default_timezone == "Europe/Berlin"
    assert settings.parse.multiline.max_lines == 3


@pytest.mark.parametrize("text,key,problem", [
    ("pathz: []\n", "pathz", "unknown key"),
    ("parse:\n  multiline:\n    max_linez: 3\n", "parse.multiline.max_linez", "unknown key"),
    ("paths: ['/x/[ab']\n", "paths", "invalid glob"),
    ("max_line_bytes: lots\n", "max_line_bytes", "invalid size"),
    ("shutdown_deadline: soon\n", "shutdown_deadline", "invalid duration"),
    ("path_templates: ['{a}/{a}']\n", "path_templates", "repeated"),
    ("parse:\n  default_timezone: Mars/Olympus\n", "parse.default_timezone", "unknown time zone"),
])
def test_bad_config_is_one_line_naming_key_and_problem(tmp_path, text, key, problem):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(f"{key}: ")
    assert problem in message
    assert "\n" not in message


def test_file_that_is_not_a_mapping_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- a\n- b\n"))


def test_broken_yaml_is_rejected_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        load_settings(write(tmp_path, "paths: [unclosed\n"))
    assert "\n" not in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(str(tmp_path / "nope.yaml"))


def test_settings_are_frozen():
    settings = load_settings()
    with pytest.raises(Exception):
        settings.paths = []  # type: ignore[misc]
    assert isinstance(settings, Settings)


def test_masked_dump_is_plain_json_data():
    dumped = masked_dump(load_settings())
    assert dumped["sinks"][0]["type"] == "stdout"
    assert dumped["max_line_bytes"] == 262144
