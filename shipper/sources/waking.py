"""When the tailer looks again: inotify events, or the ``poll_interval`` at the latest.

:class:`Waker` owns the optional :class:`~shipper.sources.inotify.Inotify` instance and
the event the tailer sleeps on. A directory whose entries changed (create, move, delete)
asks for a re-scan before the next read; any event ends the sleep early.
"""

from __future__ import annotations

import asyncio
import logging

from shipper.sources.inotify import Inotify

log = logging.getLogger("shipper.sources")


class Waker:
    """Wakes the tailer on inotify events (when ``enabled`` and available)."""

    def __init__(self, enabled: bool, max_watches: int) -> None:
        self._enabled = enabled
        self._max_watches = max_watches
        self._inotify: Inotify | None = None
        self._event = asyncio.Event()
        #: directory entries changed since the last scan (or nothing scanned yet)
        self.rescan = True

    def start(self) -> None:
        if not self._enabled:
            return
        self._inotify = Inotify.create(self._max_watches)
        if self._inotify is not None:
            asyncio.get_running_loop().add_reader(self._inotify.fileno(), self._on_event)

    def watch(self, dirs: set[str]) -> bool:
        """Watch these directories too (new files appear in them); ``True`` when one was
        added (what changed in it before the watch was seen by no event)."""
        added = False
        if self._inotify is not None:
            for directory in dirs - self._inotify.watched:
                added |= self._inotify.add_dir(directory)
        return added

    def covers(self, dirs: set[str]) -> bool:
        """Whether inotify is on and watches every one of ``dirs``."""
        return self._inotify is not None and dirs <= self._inotify.watched

    async def wake_on(self, event: asyncio.Event) -> None:
        """End the sleep when ``event`` is set (a stop: not one poll later)."""
        await event.wait()
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def sleep(self, seconds: float) -> None:
        """Until an event or ``seconds`` passed."""
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return

    def stop(self) -> None:
        if self._inotify is not None:
            asyncio.get_running_loop().remove_reader(self._inotify.fileno())
            self._inotify.close()
            self._inotify = None

    def _on_event(self) -> None:
        assert self._inotify is not None
        try:
            if self._inotify.read_events():
                self.rescan = True
        except OSError as exc:
            log.warning("inotify failed, polling only", extra={"error": str(exc)})
            self.stop()
        self._event.set()
