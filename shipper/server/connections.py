"""Connection limits of the HTTP server: a cap on open connections (overall and per client
address), counted header timeouts, and a descriptor budget that leaves the tailer room.

aiohttp has no connection cap, and its ``keepalive_timeout`` (default one hour) is also
the only limit on a connection that never sends a complete request: since 3.10 its timer
runs from the moment a connection opens and closes it if no full request head arrived.
The server sets that timer to ``server.header_timeout`` (so idle keep-alive connections
close after it too) and serves through :class:`ConnectionGate`, a protocol factory that

* closes a connection at once, with a short ``503``, when ``max_connections`` are open or
  its address already holds ``max_connections_per_client`` (reason ``limit``);
* counts the connections aiohttp closed before they sent a complete request head within
  the timeout (reason ``header-timeout``), telling them apart from idle keep-alives by
  watching for the blank line that ends a request head;
* logs refusals at most once per :data:`LOG_EVERY` seconds, with counts, never a traceback.

:func:`descriptor_budget` raises the soft ``RLIMIT_NOFILE`` towards the hard limit and
caps connections to a quarter of the descriptors, so a flood of connections can never
take the descriptors the tailer needs to open log files.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

LIMIT, HEADER_TIMEOUT = "limit", "header-timeout"
#: seconds between two warnings about refused connections
LOG_EVERY = 60.0
#: the most the soft descriptor limit is raised to
NOFILE_CEILING = 1 << 20
#: share of the descriptor limit the server may hold in connections
CONNECTION_SHARE = 4
_REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 25\r\nRetry-After: 5\r\n\r\n"
            b"too many open connections")
_HEAD_END = b"\r\n\r\n"

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


def descriptor_budget(wanted: int) -> int:
    """Raise the soft descriptor limit to the hard one (at most :data:`NOFILE_CEILING`)
    and return ``wanted`` capped to a quarter of the resulting limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = NOFILE_CEILING if hard == resource.RLIM_INFINITY else min(hard, NOFILE_CEILING)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit",
                        extra={"soft": soft, "hard": hard, "error": str(exc)})
    allowed = max(1, soft // CONNECTION_SHARE)
    if wanted > allowed:
        log.warning("server.max_connections lowered to a quarter of the open-files limit",
                    extra={"configured": wanted, "effective": allowed, "nofile": soft})
    return min(wanted, allowed)


class RefusalLog:
    """Counts refusals and logs them at most once per ``every`` seconds."""

    def __init__(self, counter: Any, clock: Callable[[], float], every: float = LOG_EVERY) -> None:
        self._counter = counter
        self._clock = clock
        self._every = every
        self._next = 0.0
        self._pending: Counter[str] = Counter()

    def refused(self, reason: str) -> None:
        self._counter.labels(reason=reason).inc()
        self._pending[reason] += 1
        now = self._clock()
        if now >= self._next:
            self._next = now + self._every
            counts = dict(self._pending)
            self._pending.clear()
            log.warning("server closed connections", extra={
                "refused": counts, "next_report_in_s": self._every})


class ConnectionGate:
    """Protocol factory that admits connections within the caps (see the module doc)."""

    def __init__(self, factory: ProtocolFactory, *, limit: int, per_client: int,
                 header_timeout: float, refusals: RefusalLog,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if min(limit, per_client) < 1 or header_timeout <= 0:
            raise ValueError("connection limits must be >= 1 and the timeout positive")
        self._factory = factory
        self.limit, self.per_client = limit, per_client
        self.header_timeout = header_timeout
        self.refusals = refusals
        self.clock = clock
        self.open = 0
        self._by_client: Counter[str] = Counter()
        #: set while the server shuts down: its closes are not timeouts
        self.closing = False

    def __call__(self) -> asyncio.BaseProtocol:
        return GatedProtocol(self)

    def admit(self, client: str) -> bool:
        if self.open >= self.limit or self._by_client[client] >= self.per_client:
            return False
        self.open += 1
        self._by_client[client] += 1
        return True

    def release(self, client: str) -> None:
        self.open -= 1
        self._by_client[client] -= 1
        if self._by_client[client] <= 0:
            del self._by_client[client]

    def make_inner(self) -> asyncio.Protocol:
        inner = self._factory()
        assert isinstance(inner, asyncio.Protocol)
        return inner


class GatedProtocol(asyncio.Protocol):
    """One connection: refused at once, or handed to aiohttp's protocol and watched."""

    def __init__(self, gate: ConnectionGate) -> None:
        self._gate = gate
        self._inner: asyncio.Protocol | None = None
        self._client = ""
        self._since = 0.0
        self._heads = 0
        self._partial = False
        self._tail = b""
        self._peer_closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if not self._gate.admit(self._client):
            self._refuse(transport)
            return
        self._since = self._gate.clock()
        self._inner = self._gate.make_inner()
        self._inner.connection_made(transport)

    def _refuse(self, transport: asyncio.BaseTransport) -> None:
        self._gate.refusals.refused(LIMIT)
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(_REFUSAL)
        transport.close()

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        self._watch_head(data)
        self._inner.data_received(data)

    def _watch_head(self, data: bytes) -> None:
        """Note where request heads end, and whether bytes of another one wait."""
        joined = self._tail + data
        end = joined.rfind(_HEAD_END)
        if end >= 0:
            self._heads += 1
            self._since = self._gate.clock()
            self._partial = end + len(_HEAD_END) < len(joined)
        elif data:
            self._partial = True
        self._tail = joined[-3:]

    def eof_received(self) -> bool | None:
        self._peer_closed = True
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return
        self._gate.release(self._client)
        if self._timed_out(exc):
            self._gate.refusals.refused(HEADER_TIMEOUT)
        self._inner.connection_lost(exc)

    def _timed_out(self, exc: Exception | None) -> bool:
        """The server closed it while a request head was still incomplete, after the
        timeout (not the peer, not a shutdown, not an idle keep-alive)."""
        if exc is not None or self._peer_closed or self._gate.closing:
            return False
        if self._heads and not self._partial:
            return False
        return self._gate.clock() - self._since >= self._gate.header_timeout * 0.9
