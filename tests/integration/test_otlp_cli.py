"""``shipper run`` with an OTLP sink, as a subprocess, against the Collector-like receiver:
every record of a corpus scenario arrives decoded with the official message classes (as
the stdout sink prints them), and in follow mode a ``partial_success`` answer is counted
as failed in ``/metrics`` while trace context lifted from the lines arrives as ids."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.corpus import CORPUS, REPO, run_scenario, write_podinfo
from tests.receivers.otlp import OtlpReceiver

pytestmark = [pytest.mark.integration]
SCENARIO = CORPUS / "video"
SEVERITY_TEXT = {"trace": "TRACE", "debug": "DEBUG", "info": "INFO", "warning": "WARN",
                 "error": "ERROR", "critical": "FATAL"}
T, S = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
DEADLINE = 90.0


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    env.update(extra)
    return env


def comparable(log_or_record) -> tuple:
    """What must be equal between a shipped record and the OTLP log record made of it."""
    if isinstance(log_or_record, dict):
        r = log_or_record
        return (r["message"], SEVERITY_TEXT[r["level"]], r.get("job_id"),
                r.get("correlation_id"), r.get("logger"), r["file"]["path"])
    a = log_or_record.attributes
    return (log_or_record.body, log_or_record.severity_text, a.get("job_id"),
            a.get("correlation_id"), a.get("logger"), a["log.file.path"])


@pytest.mark.skipif(not (SCENARIO / "pod.json").is_file(), reason="corpus not present")
async def test_run_once_ships_every_corpus_record_over_otlp(tmp_path):
    baseline, _ = await asyncio.to_thread(run_scenario, SCENARIO, tmp_path / "stdout")
    pod = json.loads((SCENARIO / "pod.json").read_text())
    pod["annotations"]["resource.opentelemetry.io/service.name"] = "video-svc"
    podinfo = write_podinfo(pod, tmp_path / "podinfo")
    async with OtlpReceiver() as rx:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shipper.cli", "run", "--once", "--path",
            f"{SCENARIO / 'input'}/**/*.log", "--podinfo-dir", str(podinfo),
            "--state-dir", str(tmp_path / "state"), "--sink", f"otlp={rx.url}",
            cwd=REPO, env=clean_env(**pod["env"]), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert stdout == b"" and baseline
    assert sorted(map(comparable, rx.logs), key=repr) == sorted(map(comparable, baseline), key=repr)
    assert all(log.time_ns > 0 and log.observed_ns > 0 for log in rx.logs)
    resource = rx.logs[0].resource
    assert resource["service.name"] == "video-svc"
    assert resource["k8s.pod.name"] == pod["env"]["POD_NAME"]
    assert resource["k8s.namespace.name"] == pod["env"]["POD_NAMESPACE"]
    assert resource["k8s.node.name"] == pod["env"]["NODE_NAME"]
    assert resource["service.instance.id"] == "video.video-api-bef2a-2df275b.app"
    assert len(rx.requests) >= 1 and all(len(r.resource_logs) == 1 for r in rx.requests)


async def _metric(session: aiohttp.ClientSession, port: int, line_start: str) -> float:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _port(stderr_path: Path, proc: asyncio.subprocess.Process) -> int:
    """The port from the shipper's ``server listening`` self-log line."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        for line in stderr_path.read_text().splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("event") == "server listening":
                return int(entry.get("port") or entry["fields"]["port"])
        if proc.returncode is not None:
            raise AssertionError(f"shipper exited: {stderr_path.read_text()[-2000:]}")
        await asyncio.sleep(0.1)
    raise AssertionError("shipper did not report its port")


async def test_partial_success_counts_rejected_records_in_metrics_and_trace_ids_arrive(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [f'{{"level": "info", "msg": "ok {i}", "trace_id": "{T}", "span_id": "{S}"}}'
             for i in range(15)]
    lines += [f"2026-01-02T10:00:00Z ERROR failed {i} traceparent=00-{T}-{S}-01"
              for i in range(5)]
    (logs / "app.log").write_text("\n".join(lines) + "\n")
    stderr_path = tmp_path / "shipper.err"
    async with OtlpReceiver(reject=lambda log: log.severity_number >= 17,
                            reject_message="errors are not accepted here") as rx:
        with stderr_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "shipper.cli", "run", "--path", f"{logs}/*.log",
                "--listen", "127.0.0.1:0", "--podinfo-dir", str(tmp_path),
                "--state-dir", str(tmp_path / "state"), "--sink", f"otlp={rx.url}",
                stdout=asyncio.subprocess.DEVNULL, stderr=err, cwd=REPO,
                env=clean_env(POD_NAME="p-1", POD_NAMESPACE="ns"))
        try:
            port = await _port(stderr_path, proc)
            failed = forwarded = 0.0
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + DEADLINE
                while time.monotonic() < deadline and (failed, forwarded) != (5, 15):
                    await asyncio.sleep(0.2)
                    failed = await _metric(session, port, 'shipper_records_failed_total{'
                                           'reason="otlp-rejected",sink="otlp"}')
                    forwarded = await _metric(session, port,
                                              'shipper_records_forwarded_total{sink="otlp"}')
                other = await _metric(session, port, 'shipper_records_failed_total{'
                                      'reason="unencodable",sink="otlp"}')
        finally:
            if proc.returncode is None:
                proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)
    # forwarded: what the receiver kept; the 5 it refused are counted failed, not forwarded
    assert (failed, forwarded, other) == (5, 15, 0), stderr_path.read_text()[-2000:]
    assert rx.rejected == 5 and len(rx.logs) == 15
    assert {(log.trace_id, log.span_id) for log in rx.logs} == {(T, S)}
    assert "errors are not accepted here" in stderr_path.read_text()
