"""Helpers to drive a real sink worker against a loopback receiver."""

from __future__ import annotations

import asyncio
from typing import Any

from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.record import Record


def make_record(i: int, **extra: Any) -> Record:
    """Record ``i`` of a realistic shape, its raw line (``raw {i}``) beside it."""
    k8s = {"namespace": "video", "pod": "encoder-7d9f-abcde", "pod_uid": "uid-1",
           "node": "node-a", "container": "worker",
           "labels": {"app.kubernetes.io/name": "encoder"}}
    record = Record({"timestamp": f"2024-05-01T10:00:{i % 60:02d}.{i % 1000:03d}Z",
                     "level": "info", "message": f"frame {i} done", "job_id": "job-abc123",
                     "correlation_id": f"req-{i}", "shard_index": 3, "attributes": {"i": i},
                     "k8s": k8s, "file": {"path": "/var/log/app/a.log", "offset": i * 100}})
    record.raw = f"raw {i}"
    record.update(extra)
    return record


class Recorder:
    """An injected ``sleep`` that records delays and yields without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


async def ship(sink: Any, batches: list[list[dict[str, Any]]], deadline: float = 10.0) -> list[AckToken]:
    """Start the sink, put each batch as one envelope, close, and return the tokens."""
    tokens = [AckToken("f", i, pending=1) for i in range(len(batches))]
    await sink.start()
    for batch, token in zip(batches, tokens):
        await sink.put(batch, token)
    await sink.close(deadline)
    return tokens


def new_metrics() -> Metrics:
    return Metrics(collectors=False)
