"""build_sink picks the worker class per type; stdout is the stdout sink."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from shipper.errors import ConfigError
from shipper.metrics import Metrics
from shipper.sinks import build_sink
from shipper.sinks.datadog import DatadogSink
from shipper.sinks.forward import ForwardSink
from shipper.sinks.http import HttpSink
from shipper.sinks.loki import LokiSink
from shipper.sinks.settings import SinkSettings
from shipper.sinks.stdout import StdoutSink

ADAPTER = TypeAdapter(SinkSettings)


@pytest.mark.parametrize("data,cls", [
    ({"type": "stdout"}, StdoutSink), ({"type": "http", "url": "http://x"}, HttpSink),
    ({"type": "loki", "url": "http://x"}, LokiSink), ({"type": "datadog"}, DatadogSink),
    ({"type": "forward"}, ForwardSink)])
def test_build_sink_returns_the_worker_for_each_type(data, cls, tmp_path):
    sink = build_sink(ADAPTER.validate_python(data), metrics=Metrics(collectors=False),
                      clock=lambda: 0.0, state_dir=tmp_path)
    assert isinstance(sink, cls)


def test_disk_buffer_needs_a_state_dir():
    cfg = ADAPTER.validate_python({"type": "http", "url": "http://x", "buffer": {"type": "disk"}})
    with pytest.raises(ConfigError, match="state_dir"):
        build_sink(cfg, metrics=Metrics(collectors=False), state_dir=None)


def test_disk_buffer_lives_under_state_dir_buffer_sink_name(tmp_path):
    cfg = ADAPTER.validate_python({"type": "http", "name": "h", "url": "http://x",
                                   "buffer": {"type": "disk"}})
    sink = build_sink(cfg, metrics=Metrics(collectors=False), state_dir=tmp_path)
    assert sink.queue.buffer.dir == tmp_path / "buffer" / "h"


def test_every_sink_type_comes_from_its_settings_model_and_builds(tmp_path):
    """SINK_TYPES is read off the settings union (each model's ``type``), in the order the
    --sink error lists them, and every type builds the worker its model names."""
    from shipper.sinks.settings import SINK_MODELS, SINK_TYPES

    assert SINK_TYPES == ("stdout", "http", "loki", "datadog", "forward", "otlp")
    urls = {"stdout": {}, "datadog": {}, "forward": {"url": "tcp://127.0.0.1:24224"}}
    for model, kind in zip(SINK_MODELS, SINK_TYPES, strict=True):
        extra = urls.get(kind, {"url": "http://127.0.0.1:9"})
        cfg = ADAPTER.validate_python({"type": kind, **extra})
        assert type(cfg) is model
        sink = build_sink(cfg, metrics=Metrics(collectors=False), clock=lambda: 0.0,
                          state_dir=tmp_path)
        module, _, name = model.worker.partition(":")
        assert (type(sink).__module__, type(sink).__name__) == (module, name)


def test_unknown_sink_type_is_a_config_error():
    """A type no settings model declares is refused by name."""
    from shipper.sinks import _worker_class

    with pytest.raises(ConfigError, match="unknown sink type 'kafka'"):
        _worker_class("kafka")
