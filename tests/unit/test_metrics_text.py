"""``/metrics`` without the library's exposition module: the same negotiation and the same
bytes as ``prometheus_client.exposition`` for every metric type, label escape, timestamp,
escaping scheme and ``Accept`` header, on a test registry and on the shipper's own."""

from __future__ import annotations

import pytest
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
)
from prometheus_client import exposition as library
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
)
from prometheus_client.openmetrics import exposition as openmetrics

from shipper.metrics import Metrics
from shipper.metrics_text import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0,
    choose,
    prometheus_text,
)


class _Stamped:
    """A custom collector: samples with timestamps, a gauge histogram (``_gsum`` and
    ``_gcount`` samples), a counter with ``_created``, help text with ``\\`` and a
    newline, label values with every escaped character."""

    def collect(self):  # noqa: ANN201 - the library's collector protocol
        gauge = GaugeMetricFamily("stamped_gauge", 'help with \\ and\nnewline "quoted"',
                                  labels=["path"])
        gauge.add_metric(['C:\\logs\n"x"'], 1.5, timestamp=1700000000.123)
        gauge.add_metric(["plain"], float("inf"))
        yield gauge
        counter = CounterMetricFamily("stamped_events", "events", labels=["kind"],
                                      created=1700000000.0)
        counter.add_metric(["a"], 3, created=1700000000.5)
        yield counter
        histogram = GaugeHistogramMetricFamily(
            "queue_depth", "queued", buckets=[("1.0", 4), ("+Inf", 6)], gsum_value=9.0)
        yield histogram


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("requests", "served requests", ["code"], registry=registry).labels("200").inc(7)
    Gauge("temperature", "now", registry=registry).set(-3.25)
    Histogram("latency_seconds", "latency", ["route"], buckets=(0.1, 1.0),
              registry=registry).labels("/x").observe(0.5)
    Summary("size_bytes", "sizes", registry=registry).observe(12)
    Info("build", "build facts", registry=registry).info({"version": "1.2", "kernels": "on"})
    Enum("state", "current state", states=["up", "down"], registry=registry).state("down")
    registry.register(_Stamped())
    return registry


ESCAPINGS = [openmetrics.UNDERSCORES, openmetrics.ALLOWUTF8, openmetrics.DOTS,
             openmetrics.VALUES]


@pytest.mark.parametrize("escaping", ESCAPINGS)
def test_the_text_format_is_byte_for_byte_the_librarys(escaping):
    registry = _registry()
    ours = prometheus_text(registry, escaping=escaping)
    assert ours == library.generate_latest(registry, escaping=escaping)
    assert b"{path=\"C:\\\\logs\\n\\\"x\\\"\"} 1.5 1700000000123\n" in ours


class _Frozen:
    """One collection of a registry, given again to every encoder (the process collector's
    CPU and memory figures move between two collections)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._metrics = list(registry.collect())

    def collect(self):  # noqa: ANN201 - the library's collector protocol
        return iter(self._metrics)


def test_the_shipper_registry_is_written_as_the_library_writes_it():
    metrics = Metrics()
    metrics.records_dropped_total.labels(reason="noise", rule="probe").inc(3)
    frozen = _Frozen(metrics.registry)
    assert prometheus_text(frozen) == library.generate_latest(frozen)
    assert b'shipper_records_dropped_total{reason="noise",rule="probe"} 3.0' in \
        prometheus_text(frozen)


ACCEPTS = [
    "",
    "*/*",
    "text/plain",
    "text/plain;version=0.0.4",
    "text/plain;version=1.0.0",
    "text/plain; version=1.0.0; escaping=allow-utf-8",
    "text/plain;version=1.0.0;escaping=dots",
    "text/plain;version=1.0.0;escaping=values",
    "text/plain;version=1.0.0;escaping=nonsense",
    "text/plain;version=2.0.0;escaping=underscores",
    "application/openmetrics-text",
    "application/openmetrics-text;version=1.0.0",
    "application/openmetrics-text;version=0.0.1;q=0.75",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    # Prometheus 2 and 3 scrape headers
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;"
    "escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,"
    "*/*;q=0.1",
    "application/json, text/plain;version=1.0.0",
]


@pytest.mark.parametrize("accept", ACCEPTS)
def test_every_accept_header_gets_the_librarys_format_and_content_type(accept):
    registry = _registry()
    encoder, content_type = choose(accept)
    expected_encoder, expected_type = library.choose_encoder(accept)
    assert content_type == expected_type
    assert encoder(registry) == expected_encoder(registry)


def test_content_types_are_the_librarys_constants():
    assert CONTENT_TYPE_PLAIN_0_0_4 == library.CONTENT_TYPE_PLAIN_0_0_4
    assert CONTENT_TYPE_PLAIN_1_0_0 == library.CONTENT_TYPE_PLAIN_1_0_0
