"""An aiohttp server on 127.0.0.1 with a scripted list of responses and a request log."""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass, field
from typing import Any

import zstandard
from aiohttp import web


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0


class Rejected(Exception):
    """The receiver refuses the request the way the backend would (status + message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Script:
    """Responses to return before the normal handling: ``(status, headers)`` per request."""

    responses: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def next(self) -> tuple[int, dict[str, str]] | None:
        return self.responses.pop(0) if self.responses else None


def decode_body(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding:
        raise Rejected(415, f"unsupported Content-Encoding {encoding}")
    return body


class HttpReceiver:
    """Base: subclasses implement ``handle(request, body) -> (status, text)``."""

    path = "/"

    def __init__(self, *, delay: float = 0.0) -> None:
        self.script = Script()
        self.seen: list[Seen] = []
        self.delay = delay
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "HttpReceiver":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False)  # see the wire bytes
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "HttpReceiver":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        seen = Seen(request.path, dict(request.headers), body)
        self.seen.append(seen)
        if self.delay:
            await asyncio.sleep(self.delay)
        scripted = self.script.next()
        if scripted is not None:
            seen.status = scripted[0]
            return web.Response(status=scripted[0], headers=scripted[1], text="scripted")
        try:
            status, text = self.handle(request, body)
        except Rejected as exc:
            status, text = exc.status, str(exc)
        seen.status = status
        return web.Response(status=status, text=text)

    def handle(self, request: web.Request, body: bytes) -> tuple[int, str]:
        raise NotImplementedError
