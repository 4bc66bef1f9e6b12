"""Live tail: a ring of recent records and SSE clients, all bounded in records and bytes.

The pipeline calls :meth:`TailHub.publish` with the records that passed the filters
(already redacted); only their fields are encoded (never ``raw``), so nothing private
ever leaves. The ring keeps whole publish batches as NDJSON, each line a record's
``orjson.dumps`` (:func:`shipper.sinks.encoding.ndjson`): the sinks' envelope encoding, so
when a sink takes the very same records the processor task encodes them once and hands
the result to both (the ring then keeps the very bytes the sink's buffer holds). A
batch's weight is its JSON as an array (its NDJSON plus one byte) plus
:data:`RECORD_OVERHEAD` a record; what the ring holds is a copy of its exact size, so no
record object outlives its delivery and the ring's memory is what it counts (records as
dicts take 2-10 times their JSON). A replay decodes the lines of the batches it reads.
The oldest batches go once the ring holds more than ``ring_bytes`` (or about
``ring_size`` records). Each client has a queue bounded in records and bytes; a client
that falls further behind is disconnected (and counted) instead of slowing the pipeline.
A replay sends at most ``client_queue_bytes``. All methods but :meth:`TailHub.replay`
(which the server runs in a thread) run on the event loop thread.
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator

import orjson

from shipper.errors import ShipperError
from shipper.record import Record
from shipper.server.settings import MIB, ServerSettings
from shipper.server.tail_records import TailFilter, encodable, encode
from shipper.sinks.encoding import Encoded, ndjson

log = logging.getLogger(__name__)

#: what :meth:`TailClient.next` returns when it waited ``timeout`` seconds for nothing
HEARTBEAT = b""
#: bytes a kept record costs beyond its JSON (counted; the ring keeps JSON, so this is
#: ample room for the tuple, deque slot and bytes header of its batch)
RECORD_OVERHEAD = 512


class TailBusyError(ShipperError):
    """The maximum number of concurrent tail clients is reached."""


#: the ring's batches: their NDJSON, how many records, their weight
Ring = tuple[tuple[bytes, int, int], ...]


def _newest_first(ring: Ring) -> Iterator[Record]:
    loads = orjson.loads
    for data, _, _ in reversed(ring):
        lines = data.split(b"\n")
        lines.pop()  # after the last newline
        for line in reversed(lines):
            yield loads(line)


def weigh(nbytes: int, count: int) -> int:
    """Bytes ``count`` records of ``nbytes`` NDJSON cost in the ring: their JSON array
    (one byte longer) and :data:`RECORD_OVERHEAD` each."""
    return nbytes + 1 + RECORD_OVERHEAD * count


def _ndjson(records: list[Record]) -> tuple[bytes, array[int]]:
    """The records' NDJSON and end offsets; a record JSON cannot hold as its plain fields
    (:func:`~shipper.server.tail_records.encodable`)."""
    try:
        return ndjson(records)
    except orjson.JSONEncodeError:
        return ndjson([encodable(record) for record in records])


class TailClient:
    """One connected tail client: its filter and queue of encoded records."""

    def __init__(self, tail_filter: TailFilter, queue_size: int, queue_bytes: int = MIB) -> None:
        self.filter = tail_filter
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=queue_size)
        self._max_bytes = queue_bytes
        self.queued_bytes = 0
        self.closed_reason: str | None = None
        #: called when the hub kicks this client out (the server aborts the connection)
        self.on_kick: Callable[[], None] | None = None

    def offer(self, data: bytes) -> bool:
        """Queue one encoded record; ``False`` when the queue is full (client too slow).
        One record larger than the byte bound still passes an empty queue."""
        if self.queued_bytes and self.queued_bytes + len(data) > self._max_bytes:
            return False
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            return False
        self.queued_bytes += len(data)
        return True

    def close(self, reason: str) -> None:
        """End the stream: drop what is queued and wake the reader with a sentinel."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self.queued_bytes = 0
        self._queue.put_nowait(None)

    def kick(self, reason: str) -> None:
        """Close the stream and abort the connection (client too slow)."""
        self.close(reason)
        if self.on_kick is not None:
            self.on_kick()

    async def next(self, timeout: float) -> bytes | None:
        """Next encoded record, :data:`HEARTBEAT` after ``timeout`` idle, ``None`` at end."""
        try:
            data = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return HEARTBEAT
        if data:
            self.queued_bytes = max(0, self.queued_bytes - len(data))
        return data


