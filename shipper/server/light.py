"""The HTTP server without aiohttp until something needs it.

A sidecar's server mostly answers the kubelet's probes and Prometheus scrapes;
aiohttp's server costs ~10 MiB of resident memory for that. :class:`LightServer` listens
on ``server.listen`` through the same :class:`~shipper.server.connections.ConnectionGate`
(connection caps, header timeout, refusal counting) and answers ``GET``/``HEAD`` of
``/metrics``, ``/healthz`` and ``/readyz`` itself, byte for byte as the aiohttp app does
(:mod:`shipper.server.http1`). The first request it does not answer (``/v1/*``,
``POST /-/reload``, an unknown path, anything malformed or oversized) loads the aiohttp
app (:func:`shipper.server.app.build_app`, imported in a thread) and hands it the
connection with the bytes read so far; from then on aiohttp serves that connection, and
later ones get the same treatment without the wait.

Each connection holds at most :data:`~shipper.server.http1.MAX_HEAD` bytes of an
incomplete head and :data:`PIPELINE_MAX` bytes of pipelined requests (reading pauses
beyond), answers requests one at a time in order, and is closed when no complete request
head arrived ``server.header_timeout`` after it opened or after its last answer. A client
that half-closes gets the answers to the requests it sent, then the connection closes.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from shipper.errors import ConfigError
from shipper.server.connections import ConnectionGate, RefusalLog, descriptor_budget
from shipper.server.health import Progress, healthz_answer, readyz_answer
from shipper.server.http1 import (
    HEAD_END,
    MAX_HEAD,
    Head,
    content_coding,
    may_be_light,
    parse_head,
    response,
)
from shipper.server.settings import ServerSettings, parse_listen
from shipper.server.tokens import TokenSource

log = logging.getLogger("shipper.server.app")

#: pipelined request bytes a connection buffers before it stops reading
PIPELINE_MAX = 64 * 1024
_JSON = "application/json"
#: builds the aiohttp app (given the loaded token) and returns its connection factory
FullFactory = Callable[[], Awaitable[Callable[[], asyncio.Protocol]]]


def render_metrics(registry: Any, accept: str,
                   accept_encoding: str) -> tuple[bytes, str, str | None]:
    """Body, content type and coding of ``/metrics`` (blocking: run it in a thread)."""
    from shipper.metrics_text import choose  # the first scrape imports it

    encoder, content_type = choose(accept)
    body: bytes = encoder(registry)
    coding = content_coding(accept_encoding) if "gzip" in accept_encoding else None
    if coding is not None:
        packer = zlib.compressobj(wbits=31 if coding == "gzip" else zlib.MAX_WBITS)
        body = packer.compress(body) + packer.flush()
    return body, content_type, coding


class LightServer:
    """The server: light answers, aiohttp on demand (see the module doc)."""

    def __init__(self, *, metrics: Any, progress: Progress, settings: ServerSettings,
                 token: TokenSource, full: Callable[[TokenSource], Awaitable[Any]]) -> None:
        """``full(token)`` builds and sets up the aiohttp ``AppRunner`` (not started)."""
        self.metrics, self.progress, self.settings = metrics, progress, settings
        self.token = token
        self._full = full
        self._runner: Any = None
        self._loading: asyncio.Task[Any] | None = None
        self._server: asyncio.Server | None = None
        self._gate: ConnectionGate | None = None
        self.connections: set[LightProtocol] = set()
        self.port = 0

    async def start(self, listen: str) -> None:
        """Load the token (an empty or unreadable file stops the start) and listen."""
        address = parse_listen(listen)
        if address is None:
            raise ConfigError("the server is disabled ('off'); do not start it",
                              key="server.listen")
        await self.token.load()
        loop = asyncio.get_running_loop()
        refusals = RefusalLog(self.metrics.server_connections_refused_total, loop.time)
        self._gate = ConnectionGate(lambda: LightProtocol(self),
                                    limit=descriptor_budget(self.settings.max_connections),
                                    per_client=self.settings.max_connections_per_client,
                                    header_timeout=self.settings.header_timeout,
                                    refusals=refusals)
        try:
            self._server = await loop.create_server(
                self._gate, address[0], address[1], backlog=max(8, self._gate.limit),
                reuse_address=True)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {listen}: {exc.strerror}",
                              key="server.listen") from None
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("server listening", extra={"listen": listen, "port": self.port})

    async def full_factory(self) -> Callable[[], asyncio.Protocol]:
        """aiohttp's connection factory, the app built on first use (once)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._full(self.token))
        self._runner = await asyncio.shield(self._loading)
        factory: Callable[[], asyncio.Protocol] = self._runner.server
        return factory

    @property
    def aiohttp_loaded(self) -> bool:
        return self._runner is not None

    async def answer(self, head: Head) -> bytes:
        """The response to a request answered here."""
        if head.path == "/metrics":
            body, content_type, coding = await asyncio.to_thread(
                render_metrics, self.metrics.registry, head.accept, head.accept_encoding)
            return response(head, 200, content_type, body, coding)
        answer = healthz_answer if head.path == "/healthz" else readyz_answer
        status, fields = answer(self.progress)
        return response(head, status, _JSON, orjson.dumps(fields))

    async def cleanup(self) -> None:
        """Stop listening, close the connections answered here, then aiohttp's (if loaded)."""
        if self._gate is not None:
            self._gate.closing = True
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        if self._loading is not None:
            try:
                await self._loading
            except Exception as exc:  # reported where it failed; nothing more to stop
                log.debug("the aiohttp app never started", extra={"error": repr(exc)})
        if self._runner is not None:
            await self._runner.cleanup()


