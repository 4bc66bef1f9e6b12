"""A scripted in-memory sink for testing the generic worker without a network."""

from __future__ import annotations

import asyncio
from typing import Any

from shipper.acks import AckToken
from shipper.errors import PayloadTooLargeError, SinkError
from shipper.metrics import Metrics
from shipper.sinks.base import BaseSink, Payload
from shipper.sinks.settings import HttpSinkSettings


def settings(**overrides: Any) -> HttpSinkSettings:
    base: dict[str, Any] = {"name": "fake", "url": "http://127.0.0.1:9"}
    base.update(overrides)
    return HttpSinkSettings(**base)


def record(i: int, **extra: Any) -> dict[str, Any]:
    return {"timestamp": f"2024-05-01T10:00:{i % 60:02d}.000Z", "level": "info",
            "message": f"line {i}", "attributes": {}, "k8s": {}, "file": {"path": "/a", "offset": i},
            **extra}


def token(count: int = 1) -> AckToken:
    return AckToken("f", 0, pending=count)


class ScriptedSink(BaseSink):
    """``send`` raises the next scripted error (or delivers when the script says ``None``)."""

    def __init__(self, cfg: HttpSinkSettings, script: list[SinkError | None] | None = None,
                 *, max_records_per_request: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("metrics", Metrics(collectors=False))
        super().__init__(cfg, **kwargs)
        self.script = list(script or [])
        self.delivered: list[list[dict[str, Any]]] = []
        self.attempts: list[int] = []
        self.too_large_above = max_records_per_request
        self.gate: asyncio.Event | None = None

    def encode(self, records: list[dict[str, Any]]) -> list[Payload]:
        return [Payload(b"x" * len(records), list(records), len(records))]

    async def send(self, payload: Payload) -> None:
        self.attempts.append(len(payload.records))
        if self.gate is not None:
            await self.gate.wait()
        if self.too_large_above is not None and len(payload.records) > self.too_large_above:
            raise PayloadTooLargeError("HTTP 413", sink=self.name, status=413)
        if self.script:
            error = self.script.pop(0)
            if error is not None:
                raise error
        self.delivered.append(payload.records)


class SleepRecorder:
    """An injected ``sleep`` that records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)
