"""A Fluentd forward (v1) input on 127.0.0.1, as ``in_forward`` behaves: decodes Message,
Forward, PackedForward and CompressedPackedForward modes (EventTime = ext type 0), answers
``{"ack": chunk}`` when asked (``drop_acks`` withholds the first acks to force a resend).

With ``shared_key`` it runs the server side of the handshake of the Forward Protocol
Specification v1 first: HELO (random nonce; random ``auth`` salt when ``users`` is set),
checks the PING's ``sha512_hex(salt + client_hostname + nonce + shared_key)`` (and the user's
``sha512_hex(auth_salt + username + password)``), answers ``["PONG", false, reason, "", ""]``
and closes on a mismatch, else PONG with its own digest. ``keepalive=False`` is announced
in HELO and the connection is closed after the first message."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import struct
from dataclasses import dataclass
from typing import Any

import msgpack


@dataclass
class ForwardEvent:
    tag: str
    time_ns: int
    record: dict[str, Any]


def _ext_hook(code: int, data: bytes) -> Any:
    if code != 0 or len(data) != 8:
        raise ValueError(f"unexpected ext type {code}")
    seconds, nanos = struct.unpack(">II", data)
    return ("EventTime", seconds * 10**9 + nanos)


def sha512_hex(*parts: Any) -> str:
    digest = hashlib.sha512()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
    return digest.hexdigest()


class ForwardReceiver:
    def __init__(self, *, drop_acks: int = 0, shared_key: str | None = None,
                 users: dict[str, str] | None = None, hostname: str = "aggregator.test",
                 keepalive: bool = True) -> None:
        self.events: list[ForwardEvent] = []
        self.chunks: list[str] = []
        self.errors: list[str] = []
        self.drop_acks = drop_acks
        self.shared_key, self.users, self.hostname = shared_key, users, hostname
        self.keepalive = keepalive
        #: one ``(auth_result, reason, client_hostname)`` per handshake
        self.handshakes: list[tuple[bool, str, str]] = []
        self.compressed_messages = 0
        self.connections = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def __aenter__(self) -> "ForwardReceiver":
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook)
        try:
            if self.shared_key is not None and not await self._handshake(reader, writer, unpacker):
                return
            while data := await reader.read(65536):
                unpacker.feed(data)
                for message in unpacker:
                    await self._message(message, writer)
                    if not self.keepalive:
                        return
        except (ValueError, msgpack.UnpackException, OSError) as exc:
            self.errors.append(str(exc))
        finally:
            writer.close()

    async def _next(self, reader: asyncio.StreamReader, unpacker: msgpack.Unpacker) -> Any:
        while True:
            for message in unpacker:
                return message
            data = await reader.read(65536)
            if not data:
                raise ValueError("client closed during the handshake")
            unpacker.feed(data)

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         unpacker: msgpack.Unpacker) -> bool:
        nonce, auth_salt = os.urandom(16), os.urandom(16) if self.users else b""
        writer.write(msgpack.packb(["HELO", {"nonce": nonce, "auth": auth_salt,
                                             "keepalive": self.keepalive}], use_bin_type=True))
        await writer.drain()
        ping = await self._next(reader, unpacker)
        ok, reason, salt = self._check_ping(ping, nonce, auth_salt)
        client = ping[1] if isinstance(ping, list) and len(ping) > 1 else ""
        self.handshakes.append((ok, reason, str(client)))
        if not ok:
            writer.write(msgpack.packb(["PONG", False, reason, "", ""]))
            await writer.drain()
            return False
        digest = sha512_hex(salt, self.hostname, nonce, self.shared_key)
        writer.write(msgpack.packb(["PONG", True, "", self.hostname, digest]))
        await writer.drain()
        return True

    def _check_ping(self, ping: Any, nonce: bytes, auth_salt: bytes) -> tuple[bool, str, Any]:
        if not (isinstance(ping, list) and len(ping) == 6 and ping[0] == "PING"):
            return False, "invalid ping message", None
        _, hostname, salt, digest, username, password_digest = ping
        if digest != sha512_hex(salt, hostname, nonce, self.shared_key):
            return False, "shared_key mismatch", None
        if self.users:
            password = self.users.get(username)
            if password is None or password_digest != sha512_hex(auth_salt, username, password):
                return False, "username/password mismatch", None
        return True, "", salt

    async def _message(self, message: list[Any], writer: asyncio.StreamWriter) -> None:
        tag, second = message[0], message[1]
        options = message[-1] if isinstance(message[-1], dict) and len(message) > 2 else {}
        if options.get("compressed") == "gzip":  # CompressedPackedForward: bin only
            if not isinstance(second, bytes):
                raise ValueError("CompressedPackedForward entries must be bin")
            self.compressed_messages += 1
            events = list(self._packed(tag, gzip.decompress(second)))
        elif isinstance(second, bytes):  # PackedForward
            events = list(self._packed(tag, second))
        elif isinstance(second, list):  # Forward
            events = [self._event(tag, t, r) for t, r in second]
        else:  # Message
            events = [self._event(tag, second, message[2])]
        if "size" in options and options["size"] != len(events):
            self.errors.append(f"size {options['size']} != {len(events)}")
            return
        chunk = options.get("chunk")
        if chunk and self.drop_acks > 0:
            self.drop_acks -= 1
            return
        if chunk in self.chunks:  # a resent chunk: acknowledge, do not store twice
            writer.write(msgpack.packb({"ack": chunk}))
            return
        self.events.extend(events)
        if chunk:
            self.chunks.append(chunk)
            writer.write(msgpack.packb({"ack": chunk}))
            await writer.drain()

    def _packed(self, tag: str, entries: bytes):
        unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook)
        unpacker.feed(entries)
        for time, record in unpacker:
            yield self._event(tag, time, record)

    @staticmethod
    def _event(tag: str, time: Any, record: dict[str, Any]) -> ForwardEvent:
        if isinstance(time, tuple) and time[0] == "EventTime":
            return ForwardEvent(tag, time[1], record)
        if isinstance(time, int):
            return ForwardEvent(tag, time * 10**9, record)
        raise ValueError(f"bad event time {time!r}")
