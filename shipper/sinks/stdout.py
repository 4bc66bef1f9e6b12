"""The stdout sink: NDJSON records for a node agent (Fluentd, Fluent Bit, Datadog agent).

Envelopes wait in a bounded queue (backpressure); a writer task serialises a batch with
orjson and writes it with ``os.write`` in a thread (a full pipe blocks a thread, never the
event loop), then acknowledges the envelopes it covered.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Callable

import orjson

from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.sinks.settings import StdoutSinkSettings

_DUMPS_OPTS = orjson.OPT_APPEND_NEWLINE


def encode_ndjson(records: list[Record]) -> bytes:
    """One JSON object per line, each ending in ``\\n``."""
    dumps = orjson.dumps
    return b"".join([dumps(record, option=_DUMPS_OPTS, default=str) for record in records])


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until everything is written (pipes accept partial writes)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class StdoutSink:
    """Writes NDJSON to a file descriptor (stdout by default), flushed per batch."""

    def __init__(self, settings: StdoutSinkSettings, *, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic, fd: int = 1,
                 queue_max: int = 4) -> None:
        self.name = settings.name
        self._batch = settings.batch
        self._metrics = metrics
        self._clock = clock
        self._fd = fd
        self._queue: asyncio.Queue[tuple[list[Record], AckToken] | None] = asyncio.Queue(queue_max)
        self._task: asyncio.Task[None] | None = None
        self._forwarded = metrics.records_forwarded_total.labels(sink=self.name)
        self._bytes = metrics.bytes_forwarded_total.labels(sink=self.name)
        self._requests = metrics.sink_requests_total.labels(sink=self.name, outcome="ok")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"sink-{self.name}")

    async def put(self, records: list[Record], token: AckToken) -> None:
        await self._queue.put((records, token))

    async def close(self, deadline: float) -> None:
        """Flush what is queued (bounded by ``deadline`` seconds), then stop."""
        await self._queue.put(None)
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=deadline)
            except TimeoutError:
                self._task.cancel()

    async def _run(self) -> None:
        while True:
            batch, tokens, done = await self._next_batch()
            if batch:
                data = encode_ndjson(batch)
                await asyncio.to_thread(write_all, self._fd, data)
                self._forwarded.inc(len(batch))
                self._bytes.inc(len(data))
                self._requests.inc()
            for token in tokens:
                token.done()
            if done:
                return

    async def _next_batch(self) -> tuple[list[Record], list[AckToken], bool]:
        """Gather envelopes until the batch is full, ``max_wait`` passed, or the end."""
        first = await self._queue.get()
        if first is None:
            return [], [], True
        batch, tokens = list(first[0]), [first[1]]
        limit = self._batch.max_records
        end = self._clock() + self._batch.max_wait
        while len(batch) < limit:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = end - self._clock()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:
                return batch, tokens, True
            batch.extend(item[0])
            tokens.append(item[1])
        return batch, tokens, False
