"""The HTTP app over a real socket: metrics, probes, jobs, bearer token, start_server."""

from __future__ import annotations

import functools

import aiohttp
import orjson
import pytest

from shipper.errors import ConfigError
from shipper.jobs import JobTracker
from shipper.server import Progress, ServerSettings, TailHub
from shipper.server.app import bound_port, build_app, start_server

from .helpers import layer_records, record


@pytest.fixture
def parts(metrics, clock):
    return {
        "metrics": metrics,
        "progress": Progress(clock, stall_after=30),
        "tail": TailHub(ring_size=50, max_clients=2, client_queue=10),
        "jobs": JobTracker(metrics, clock, max_jobs=10),
    }


async def serve(parts, **settings):
    app = build_app(settings=ServerSettings(listen="127.0.0.1:0", **settings), **parts)
    runner = await start_server(app, "127.0.0.1:0")
    return runner, f"http://127.0.0.1:{bound_port(runner)}"


@pytest.fixture
async def server(parts):
    runner, base = await serve(parts)
    async with aiohttp.ClientSession(base) as session:
        yield session
    await runner.cleanup()


async def test_metrics_serves_prometheus_text(server, parts):
    parts["metrics"].records_forwarded_total.labels(sink="stdout").inc(7)
    async with server.get("/metrics") as resp:
        body = await resp.text()
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert 'shipper_records_forwarded_total{sink="stdout"} 7.0' in body


async def test_metrics_serves_openmetrics_when_accept_asks(server):
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with server.get("/metrics", headers=headers) as resp:
        body = await resp.text()
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.rstrip().endswith("# EOF")


async def test_healthz_goes_503_when_stalled_with_records_waiting(server, parts, clock):
    """A wedged sink: records wait, nothing is delivered past the threshold -> 503."""
    parts["progress"].set_waiting(12)
    async with server.get("/healthz") as resp:
        assert resp.status == 200
    clock.advance(30)
    async with server.get("/healthz") as resp:
        body = await resp.json()
    assert resp.status == 503
    assert body["status"] == "stalled"
    parts["progress"].note_delivered(12)
    async with server.get("/healthz") as resp:
        assert resp.status == 200


async def test_readyz_follows_readiness(server, parts):
    async with server.get("/readyz") as resp:
        assert resp.status == 503
    parts["progress"].set_ready(True)
    async with server.get("/readyz") as resp:
        assert resp.status == 200
    parts["progress"].set_ready(False)
    async with server.get("/readyz") as resp:
        assert resp.status == 503


async def test_jobs_list_and_one_job(server, parts):
    parts["jobs"].observe(layer_records())
    async with server.get("/v1/jobs", params={"limit": "2"}) as resp:
        listing = await resp.json()
    assert [j["job_id"] for j in listing["jobs"]] == [
        "deda0c5eafa25dd70a460037", "7b734382d926eacb0e25289d"]
    async with server.get("/v1/jobs/2957f455679c9ffe56da3328") as resp:
        job = await resp.json()
    assert job["status"] == "error"
    async with server.get("/v1/jobs/nope") as resp:
        assert resp.status == 404
    async with server.get("/v1/jobs", params={"limit": "-1"}) as resp:
        assert resp.status == 400
    async with server.get("/v1/jobs", params={"page_token": "x"}) as resp:
        assert resp.status == 400


async def test_jobs_pages_follow_next_links_until_the_end(parts, clock):
    """Following ``next`` visits every job once, most recently updated first; ``limit``
    is capped at jobs_page_max and the body at jobs_page_max_bytes."""
    parts["jobs"] = JobTracker(parts["metrics"], clock, max_jobs=100)
    for n in range(23):
        parts["jobs"].observe([record("x", job_id=f"j{n:02d}")])
    runner, base = await serve(parts, jobs_page_size=5, jobs_page_max=10)
    seen, path, sizes = [], "/v1/jobs?limit=50", []
    try:
        async with aiohttp.ClientSession(base) as session:
            while path:
                async with session.get(path) as resp:
                    body = await resp.json()
                sizes.append(len(body["jobs"]))
                seen += [job["job_id"] for job in body["jobs"]]
                path = body["next"]
            async with session.get("/v1/jobs") as resp:
                assert len((await resp.json())["jobs"]) == 5
    finally:
        await runner.cleanup()
    assert sizes == [10, 10, 3]
    assert seen == [f"j{n:02d}" for n in range(22, -1, -1)]


