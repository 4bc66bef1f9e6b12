"""Fluentd forward protocol v1 sink (to Fluentd or Fluent Bit), over TCP or TLS.

Each batch is one PackedForward message ``[tag, entries, {"size": n, "chunk": id}]`` where
``entries`` is a msgpack ``bin`` of concatenated ``[EventTime, record]`` pairs and
EventTime is msgpack ext type 0 (big-endian uint32 seconds, uint32 nanoseconds). With
``require_ack`` the sink waits for ``{"ack": id}``; a missing or wrong ack, a timeout or a
connection error is retryable (the connection is re-opened). The chunk id is derived from
the content, so a resent chunk keeps its id and the aggregator can deduplicate it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
import struct
from typing import Any
from urllib.parse import urlsplit

import msgpack

from shipper.errors import RetryableSinkError
from shipper.record import Record, public_view
from shipper.sinks.base import Payload, SinkWorker
from shipper.sinks.fields import rfc3339_to_ns
from shipper.sinks.http import tls_context
from shipper.sinks.settings import ForwardSinkSettings

_READ = 4096


def event_time(ns: int) -> msgpack.ExtType:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return msgpack.ExtType(0, struct.pack(">II", seconds & 0xFFFFFFFF, nanos))


class ForwardSink(SinkWorker):
    settings: ForwardSinkSettings

    def __init__(self, settings: ForwardSinkSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        url = urlsplit(settings.url)
        self._host, self._port = url.hostname or "", url.port or 24224
        self._tls = url.scheme == "tls"
        self._ssl: ssl.SSLContext | None = None
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    def encode(self, records: list[Record]) -> list[Payload]:
        packer = msgpack.Packer(use_bin_type=True, default=str)
        entries = b"".join(packer.pack([event_time(self._ns(r)), public_view(r)]) for r in records)
        chunk = base64.b64encode(hashlib.sha256(entries).digest()[:16]).decode("ascii")
        options: dict[str, Any] = {"size": len(records)}
        if self.settings.require_ack:
            options["chunk"] = chunk
        body = packer.pack([self.settings.tag, entries, options])
        return [Payload(body, records, len(entries), {}, chunk)]

    def _ns(self, record: Record) -> int:
        ns = rfc3339_to_ns(record.get("timestamp"))
        return ns if ns is not None else int(self._wall_clock() * 1e9)

    async def open(self) -> None:
        if self._tls:
            self._ssl = await asyncio.to_thread(tls_context, self.settings.tls)

    async def shutdown(self) -> None:
        await self._disconnect()

    async def send(self, payload: Payload) -> None:
        async with self._lock:
            try:
                await asyncio.wait_for(self._exchange(payload), self.settings.timeout)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                await self._disconnect()
                raise RetryableSinkError(f"forward to {self._host}:{self._port}: "
                                         f"{type(exc).__name__}", sink=self.name) from None
            except RetryableSinkError:
                await self._disconnect()
                raise

    async def _exchange(self, payload: Payload) -> None:
        reader, writer = await self._connect()
        writer.write(payload.body)
        await writer.drain()
        if self.settings.require_ack:
            self.classify_ack(await self._read_one(reader), payload.batch_id)

    def classify_ack(self, response: Any, chunk: str) -> None:
        """The forward protocol's outcome: the right ``ack`` delivers, anything else retries."""
        if not isinstance(response, dict) or response.get("ack") != chunk:
            raise RetryableSinkError("forward: missing or wrong ack", sink=self.name)

    async def _read_one(self, reader: asyncio.StreamReader) -> Any:
        unpacker = msgpack.Unpacker(raw=False, max_buffer_size=1 << 20)
        while True:
            data = await reader.read(_READ)
            if not data:
                raise asyncio.IncompleteReadError(b"", None)
            unpacker.feed(data)
            for obj in unpacker:
                return obj

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._conn is None or self._conn[1].is_closing():
            server_name = self.settings.tls.server_name or self._host if self._tls else None
            self._conn = await asyncio.open_connection(
                self._host, self._port, ssl=self._ssl, server_hostname=server_name)
        return self._conn

    async def _disconnect(self) -> None:
        if self._conn is not None:
            writer = self._conn[1]
            self._conn = None
            writer.close()
            with contextlib.suppress(OSError):  # the peer already went away
                await writer.wait_closed()
