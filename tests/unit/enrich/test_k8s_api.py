"""K8sApiEnricher against a loopback aiohttp server that answers the Kubernetes REST
paths the real `kubernetes` client calls. The server runs on the test's event loop, so
every successful read also proves the blocking client call ran off the loop."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from typing import Any

import pytest
from aiohttp import web

from shipper.enrich.k8s_api import K8sApiEnricher, empty_facts

TOKEN = "test-token-do-not-log"
NS = "batch"
POD = "nightly-123-0-abcde"


def _owner(kind: str, name: str, api: str = "batch/v1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "name": name, "uid": f"uid-{name}",
            "controller": True}


def _pod(owner: dict[str, Any] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": POD, "namespace": NS, "labels": {"app": "etl"},
                            "annotations": {"team": "data"}}
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "app", "image": "busybox"}]}}


class FakeApiServer:
    """Answers GET pod and GET job; counts requests; checks the bearer token."""

    def __init__(self) -> None:
        self.pod: dict[str, Any] = _pod(_owner("Job", "nightly-123"))
        self.job_status = 200
        self.pod_status = 200
        self.delay = 0.0
        self.requests: list[str] = []
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}", self._pod)
        app.router.add_get("/apis/batch/v1/namespaces/{ns}/jobs/{name}", self._job)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        self.url = ""

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _pod(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        if self.delay:
            await asyncio.sleep(self.delay)
        if not self._authorized(request):
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        if self.pod_status != 200:
            return web.json_response({"kind": "Status", "code": self.pod_status},
                                     status=self.pod_status)
        return web.json_response(self.pod)

    async def _job(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        if self.job_status != 200:
            return web.json_response({"kind": "Status", "code": self.job_status},
                                     status=self.job_status)
        name = request.match_info["name"]
        return web.json_response({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
            "name": name, "namespace": NS, "ownerReferences": [_owner("CronJob", "nightly")]}})


def _import_api_modules() -> None:
    from kubernetes.client import BatchV1Api, CoreV1Api  # noqa: F401 (imports lazily)


@pytest.fixture()
async def server():
    srv = FakeApiServer()
    await srv.start()
    yield srv
    await srv.runner.cleanup()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _factory(url: str):
    def make() -> Any:
        from kubernetes import client

        configuration = client.Configuration(host=url)
        configuration.api_key = {"authorization": TOKEN}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        configuration.retries = False
        return client.ApiClient(configuration)
    return make


#: the read timeout of tests that expect a read to succeed: generous, as the first read
#: also imports the client's API modules (``CoreV1Api``: 1 s idle, 11 s on a loaded
#: 2-core machine) inside the enricher's deadline. The timeout tests pass their own.
SUCCESS_TIMEOUT = 30.0


def _enricher(url: str, clock: FakeClock | None = None,
              timeout: float = SUCCESS_TIMEOUT) -> K8sApiEnricher:
    return K8sApiEnricher(NS, POD, clock=clock or FakeClock(), refresh_interval=300.0,
                          timeout=timeout, api_client_factory=_factory(url))


async def test_reads_labels_annotations_job_and_cronjob(server: FakeApiServer) -> None:
    """A pod owned by a Job owned by a CronJob yields all facts, over the real client."""
    enricher = _enricher(server.url)
    await enricher.refresh()
    assert enricher.facts() == {
        "labels": {"app": "etl"}, "annotations": {"team": "data"},
        "owner": {"kind": "Job", "name": "nightly-123"},
        "cronjob": "nightly", "job_name": "nightly-123",
    }
    assert server.requests == [f"/api/v1/namespaces/{NS}/pods/{POD}",
                               f"/apis/batch/v1/namespaces/{NS}/jobs/nightly-123"]
    enricher.close()


async def test_non_job_owner_reads_only_the_pod(server: FakeApiServer) -> None:
    """A ReplicaSet-owned pod: owner is set, no job/cronjob, and no Job request."""
    server.pod = _pod(_owner("ReplicaSet", "web-7f9", api="apps/v1"))
    enricher = _enricher(server.url)
    await enricher.refresh()
    facts = enricher.facts()
    assert facts["owner"] == {"kind": "ReplicaSet", "name": "web-7f9"}
    assert facts["job_name"] is None and facts["cronjob"] is None
    assert len(server.requests) == 1
    enricher.close()


async def test_forbidden_job_read_keeps_pod_facts(server: FakeApiServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """RBAC without jobs: pod facts and job_name stay, cronjob is None, one warning."""
    server.job_status = 403
    enricher = _enricher(server.url)
    with caplog.at_level(logging.DEBUG, logger="shipper.enrich.k8s_api"):
        await enricher.refresh()
        await enricher.refresh()
    facts = enricher.facts()
    assert facts["labels"] == {"app": "etl"}
    assert facts["job_name"] == "nightly-123" and facts["cronjob"] is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].read == "job" and warnings[0].status == 403
    enricher.close()


async def test_repeated_failures_warn_once_and_keep_last_good_facts(
        server: FakeApiServer, caplog: pytest.LogCaptureFixture) -> None:
    """After a good read, 500s never raise, keep the last facts and log ONE warning;
    a later success re-arms the warning. The token never appears in the logs."""
    enricher = _enricher(server.url)
    await enricher.refresh()
    good = enricher.facts()
    server.pod_status = 500
    with caplog.at_level(logging.DEBUG, logger="shipper.enrich.k8s_api"):
        for _ in range(3):
            await enricher.refresh()
        assert enricher.facts() == good
        server.pod_status = 200
        await enricher.refresh()
        server.pod_status = 503
        await enricher.refresh()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.status for w in warnings] == [500, 503]
    assert TOKEN not in caplog.text
    enricher.close()


async def test_unreachable_server_degrades_to_empty_facts(
        caplog: pytest.LogCaptureFixture) -> None:
    """Connection refused on loopback: no exception, empty facts, one warning."""
    srv = FakeApiServer()
    await srv.start()
    url = srv.url
    await srv.runner.cleanup()
    enricher = _enricher(url, timeout=1.0)
    with caplog.at_level(logging.WARNING, logger="shipper.enrich.k8s_api"):
        await enricher.refresh()
        await enricher.refresh()
    assert enricher.facts() == empty_facts()
    assert len(caplog.records) == 1
    enricher.close()


async def test_slow_server_times_out(server: FakeApiServer,
                                     caplog: pytest.LogCaptureFixture) -> None:
    """A server slower than the read timeout degrades instead of hanging: the refresh
    (deadline 2 x 0.2 s + 1 s) ends well before the server would answer (5 s)."""
    server.delay = 5.0
    enricher = _enricher(server.url, timeout=0.2)
    await asyncio.to_thread(_import_api_modules)  # timed below: the read, not imports
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING, logger="shipper.enrich.k8s_api"):
        await enricher.refresh()
    assert loop.time() - started < 4.0
    assert enricher.facts() == empty_facts()
    assert len(caplog.records) == 1
    enricher.close()


async def test_refresh_interval_uses_the_clock(server: FakeApiServer) -> None:
    """maybe_refresh reads once, then not again until refresh_interval has passed."""
    clock = FakeClock()
    enricher = _enricher(server.url, clock)
    assert enricher.due()
    assert await enricher.maybe_refresh() is True
    clock.now += 299.0
    assert await enricher.maybe_refresh() is False
    clock.now += 1.0
    assert await enricher.maybe_refresh() is True
    assert len([p for p in server.requests if "/pods/" in p]) == 2
    enricher.close()


def test_facts_are_copies() -> None:
    """Callers cannot mutate the enricher's facts through the returned dict."""
    enricher = K8sApiEnricher(NS, POD, clock=FakeClock(), api_client_factory=lambda: None)
    enricher.facts()["labels"]["x"] = "y"
    assert enricher.facts() == empty_facts()


def test_import_is_lazy() -> None:
    """Importing the module does not import the kubernetes client (idle RSS)."""
    code = ("import sys, shipper.enrich.k8s_api as m; "
            "m.K8sApiEnricher('ns', 'pod', clock=lambda: 0.0); "
            "print('kubernetes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"
