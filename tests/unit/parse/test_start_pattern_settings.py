"""``parse.multiline.start`` as configuration: YAML and ``SHIPPER_*`` JSON forms, one clear
error naming the key and the glob for a bad regex, compiled once, shown as written, and a
reload that changes it keeps the running value (``parse`` needs a restart)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipper.config import Settings, load_settings, masked_dump
from shipper.errors import ConfigError
from shipper.parse.start_pattern import StartPattern
from shipper.reload import restart_keys

GOOD = """
parse:
  multiline:
    start:
      "/var/log/app/legacy-*.log": '^\\d{2}:\\d{2}:\\d{2} '
      "batch/*.log": '^(INFO|WARN|ERROR) '
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SHIPPER_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_patterns_per_glob_are_compiled_once_in_file_order(tmp_path: Path) -> None:
    starts = load_settings(write(tmp_path, GOOD)).parse.multiline.start
    assert list(starts) == ["/var/log/app/legacy-*.log", "batch/*.log"]
    legacy = starts["/var/log/app/legacy-*.log"]
    assert isinstance(legacy, StartPattern) and legacy.pattern == r"^\d{2}:\d{2}:\d{2} "
    assert legacy.matches("10:00:00 x") and not legacy.matches("x 10:00:00")
    assert load_settings().parse.multiline.start == {}  # default: built-in rules only


@pytest.mark.parametrize("pattern, reason", [
    ("'^(\\d{2}:'", "missing )"), ("'^(?!DEBUG)'", "invalid perl operator"),
    ("''", "non-empty regex string"), ("5", "non-empty regex string")])
def test_a_bad_pattern_is_one_config_error_naming_the_key_and_the_glob(
        tmp_path: Path, pattern: str, reason: str) -> None:
    text = f"parse:\n  multiline:\n    start:\n      'legacy-*.log': {pattern}\n"
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert str(caught.value).startswith("parse.multiline.start.legacy-*.log: ")
    assert reason in str(caught.value)


def test_unknown_keys_around_it_are_still_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"parse\.multiline\.starts: unknown key"):
        load_settings(write(tmp_path, "parse:\n  multiline:\n    starts: {'a': '^x'}\n"))
    with pytest.raises(ConfigError, match="start: Input should be a valid dictionary"):
        load_settings(write(tmp_path, "parse:\n  multiline:\n    start: '^x'\n"))


def test_the_environment_gives_it_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPPER_PARSE__MULTILINE__START", '{"*.log": "^\\\\d"}')
    assert load_settings().parse.multiline.start == {"*.log": StartPattern(r"^\d")}
    monkeypatch.setenv("SHIPPER_PARSE__MULTILINE__START", '{"*.log": "^(\\\\d"}')
    with pytest.raises(ConfigError, match=r"^parse\.multiline\.start\.\*\.log: invalid regex"):
        load_settings()


def test_config_show_prints_the_pattern_as_written(tmp_path: Path) -> None:
    dumped = masked_dump(load_settings(write(tmp_path, GOOD)))
    assert dumped["parse"]["multiline"]["start"] == {
        "/var/log/app/legacy-*.log": r"^\d{2}:\d{2}:\d{2} ", "batch/*.log": "^(INFO|WARN|ERROR) "}


def test_a_reload_sees_a_changed_pattern_as_needing_a_restart_and_the_same_one_as_none(
        tmp_path: Path) -> None:
    """Compiled objects compare by pattern: reloading the same file asks for nothing,
    a changed pattern is named like any other ``parse`` key."""
    running = load_settings(write(tmp_path, GOOD))
    assert restart_keys(running, load_settings(write(tmp_path, GOOD))) == []
    changed = GOOD.replace("INFO|WARN|ERROR", "INFO|ERROR")
    assert restart_keys(running, load_settings(write(tmp_path, changed))) == ["parse.multiline"]
    assert restart_keys(running, Settings()) == ["parse.multiline"]
