"""A real Prometheus server scrapes the shipper; its query API sees the expected counters.

The set-up uses Debian's ``prometheus`` package (installed with apt-get when
``/usr/bin/prometheus`` is missing) on a free loopback port with a temporary data dir.
Without the package the tests are skipped with the reason, except when ``CI`` is set:
then they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from shipper.jobs import JobTracker
from shipper.metrics import Metrics
from shipper.server import Progress, ServerSettings, TailHub
from shipper.server.app import bound_port, build_app, start_server

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
_DOC_LINES = (REPO / "docs" / "observability.md").read_text().splitlines()
#: the checkpoint alert of docs/observability.md (its two lines), as written there
CHECKPOINT_ALERT = next(
    line.strip() + " " + after.strip() for line, after in zip(_DOC_LINES, _DOC_LINES[1:])
    if line.startswith('increase(shipper_checkpoint_saves_total{outcome="failed"}'))
PROMETHEUS = "/usr/bin/prometheus"
DEADLINE = 60.0


def _install_prometheus() -> str | None:
    """Install the Debian package; ``None`` when done, else why it could not be."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends",
                                        "prometheus"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0 and not os.path.exists(PROMETHEUS):
            return f"{' '.join(cmd)} failed: {proc.stderr.strip()[-300:]}"
    return None if os.path.exists(PROMETHEUS) else "the package did not provide /usr/bin/prometheus"


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    if not os.path.exists(PROMETHEUS):
        reason = _install_prometheus()
        if reason is not None:
            message = f"Prometheus (Debian package 'prometheus') cannot be installed: {reason}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    return PROMETHEUS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    """A Prometheus process scraping one target every second."""

    def __init__(self, binary: str, workdir: Path, target: str) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: shipper\n    static_configs: [{{targets: ['{target}']}}]\n")
        self.log = (workdir / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    async def query(self, session: aiohttp.ClientSession, promql: str) -> float | None:
        try:
            async with session.get(f"{self.url}/api/v1/query", params={"query": promql}) as resp:
                body = await resp.json()
        except aiohttp.ClientError:
            return None  # not up yet
        result = body.get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else None

    async def wait_for(self, expected: dict[str, float]) -> dict[str, float | None]:
        """Poll until every query returns its expected value (or the deadline passes)."""
        got: dict[str, float | None] = {}
        async with aiohttp.ClientSession() as session:
            end = time.monotonic() + DEADLINE
            while time.monotonic() < end:
                got = {q: await self.query(session, q) for q in expected}
                if got == expected:
                    break
                if self.proc.poll() is not None:
                    raise AssertionError(f"prometheus exited with {self.proc.returncode}")
                await asyncio.sleep(0.5)
        return got


def feed(metrics: Metrics, jobs: JobTracker) -> None:
    """A known sequence: 7 forwarded to stdout, 2 to loki; 3 noise drops, 1 deduped."""
    metrics.records_forwarded_total.labels(sink="stdout").inc(7)
    metrics.records_forwarded_total.labels(sink="loki").inc(2)
    for reason, rule, count in (("noise", "health", 3), ("deduped", "dedupe", 1)):
        metrics.records_dropped_total.labels(reason=reason, rule=rule).inc(count)
    jobs.observe([{"message": "pipeline_start", "job_id": "j1", "level": "info",
                   "attributes": {}}])


async def test_prometheus_scrapes_in_process_server(prometheus_bin, tmp_path):
    metrics = Metrics(CollectorRegistry())
    jobs = JobTracker(metrics, time.time, 10)
    app = build_app(metrics=metrics, progress=Progress(time.monotonic, 30),
                    tail=TailHub(ring_size=10, max_clients=1, client_queue=10), jobs=jobs,
                    settings=ServerSettings())
    runner = await start_server(app, "127.0.0.1:0")
    prom = PrometheusServer(prometheus_bin, tmp_path, f"127.0.0.1:{bound_port(runner)}")
    try:
        feed(metrics, jobs)
        expected = {
            "sum(shipper_records_forwarded_total)": 9.0,
            'shipper_records_forwarded_total{sink="stdout"}': 7.0,
            "sum(shipper_records_dropped_total)": 4.0,
            'sum by (reason) (shipper_records_dropped_total{reason="noise"})': 3.0,
            "shipper_jobs_active": 1.0,
        }
        assert await prom.wait_for(expected) == expected
    finally:
        prom.stop()
        await runner.cleanup()


def _shipper_port(stderr_path: Path, proc: subprocess.Popen, deadline: float) -> int:
    """The port from the shipper's ``server listening`` self-log line."""
    while time.monotonic() < deadline:
        for line in stderr_path.read_text().splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("event") == "server listening":
                return int(entry.get("port") or entry["fields"]["port"])
        if proc.poll() is not None:
            raise AssertionError(f"shipper exited: {stderr_path.read_text()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError("shipper did not report its port")


async def test_prometheus_scrapes_a_running_shipper(prometheus_bin, tmp_path):
    """``shipper run`` follows a file: 4 records forwarded, 2 dropped by a rule, 1 below
    min_level; Prometheus sees exactly these counts, the checkpoint saves of its state
    directory, and the documented checkpoint alert evaluates (to nothing: no failed save)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("")
    (tmp_path / "shipper.yaml").write_text(
        "filters:\n  min_level: info\n"
        "  drop: [{name: ticks, match: {message: '^tick'}}]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "POD_"))}
    stderr_path = tmp_path / "shipper.err"
    with (tmp_path / "shipper.out").open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipper.cli", "run", "--config", str(tmp_path / "shipper.yaml"),
             "--path", f"{logs}/*.log", "--listen", "127.0.0.1:0", "--podinfo-dir", str(tmp_path),
             "--state-dir", str(tmp_path / "state")],
            stdout=out, stderr=err, cwd=REPO, env=env)
    prom = None
    try:
        port = _shipper_port(stderr_path, proc, time.monotonic() + DEADLINE)
        with (logs / "app.log").open("a") as app_log:  # written while the shipper follows
            app_log.write("INFO first\nINFO tick 1\nDEBUG detail\nINFO second\nINFO tick 2\n"
                          "WARNING third\nERROR fourth\n")
        prom = PrometheusServer(prometheus_bin, tmp_path, f"127.0.0.1:{port}")
        expected = {
            "sum(shipper_records_forwarded_total)": 4.0,
            'sum(shipper_records_dropped_total{reason="drop_rule", rule="ticks"})': 2.0,
            'sum(shipper_records_dropped_total{reason="min_level"})': 1.0,
            'count(shipper_checkpoint_saves_total{outcome="ok"} > 0)': 1.0,
            "count(shipper_checkpoint_bytes > 100)": 1.0,
            f"count({CHECKPOINT_ALERT}) or vector(0)": 0.0,
        }
        assert await prom.wait_for(expected) == expected, stderr_path.read_text()[-2000:]
    finally:
        if prom is not None:
            prom.stop()
        proc.terminate()
        proc.wait(timeout=30)
