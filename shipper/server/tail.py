"""Live tail: a bounded ring of recent records and SSE clients with bounded queues.

The pipeline calls :meth:`TailHub.publish` with the records that passed the filters
(already redacted); internal ``_`` keys (``_raw`` holds the unredacted line) are stripped
when a record is encoded for a client, so nothing private ever leaves. With no client
connected, ``publish`` only extends the ring (a C-level ``deque.extend``). Each client
has a bounded queue; a client that falls further behind than its queue is disconnected
(and counted) instead of slowing the pipeline. All methods run on the event loop thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import orjson

from shipper.errors import ShipperError
from shipper.record import LEVEL_RANK, Record, get_field, public_view

log = logging.getLogger(__name__)

#: what :meth:`TailClient.next` returns when it waited ``timeout`` seconds for nothing
HEARTBEAT = b""


class TailBusyError(ShipperError):
    """The maximum number of concurrent tail clients is reached."""


@dataclass(frozen=True, slots=True)
class TailFilter:
    """Which records a tail client wants; empty fields match everything."""

    job_id: str | None = None
    min_rank: int = 0
    correlation_id: str | None = None
    logger: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "TailFilter":
        """Build from ``job_id``, ``level`` (minimum), ``correlation_id``, ``logger``."""
        level = (query.get("level") or "").strip().lower()
        if level and level not in LEVEL_RANK:
            raise ValueError(f"unknown level {level!r} (use one of {', '.join(LEVEL_RANK)})")
        return cls(
            job_id=query.get("job_id") or None,
            min_rank=LEVEL_RANK[level] if level else 0,
            correlation_id=query.get("correlation_id") or None,
            logger=query.get("logger") or None,
        )

    def matches(self, record: Record) -> bool:
        if self.min_rank and LEVEL_RANK.get(record.get("level", "info"), 2) < self.min_rank:
            return False
        if self.job_id is not None and _text(get_field(record, "job_id")) != self.job_id:
            return False
        if (self.correlation_id is not None
                and _text(get_field(record, "correlation_id")) != self.correlation_id):
            return False
        return self.logger is None or _logger_matches(record.get("logger"), self.logger)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _logger_matches(logger: object, wanted: str) -> bool:
    """Exact name, or a dotted child of it (``stages`` matches ``stages.asr``)."""
    if not isinstance(logger, str):
        return False
    return logger == wanted or logger.startswith(wanted + ".")


def encode(record: Record) -> bytes:
    """The public JSON of a record (internal ``_`` keys removed)."""
    return orjson.dumps(public_view(record), default=str)


class TailClient:
    """One connected tail client: its filter and bounded queue of encoded records."""

    def __init__(self, tail_filter: TailFilter, queue_size: int) -> None:
        self.filter = tail_filter
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=queue_size)
        self.closed_reason: str | None = None
        #: called when the hub kicks this client out (the server aborts the connection)
        self.on_kick: Callable[[], None] | None = None

    def offer(self, data: bytes) -> bool:
        """Queue one encoded record; ``False`` when the queue is full (client too slow)."""
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            return False
        return True

    def close(self, reason: str) -> None:
        """End the stream: drop what is queued and wake the reader with a sentinel."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def kick(self, reason: str) -> None:
        """Close the stream and abort the connection (client too slow)."""
        self.close(reason)
        if self.on_kick is not None:
            self.on_kick()

    async def next(self, timeout: float) -> bytes | None:
        """Next encoded record, :data:`HEARTBEAT` after ``timeout`` idle, ``None`` at end."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return HEARTBEAT


class TailHub:
    """The ring of recent records and the set of live tail clients."""

    def __init__(self, *, ring_size: int, max_clients: int, client_queue: int) -> None:
        if min(ring_size, max_clients, client_queue) < 1:
            raise ValueError("ring_size, max_clients and client_queue must be >= 1")
        self._ring: deque[Record] = deque(maxlen=ring_size)
        self._clients: list[TailClient] = []
        self._max_clients = max_clients
        self._client_queue = client_queue
        self.published = 0
        self.slow_disconnects = 0

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, records: list[Record]) -> None:
        """Remember ``records`` in the ring and push the matching ones to clients."""
        self._ring.extend(records)
        self.published += len(records)
        if self._clients:
            self._fan_out(records)

    def _fan_out(self, records: Iterable[Record]) -> None:
        slow: list[TailClient] = []
        for record in records:
            data: bytes | None = None
            for client in self._clients:
                if client.closed_reason is None and client.filter.matches(record):
                    data = data if data is not None else encode(record)
                    if not client.offer(data):
                        client.kick("slow client: queue full")
                        slow.append(client)
        for client in slow:
            self.slow_disconnects += 1
            self._remove(client)
            log.warning("tail client disconnected", extra={"reason": client.closed_reason})

    def subscribe(self, tail_filter: TailFilter, replay: int) -> tuple[TailClient, list[bytes]]:
        """Register a client; returns it and the last ``replay`` matching ring records."""
        if len(self._clients) >= self._max_clients:
            raise TailBusyError(f"too many tail clients (max {self._max_clients})")
        client = TailClient(tail_filter, self._client_queue)
        self._clients.append(client)
        return client, self.recent(tail_filter, replay)

    def recent(self, tail_filter: TailFilter, limit: int) -> list[bytes]:
        """The last ``limit`` ring records matching ``tail_filter``, oldest first."""
        found: list[Record] = []
        if limit <= 0:
            return []
        for record in reversed(self._ring):
            if tail_filter.matches(record):
                found.append(record)
                if len(found) >= limit:
                    break
        return [encode(record) for record in reversed(found)]

    def unsubscribe(self, client: TailClient) -> None:
        client.close("client gone")
        self._remove(client)

    def _remove(self, client: TailClient) -> None:
        if client in self._clients:
            self._clients.remove(client)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        for client in list(self._clients):
            client.close("server shutting down")
        self._clients.clear()
