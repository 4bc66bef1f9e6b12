"""The generic http sink against a loopback NDJSON receiver: format, retries, dead letter,
413 split, backpressure, and credentials that never reach logs or dead letters."""

from __future__ import annotations

import asyncio
import base64
import logging

import orjson
import pytest

from shipper.sinks.http import HttpSink
from shipper.sinks.settings import HttpSinkSettings
from tests.receivers.harness import Recorder, make_record, new_metrics, ship
from tests.receivers.http import NdjsonReceiver

pytestmark = pytest.mark.integration


async def ship_delivered(sink, batches, timeout: float = 10.0):
    """Like ``ship``, but close only once every envelope is acknowledged, so the backoffs
    are those of a running sink (closing shortens them)."""
    tokens = [_token() for _ in batches]
    await sink.start()
    for batch, token in zip(batches, tokens):
        await sink.put(batch, token)
    deadline = asyncio.get_running_loop().time() + timeout
    while not all(t.complete for t in tokens) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    await sink.close(timeout)
    return tokens


def sink_for(receiver, metrics=None, **overrides):
    cfg = {"name": "h", "url": receiver.url, "batch": {"max_wait": 0.01}, **overrides}
    return HttpSink(HttpSinkSettings(**cfg), metrics=metrics or new_metrics(),
                    sleep=overrides.pop("sleep", Recorder()), state_dir=None)


async def test_posts_gzip_ndjson_with_an_idempotency_key_and_acks():
    async with NdjsonReceiver() as rx:
        tokens = await ship(sink_for(rx), [[make_record(i) for i in range(5)]])
    assert all(t.complete for t in tokens)
    assert [r["message"] for r in rx.records] == [f"frame {i} done" for i in range(5)]
    assert all(f"raw {i}" not in str(r) for i, r in enumerate(rx.records))  # stays home
    assert rx.seen[0].headers["Content-Encoding"] == "gzip"
    assert len(rx.seen[0].headers["Idempotency-Key"]) == 32


async def test_zstd_compression_is_accepted():
    async with NdjsonReceiver() as rx:
        await ship(sink_for(rx, compression="zstd"), [[make_record(1)]])
    assert rx.seen[0].headers["Content-Encoding"] == "zstd" and len(rx.records) == 1


async def test_429_with_retry_after_waits_at_least_that_long_then_delivers():
    sleep = Recorder()
    metrics = new_metrics()
    async with NdjsonReceiver() as rx:
        rx.script.responses = [(429, {"Retry-After": "3"})]
        sink = HttpSink(HttpSinkSettings(name="h", url=rx.url, batch={"max_wait": 0}),
                        metrics=metrics, sleep=sleep)
        tokens = await ship_delivered(sink, [[make_record(1)]])
    assert tokens[0].complete and len(rx.records) == 1
    assert sleep.delays and sleep.delays[0] >= 3.0
    keys = {s.headers["Idempotency-Key"] for s in rx.seen}
    assert len(rx.seen) == 2 and len(keys) == 1  # the retry carries the same key
    assert metrics.value("shipper_sink_requests_total", sink="h", outcome="retry") == 1


async def test_503_storm_is_ridden_out_with_growing_backoff():
    sleep = Recorder()
    metrics = new_metrics()
    async with NdjsonReceiver() as rx:
        rx.script.responses = [(503, {})] * 8
        sink = HttpSink(HttpSinkSettings(name="h", url=rx.url, batch={"max_wait": 0},
                                         retry={"initial_backoff": 0.1, "max_backoff": 1}),
                        metrics=metrics, sleep=sleep, rng=lambda: 1.0)
        tokens = await ship_delivered(sink, [[make_record(i) for i in range(3)]])
    assert tokens[0].complete and len(rx.records) == 3
    assert sleep.delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    assert metrics.value("shipper_sink_retries_total", sink="h") == 8
    assert metrics.value("shipper_records_forwarded_total", sink="h") == 3


async def test_400_goes_to_the_dead_letter_file_and_is_counted(tmp_path):
    metrics = new_metrics()
    async with NdjsonReceiver() as rx:
        rx.script.responses = [(400, {})]
        sink = HttpSink(HttpSinkSettings(name="h", url=rx.url, batch={"max_wait": 0}),
                        metrics=metrics, state_dir=tmp_path)
        tokens = await ship(sink, [[make_record(1), make_record(2)]])
    assert tokens[0].complete and rx.records == []
    lines = (tmp_path / "dead-letter" / "h.ndjson").read_bytes().splitlines()
    assert [orjson.loads(line)["record"]["message"] for line in lines] == ["frame 1 done", "frame 2 done"]
    assert metrics.value("shipper_records_failed_total", sink="h", reason="dead-letter") == 2


async def test_413_splits_the_batch_and_delivers_the_halves():
    async with NdjsonReceiver() as rx:
        rx.script.responses = [(413, {})]
        tokens = await ship(sink_for(rx, batch={"max_wait": 0.05}), [[make_record(i) for i in range(6)]])
    assert tokens[0].complete
    assert [len(s.body) > 0 for s in rx.seen] == [True, True, True]
    assert sorted(r["attributes"]["i"] for r in rx.records) == list(range(6))


async def test_slow_receiver_applies_backpressure_to_put():
    async with NdjsonReceiver(delay=0.3) as rx:
        sink = sink_for(rx, buffer={"max_bytes": 1000}, concurrency=1,  # one envelope
                        batch={"max_records": 1, "max_wait": 0})
        await sink.start()
        puts = []
        for i in range(4):
            puts.append(asyncio.create_task(sink.put([make_record(i)], _token())))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # a window to see the last put NOT finish: no marker ends it
        assert not all(p.done() for p in puts)  # the last put waits for the slow receiver
        await asyncio.wait_for(asyncio.gather(*puts), 5)
        await sink.close(5)
    assert len(rx.records) == 4


def _token():
    from shipper.acks import AckToken
    return AckToken("f", 0, pending=1)


async def test_credentials_never_appear_in_logs_errors_or_dead_letters(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    secret = "s3cr3t-pa55word"
    monkeypatch.setenv("HTTP_SINK_PASSWORD", secret)
    expected = "Basic " + base64.b64encode(f"bob:{secret}".encode()).decode()
    async with NdjsonReceiver(auth=expected) as rx:
        rx.script.responses = [(401, {}), (503, {})]
        settings = HttpSinkSettings(name="h", url=rx.url, username="bob",
                                    password_env="HTTP_SINK_PASSWORD", batch={"max_wait": 0})
        sink = HttpSink(settings, metrics=new_metrics(), state_dir=tmp_path, sleep=Recorder())
        await ship(sink, [[make_record(1)], [make_record(2)]])
        await ship(HttpSink(settings.model_copy(update={"url": "http://127.0.0.1:1/x"}),
                            metrics=new_metrics(), state_dir=tmp_path, sleep=Recorder(),
                            ), [[make_record(3)]], deadline=0.2)
    assert rx.seen[-1].headers["Authorization"] == expected  # it was really sent
    dead = (tmp_path / "dead-letter" / "h.ndjson").read_text()
    assert secret not in dead and "Basic" not in dead
    assert secret not in caplog.text and expected not in caplog.text
    assert secret not in repr(settings)
