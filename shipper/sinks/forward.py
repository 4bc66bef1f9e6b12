"""Fluentd forward protocol v1 sink (to Fluentd or Fluent Bit), over TCP or TLS.

Each batch is one PackedForward message ``[tag, entries, {"size": n, "chunk": id}]`` where
``entries`` is a msgpack ``bin`` of concatenated ``[EventTime, record]`` pairs and
EventTime is msgpack ext type 0 (big-endian uint32 seconds, uint32 nanoseconds); with
``compression: gzip`` it is CompressedPackedForward (``entries`` gzipped, option
``"compressed": "gzip"``). With ``require_ack`` the sink waits for ``{"ack": id}``; a
missing or wrong ack, a timeout or a connection error is retryable (the connection is
re-opened). The chunk id (base64 of 128 bits) is derived from the content, so a resent
chunk keeps its id and the aggregator can deduplicate it.

With ``shared_key`` every new connection first runs the HELO/PING/PONG handshake
(:mod:`shipper.sinks.forward_auth`); a refusal is final: the batch is dead-lettered and an
error is logged (at most once a minute), never with the key. A server that answers with a
HELO while no ``shared_key`` is set is refused the same way. ``keepalive: false`` in the
HELO makes the sink close the connection after each batch.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import logging
import ssl
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgpack

from shipper.errors import FatalSinkError, RetryableSinkError
from shipper.record import Record
from shipper.sinks.auth import resolve_secret
from shipper.sinks.base import BaseSink, Payload
from shipper.sinks.fields import rfc3339_to_ns
from shipper.sinks.forward_auth import Credentials, Handshake
from shipper.sinks.health import REPEAT_EVERY
from shipper.sinks.settings import ForwardSinkSettings
from shipper.sinks.transport import tls_context

log = logging.getLogger("shipper.sinks")

_READ = 4096
#: the largest server message (HELO, PONG, ack) the sink buffers
MAX_RESPONSE_BYTES = 1 << 20


def event_time(ns: int) -> msgpack.ExtType:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return msgpack.ExtType(0, struct.pack(">II", seconds & 0xFFFFFFFF, nanos))


@dataclass(slots=True)
class Connection:
    """An open connection past its handshake, with its own response decoder."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    keepalive: bool = True
    unpacker: msgpack.Unpacker = field(default_factory=lambda: msgpack.Unpacker(
        raw=False, max_buffer_size=MAX_RESPONSE_BYTES))

    async def read(self) -> Any:
        """The server's next message (EOF: ``IncompleteReadError``)."""
        while True:
            for obj in self.unpacker:
                return obj
            data = await self.reader.read(_READ)
            if not data:
                raise asyncio.IncompleteReadError(b"", None)
            self.unpacker.feed(data)


