"""How the tailer hands a chunk to the pipeline: counters, checkpoint witnesses, splitting
and backpressure.

:meth:`Emitter.deliver` counts what a read produced (``shipper_bytes_read_total``,
``shipper_lines_read_total``, truncated lines), notes the chunk's witnesses with the
checkpoints and emits it, in parts of at most ``sources.chunk_max_lines`` lines when
checkpoints acknowledge them. ``emit`` waits on a bounded queue: while it waits, the lag
gauge is refreshed every ``poll_interval`` and a stop is noticed (its stop point noted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from shipper.metrics import Metrics
from shipper.sources.files import Chunk, OpenFile
from shipper.sources.fileset import FileSet
from shipper.sources.reads import split_chunk
from shipper.sources.recovery import Checkpoints
from shipper.sources.settings import TailSettings
from shipper.sources.stopping import StopPoint, refresh_sizes

Emit = Callable[[Chunk], Coroutine[Any, Any, None]]


class Emitter:
    """The tailer's side of the queue to the processor (see the module docstring)."""

    def __init__(self, settings: TailSettings, metrics: Metrics, files: FileSet,
                 stop_point: StopPoint, checkpoints: Checkpoints | None) -> None:
        self._settings = settings
        self._metrics = metrics
        self._files = files
        self._stop_point = stop_point
        self._checkpoints = checkpoints
        self._emit: Emit | None = None
        self._stop: asyncio.Event | None = None

    def bind(self, emit: Emit, stop: asyncio.Event) -> None:
        """Where chunks go, and the event that says the tailer is stopping."""
        self._emit, self._stop = emit, stop

    async def deliver(self, f: OpenFile, chunk: Chunk) -> None:
        """Count what ``f``'s read produced and emit ``chunk`` (if it says anything)."""
        metrics = self._metrics
        if f.bytes_read:
            metrics.bytes_read_total.inc(f.bytes_read)
            f.bytes_read = 0
        if chunk.lines:
            metrics.lines_read_total.inc(len(chunk.lines))
        if chunk.truncated:
            metrics.parse_errors_total.labels(kind="truncated_line").inc(len(chunk.truncated))
        if not (chunk.lines or chunk.eof) or self._emit is None:
            return
        if self._checkpoints is None:  # acknowledgement size only matters for them
            await self._emit_chunk(chunk)
            return
        for witness in chunk.witnesses:
            self._checkpoints.note(chunk.file_key, witness)
        for part in split_chunk(chunk, self._settings.sources.chunk_max_lines):
            await self._emit_chunk(part)

    async def _emit_chunk(self, chunk: Chunk) -> None:
        """``emit``, keeping the lag gauge fresh and noticing a stop while it waits.

        The emit starts at once (an eager task): with room in the queue it is done
        without a turn of the event loop, so a burst of small files' chunks goes in
        together. The wait is structured: an emit that has to wait runs as a future this
        call awaits in slices of ``poll_interval`` and cancels if it is itself cancelled;
        it never outlives it.
        """
        assert self._emit is not None
        emitting: asyncio.Task[None] = asyncio.eager_task_factory(
            asyncio.get_running_loop(), self._emit(chunk))
        if emitting.done():
            emitting.result()
            return
        poll = self._settings.poll_interval
        try:
            while not (await asyncio.wait({emitting}, timeout=poll))[0]:
                await self._while_blocked()
        except BaseException:
            emitting.cancel()
            raise
        emitting.result()

    async def _while_blocked(self) -> None:
        await asyncio.to_thread(refresh_sizes, list(self._files))
        self._metrics.file_lag_bytes.set(self._files.lag)
        if self._stop is not None and self._stop.is_set():
            await self._stop_point.note()