class LightProtocol(asyncio.Protocol):
    """One connection (see the module doc)."""

    def __init__(self, server: LightServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._inner: asyncio.Protocol | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._eof = self._handing = self._paused = False

    # -- asyncio callbacks ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections.add(self)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)
            return
        self._buffer += data
        if len(self._buffer) > PIPELINE_MAX and not self._paused:
            self._paused = True
            self._transport_now().pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        if self._inner is not None:
            return self._inner.eof_received()
        self._eof = True
        self._wake()
        return True  # answer what was sent, then close

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()
        self._writable.clear()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._disarm()
        self._writable.set()
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def close(self) -> None:
        """Close the connection (server shutdown); a handed-off one is aiohttp's."""
        if self._inner is None and self._transport is not None:
            self._transport.close()

    # -- serving --------------------------------------------------------------------------
    def _transport_now(self) -> asyncio.Transport:
        assert self._transport is not None
        return self._transport

    def _wake(self) -> None:
        if not self._handing and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._serve())

    async def _serve(self) -> None:
        """Answer the complete requests buffered, in order; hand off the first that is
        not answered here."""
        transport = self._transport_now()
        while not transport.is_closing() and not self._handing:
            end = self._buffer.find(HEAD_END)
            if end < 0:
                if len(self._buffer) > MAX_HEAD or not may_be_light(self._buffer):
                    self._hand_off()
                elif self._eof:
                    transport.close()
                return
            head = parse_head(bytes(self._buffer[:end])) if end <= MAX_HEAD else None
            if head is None:
                self._hand_off()
                return
            del self._buffer[:end + len(HEAD_END)]
            await self._respond(transport, head)

    async def _respond(self, transport: asyncio.Transport, head: Head) -> None:
        self._disarm()
        if self._paused and len(self._buffer) <= PIPELINE_MAX:
            self._paused = False
            transport.resume_reading()
        try:
            data = await self._server.answer(head)
        except Exception as exc:  # a collector failing: this connection ends, nothing else
            log.error("cannot answer a probe or scrape; closing the connection",
                      extra={"path": head.path, "error": repr(exc)})
            transport.abort()
            return
        await self._writable.wait()
        if transport.is_closing():
            return
        transport.write(data)
        if not head.keep_alive:
            transport.close()
        else:
            self._arm()

    def _hand_off(self) -> None:
        """Give the connection (and what it sent so far) to aiohttp."""
        self._handing = True
        self._disarm()
        self._transport_now().pause_reading()
        loading = asyncio.ensure_future(self._server.full_factory())
        loading.add_done_callback(self._handed)

    def _handed(self, loading: asyncio.Future[Callable[[], asyncio.Protocol]]) -> None:
        transport = self._transport_now()
        if loading.cancelled() or transport.is_closing():
            transport.close()
            return
        error = loading.exception()
        if error is not None:
            log.error("cannot start the HTTP app for /v1/*", extra={"error": repr(error)})
            transport.abort()
            return
        inner = self._inner = loading.result()()
        inner.connection_made(transport)
        data, self._buffer = bytes(self._buffer), bytearray()
        if data:
            inner.data_received(data)
        if not self._writable.is_set():
            inner.pause_writing()
        if not self._eof:  # after an end of input aiohttp answers, then its timeout closes
            transport.resume_reading()

    # -- the header timeout ---------------------------------------------------------------
    def _arm(self) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(
            self._server.settings.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self._inner is None and not self._handing and self._transport is not None:
            self._transport.close()
