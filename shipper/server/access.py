"""Who may read ``/v1/*`` (job ids, error text, live records).

* With a token (``server.token``, or ``server.token_file`` from a mounted Secret) every
  request outside :data:`OPEN_PATHS` needs ``Authorization: Bearer <token>``, whoever
  sends it.
* Without one, those paths answer loopback clients only (``127.0.0.1``, ``::1``; what
  ``kubectl port-forward`` connects from), unless ``server.v1_open`` is true.
* ``/metrics``, ``/healthz`` and ``/readyz`` stay open to everyone.

The token file is re-read at most every :data:`TOKEN_RELOAD` seconds (in a thread), so
a rotated Secret takes effect without a restart. A token file that does not exist (yet)
leaves ``/v1/*`` loopback-only with a warning; an empty or unreadable one stops the start.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from shipper.errors import ConfigError
from shipper.server.settings import ServerSettings

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
TOKEN_RELOAD = 30.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenSource:
    """The bearer token: inline, or read from ``token_file`` and re-read when due."""

    def __init__(self, settings: ServerSettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._inline = settings.token.get_secret_value().strip() if settings.token else ""
        self._path = settings.token_file
        self._clock = clock
        self._token = self._inline
        self._due = 0.0
        self._warned = False

    async def load(self) -> None:
        """Read the token file at start: an empty or unreadable one is a config error."""
        if self._path is None:
            return
        self._due = self._clock() + TOKEN_RELOAD
        token = await asyncio.to_thread(_read_token, self._path)
        if token is None:
            self._warn_missing()
        self._token = token or ""

    async def current(self) -> str:
        """The token now ("" when none is configured or its file does not exist)."""
        if self._path is not None and self._clock() >= self._due:
            self._due = self._clock() + TOKEN_RELOAD
            self._token = await asyncio.to_thread(self._reread, self._path)
        return self._token

    def _reread(self, path: Path) -> str:
        try:
            token = _read_token(path)
        except ConfigError as exc:
            log.warning("cannot re-read the token file; keeping the last token",
                        extra={"reason": str(exc)})
            return self._token
        if token is None:
            if not self._token:
                self._warn_missing()
            return self._token
        self._warned = False
        return token

    def _warn_missing(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning("server.token_file does not exist (yet): /v1/* answers loopback "
                        "clients only until it appears", extra={"token_file": str(self._path)})


def _read_token(path: Path) -> str | None:
    """The token in ``path``; ``None`` when the file does not exist."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"cannot read token file: {reason}", key="server.token_file") from None
    if not token:
        raise ConfigError("the token file is empty", key="server.token_file")
    return token


def is_loopback(request: web.Request) -> bool:
    """Whether the connection comes from this host (IPv4, IPv6 or IPv4-mapped)."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not isinstance(peer, tuple) or not peer:
        return False
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def bearer_matches(request: web.Request, token: str) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                              token.encode())


def guard(source: TokenSource, v1_open: bool) -> Middleware:
    """The middleware applying the rules of this module."""

    @web.middleware
    async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        token = await source.current()
        if token:
            if not bearer_matches(request, token):
                return _deny(401, "unauthorized: send Authorization: Bearer <server token>",
                             {"WWW-Authenticate": 'Bearer realm="shipper"'})
        elif not v1_open and not is_loopback(request):
            return _deny(403, "forbidden: without server.token_file this endpoint answers "
                              "loopback clients only (kubectl port-forward)", None)
        return await handler(request)

    return _guard


def _deny(status: int, error: str, headers: dict[str, str] | None) -> web.Response:
    return web.Response(body=orjson.dumps({"error": error}), status=status, headers=headers,
                        content_type="application/json")
