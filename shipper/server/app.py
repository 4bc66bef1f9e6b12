"""The HTTP server: metrics, probes, live tail and job summaries on one aiohttp port.

=========================  ======================================================
``GET /metrics``           Prometheus text (OpenMetrics when ``Accept`` asks)
``GET /healthz``           200 while progressing, 503 when stalled past the threshold
``GET /readyz``            200 once ready, 503 before and while draining
``GET /v1/tail``           SSE stream of records (``job_id``, ``level``, ``correlation_id``,
                           ``logger``, ``replay`` query parameters)
``GET /v1/jobs``           job summaries, most recently updated first (``limit``)
``GET /v1/jobs/{job_id}``  one job summary
=========================  ======================================================

When a bearer token is configured, ``/v1/*`` requires ``Authorization: Bearer <token>``;
``/metrics`` and the probes stay open. The server only observes: it never blocks the
pipeline (metrics are rendered in a thread, tail clients have bounded queues).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

import orjson
from aiohttp import web
from prometheus_client.exposition import choose_encoder

from shipper.errors import ConfigError
from shipper.server.health import Progress
from shipper.server.jobs import JobTracker
from shipper.server.settings import ServerSettings, parse_listen
from shipper.server.tail import HEARTBEAT, TailBusyError, TailFilter, TailHub

log = logging.getLogger(__name__)

METRICS = web.AppKey("metrics", object)
PROGRESS = web.AppKey("progress", Progress)
TAIL = web.AppKey("tail", TailHub)
JOBS = web.AppKey("jobs", JobTracker)
SETTINGS = web.AppKey("settings", ServerSettings)
TOKEN = web.AppKey("token", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(*, metrics: Any, progress: Progress, tail: TailHub, jobs: JobTracker,
              settings: ServerSettings) -> web.Application:
    """The aiohttp application; the token file (if any) is read when it starts."""
    app = web.Application(middlewares=[_bearer_auth])
    app[METRICS], app[PROGRESS], app[TAIL], app[JOBS] = metrics, progress, tail, jobs
    app[SETTINGS] = settings
    app[TOKEN] = settings.token.get_secret_value().strip() if settings.token else ""
    app.on_startup.append(_load_token)
    app.on_shutdown.append(_end_tails)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/v1/tail", _tail)
    app.router.add_get("/v1/jobs", _jobs)
    app.router.add_get("/v1/jobs/{job_id}", _job)
    return app


async def start_server(app: web.Application, listen: str) -> web.AppRunner:
    """Serve ``app`` on ``"HOST:PORT"`` (port 0 = any free port, see :func:`bound_port`)."""
    address = parse_listen(listen)
    if address is None:
        raise ConfigError("the server is disabled ('off'); do not start it", key="server.listen")
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
    try:
        await runner.setup()
    except ConfigError:
        await runner.cleanup()
        raise
    site = web.TCPSite(runner, address[0], address[1], reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {listen}: {exc.strerror}", key="server.listen") from None
    log.info("server listening", extra={"listen": listen, "port": bound_port(runner)})
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port the runner actually listens on."""
    return int(runner.addresses[0][1])


async def _load_token(app: web.Application) -> None:
    path = app[SETTINGS].token_file
    if path is not None:
        app[TOKEN] = await asyncio.to_thread(_read_token, path)


def _read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read token file: {exc.strerror}", key="server.token_file") from None
    if not token:
        raise ConfigError("the token file is empty", key="server.token_file")
    return token


async def _end_tails(app: web.Application) -> None:
    app[TAIL].close()


@web.middleware
async def _bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.app[TOKEN]
    if token and request.path.startswith("/v1/"):
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode())
        if not ok:
            return _json({"error": "unauthorized"}, 401,
                         headers={"WWW-Authenticate": 'Bearer realm="shipper"'})
    return await handler(request)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers,
                        content_type="application/json")


async def _metrics(request: web.Request) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = await asyncio.to_thread(encoder, request.app[METRICS].registry)
    response = web.Response(body=body, headers={"Content-Type": content_type})
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.enable_compression()
    return response


async def _healthz(request: web.Request) -> web.Response:
    ok, reason = request.app[PROGRESS].healthy()
    return _json({"status": "ok" if ok else "stalled", "reason": reason}, 200 if ok else 503)


async def _readyz(request: web.Request) -> web.Response:
    ready = request.app[PROGRESS].ready
    return _json({"status": "ready" if ready else "not ready"}, 200 if ready else 503)


async def _jobs(request: web.Request) -> web.Response:
    limit = _int_param(request, "limit", None)
    return _json({"jobs": request.app[JOBS].summaries(limit)})


async def _job(request: web.Request) -> web.Response:
    summary = request.app[JOBS].get(request.match_info["job_id"])
    if summary is None:
        return _json({"error": "unknown job"}, 404)
    return _json(summary)


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit():
        raise web.HTTPBadRequest(text=f"{name} must be a non-negative integer")
    return int(text)


async def _tail(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    try:
        tail_filter = TailFilter.from_query(request.query)
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    replay = min(_int_param(request, "replay", settings.tail_replay) or 0, settings.tail_ring_size)
    try:
        client, backlog = request.app[TAIL].subscribe(tail_filter, replay)
    except TailBusyError as exc:
        return _json({"error": str(exc)}, 503, headers={"Retry-After": "5"})
    try:
        return await _stream(request, client, backlog, settings.tail_heartbeat)
    finally:
        request.app[TAIL].unsubscribe(client)


async def _stream(request: web.Request, client: Any, backlog: list[bytes],
                  heartbeat: float) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no"})
    await response.prepare(request)
    client.on_kick = lambda: _abort(request)
    try:
        for data in backlog:
            await response.write(b"data: " + data + b"\n\n")
        while (data := await client.next(heartbeat)) is not None:
            await response.write(b": keepalive\n\n" if data == HEARTBEAT else b"data: " + data + b"\n\n")
        await response.write(f"event: end\ndata: {client.closed_reason}\n\n".encode())
    except ConnectionError:
        log.debug("tail client went away")
    return response


def _abort(request: web.Request) -> None:
    """Drop a slow client's connection so a write blocked on it returns at once."""
    if request.transport is not None:
        request.transport.abort()
