"""Delivering one batch: encode, send, retry with backoff, split on 413, dead-letter.

* retryable errors back off exponentially with full jitter, at least ``Retry-After``;
  a backoff ends early when another request of the sink succeeds (the backend is back;
  not when the backend asked for ``Retry-After``) and is capped at ``CLOSING_BACKOFF``
  once the sink is closing, so a shutdown retries until its deadline instead of sleeping;
* 413 splits the batch in halves; fatal errors dead-letter the records;
* an encoder that fails on the batch is tried record by record: a record it cannot encode
  is shipped as text (``attributes.unencodable``) and counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from shipper.errors import (
    FatalSinkError,
    PayloadTooLargeError,
    RetryableSinkError,
    SinkError,
)
from shipper.record import Record
from shipper.sinks.batch import Lines, Payload, SinkMetrics
from shipper.sinks.deadletter import DeadLetter
from shipper.sinks.encoding import as_text
from shipper.sinks.health import REPEAT_EVERY, SinkHealth

log = logging.getLogger("shipper.sinks")

#: the longest backoff once the sink is closing (it retries until the close deadline)
CLOSING_BACKOFF = 0.25

Sleep = Callable[[float], Awaitable[None]]


class Sender(Protocol):
    name: str
    counts: Any

    def encode(self, records: list[Record]) -> list[Payload]: ...

    def encode_lines(self, lines: Lines) -> list[Payload]: ...

    async def send(self, payload: Payload) -> None: ...


class Delivery:
    def __init__(self, sink: Sender, retry: Any, *, metrics: SinkMetrics, health: SinkHealth,
                 dead: DeadLetter, sleep: Sleep, rng: Callable[[], float],
                 clock: Callable[[], float]) -> None:
        self._sink, self._retry, self._m, self._health = sink, retry, metrics, health
        self._dead, self._sleep, self._rng, self._clock = dead, sleep, rng, clock
        self._closing = asyncio.Event()
        self._success = asyncio.Event()
        self._trial_error = ""
        #: dead-letter warnings: at most one a minute, with the count since the last
        self._dead_logged_at: float | None = None
        self._dead_unlogged = 0

    def close(self) -> None:
        """Closing: end every backoff now and keep the next ones short."""
        self._closing.set()

    async def batch(self, lines: Lines) -> None:
        """Deliver or dead-letter every record of the batch (retrying as long as it takes)."""
        payloads, refused = await self.encode(lines)
        for payload in payloads:
            await self._deliver(payload)
        missing = lines.count - sum(p.count for p in payloads) - refused
        if missing > 0:  # an encoder skipped records: account for them, never silently
            self._m.failed("unencodable").inc(missing)

    async def encode(self, lines: Lines) -> tuple[list[Payload], int]:
        """The batch's payloads; if the encoder fails on it, record by record (the second
        value: records dead-lettered because the encoder refuses even their text form)."""
        hopeless: list[Record] = []
        try:
            payloads = self._sink.encode_lines(lines)
        except Exception:  # noqa: BLE001 - retried record by record, failures counted
            good, hopeless = self._encodable(lines.records())
            if hopeless:
                await self.dead_letter(Payload(b"", hopeless, 0), FatalSinkError(
                    "the sink's encoder refuses these records", sink=self._sink.name))
            payloads = self._sink.encode(good) if good else []
        self._flush_changed()
        return payloads, len(hopeless)

    def _encodable(self, records: list[Record]) -> tuple[list[Record], list[Record]]:
        """Records the encoder takes (one it refuses replaced by its text form, counted),
        and those it refuses even as text."""
        good: list[Record] = []
        hopeless: list[Record] = []
        for record in records:
            for candidate in (record, None):
                if candidate is None:
                    error = self._trial_error or "error"
                    candidate = orjson.loads(as_text(record, error))
                if self._encodes(candidate):
                    if candidate is not record:
                        self._m.failed("unencodable").inc()
                        log.warning("sink %s: a record its encoder refuses (%s) is shipped "
                                    "as text", self._sink.name, error)
                    good.append(candidate)
                    break
            else:
                hopeless.append(record)
        self._sink.counts.clear()  # the trial encodes counted nothing real
        return good, hopeless

    def _encodes(self, record: Record) -> bool:
        try:
            self._sink.encode([record])
        except Exception as exc:  # noqa: BLE001 - the caller falls back to text, counted
            self._trial_error = type(exc).__name__
            return False
        return True

    def _flush_changed(self) -> None:
        """Count records the encoder had to change (they are delivered, but not intact)."""
        for reason, n in self._sink.counts.items():
            self._m.failed(reason).inc(n)
        self._sink.counts.clear()

    async def _deliver(self, payload: Payload) -> None:
        if payload.withheld:
            await self.dead_letter(payload, FatalSinkError(payload.withheld, sink=self._sink.name))
            return
        attempt = 0
        while True:
            started = self._clock()
            try:
                await self._sink.send(payload)
            except PayloadTooLargeError as exc:
                self._m.requests("retry").inc()
                await self._split(payload, exc)
                return
            except RetryableSinkError as exc:
                self._m.requests("retry").inc()
                attempt += 1
                if self._retry.max_attempts and attempt >= self._retry.max_attempts:
                    await self.dead_letter(payload, exc)
                    return
                self._m.retries.inc()
                self._health.failed(exc)
                delay = self.backoff(attempt, exc.retry_after)
                log.debug("sink %s: %s, retry %d in %.2fs", self._sink.name, exc, attempt, delay)
                await self._pause(delay, exc.retry_after)
                continue
            except FatalSinkError as exc:
                self._m.requests("fatal").inc()
                await self.dead_letter(payload, exc)
                return
            finally:
                self._m.duration.observe(max(0.0, self._clock() - started))
            self._delivered(payload)
            return

    def _delivered(self, payload: Payload) -> None:
        self._m.requests("ok").inc()
        self._m.forwarded.inc(payload.count - payload.refused)
        self._m.bytes.inc(payload.raw_bytes)
        self._health.delivered()
        self._success.set()  # wake the batches backing off: the backend answers again
        self._success = asyncio.Event()

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(max, initial * 2**(attempt-1))], >= Retry-After."""
        ceiling: float = min(self._retry.max_backoff,
                             self._retry.initial_backoff * (2 ** min(attempt - 1, 30)))
        delay = self._rng() * ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, 3600.0))
        return delay

    async def _pause(self, delay: float, retry_after: float | None) -> None:
        """Sleep ``delay``, less if the sink closes or (without Retry-After) recovers;
        once closing, at most ``CLOSING_BACKOFF``."""
        wakers = [] if retry_after is not None else [self._success.wait()]
        if self._closing.is_set():
            delay = min(delay, CLOSING_BACKOFF)
        else:
            wakers.append(self._closing.wait())
        tasks = [asyncio.ensure_future(self._sleep(delay)), *map(asyncio.ensure_future, wakers)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()

    async def _split(self, payload: Payload, exc: SinkError) -> None:
        if payload.count <= 1:
            await self.dead_letter(payload, exc)
            return
        if payload.lines is not None:
            for part in payload.lines.halves():
                for sub in (await self.encode(part))[0]:
                    await self._deliver(sub)
            return
        half = len(payload.records) // 2
        for records in (payload.records[:half], payload.records[half:]):
            for sub in self._sink.encode(records):
                await self._deliver(sub)

    async def dead_letter(self, payload: Payload, exc: SinkError) -> None:
        records = payload.records if payload.lines is None else payload.lines.records()
        self._dead_unlogged += len(records)
        now = self._clock()
        if self._dead_logged_at is None or now - self._dead_logged_at >= REPEAT_EVERY:
            log.warning("sink %s: %d record(s) not deliverable (%s), dead-lettered",
                        self._sink.name, self._dead_unlogged, exc)
            self._dead_logged_at, self._dead_unlogged = now, 0
        reason = "dead-letter" if await self._dead.write(records, exc) else "dead-letter-full"
        self._m.failed(reason).inc(len(records))
