"""A Fluentd forward (v1) input on 127.0.0.1: decodes Message, Forward and PackedForward
modes (EventTime = ext type 0), and answers ``{"ack": chunk}`` when asked (``drop_acks``
lets a test withhold the first acks to force a resend)."""

from __future__ import annotations

import asyncio
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


class ForwardReceiver:
    def __init__(self, *, drop_acks: int = 0) -> None:
        self.events: list[ForwardEvent] = []
        self.chunks: list[str] = []
        self.errors: list[str] = []
        self.drop_acks = drop_acks
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
        unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook)
        try:
            while data := await reader.read(65536):
                unpacker.feed(data)
                for message in unpacker:
                    await self._message(message, writer)
        except (ValueError, msgpack.UnpackException) as exc:
            self.errors.append(str(exc))
        finally:
            writer.close()

    async def _message(self, message: list[Any], writer: asyncio.StreamWriter) -> None:
        tag, second = message[0], message[1]
        options = message[-1] if isinstance(message[-1], dict) and len(message) > 2 else {}
        if isinstance(second, bytes):  # PackedForward
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
