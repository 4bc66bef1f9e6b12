"""The OTLP sink against a Collector-like receiver on loopback (official message classes):
both encodings, gzip, Loki's native path, auth headers, and the OTLP outcome rules on the
wire (retry 503 with Retry-After, final 413/400 without a split, partial success)."""

from __future__ import annotations

import asyncio

import pytest

from shipper.acks import AckToken
from shipper.sinks.otlp import OtlpSink
from shipper.sinks.settings import OtlpSinkSettings
from tests.receivers.harness import Recorder, make_record, new_metrics, ship
from tests.receivers.otlp import OtlpReceiver

pytestmark = pytest.mark.integration


def otlp(rx, tmp_path, metrics=None, sleep=None, **overrides):
    cfg = {"url": rx.url, "batch": {"max_wait": 0.01}, **overrides}
    return OtlpSink(OtlpSinkSettings(**cfg), metrics=metrics or new_metrics(),
                    sleep=sleep or Recorder(), state_dir=tmp_path)


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("compression", ["gzip", "none"])
async def test_every_record_is_decoded_by_the_receiver(tmp_path, encoding, compression):
    records = [make_record(i, level="warning" if i % 2 else "info") for i in range(50)]
    async with OtlpReceiver() as rx:
        tokens = await ship(otlp(rx, tmp_path, encoding=encoding, compression=compression),
                            [records])
    assert tokens[0].complete
    assert rx.seen[0].headers.get("Content-Encoding") == ("gzip" if compression == "gzip" else None)
    assert sorted(log.attributes["correlation_id"] for log in rx.logs) == \
        sorted(f"req-{i}" for i in range(50))
    log = rx.logs[0]
    assert log.resource["k8s.pod.name"] == "encoder-7d9f-abcde"
    assert log.resource["service.name"] == "encoder" and log.scope == "shipper"
    assert {lg.severity_text for lg in rx.logs} == {"INFO", "WARN"}


async def test_lokis_native_otlp_path_and_basic_auth(tmp_path):
    async with OtlpReceiver(path="/otlp/v1/logs") as rx:
        tokens = await ship(otlp(rx, tmp_path, url=f"{rx.url}/otlp", username="tenant",
                                 password="s3cret", headers={"X-Scope-OrgID": "video"}),
                            [[make_record(1)]])
    assert tokens[0].complete and len(rx.logs) == 1
    assert rx.seen[0].path == "/otlp/v1/logs"
    assert rx.seen[0].headers["Authorization"].startswith("Basic ")
    assert rx.seen[0].headers["X-Scope-OrgID"] == "video"


async def test_header_from_a_file_like_datadogs_api_key(tmp_path):
    key = tmp_path / "dd-api-key"
    key.write_text("k-0123\n")
    async with OtlpReceiver() as rx:
        await ship(otlp(rx, tmp_path, header_files={"dd-api-key": key},
                        headers={"dd-protocol": "otlp"}), [[make_record(1)]])
    assert rx.seen[0].headers["dd-api-key"] == "k-0123"
    assert rx.seen[0].headers["dd-protocol"] == "otlp"


async def test_503_with_retry_after_is_retried_then_delivered(tmp_path):
    sleep = Recorder()
    token = AckToken("f", 0, pending=1)
    async with OtlpReceiver() as rx:
        rx.script.responses = [(503, {"Retry-After": "3"}), (429, {})]
        sink = otlp(rx, tmp_path, sleep=sleep)
        await sink.start()
        await sink.put([make_record(1)], token)
        deadline = asyncio.get_running_loop().time() + 30
        while not token.complete and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await sink.close(5)
    assert token.complete and len(rx.logs) == 1 and len(rx.seen) == 3
    assert sleep.delays[0] >= 3.0  # not closing yet: the backoff honoured Retry-After


