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


def test_every_load_builds_the_one_settings_class_and_forgets_the_file(tmp_path):
    """No model class per load (that built every validator again, 15M instructions of
    start-up and again on each reload); a file's values stay with the load that read it."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("log_level: debug\nsinks: [{type: stdout, name: out}]\n")
    from_file, without = load_settings(str(cfg)), load_settings(None)
    assert type(from_file) is Settings and type(without) is Settings
    assert from_file.log_level == "debug" and from_file.sinks[0].name == "out"
    assert without.log_level == "info" and without.sinks[0].name == "stdout"
    assert Settings().log_level == "info"


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


OLD_CONFIG = """\
paths: ['/var/log/containers/*.log']
exclude: ['/var/log/containers/*_kube-system_*.log']
path_templates: ['/var/log/containers/{pod}_{namespace}_{container}-{id}.log']
podinfo_dir: /etc/podinfo
k8s_api: true
downward_api: {pod_name: MY_POD}
once: false
drain_on_exit: false
follow_symlinks: always
symlink_roots: [/var/log/pods]
poll_interval: 100ms
read_chunk_bytes: 64KiB
max_line_bytes: 32KiB
parse: {formats: {'*.cri.log': cri}, multiline: {flush_after: 1s}}
"""


def test_a_config_written_before_the_sources_section_loads_as_it_did(tmp_path, caplog):
    """The tailer's and the enrichers' keys stay at the top level, where users have them:
    an existing config loads to the same values, with no warning, and ``sources:``
    (the knobs that were hard-coded) keeps the old built-in values."""
    settings = load_settings(write(tmp_path, OLD_CONFIG))
    assert settings.paths == ["/var/log/containers/*.log"]
    assert settings.exclude == ["/var/log/containers/*_kube-system_*.log"]
    assert settings.path_templates == [
        "/var/log/containers/{pod}_{namespace}_{container}-{id}.log"]
    assert str(settings.podinfo_dir) == "/etc/podinfo"
    assert settings.k8s_api is True
    assert settings.downward_api.pod_name == "MY_POD"
    assert (settings.once, settings.drain_on_exit) == (False, False)
    assert (settings.follow_symlinks, settings.symlink_roots) == ("always", ["/var/log/pods"])
    assert (settings.poll_interval, settings.read_chunk_bytes, settings.max_line_bytes) == (
        0.1, 65536, 32768)
    assert settings.parse.formats == {"*.cri.log": "cri"}
    assert settings.parse.multiline.flush_after == 1.0
    sources = settings.sources
    assert (sources.rotate_grace, sources.inotify, sources.max_inotify_watches,
            sources.chunk_max_lines) == (1.0, True, 4096, 512)
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_env_and_cli_set_the_tailer_keys_and_sources_section(tmp_path, monkeypatch):
    """``SHIPPER_POLL_INTERVAL`` and ``SHIPPER_SOURCES__*`` set the tailer's keys, a CLI
    value beats both, and the unset part of ``sources`` keeps the file's values."""
    cfg = write(tmp_path, "sources:\n  chunk_max_lines: 99\n  rotate_grace: 3s\n")
    monkeypatch.setenv("SHIPPER_POLL_INTERVAL", "2s")
    monkeypatch.setenv("SHIPPER_SOURCES__INOTIFY", "false")
    monkeypatch.setenv("SHIPPER_SOURCES__ROTATE_GRACE", "4s")
    settings = load_settings(cfg, sources={"rotate_grace": 5})
    assert settings.poll_interval == 2.0
    assert (settings.sources.inotify, settings.sources.chunk_max_lines,
            settings.sources.rotate_grace) == (False, 99, 5.0)


def test_an_unknown_nested_env_key_is_an_error_naming_it(monkeypatch):
    """``SHIPPER_SOURCES__ROTATE_GRASE`` (a typo) is refused like a file's unknown key."""
    monkeypatch.setenv("SHIPPER_SOURCES__ROTATE_GRASE", "2s")
    with pytest.raises(ConfigError, match=r"^sources\.rotate_grase: unknown key"):
        load_settings()
