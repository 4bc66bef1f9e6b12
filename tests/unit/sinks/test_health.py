"""10. What a failing sink tells: one warning once it fails for a few seconds (again at
most once a minute), one info line when it recovers, never a response body; and gauges
that are true at every scrape, also while nothing happens."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import generate_latest

from shipper.errors import RetryableSinkError
from shipper.metrics import Metrics
from shipper.sinks.health import FAILING_AFTER, REPEAT_EVERY, SinkHealth
from tests.unit.sinks.fakes import ScriptedSink, record, settings, token


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failure(detail: str = "") -> RetryableSinkError:
    return RetryableSinkError("HTTP 503" + (f": {detail}" if detail else ""), status=503)


def lines(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "shipper.sinks" and r.levelno == level]


def test_one_warning_after_a_few_seconds_of_failures_then_once_a_minute(caplog):
    caplog.set_level(logging.INFO, logger="shipper.sinks")
    clock = Clock()
    health = SinkHealth("loki", clock)
    for _ in range(int(FAILING_AFTER * 2) + 1):  # a retry every 0.5 s for 5 s
        health.failed(failure())
        clock.now += 0.5
    assert len(lines(caplog, logging.WARNING)) == 1
    for _ in range(100):  # another 50 s of failures: still one warning
        health.failed(failure())
        clock.now += 0.5
    assert len(lines(caplog, logging.WARNING)) == 1
    clock.now += REPEAT_EVERY
    health.failed(failure())
    warnings = lines(caplog, logging.WARNING)
    assert len(warnings) == 2
    assert "loki" in warnings[0] and "HTTP 503" in warnings[0] and "retries" in warnings[0]


def test_recovery_is_one_info_line_and_a_short_blip_says_nothing(caplog):
    caplog.set_level(logging.INFO, logger="shipper.sinks")
    clock = Clock()
    health = SinkHealth("h", clock)
    health.failed(failure())
    clock.now += 1
    health.delivered()  # a blip shorter than FAILING_AFTER: no noise
    assert lines(caplog, logging.WARNING) == [] and lines(caplog, logging.INFO) == []
    for _ in range(30):
        health.failed(failure())
        clock.now += 1
    health.delivered()
    health.delivered()
    infos = lines(caplog, logging.INFO)
    assert len(infos) == 1 and "h recovered after 30s (30 retries)" in infos[0]


def test_the_log_never_carries_the_response_body(caplog):
    """A backend may echo the request (records, tokens) in its error body: only the
    status is logged."""
    caplog.set_level(logging.INFO, logger="shipper.sinks")
    clock = Clock()
    health = SinkHealth("h", clock)
    for _ in range(20):
        health.failed(failure('bad line {"password": "hunter2"}'))
        clock.now += 1
    text = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "hunter2" not in text and "HTTP 503" in text


async def test_lag_and_buffer_gauges_move_at_every_scrape_while_the_sink_is_blocked():
    """The sink is stuck (its request never returns) and nothing else happens: each scrape
    still shows the true age of the oldest undelivered record."""
    clock = Clock()
    metrics = Metrics(collectors=False)
    sink = ScriptedSink(settings(batch={"max_wait": 0}), metrics=metrics, clock=clock)
    sink.gate = asyncio.Event()
    await sink.start()
    await sink.put([record(1), record(2)], token())

    def lag() -> float:
        generate_latest(metrics.registry)  # a real scrape
        return metrics.value("shipper_delivery_lag_seconds", sink="fake")

    assert lag() == 0.0
    clock.now += 7
    assert lag() == 7.0
    clock.now += 15
    assert lag() == 22.0
    assert metrics.value("shipper_buffer_records", sink="fake") == 2
    assert metrics.value("shipper_buffer_bytes", sink="fake") > 0
    sink.gate.set()
    await sink.close(2)
    assert lag() == 0.0 and metrics.value("shipper_buffer_records", sink="fake") == 0
