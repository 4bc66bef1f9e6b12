"""The stdout sink: NDJSON records for a node agent (Fluentd, Fluent Bit, Datadog agent).

A :class:`~shipper.sinks.base.BaseSink` like the network sinks (its own byte-bounded
buffer and ``when_full`` policy, batches bounded by ``batch.max_records`` and
``batch.max_bytes``, records JSON cannot hold shipped as text), whose ``send`` writes the
batch's NDJSON as it was buffered. Writes go through a daemon thread of its own: a full
stdout pipe blocks that thread, never the event loop, and never the process exit
(``close`` returns at its deadline; the thread is abandoned). Up to ``concurrency``
batches are handed to the thread at once and written in the order the batcher cut them:
the batcher starts their delivery tasks in that order, each task queues its write in its
first step (nothing before :meth:`FdWriter.write`'s ``put`` suspends), and the thread
takes the queue first in, first out.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from typing import Any

from shipper.record import Record
from shipper.sinks.base import BaseSink, Payload
from shipper.sinks.batch import Lines
from shipper.sinks.encoding import encode_records


def encode_ndjson(records: list[Record]) -> bytes:
    """One JSON object per line, each ending in ``\\n`` (internal keys removed; a record
    JSON cannot hold as text, see :mod:`shipper.sinks.encoding`)."""
    return encode_records(records, levels=False).data


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until everything is written (pipes accept partial writes)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_views(fd: int, views: list[memoryview]) -> None:
    """The views written one after another, ``os.writev`` until everything is (at most
    :data:`IOV_MAX` at a time; a partial write goes on where it stopped)."""
    pending = [view for view in views if view.nbytes]
    first = 0
    while first < len(pending):
        written = os.writev(fd, pending[first:first + IOV_MAX])
        while written and written >= pending[first].nbytes:
            written -= pending[first].nbytes
            first += 1
        if written:
            pending[first] = pending[first][written:]


def span_views(lines: Lines) -> list[memoryview]:
    """The batch's bytes, span by span (what ``lines.ndjson()`` joins into one copy)."""
    return [memoryview(span.data)[span.lo:span.lo + span.nbytes] for span in lines.spans]


#: buffers given to one ``writev`` (POSIX guarantees at least 16; Linux takes 1024)
IOV_MAX = 1024
_Job = tuple[bytes | list[memoryview], "asyncio.Future[None]", asyncio.AbstractEventLoop]


class FdWriter:
    """Writes to a descriptor in a daemon thread; ``write`` awaits the thread's result."""

    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"sink-{self._name}-writer",
                                        daemon=True)
        self._thread.start()

    async def write(self, data: bytes | list[memoryview]) -> None:
        """``data`` written (a list of views: one after another, without joining them)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._jobs.put((data, done, loop))
        await done

    def stop(self) -> None:
        """The thread ends after the write in progress (if any)."""
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            data, done, loop = job
            error: OSError | None = None
            try:
                if isinstance(data, bytes):
                    write_all(self._fd, data)
                else:
                    write_views(self._fd, data)
            except OSError as exc:
                error = exc
            try:
                loop.call_soon_threadsafe(_settle, done, error)
            except RuntimeError:  # the loop is gone (process exiting): nobody waits
                return


def _settle(done: asyncio.Future[None], error: OSError | None) -> None:
    if done.done():
        return  # given up on (close deadline)
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(None)


class StdoutSink(BaseSink):
    """Writes NDJSON to a file descriptor (stdout by default), one write per batch."""

    def __init__(self, settings: Any, *, fd: int = 1, **kwargs: Any) -> None:
        state_dir = kwargs.get("state_dir")
        kwargs["state_dir"] = None  # nothing is ever refused: no dead letter
        super().__init__(settings, **kwargs)
        self._state_dir = state_dir  # checkpoints: what is left at shutdown is read again
        self._writer = FdWriter(fd, self.name)

    def encode(self, records: list[Record]) -> list[Payload]:
        data = encode_ndjson(records)
        return [Payload(data, records, len(data))]

    def encode_lines(self, lines: Lines) -> list[Payload]:
        """A batch of one whole envelope is written as it is; one of several spans is
        written span by span (:meth:`send`): its ``body`` is empty, not a copy of them
        all joined (~0.4k instructions a record, and a fresh buffer per batch)."""
        if len(lines.spans) == 1:
            data = lines.ndjson()
            return [Payload(data, [], len(data), lines=lines)]
        return [Payload(b"", [], sum(span.nbytes for span in lines.spans), lines=lines)]

    async def send(self, payload: Payload) -> None:
        """A write error (stdout closed: ``EPIPE``) stops the sink, loudly."""
        lines = payload.lines
        if payload.body or lines is None or len(lines.spans) < 2:
            await self._writer.write(payload.body)
        else:
            await self._writer.write(span_views(lines))

    async def open(self) -> None:
        self._writer.start()

    async def shutdown(self) -> None:
        self._writer.stop()
