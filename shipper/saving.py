"""When a run saves its checkpoints (the store itself is :mod:`shipper.sources`).

A save starts soon after a delivery moves a checkpoint (:meth:`CheckpointSaver.moved`),
at most every :data:`CHECKPOINT_MIN_INTERVAL` seconds (so a SIGKILL re-sends little more
than the batches in flight) and no sooner than writing :data:`CHECKPOINT_MAX_BYTES_PER_S`
takes (the file holds every file's entry: with 1,000 files, ~265 KB, it is saved every
~0.25 s, not written at 5 MB/s for one busy file), and a last one after the sinks closed
(:meth:`CheckpointSaver.final`), within what is left of the shutdown deadline. There is
never more than one save at a time; each runs as a task the pipeline starts and watches
(``start``), and a save in progress goes on when the loop is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from shipper.shutdown import Phase, Shutdown

log = logging.getLogger("shipper.pipeline")

#: checkpoints are saved as soon as a delivery moves one, at most this often
CHECKPOINT_MIN_INTERVAL = 0.05
#: ... and no more bytes of checkpoint file than this a second, on average
CHECKPOINT_MAX_BYTES_PER_S = 1 << 20

Start = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Saving(Protocol):
    """A checkpoint store as the saver sees it."""

    #: the size of the file the last save wrote (bytes)
    saved_bytes: int

    async def save(self) -> bool: ...


def pause_after(saved_bytes: int) -> float:
    """Seconds from the end of a save that wrote ``saved_bytes`` to the start of the next."""
    return max(CHECKPOINT_MIN_INTERVAL, saved_bytes / CHECKPOINT_MAX_BYTES_PER_S)


class CheckpointSaver:
    """Saves ``checkpoints`` (a store, or ``None``: nothing to do)."""

    def __init__(self, checkpoints: Saving | None, start: Start, shutdown: Shutdown) -> None:
        self._checkpoints = checkpoints
        self._start = start
        self._shutdown = shutdown
        self._dirty = asyncio.Event()
        self._save: asyncio.Task[Any] | None = None

    def moved(self) -> None:
        """A delivery moved a checkpoint: save soon."""
        self._dirty.set()

    async def loop(self) -> None:
        """Persist checkpoints soon after deliveries move them (fsync in a thread)."""
        store = self._checkpoints
        while store is not None:
            await self._dirty.wait()
            self._dirty.clear()
            await asyncio.wait({self._start_save(store)})
            await asyncio.sleep(pause_after(store.saved_bytes))

    async def final(self) -> None:
        """After the last ack: persist the checkpoints (never two saves at once)."""
        store = self._checkpoints
        if store is None:
            return
        running = self._save
        if running is not None and not running.done() and not await self._saved(running):
            return
        await self._saved(self._start_save(store))

    def _start_save(self, store: Saving) -> asyncio.Task[Any]:
        """The save in progress, or a new one: never two at once."""
        if self._save is None or self._save.done():
            self._save = self._start("checkpoints-save", store.save())
        return self._save

    async def _saved(self, saving: asyncio.Task[Any]) -> bool:
        await asyncio.wait({saving}, timeout=self._shutdown.left(Phase.SAVE))
        if saving.done():
            return True
        log.warning("shutdown deadline: checkpoints not saved; lines since the last save "
                    "will be sent again after a restart")
        return False
