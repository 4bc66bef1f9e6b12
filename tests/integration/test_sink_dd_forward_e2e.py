"""End to end, ``shipper run --once`` as a subprocess with a config file:

* datadog: a Job pod (made by a CronJob) with the unified service tagging labels; every fresh
  record arrives with the pod's ``ddtags``, and the records stamped 20 h ago are not sent
  (the intake would accept and drop them) but dead-lettered with the reason;
* forward: ``shared_key`` handshake + ``compression: gzip`` + ``require_ack`` to a Fluentd-
  behaving input; every record arrives; with the wrong key nothing arrives, the run says
  why on stderr, and neither key appears anywhere in its output."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.corpus import REPO, write_podinfo
from tests.receivers.datadog import DatadogReceiver
from tests.receivers.forward import ForwardReceiver

pytestmark = pytest.mark.integration

API_KEY = "dd-e2e-key-5f3a9c"
FWD_KEY = "fwd-e2e-shared-key-77c1"
SCHEDULED = int(time.time() // 60) - 5  # the CronJob scheduled this Job 5 minutes ago
POD = {
    "env": {"POD_NAME": f"nightly-reindex-{SCHEDULED}-x2k9p", "POD_NAMESPACE": "search",
            "NODE_NAME": "kind-worker3", "CONTAINER_NAME": "reindex"},
    "labels": {"batch.kubernetes.io/job-name": f"nightly-reindex-{SCHEDULED}",
               "app.kubernetes.io/name": "reindexer", "tags.datadoghq.com/env": "prod",
               "tags.datadoghq.com/service": "search-indexer",
               "tags.datadoghq.com/version": "2.3.1"},
}
FRESH, OLD = 40, 6


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def write_logs(workdir: Path) -> Path:
    logs = workdir / "logs"
    logs.mkdir()
    now = time.time()
    lines = [{"timestamp": iso(now - 72_000 + i), "level": "info", "message": f"old {i}"}
             for i in range(OLD)]
    lines += [{"timestamp": iso(now - 600 + i), "level": "warning" if i % 5 else "info",
               "message": f"fresh {i}"} for i in range(FRESH)]
    (logs / "app.log").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return logs


async def run(workdir: Path, sink: dict) -> tuple[int, str]:
    logs = write_logs(workdir)
    podinfo = write_podinfo(POD, workdir / "podinfo")
    (workdir / "config.yaml").write_text(json.dumps({"sinks": [sink]}))  # JSON is YAML
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHIPPER_") and k != "DD_API_KEY"}
    env.update(POD["env"])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shipper.cli", "run", "--once", "--config",
        str(workdir / "config.yaml"), "--path", f"{logs}/*.log", "--podinfo-dir", str(podinfo),
        "--state-dir", str(workdir / "state"), cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert stdout == b""  # records went to the sink, not stdout
    return proc.returncode, stderr.decode()


async def test_datadog_tags_from_pod_facts_and_stale_records_dead_lettered(tmp_path):
    (tmp_path / "api-key").write_text(API_KEY + "\n")
    async with DatadogReceiver(API_KEY) as rx:
        code, stderr = await run(tmp_path, {"type": "datadog", "name": "dd", "url": rx.url,
                                            "api_key_file": str(tmp_path / "api-key"),
                                            "tags": ["team:search"]})
    assert code == 0, stderr[-2000:]
    assert sorted(e["message"] for e in rx.entries) == sorted(f"fresh {i}" for i in range(FRESH))
    assert rx.ignored == []  # nothing was sent only to be dropped by the intake
    for entry in rx.entries:
        assert entry["ddtags"].split(",") == [
            "kube_namespace:search", f"pod_name:nightly-reindex-{SCHEDULED}-x2k9p",
            "kube_container_name:reindex", f"kube_job:nightly-reindex-{SCHEDULED}",
            "kube_cronjob:nightly-reindex", "kube_app_name:reindexer", "env:prod",
            "service:search-indexer", "version:2.3.1", "team:search"]
        assert entry["service"] == "search-indexer" and entry["hostname"] == "kind-worker3"
    dead = (tmp_path / "state" / "dead-letter" / "dd.ndjson").read_text().splitlines()
    assert sorted(json.loads(d)["record"]["message"] for d in dead) == \
        [f"old {i}" for i in range(OLD)]
    assert all("older than 18 h" in json.loads(d)["reason"] for d in dead)
    assert "older than 18 h" in stderr and API_KEY not in stderr


async def test_forward_with_shared_key_gzip_and_acks(tmp_path):
    (tmp_path / "key").write_text(FWD_KEY + "\n")
    sink = {"type": "forward", "name": "fwd", "tag": "search.reindex", "require_ack": True,
            "compression": "gzip", "shared_key_file": str(tmp_path / "key"),
            "self_hostname": "reindex-sidecar"}
    async with ForwardReceiver(shared_key=FWD_KEY) as rx:
        code, stderr = await run(tmp_path, {**sink, "url": rx.url})
    assert code == 0, stderr[-2000:]
    assert sorted(e.record["message"] for e in rx.events) == sorted(
        [f"fresh {i}" for i in range(FRESH)] + [f"old {i}" for i in range(OLD)])
    assert {e.tag for e in rx.events} == {"search.reindex"} and rx.errors == []
    assert rx.handshakes and all(h == (True, "", "reindex-sidecar") for h in rx.handshakes)
    assert rx.compressed_messages == len(rx.chunks) >= 1
    assert FWD_KEY not in stderr


async def test_forward_with_a_wrong_shared_key_delivers_nothing_and_says_why(tmp_path):
    (tmp_path / "key").write_text(FWD_KEY + "\n")
    async with ForwardReceiver(shared_key="the-aggregators-key") as rx:
        code, stderr = await run(tmp_path, {"type": "forward", "name": "fwd", "url": rx.url,
                                            "shared_key_file": str(tmp_path / "key")})
    assert rx.events == [] and rx.handshakes[0][:2] == (False, "shared_key mismatch")
    assert "refused by the server: shared_key mismatch" in stderr, stderr[-2000:]
    dead = (tmp_path / "state" / "dead-letter" / "fwd.ndjson").read_text()
    assert dead.count("\n") == FRESH + OLD
    for text in (stderr, dead):
        assert FWD_KEY not in text and "the-aggregators-key" not in text
    assert code == 0  # dead-lettered records are accounted for, like any final refusal
