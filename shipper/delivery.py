"""The processor task: chunks from the tailer become records handed to every sink.

``pipeline.py`` creates the bounded chunk queue and the task that runs
:meth:`Delivery.run`; this module only consumes the queue and awaits ``sink.put``. Each
item is one call to the processor (:meth:`~shipper.processor.Processor.feed`, ``flush``,
``close``), whose :class:`~shipper.stream.Batch` is delivered. It is the only caller of
``sink.put``, so the records of one file reach every sink in order. It also ships, in
that same order:

- multi-line records gone quiet (``parse.multiline.flush_after``), but only for files
  with no chunk still queued: their next lines may be in it, behind a blocked ``put``;
- a file's pending record when the tailer lets the file go, after the file's last chunk
  (:class:`Closed` follows it in the queue);
- at the end (``None`` in the queue) every pending record, whole, when every file was read
  to its end (``drain_on_exit``, ``--once``) or nothing would read it again; otherwise it is
  left to be read again from the checkpoint. Dedupe summaries always ship then.

Routes (:mod:`shipper.routes`) decide which sinks get each record; acknowledgements
(:mod:`shipper.acks`, kept in the file's stream) move each file's checkpoint over what every
sink the records went to has (a record no sink gets is done at once). Each sink is handed
its own share of the token (:class:`shipper.acks.Shares`), so a sink retired by a reload
can let go of what it could not deliver.

The records are encoded once when more than one takes exactly them (the live tail's ring,
``Observers.publish_encoded``, and the sinks that take an encoded envelope,
:class:`~shipper.sinks.encoding.TakesEncoded`, whose route gave them every record): the
default case of one route to everything. Otherwise each encodes its own, as before.

Between two items the task runs the changes asked of it (:meth:`Delivery.between`,
:mod:`shipper.delivery_changes`): a reload swaps the stages, routes and sinks there, never
while a ``put`` is in progress.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from shipper.acks import AckToken, Shares
from shipper.components import Observers
from shipper.delivery_changes import Change, Changes
from shipper.delivery_parts import (
    Closed,
    Riders,
    group_token,
    queued_behind,
    routed,
    shared_encoding,
    takers_of,
    unqueue,
)
from shipper.kernels import release_raw
from shipper.processor import Processor
from shipper.record import Record
from shipper.routes import Router
from shipper.sinks.encoding import Encoded
from shipper.sources.tailer import Chunk
from shipper.stages import CountingFates
from shipper.stream import Batch, FileStream

TICK_SECONDS = 0.1


Item = Chunk | Closed | None
_IDLE = Closed("")  # nothing arrived within a tick


class Delivery:
    """Parses, processes and delivers what the tailer emits (see the module docstring)."""

    def __init__(self, queue: asyncio.Queue[Item], processor: Processor, sinks: list[Any], *,
                 observers: Observers, checkpoints: Any, flush_at_end: bool,
                 on_isolated: Callable[[str, Exception], None],
                 on_checkpoint: Callable[[], None], clock: Callable[[], float],
                 monotonic: Callable[[], float], router: Router | None = None) -> None:
        self._queue = queue
        self.processor = processor
        #: the sinks, their routes and their shares of the tokens, index by index; a reload
        #: replaces all three between two items (:meth:`replace_sinks`)
        self.sinks = sinks
        self.router = router or Router([None] * len(sinks), CountingFates())
        self.shares = [Shares() for _ in sinks]
        self._takers = takers_of(sinks)
        self._changes = Changes()
        self.observers = observers
        self.checkpoints = checkpoints
        #: pending multi-line records ship at the end (see the module docstring)
        self.flush_at_end = flush_at_end
        #: set when stopping: a file let go then keeps its pending record for re-reading
        self.stopping = False
        self._on_isolated = on_isolated
        self._on_checkpoint = on_checkpoint
        self._clock = clock
        self._monotonic = monotonic
        self._queued: Counter[str] = Counter()  # chunks per file queued, not yet parsed
        self._riders = Riders()
        #: records handed to the sinks and not yet acknowledged by all of them
        self.inflight = 0
        #: set on each chunk emitted and batch delivered: ends the pipeline's idle tick
        self.active = asyncio.Event()

    async def emit(self, chunk: Chunk) -> None:
        """The tailer's ``emit``: waits while the queue is full (backpressure)."""
        self._queued[chunk.file_key] += 1
        if not self.active.is_set():
            self.active.set()
        if self.observers.progress is not None:
            self.observers.progress.note_read(len(chunk.lines))
        await self._queue.put(chunk)
        self._riders.queued(chunk)

    async def file_closed(self, file_key: str) -> None:
        """The tailer's ``on_closed``: the file's pending record ships after its chunks."""
        self.active.set()
        if not self._riders.ride(file_key):
            await self._queue.put(Closed(file_key))

    def between(self, change: Change) -> asyncio.Future[None]:
        """Run ``change`` in this task between two items (within a tick when idle); the
        future has its outcome. Refused (``RuntimeError``) once the task has ended."""
        return self._changes.ask(change)

    def replace_sinks(self, sinks: list[Any], router: Router, shares: list[Shares]) -> None:
        """New sinks, routes and shares (index by index); only from a change."""
        self.sinks[:] = sinks
        self.router = router
        self.shares = shares
        self._takers = takers_of(sinks)

    async def run(self) -> None:
        """The processor task: until ``None`` arrives in the queue."""
        try:
            await self._run()
        finally:
            self._changes.end()

    async def drain_stages(self) -> None:
        """Ship what the stateful stages hold (dedupe summaries), before they go."""
        drained = self.processor.drain(True)
        if drained:
            await self._deliver(Batch(drained, None, 0))

    async def _run(self) -> None:
        next_flush = self._monotonic() + TICK_SECONDS
        item: Item = _IDLE
        while True:
            if self._changes:
                await self._changes.run_due()
            if item is _IDLE:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    item = await self._next()
            if item is None:
                await self._deliver_flushed(pending=self.flush_at_end, drain=True)
                return
            if isinstance(item, Chunk):  # and the chunks queued behind it: the item after
                item = await self._handle(item)
            elif item is not _IDLE:
                await self._closed(item.file_key)
                item = _IDLE
            now = self._monotonic()
            if now >= next_flush:
                next_flush = now + TICK_SECONDS
                await self._deliver_flushed(pending=False, drain=False)

    async def _next(self) -> Item:
        """The next item, or ``_IDLE`` after a tick while something waits for a timer (a
        multi-line record, a dedupe run) or when a change is asked for. With nothing held
        the wait has no timeout: an idle sidecar does not wake ten times a second."""
        timeout = TICK_SECONDS if self._holding() else None
        try:
            async with asyncio.timeout(timeout) as self._changes.waiting:
                return await self._queue.get()
        except TimeoutError:
            return _IDLE
        finally:
            self._changes.waiting = None

    def _holding(self) -> bool:
        """Whether a flush on the tick may ship something: a pending multi-line record,
        or a stage that holds records across them (dedupe)."""
        processor = self.processor
        return bool(processor.draining) or any(True for _ in processor.streams.held())

    async def _handle(self, chunk: Chunk) -> Item:
        """``chunk`` and the chunks and files let go queued right behind it, processed
        together (:meth:`Processor.feed_many`), then delivered together when every sink
        takes every record; returns the item taken after them (``_IDLE``: none)."""
        items, after = queued_behind(chunk, self._queue, _IDLE, self._riders)
        flush = not self.stopping or self.flush_at_end
        batches = self.processor.feed_many(items, flush=flush)
        unqueue(self._queued, items)
        if self.router.everything and batches:
            await self._deliver(*batches)
        else:
            for batch in batches:
                await self._deliver(batch)
        return after

    async def _closed(self, file_key: str) -> None:
        """Ship the pending record of a file let go, unless stopping without a flush at
        the end (then it is read again, whole, from the checkpoint after a restart)."""
        flush = not self.stopping or self.flush_at_end
        batch = self.processor.close(file_key, flush=flush)
        if batch is not None:
            await self._deliver(batch)

    async def _deliver_flushed(self, *, pending: bool, drain: bool) -> None:
        """Multi-line records gone quiet (all of them with ``pending``) and dedupe
        summaries that are due (all of them with ``drain``). A file with chunks still
        queued is skipped: the next lines of its record may be in them."""
        for batch in self.processor.flush(self._clock(), pending, drain=drain,
                                          busy=self._queued):
            await self._deliver(batch)

    async def _deliver(self, *group: Batch) -> None:
        """Fan batches of surviving records out to the sinks their routes name, with one
        ack token (a share of it per sink) per batch; what goes nowhere is done at once.
        Several batches (only when every sink takes every record) go as one envelope."""
        if not self.active.is_set():
            self.active.set()
        records = group[0].records if len(group) == 1 else \
            [record for batch in group for record in batch.records]
        batches = self.router.split(records) if records else []
        release_raw(records)  # the sinks never read it: not held in their buffers
        kept = records if self.router.everything else routed(records, batches)
        targets = [i for i, part in enumerate(batches) if part]
        shared = self._published(kept, [batches[i] for i in targets
                                        if self._takers[i] is not None]) if kept else None
        token = self._token(group[0], len(targets), len(kept)) if len(group) == 1 else \
            self._group_token(group, len(targets))
        if not targets:
            return
        self.inflight += len(kept)
        sinks, shares, takers = self.sinks, self.shares, self._takers
        for i in targets:
            part = batches[i]
            share = shares[i].share(token, len(part))
            taker = takers[i]
            if shared is not None and taker is not None and len(part) == len(kept):
                await taker.put_encoded(part, shared, share)
            else:
                await sinks[i].put(part, share)

    def _published(self, kept: list[Record], taken: list[list[Record]]) -> Encoded | None:
        """``kept`` published (:meth:`_publish`) with the encoding shared by the takers of
        exactly them (``taken``: see :func:`shared_encoding`), which it returns."""
        shared = shared_encoding(kept, taken, len(self.observers.publish_encoded))
        self._publish(kept, shared)
        return shared

    def _group_token(self, group: tuple[Batch, ...], sinks: int) -> AckToken:
        """The token of an envelope of several batches, each with its own token (waiting
        for it when it has records and there are ``sinks``)."""
        return group_token([self._token(batch, 1 if sinks and batch.records else 0,
                                        len(batch.records)) for batch in group], sinks)

    def _token(self, batch: Batch, pending: int, records: int) -> AckToken:
        """The batch's ack token, in its file's order; with no sink to wait for
        (``pending`` 0) done at once."""
        stream = batch.stream
        token = AckToken(batch.file_key or "", batch.safe_offset, pending=pending,
                         records=records, on_complete=partial(self._on_acked, stream))
        if stream is not None:
            stream.acks.add(token)
        if not pending:
            self._on_acked(stream, token)
        return token

    def _publish(self, records: list[Record], encoded: Encoded | None) -> None:
        """Live tail and job summaries; their failure never stops delivery."""
        for keep in self.observers.publish_encoded:
            try:
                keep(records, encoded)
            except Exception as exc:  # noqa: BLE001 - logged and counted there
                self._on_isolated("observers", exc)
        for publish in self.observers.publish:
            try:
                publish(records)
            except Exception as exc:  # noqa: BLE001 - logged and counted there
                self._on_isolated("observers", exc)

    def _on_acked(self, stream: FileStream | None, token: AckToken) -> None:
        if token.records:
            self.inflight -= token.records
            if self.observers.progress is not None:
                self.observers.progress.note_delivered(token.records)
        if stream is None:
            return
        acks = stream.acks
        before = acks.safe_offset
        offset = acks.advance()
        if offset != before and self.checkpoints is not None:
            self.checkpoints.set(stream.key, stream.path, offset)
            self._on_checkpoint()