@pytest.mark.parametrize("status", [413, 400, 500])
async def test_final_statuses_dead_letter_once_without_split_or_retry(tmp_path, status):
    metrics = new_metrics()
    records = [make_record(i) for i in range(10)]
    async with OtlpReceiver() as rx:
        rx.script.responses = [(status, {})]
        tokens = await ship(otlp(rx, tmp_path, metrics=metrics), [records])
    assert tokens[0].complete and len(rx.seen) == 1  # one request: no split, no retry
    assert metrics.value("shipper_records_failed_total", sink="otlp", reason="dead-letter") == 10
    dead = (tmp_path / "dead-letter" / "otlp.ndjson").read_text().splitlines()
    assert len(dead) == 10 and f'"status":{status}' in dead[0]


async def test_wrong_content_type_gets_415_from_the_receiver(tmp_path):
    """The receiver refuses like a Collector; the sink treats 415 as final."""
    metrics = new_metrics()
    async with OtlpReceiver() as rx:
        sink = otlp(rx, tmp_path, metrics=metrics)
        sink._content_type = "text/plain"  # a broken client
        await ship(sink, [[make_record(1)]])
    assert rx.seen[0].status == 415 and rx.logs == []
    assert metrics.value("shipper_records_failed_total", sink="otlp", reason="dead-letter") == 1


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
async def test_partial_success_is_not_retried_and_rejected_records_count_as_failed(
        tmp_path, encoding, caplog):
    metrics = new_metrics()
    reject = lambda log: log.severity_number >= 17
    records = [make_record(i, level="error" if i < 3 else "info") for i in range(10)]
    async with OtlpReceiver(reject=reject, reject_message="severity refused token=abc") as rx:
        tokens = await ship(otlp(rx, tmp_path, metrics=metrics, encoding=encoding), [records])
    assert tokens[0].complete and len(rx.seen) == 1 and len(rx.logs) == 7 and rx.rejected == 3
    assert metrics.value("shipper_records_failed_total", sink="otlp", reason="otlp-rejected") == 3
    # forwarded counts what the receiver kept; nothing else is counted
    assert metrics.value("shipper_records_forwarded_total", sink="otlp") == 7
    for reason in ("unencodable", "dead-letter", "truncated"):
        assert metrics.value("shipper_records_failed_total", sink="otlp", reason=reason) == 0
    assert "rejected 3 log record(s)" in caplog.text and "severity refused" in caplog.text


async def test_partial_success_warning_with_nothing_rejected_is_logged_not_counted(tmp_path, caplog):
    """The spec lets a receiver accept everything and still say something (rejected 0)."""
    import logging

    metrics = new_metrics()
    caplog.set_level(logging.INFO, logger="shipper.sinks")
    async with OtlpReceiver(reject=lambda log: False, reject_message="deprecated field") as rx:
        rx.warn_always = True
        tokens = await ship(otlp(rx, tmp_path, metrics=metrics), [[make_record(1)]])
    assert tokens[0].complete and len(rx.logs) == 1
    assert metrics.value("shipper_records_failed_total", sink="otlp", reason="otlp-rejected") == 0
    assert metrics.value("shipper_records_forwarded_total", sink="otlp") == 1
    assert "accepted every record with a warning: deprecated field" in caplog.text


@pytest.mark.parametrize(("content_type", "encoding", "body", "status"), [
    ("application/x-protobuf", None, b"\xff\xff\xff", 400),           # not a protobuf message
    ("application/json", None, b"{not json", 400),
    ("application/json", None, b'{"resourceLogs": [{"bogus": 1}]}', 400),  # unknown field
    ("application/x-protobuf", "gzip", b"not gzip", 400),
    ("text/plain", None, b"hello", 415),
    ("application/x-protobuf", None, b"", 200),                        # an empty export is valid
])
async def test_the_receiver_refuses_like_a_collector(content_type, encoding, body, status):
    """The test receiver itself: what it refuses, so the sink tests above mean something."""
    import aiohttp

    headers = {"Content-Type": content_type, **({"Content-Encoding": encoding} if encoding else {})}
    async with OtlpReceiver() as rx, aiohttp.ClientSession() as session:
        response = await session.post(f"{rx.url}/v1/logs", data=body, headers=headers)
        response.release()
    assert response.status == status
    assert rx.logs == []
