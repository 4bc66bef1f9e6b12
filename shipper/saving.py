"""When a run saves its checkpoints (the store itself is :mod:`shipper.sources`).

A save starts soon after a delivery moves a checkpoint (:meth:`CheckpointSaver.moved`),
at most every :data:`CHECKPOINT_MIN_INTERVAL` seconds (so a SIGKILL re-sends little more
than the batches in flight), and a last one after the sinks closed
(:meth:`CheckpointSaver.final`), within what is left of the shutdown deadline. There is
never more than one save at a time; each runs as a task the pipeline starts and watches
(``start``), and a save in progress goes on when the loop is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from shipper.shutdown import Phase, Shutdown

log = logging.getLogger("shipper.pipeline")

#: checkpoints are saved as soon as a delivery moves one, at most this often
CHECKPOINT_MIN_INTERVAL = 0.05

Start = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class CheckpointSaver:
    """Saves ``checkpoints`` (a store with ``async save()``, or ``None``: nothing to do)."""

    def __init__(self, checkpoints: Any, start: Start, shutdown: Shutdown) -> None:
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
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await asyncio.wait({self._start_save()})
            await asyncio.sleep(CHECKPOINT_MIN_INTERVAL)

    async def final(self) -> None:
        """After the last ack: persist the checkpoints (never two saves at once)."""
        if self._checkpoints is None:
            return
        running = self._save
        if running is not None and not running.done() and not await self._saved(running):
            return
        await self._saved(self._start_save())

    def _start_save(self) -> asyncio.Task[Any]:
        """The save in progress, or a new one: never two at once."""
        if self._save is None or self._save.done():
            self._save = self._start("checkpoints-save", self._checkpoints.save())
        return self._save

    async def _saved(self, saving: asyncio.Task[Any]) -> bool:
        await asyncio.wait({saving}, timeout=self._shutdown.left(Phase.SAVE))
        if saving.done():
            return True
        log.warning("shutdown deadline: checkpoints not saved; lines since the last save "
                    "will be sent again after a restart")
        return False