class TailHub:
    """The ring of recent records and the set of live tail clients."""

    def __init__(self, *, ring_size: int, max_clients: int, client_queue: int,
                 ring_bytes: int = 8 * MIB, client_queue_bytes: int = MIB) -> None:
        if min(ring_size, max_clients, client_queue, ring_bytes, client_queue_bytes) < 1:
            raise ValueError("the ring, client and queue bounds must be >= 1")
        #: (the NDJSON of a batch's records, how many, its weight), oldest first
        self._batches: deque[tuple[bytes, int, int]] = deque()
        self._ring_size, self._ring_bytes = ring_size, ring_bytes
        self._kept = 0
        self._kept_bytes = 0
        self._clients: list[TailClient] = []
        self._max_clients = max_clients
        self._client_queue, self._client_bytes = client_queue, client_queue_bytes
        self.slow_disconnects = 0

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> TailHub:
        return cls(ring_size=settings.tail_ring_size, max_clients=settings.tail_max_clients,
                   client_queue=settings.tail_client_queue, ring_bytes=settings.tail_ring_bytes,
                   client_queue_bytes=settings.tail_client_queue_bytes)

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def ring_records(self) -> int:
        return self._kept

    @property
    def ring_bytes(self) -> int:
        return self._kept_bytes

    def publish(self, records: list[Record], encoded: Encoded | None = None) -> None:
        """Remember ``records`` in the ring and push the matching ones to clients.
        ``encoded``: ``encode_records(records, levels=False)`` when the caller made it for
        a sink as well, kept as it is unless a record was replaced by its text form (or
        it is not one line per record)."""
        first = max(0, len(records) - self._ring_size)
        if encoded is None or encoded.unencodable or len(encoded.ends) != len(records):
            data, ends = _ndjson(records[first:] if first else records)
            first = 0
        else:
            data, ends = encoded.data, encoded.ends
        self._remember(data, ends, first)
        if self._clients:
            self._fan_out(records)

    def _remember(self, data: bytes, ends: array[int], first: int) -> None:
        """Keep records ``first..`` of ``data`` (NDJSON with these ``ends``): the newest of
        them that fit when they weigh more than ``ring_bytes``. ``data`` is of its exact
        size (:func:`~shipper.sinks.encoding.ndjson`): a part is copied to its own."""
        count = len(ends) - first
        start = ends[first - 1] if first else 0
        weight = weigh(len(data) - start, count)
        if weight > self._ring_bytes:
            first = self._newest_fitting(ends, first)
            count = len(ends) - first
            start = ends[first - 1] if first else 0
            weight = weigh(len(data) - start, count)
        if not count:
            return
        if start:
            data = data[start:]
        batches = self._batches
        batches.append((data, count, weight))
        self._kept += count
        self._kept_bytes += weight
        while (self._kept_bytes > self._ring_bytes
               or self._kept - batches[0][1] >= self._ring_size):
            _, old, old_weight = batches.popleft()
            self._kept -= old
            self._kept_bytes -= old_weight

    def _newest_fitting(self, ends: array[int], first: int) -> int:
        """The first of the newest records (of ``first..``) of one oversized batch that fit
        in the ring on their own (no more than their weights one by one)."""
        total, newest = 0, len(ends)
        for index in range(len(ends) - 1, first - 1, -1):
            cost = weigh(ends[index] - (ends[index - 1] if index else 0), 1)
            if total + cost > self._ring_bytes:
                break
            total, newest = total + cost, index
        return newest

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
        """Register a client; returns it and the last ``replay`` matching ring records
        (no more than the client's queue holds in bytes)."""
        client, ring = self.attach(tail_filter)
        return client, self.replay(ring, tail_filter, replay)

    def attach(self, tail_filter: TailFilter) -> tuple[TailClient, Ring]:
        """Register a client; returns it and the ring as it is now, for :meth:`replay`
        (which decodes, so the server runs it in a thread: the records published
        meanwhile go to the client's queue, after what the replay gives)."""
        if len(self._clients) >= self._max_clients:
            raise TailBusyError(f"too many tail clients (max {self._max_clients})")
        client = TailClient(tail_filter, self._client_queue, self._client_bytes)
        self._clients.append(client)
        return client, tuple(self._batches)

    def recent(self, tail_filter: TailFilter, limit: int,
               max_bytes: int | None = None) -> list[bytes]:
        """The last ``limit`` ring records matching ``tail_filter``, oldest first, at
        most ``max_bytes`` of them (default: a client queue's bytes; at least one)."""
        return self.replay(tuple(self._batches), tail_filter, limit, max_bytes)

    def replay(self, ring: Ring, tail_filter: TailFilter, limit: int,
               max_bytes: int | None = None) -> list[bytes]:
        """:meth:`recent` of a ring taken by :meth:`attach` (any thread: it reads only
        ``ring``, immutable)."""
        budget = self._client_bytes if max_bytes is None else max_bytes
        found: list[bytes] = []
        total = 0
        if limit <= 0:
            return found
        for record in _newest_first(ring):
            if tail_filter.matches(record):
                data = encode(record)
                if found and total + len(data) > budget:
                    break
                found.append(data)
                total += len(data)
                if len(found) >= limit:
                    break
        found.reverse()
        return found

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
