"""End to end per sink: ``shipper run --once --sink TYPE=URL`` as a subprocess on a corpus
scenario; each loopback receiver must get exactly the records the stdout sink prints, with
the right Loki labels and structured metadata, Datadog tags and forward events."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.corpus import CORPUS, REPO, compare, run_scenario, write_podinfo
from tests.receivers.datadog import DatadogReceiver
from tests.receivers.forward import ForwardReceiver
from tests.receivers.http import NdjsonReceiver
from tests.receivers.loki import LokiReceiver

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (CORPUS / "video").is_dir(), reason="corpus not present")]
SCENARIO = CORPUS / "video"
JOB = "job-e5b17904-7003-1627-52f1-6346299539c1"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> list[dict]:
    """What the stdout sink prints for the scenario: the records every sink must carry."""
    records, _ = run_scenario(SCENARIO, tmp_path_factory.mktemp("stdout"))
    assert records and any(r.get("job_id") == JOB for r in records)
    return records


async def run_with_sink(workdir: Path, sink: str | None, *args: str, **env: str) -> str:
    pod = json.loads((SCENARIO / "pod.json").read_text())
    podinfo = write_podinfo(pod, workdir / "podinfo")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    full_env.update(pod.get("env", {}), **env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shipper.cli", "run", "--once", "--path",
        f"{SCENARIO / 'input'}/**/*.log", "--podinfo-dir", str(podinfo),
        "--state-dir", str(workdir / "state"), *(("--sink", sink) if sink else ()), *args,
        cwd=REPO, env=full_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert stdout == b""  # records went to the sink, not stdout
    return stderr.decode()


def key(record: dict) -> tuple[str, int]:
    return record["file"]["path"], record["file"]["offset"]


def same_records(got: list[dict], baseline: list[dict]) -> None:
    """Exactly the baseline records (lines without a timestamp get the read time, so that
    field is checked against the corpus expectations instead of the stdout run)."""
    assert compare(SCENARIO, got) == []
    strip = lambda r: {k: v for k, v in r.items() if k != "timestamp"}  # noqa: E731
    assert [strip(r) for r in got] == [strip(r) for r in baseline]


async def test_http_sink_end_to_end(tmp_path, baseline):
    async with NdjsonReceiver() as rx:
        await run_with_sink(tmp_path, f"http={rx.url}")
    same_records(rx.records, baseline)


async def test_loki_sink_end_to_end_labels_and_structured_metadata(tmp_path, baseline):
    async with LokiReceiver(strict_order=False) as rx:
        await run_with_sink(tmp_path, f"loki={rx.url}")
    got = sorted((json.loads(e.line) for e in rx.entries), key=key)
    same_records(got, sorted(baseline, key=key))
    for entry in rx.entries:
        line = json.loads(entry.line)
        assert entry.labels == {"namespace": "video", "app": "video-api", "container": "app"}
        assert entry.metadata["level"] == line["level"]
        assert entry.metadata["pod"] == "video-api-bef2a-2df275b"
        assert entry.metadata["node"] == "kind-worker2"
        assert entry.metadata.get("job_id") == line.get("job_id")
    # {namespace="video"} | job_id="job-..." finds every line of the job
    job_lines = [e for e in rx.entries if e.labels["namespace"] == "video"
                 and e.metadata.get("job_id") == JOB]
    assert len(job_lines) == sum(r.get("job_id") == JOB for r in baseline)


async def test_datadog_sink_end_to_end_reserved_attributes_and_tags(tmp_path, baseline):
    # the corpus is older than the intake's 18 h: the time window off in the sink and the
    # receiver (tests/integration/test_sink_datadog_e2e.py covers it)
    async with DatadogReceiver("e2e-key", clock=None) as rx:
        sink = {"type": "datadog", "url": rx.url, "max_age": None, "max_future": None}
        (tmp_path / "dd.yaml").write_text(json.dumps({"sinks": [sink]}))  # JSON is YAML
        stderr = await run_with_sink(tmp_path, None, "--config", str(tmp_path / "dd.yaml"),
                                     DD_API_KEY="e2e-key")
    assert "e2e-key" not in stderr
    assert [e["message"] for e in rx.entries] == [r["message"] for r in baseline]
    for entry, record in zip(rx.entries, baseline):
        assert entry["hostname"] == "kind-worker2" and entry["service"] == "video-api"
        assert entry["ddtags"] == ("kube_namespace:video,pod_name:video-api-bef2a-2df275b,"
                                   "kube_container_name:app,kube_app_name:video-api")
        assert entry.get("job_id") == record.get("job_id")


async def test_forward_sink_end_to_end(tmp_path, baseline):
    async with ForwardReceiver() as rx:
        await run_with_sink(tmp_path, f"forward={rx.url}")
    same_records([e.record for e in rx.events], baseline)
    assert rx.errors == []
