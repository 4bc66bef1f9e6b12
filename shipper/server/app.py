"""The HTTP server: metrics, probes, live tail and job summaries on one aiohttp port.
In a running shipper, :mod:`shipper.server.light` answers the probes and scrapes and
loads this app only for the rest.

=========================  ======================================================
``GET /metrics``           Prometheus text (OpenMetrics when ``Accept`` asks)
``GET /healthz``           200 while progressing, 503 when stalled past the threshold
``GET /readyz``            200 once ready, 503 before and while draining
``GET /v1/tail``           SSE stream of records (``job_id``, ``level``, ``correlation_id``,
                           ``logger``, ``replay`` query parameters)
``GET /v1/jobs``           job summaries, most recently updated first, in pages
                           (``limit``, ``page_token``; the body's ``next`` is the next page)
``GET /v1/jobs/{job_id}``  one job summary
``POST /-/reload``         reload the configuration (:mod:`shipper.reload`); 200 with
                           what changed, 500 with the error when refused (the running
                           configuration stays). Token, else loopback clients only
                           (``server.v1_open`` does not open it)
=========================  ======================================================

Who may read ``/v1/*`` is decided in :mod:`shipper.server.access` (bearer token, else
loopback clients only); connections are capped and timed out by
:mod:`shipper.server.connections`. The server only observes: it never blocks the
pipeline (metrics are rendered in a thread, tail clients have bounded queues, every
response is bounded in bytes).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import web

from shipper.errors import ConfigError
from shipper.jobs import JobTracker
from shipper.metrics_text import choose
from shipper.server.access import guard, is_loopback
from shipper.server.connections import ConnectionGate, RefusalLog, descriptor_budget
from shipper.server.health import Progress, healthz_answer, readyz_answer
from shipper.server.settings import ServerSettings, parse_listen
from shipper.server.tail import HEARTBEAT, TailBusyError, TailHub
from shipper.server.tail_records import TailFilter
from shipper.server.tokens import TokenSource

log = logging.getLogger(__name__)

METRICS = web.AppKey("metrics", object)
PROGRESS = web.AppKey("progress", Progress)
TAIL = web.AppKey("tail", TailHub)
JOBS = web.AppKey("jobs", JobTracker)
SETTINGS = web.AppKey("settings", ServerSettings)
TOKEN = web.AppKey("token", TokenSource)
RELOAD = web.AppKey("reload", object)


def build_app(*, metrics: Any, progress: Progress, tail: TailHub, jobs: JobTracker,
              settings: ServerSettings, reload: Any = None,
              token: TokenSource | None = None) -> web.Application:
    """The aiohttp application; the token file (if any) is read when it starts, unless
    ``token`` is given (already loaded, as :mod:`shipper.server.light` does).
    ``reload(source)`` returns an outcome with ``ok`` and ``as_dict()``."""
    source = token or TokenSource(settings)
    app = web.Application(middlewares=[guard(source, settings.v1_open)])
    app[METRICS], app[PROGRESS], app[TAIL], app[JOBS] = metrics, progress, tail, jobs
    app[SETTINGS], app[TOKEN] = settings, source
    if token is None:
        app.on_startup.append(_load_token)
    app.on_shutdown.append(_end_tails)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/v1/tail", _tail)
    app.router.add_get("/v1/jobs", _jobs)
    app.router.add_get("/v1/jobs/{job_id}", _job)
    if reload is not None:
        app[RELOAD] = reload
        app.router.add_post("/-/reload", _reload)
    return app


async def _reload(request: web.Request) -> web.Response:
    """``POST /-/reload``: the guard checked the token; without one, loopback only."""
    if not await request.app[TOKEN].current() and not is_loopback(request):
        return web.json_response({"error": "forbidden: without server.token_file only "
                                           "loopback clients may reload"}, status=403)
    reload: Any = request.app[RELOAD]
    outcome = await reload("POST /-/reload")
    return web.Response(body=orjson.dumps(outcome.as_dict()), status=200 if outcome.ok else 500,
                        content_type="application/json")


async def start_server(app: web.Application, listen: str) -> web.AppRunner:
    """Serve ``app`` on ``"HOST:PORT"`` (port 0 = any free port, see :func:`bound_port`)."""
    address = parse_listen(listen)
    if address is None:
        raise ConfigError("the server is disabled ('off'); do not start it", key="server.listen")
    runner = await prepared_runner(app)
    site = GatedSite(runner, address, _gate(app, runner))
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {listen}: {exc.strerror}",
                          key="server.listen") from None
    log.info("server listening", extra={"listen": listen, "port": bound_port(runner)})
    return runner


async def prepared_runner(app: web.Application) -> web.AppRunner:
    """The app's runner, set up (its start-up hooks run) but serving nothing yet: its
    ``server`` is the connection factory (:mod:`shipper.server.light` hands connections
    to it)."""
    settings = app[SETTINGS]
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0,
                           keepalive_timeout=settings.header_timeout)
    try:
        await runner.setup()
    except ConfigError:
        await runner.cleanup()
        raise
    return runner


def _gate(app: web.Application, runner: web.AppRunner) -> ConnectionGate:
    settings = app[SETTINGS]
    metrics: Any = app[METRICS]
    assert runner.server is not None
    refusals = RefusalLog(metrics.server_connections_refused_total,
                          asyncio.get_running_loop().time)
    return ConnectionGate(runner.server, limit=descriptor_budget(settings.max_connections),
                          per_client=settings.max_connections_per_client,
                          header_timeout=settings.header_timeout, refusals=refusals)


class GatedSite(web.BaseSite):
    """A TCP site whose connections pass a :class:`ConnectionGate` first. Its accept
    backlog is the connection cap too (asyncio accepts up to a backlog at once before
    the gate can close the surplus), so the server never holds more than twice the cap
    in descriptors, half the descriptor limit at most."""

    def __init__(self, runner: web.AppRunner, address: tuple[str, int],
                 gate: ConnectionGate) -> None:
        super().__init__(runner, backlog=max(8, gate.limit))
        self._address = address
        self._gate = gate

    @property
    def name(self) -> str:
        return f"http://{self._address[0]}:{self._address[1]}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._gate, self._address[0], self._address[1], backlog=self._backlog,
            reuse_address=True)

    async def stop(self) -> None:
        self._gate.closing = True
        await super().stop()


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port the runner actually listens on."""
    return int(runner.addresses[0][1])