async def test_jobs_body_is_capped_in_bytes(parts, clock):
    parts["jobs"] = JobTracker(parts["metrics"], clock, max_jobs=100)
    for n in range(40):
        parts["jobs"].observe([record("e" * 900, job_id=f"j{n}", level="error")])
    runner, base = await serve(parts, jobs_page_max_bytes=16 * 1024)
    try:
        async with aiohttp.ClientSession(base) as session, session.get("/v1/jobs") as resp:
            raw = await resp.read()
    finally:
        await runner.cleanup()
    body = orjson.loads(raw)
    assert len(raw) <= 16 * 1024 + 100 and 1 < len(body["jobs"]) < 40
    assert body["next"].startswith("/v1/jobs?limit=100&page_token=")


async def test_token_guards_v1_but_not_metrics_or_probes(parts):
    runner, base = await serve(parts, token="t0ken")
    try:
        async with aiohttp.ClientSession(base) as session:
            for path in ("/v1/jobs", "/v1/tail"):
                async with session.get(path) as resp:
                    assert resp.status == 401
                    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            async with session.get("/v1/jobs", headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
            async with session.get("/v1/jobs", headers={"Authorization": "Bearer t0ken"}) as resp:
                assert resp.status == 200
            for path in ("/metrics", "/healthz"):
                async with session.get(path) as resp:
                    assert resp.status == 200
    finally:
        await runner.cleanup()


async def test_token_file_is_read_at_start(parts, tmp_path):
    (tmp_path / "token").write_text("from-secret\n")
    runner, base = await serve(parts, token_file=tmp_path / "token")
    try:
        async with aiohttp.ClientSession(base) as session:
            async with session.get("/v1/jobs", headers={"Authorization": "Bearer from-secret"}) as resp:
                assert resp.status == 200
            async with session.get("/v1/jobs") as resp:
                assert resp.status == 401
    finally:
        await runner.cleanup()


async def test_empty_token_file_fails_start_with_config_error(parts, tmp_path):
    (tmp_path / "token").write_text("  \n")
    app = build_app(settings=ServerSettings(token_file=tmp_path / "token"), **parts)
    with pytest.raises(ConfigError, match="token_file"):
        await start_server(app, "127.0.0.1:0")


async def test_missing_token_file_leaves_v1_to_loopback_clients(parts, tmp_path, caplog):
    """A Secret not created yet (optional volume): the server starts, /v1/* answers
    loopback clients only, and one warning says why."""
    runner, base = await serve(parts, token_file=tmp_path / "absent")
    try:
        async with aiohttp.ClientSession(base) as session, session.get("/v1/jobs") as resp:
            assert resp.status == 200
    finally:
        await runner.cleanup()
    assert [r.message for r in caplog.records if "token_file" in r.message] == [
        "server.token_file does not exist (yet): /v1/* answers loopback clients only until it appears"]


async def test_start_server_refuses_off_and_busy_ports(parts):
    with pytest.raises(ConfigError):
        await start_server(build_app(settings=ServerSettings(), **parts), "off")
    runner, _ = await serve(parts)
    try:
        taken = f"127.0.0.1:{bound_port(runner)}"
        with pytest.raises(ConfigError, match="cannot listen"):
            await start_server(build_app(settings=ServerSettings(), **parts), taken)
    finally:
        await runner.cleanup()


async def through_app(app, path: str, peer: str, headers: dict | None = None):
    """Run a request from ``peer`` through the app's middlewares and route (the peer
    address a test socket cannot have: only loopback traffic is allowed here)."""
    from unittest import mock

    from aiohttp.test_utils import make_mocked_request

    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default)
    request = make_mocked_request("GET", path, headers=headers or {}, app=app,
                                  transport=transport)
    handler = (await app.router.resolve(request)).handler
    for middleware in reversed(app.middlewares):
        handler = functools.partial(middleware, handler=handler)
    return await handler(request)


async def test_default_app_serves_v1_to_loopback_only_and_metrics_to_all(parts):
    """Issue 12 item 7: with the default settings (listen 0.0.0.0, no token) a pod-network
    client gets 403 from /v1/jobs and /v1/tail, and 200 from /metrics and /healthz."""
    parts["jobs"].observe(layer_records())
    app = build_app(settings=ServerSettings(), **parts)
    for path in ("/v1/jobs", "/v1/tail", "/v1/jobs/2957f455679c9ffe56da3328"):
        assert (await through_app(app, path, "10.244.3.17")).status == 403
    assert (await through_app(app, "/v1/jobs", "127.0.0.1")).status == 200
    for path in ("/metrics", "/healthz"):
        assert (await through_app(app, path, "10.244.3.17")).status == 200
    opened = build_app(settings=ServerSettings(v1_open=True), **parts)
    assert (await through_app(opened, "/v1/jobs", "10.244.3.17")).status == 200
