"""Who may read ``/v1/*`` (job ids, error text, live records).

* With a token (``server.token``, or ``server.token_file`` from a mounted Secret) every
  request outside :data:`OPEN_PATHS` needs ``Authorization: Bearer <token>``, whoever
  sends it.
* Without one, those paths answer loopback clients only (``127.0.0.1``, ``::1``; what
  ``kubectl port-forward`` connects from), unless ``server.v1_open`` is true.
* ``/metrics``, ``/healthz`` and ``/readyz`` stay open to everyone.

The token itself (inline or from a file re-read when due) is :mod:`shipper.server.tokens`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from shipper.server.tokens import OPEN_PATHS, TokenSource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