class ForwardSink(BaseSink):
    settings: ForwardSinkSettings

    def __init__(self, settings: ForwardSinkSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        url = urlsplit(settings.url)
        self._host, self._port = url.hostname or "", url.port or 24224
        self._tls = url.scheme == "tls"
        self._ssl: ssl.SSLContext | None = None
        self._conn: Connection | None = None
        self._creds: Credentials | None = None
        self._lock = asyncio.Lock()
        self._auth_logged_at: float | None = None
        self._phase = ""

    def encode(self, records: list[Record]) -> list[Payload]:
        packer = msgpack.Packer(use_bin_type=True, default=str)
        entries = b"".join(packer.pack([event_time(self._ns(r)), r]) for r in records)
        chunk = base64.b64encode(hashlib.sha256(entries).digest()[:16]).decode("ascii")
        options: dict[str, Any] = {"size": len(records)}
        if self.settings.require_ack:
            options["chunk"] = chunk
        packed = entries
        if self.settings.compression == "gzip":
            packed = gzip.compress(entries, compresslevel=6, mtime=0)
            options["compressed"] = "gzip"
        body = packer.pack([self.settings.tag, packed, options])
        return [Payload(body, records, len(entries), {}, chunk)]

    def _ns(self, record: Record) -> int:
        ns = rfc3339_to_ns(record.get("timestamp"))
        return ns if ns is not None else int(self._wall_clock() * 1e9)

    async def open(self) -> None:
        if self._tls:
            self._ssl = await asyncio.to_thread(tls_context, self.settings.tls)
        self._creds = await asyncio.to_thread(self._credentials)

    def _credentials(self) -> Credentials | None:
        """The handshake's secrets (blocking: may read files), ``None`` without a key."""
        key = resolve_secret(self.settings, "shared_key")
        if key is None:
            return None
        password = resolve_secret(self.settings, "password")
        return Credentials(key.get_secret_value().encode("utf-8"), self.settings.self_hostname,
                           self.settings.username or "",
                           password.get_secret_value().encode("utf-8") if password else b"")

    async def shutdown(self) -> None:
        await self._disconnect()

    async def send(self, payload: Payload) -> None:
        async with self._lock:
            try:
                await asyncio.wait_for(self._exchange(payload), self.settings.timeout)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                await self._disconnect()
                raise RetryableSinkError(f"forward to {self._host}:{self._port}: "
                                         f"{type(exc).__name__}{self._phase}",
                                         sink=self.name) from None
            except (ValueError, msgpack.UnpackException) as exc:  # a garbled response
                await self._disconnect()
                raise RetryableSinkError(f"forward to {self._host}:{self._port}: bad response "
                                         f"({type(exc).__name__})", sink=self.name) from None
            except RetryableSinkError:
                await self._disconnect()
                raise
            except FatalSinkError as exc:
                await self._disconnect()
                self._log_refusal(exc)
                raise

    async def _exchange(self, payload: Payload) -> None:
        self._phase = ""  # what the sink waits for, told when it times out
        conn = await self._connect()
        conn.writer.write(payload.body)
        await conn.writer.drain()
        if self.settings.require_ack:
            self.classify_ack(await conn.read(), payload.batch_id)
        if not conn.keepalive:
            await self._disconnect()

    def classify_ack(self, response: Any, chunk: str) -> None:
        """The forward protocol's outcome: the right ``ack`` delivers; a HELO (the server
        wants a handshake we were not configured for) is final; anything else retries."""
        if isinstance(response, list) and response[:1] == ["HELO"]:
            raise FatalSinkError("forward: the server requires the shared_key handshake; "
                                 "set shared_key", sink=self.name)
        if not isinstance(response, dict) or response.get("ack") != chunk:
            raise RetryableSinkError("forward: missing or wrong ack", sink=self.name)

    async def _connect(self) -> Connection:
        if self._conn is None or self._conn.writer.is_closing():
            server_name = self.settings.tls.server_name or self._host if self._tls else None
            reader, writer = await asyncio.open_connection(
                self._host, self._port, ssl=self._ssl, server_hostname=server_name)
            conn = Connection(reader, writer)
            self._conn = conn  # closed by _disconnect if the handshake fails
            if self._creds is not None:
                await self._handshake(conn, self._creds)
        return self._conn

    async def _handshake(self, conn: Connection, creds: Credentials) -> None:
        shake = Handshake(creds, self.name)
        self._phase = " (waiting for the server's HELO: is it set up with a shared_key?)"
        ping = shake.ping(await conn.read())
        conn.writer.write(msgpack.packb(ping, use_bin_type=True))
        await conn.writer.drain()
        self._phase = " (waiting for the server's PONG)"
        shake.check_pong(await conn.read())
        self._phase = ""
        conn.keepalive = shake.keepalive

    def _log_refusal(self, exc: FatalSinkError) -> None:
        now = self._clock()
        if self._auth_logged_at is None or now - self._auth_logged_at >= REPEAT_EVERY:
            self._auth_logged_at = now
            log.error("sink %s: %s:%d: %s; batches are dead-lettered until this is fixed",
                      self.name, self._host, self._port, exc)

    async def _disconnect(self) -> None:
        if self._conn is not None:
            writer = self._conn.writer
            self._conn = None
            writer.close()
            with contextlib.suppress(OSError):  # the peer already went away
                await writer.wait_closed()