async def _load_token(app: web.Application) -> None:
    await app[TOKEN].load()


async def _end_tails(app: web.Application) -> None:
    app[TAIL].close()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers,
                        content_type="application/json")


async def _metrics(request: web.Request) -> web.Response:
    encoder, content_type = choose(request.headers.get("Accept", ""))
    metrics: Any = request.app[METRICS]
    body = await asyncio.to_thread(encoder, metrics.registry)
    response = web.Response(body=body, headers={"Content-Type": content_type})
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.enable_compression()
    return response


async def _healthz(request: web.Request) -> web.Response:
    status, body = healthz_answer(request.app[PROGRESS])
    return _json(body, status)


async def _readyz(request: web.Request) -> web.Response:
    status, body = readyz_answer(request.app[PROGRESS])
    return _json(body, status)


async def _jobs(request: web.Request) -> web.Response:
    """One page of job summaries; ``next`` links the following page (``null`` at the end)."""
    settings = request.app[SETTINGS]
    limit = min(_int_param(request, "limit", settings.jobs_page_size) or 1, settings.jobs_page_max)
    before = _int_param(request, "page_token", None)
    parts, cursor = request.app[JOBS].page(limit, settings.jobs_page_max_bytes, before)
    following = None if cursor is None else f"/v1/jobs?limit={limit}&page_token={cursor}"
    body = b'{"jobs":[' + b",".join(parts) + b'],"next":' + orjson.dumps(following) + b"}"
    return web.Response(body=body, content_type="application/json")


async def _job(request: web.Request) -> web.Response:
    summary = request.app[JOBS].get(request.match_info["job_id"])
    if summary is None:
        return _json({"error": "unknown job"}, 404)
    return _json(summary)


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or len(text) > 18:
        raise web.HTTPBadRequest(text=f"{name} must be a non-negative integer")
    return int(text)


async def _tail(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    try:
        tail_filter = TailFilter.from_query(request.query)
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    replay = min(_int_param(request, "replay", settings.tail_replay) or 0, settings.tail_ring_size)
    hub = request.app[TAIL]
    try:
        client, ring = hub.attach(tail_filter)
    except TailBusyError as exc:
        return _json({"error": str(exc)}, 503, headers={"Retry-After": "5"})
    try:
        backlog = await asyncio.to_thread(hub.replay, ring, tail_filter, replay)
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
        backlog.reverse()  # popped as written, so a long replay is freed as it goes
        while backlog:
            await response.write(b"data: " + backlog.pop() + b"\n\n")
        while (data := await client.next(heartbeat)) is not None:
            frame = b": keepalive\n\n" if data == HEARTBEAT else b"data: " + data + b"\n\n"
            await response.write(frame)
        await response.write(f"event: end\ndata: {client.closed_reason}\n\n".encode())
    except ConnectionError:
        log.debug("tail client went away")
    return response


def _abort(request: web.Request) -> None:
    """Drop a slow client's connection so a write blocked on it returns at once."""
    if request.transport is not None:
        request.transport.abort()
