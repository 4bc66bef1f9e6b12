"""Sink settings: the union, --sink flags, SHIPPER_SINKS JSON, label guard, secrets masked."""

from __future__ import annotations

import os

import pytest
from pydantic import TypeAdapter, ValidationError

from shipper.config import load_settings, masked_dump
from shipper.errors import ConfigError
from shipper.sinks.settings import (
    DatadogSinkSettings,
    LokiSinkSettings,
    SinkSettings,
    parse_sink_flag,
)

SINKS = TypeAdapter(list[SinkSettings])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("SHIPPER_"):
            monkeypatch.delenv(key)


def test_parse_sink_flag_builds_a_typed_mapping():
    assert parse_sink_flag("loki=http://127.0.0.1:3100") == {
        "type": "loki", "name": "loki", "url": "http://127.0.0.1:3100"}
    assert parse_sink_flag("stdout") == {"type": "stdout", "name": "stdout"}
    assert parse_sink_flag("forward=tcp://127.0.0.1:24224")["url"] == "tcp://127.0.0.1:24224"


@pytest.mark.parametrize("flag", ["kafka=http://x", "loki", "loki="])
def test_parse_sink_flag_rejects_unknown_types_and_missing_urls(flag):
    with pytest.raises(ValueError):
        parse_sink_flag(flag)


def test_shipper_sinks_json_env_goes_through_load_settings(monkeypatch):
    monkeypatch.setenv("SHIPPER_SINKS", '[{"type":"loki","name":"l","url":"http://127.0.0.1:3100"}]')
    settings = load_settings()
    assert [(s.type, s.name, s.url) for s in settings.sinks] == [("loki", "l", "http://127.0.0.1:3100")]


def test_cli_sink_overrides_env_and_duplicate_names_are_an_error(monkeypatch):
    monkeypatch.setenv("SHIPPER_SINKS", '[{"type":"http","url":"http://127.0.0.1:1"}]')
    assert load_settings(sinks=[parse_sink_flag("stdout")]).sinks[0].type == "stdout"
    with pytest.raises(ConfigError, match="unique"):
        load_settings(sinks=[parse_sink_flag("loki=http://a"), parse_sink_flag("loki=http://b")])


def test_every_sink_type_validates_and_defaults_its_name():
    sinks = SINKS.validate_python([
        {"type": "stdout"}, {"type": "http", "url": "https://logs.example/in"},
        {"type": "loki", "url": "http://127.0.0.1:3100"}, {"type": "datadog", "site": "datadoghq.eu"},
        {"type": "forward", "url": "tls://agg:24224"}])
    assert [s.name for s in sinks] == ["stdout", "http", "loki", "datadog", "forward"]
    assert sinks[3].url == "https://http-intake.logs.datadoghq.eu/api/v2/logs"


@pytest.mark.parametrize("bad", [
    {"type": "http", "url": "ftp://x"}, {"type": "forward", "url": "http://x:1"},
    {"type": "loki", "url": "http://x", "batch": {"max_records": 0}},
    {"type": "http", "url": "http://x", "unknown": 1},
    {"type": "http", "url": "http://x", "password": "a", "password_file": "/p"},
])
def test_invalid_sink_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        SINKS.validate_python([bad])


@pytest.mark.parametrize("label,paths", [("job_id", ["job_id"]), ("pod", ["k8s.pod"]),
                                         ("who", ["correlation_id"]), ("f", ["file.path"])])
def test_unbounded_loki_labels_are_a_config_error_by_default(label, paths):
    with pytest.raises(ValidationError, match="unbounded"):
        LokiSinkSettings(url="http://x", labels={label: paths})


def test_unbounded_labels_can_be_demoted_instead():
    cfg = LokiSinkSettings(url="http://x", labels={"pod": ["k8s.pod"]}, unbounded_labels="demote")
    assert cfg.labels == {"pod": ["k8s.pod"]}


def test_loki_label_count_limit_and_names():
    labels = {f"l{i}": ["level"] for i in range(16)}
    with pytest.raises(ValidationError, match="at most 15"):
        LokiSinkSettings(url="http://x", labels=labels)
    with pytest.raises(ValidationError, match="invalid Loki label name"):
        LokiSinkSettings(url="http://x", static_labels={"bad-name": "x"})


def test_secrets_are_masked_in_config_show_and_repr(monkeypatch):
    monkeypatch.setenv("SHIPPER_SINKS", '[{"type":"datadog","api_key":"dd-secret-123"},'
                                        '{"type":"loki","url":"http://l","password":"pw-456",'
                                        '"username":"u"}]')
    settings = load_settings()
    dumped = str(masked_dump(settings))
    assert "dd-secret-123" not in dumped and "pw-456" not in dumped
    assert "dd-secret-123" not in repr(settings)
    assert settings.sinks[0].api_key.get_secret_value() == "dd-secret-123"


def test_datadog_api_key_env_defaults_to_dd_api_key():
    assert DatadogSinkSettings().api_key_env == "DD_API_KEY"


@pytest.mark.parametrize("sink,key,words", [
    ({"labels": {"app.kubernetes.io/name": ["x"]}}, "sinks.loki.labels",
     "'app.kubernetes.io/name'"),
    ({"static_labels": {"cluster-name": "a"}}, "sinks.loki.static_labels", "'cluster-name'"),
    ({"structured_metadata": {"trace.id": "trace_id"}}, "sinks.loki.structured_metadata",
     "'trace.id'"),
    ({"labels": {"__name__": ["x"]}}, "sinks.loki.labels", "reserved"),
    ({"static_labels": {f"s{i}": "v" for i in range(13)}}, "sinks.loki", "16 stream labels"),
    ({"tenant_id": "a b"}, "sinks.loki.tenant_id", "invalid Loki tenant ID"),
])
def test_loki_label_names_and_count_are_checked_at_config_time_naming_the_key(sink, key, words):
    """Loki refuses dotted names and more than 15 labels (static ones count): a config
    error naming the key, not a dead-lettered push at run time."""
    with pytest.raises(ConfigError) as caught:
        load_settings(sinks=[{"type": "loki", "url": "http://x", **sink}])
    assert caught.value.key == key and words in str(caught.value)


def test_loki_defaults_follow_lokis_label_guidance():
    cfg = LokiSinkSettings(url="http://x")
    assert list(cfg.labels) == ["namespace", "app", "container"]
    assert cfg.structured_metadata["level"] == "level"
    assert (cfg.structured_metadata["trace_id"], cfg.structured_metadata["span_id"]) == (
        "trace_id", "span_id")
    assert (cfg.out_of_order_action, cfg.max_behind, cfg.max_ahead) == (
        "rewrite_timestamp", 3600.0, 600.0)
