"""Shutdown within ``shutdown_deadline``, whatever is stuck.

The budget starts when shutdown begins (SIGTERM/SIGINT, a task failure the pipeline
cannot continue after, or the end of the input in ``--once`` runs) and its phases share
it in this order:

1. ``DRAIN``: the tailer reads to the end of every file (``drain_on_exit``) and the
   processor hands what was read to the sinks, until 3/4 of the deadline minus the save
   reserve. Whatever is still unread or queued then is cut off (the tailer and the
   processor are cancelled, a processor blocked in ``sink.put`` included).
2. ``CLOSE``: every sink flushes what it holds, until the deadline minus the save reserve.
3. ``SAVE``: the checkpoints of what was acknowledged are saved; the reserve is 10 % of the
   deadline, at most 1 s. Then the process exits: tasks and threads still blocked (a
   write to a full pipe, a hung fsync) are not waited for past the deadline.

Nothing unacknowledged is lost: it is read again from the checkpoint after a restart.
:class:`Watchdog` is the last resort for code that cannot be interrupted at all (the event
loop itself blocked): a thread that ends the process ``GRACE`` seconds after the deadline.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

log = logging.getLogger("shipper.pipeline")

#: share of the budget (without the save reserve) the drain may take
DRAIN_SHARE = 0.75
#: the reserve for the final checkpoint save: this share of the deadline, at most MAX_SAVE
SAVE_SHARE = 0.1
MAX_SAVE = 1.0
#: the watchdog ends the process this long after the deadline
GRACE = 0.5

Exit = Callable[[int], None]


class Phase(enum.Enum):
    DRAIN = "drain"
    CLOSE = "close"
    SAVE = "save"


class Shutdown:
    """The shutdown clock: when it began and how long each phase has left."""

    def __init__(self, deadline: float, *, monotonic: Callable[[], float] = time.monotonic,
                 watchdog: Watchdog | None = None) -> None:
        self.deadline = max(0.0, deadline)
        self.reason = ""
        self._monotonic = monotonic
        self._watchdog = watchdog
        self._began: float | None = None
        save = min(MAX_SAVE, SAVE_SHARE * self.deadline)
        self._ends = {Phase.DRAIN: DRAIN_SHARE * (self.deadline - save),
                      Phase.CLOSE: self.deadline - save, Phase.SAVE: self.deadline}

    def begin(self, reason: str) -> None:
        """Start the clock (the first call counts) and arm the watchdog."""
        if self._began is not None:
            return
        self._began, self.reason = self._monotonic(), reason
        log.info("shutting down", extra={"reason": reason, "deadline_s": self.deadline})
        if self._watchdog is not None:
            self._watchdog.arm(self.deadline + GRACE)

    def left(self, phase: Phase) -> float | None:
        """Seconds left for ``phase`` (``None``: no shutdown yet, no limit)."""
        if self._began is None:
            return None
        return max(0.0, self._began + self._ends[phase] - self._monotonic())

    def result(self, code: int) -> None:
        """The exit code, once known (the watchdog exits with it)."""
        if self._watchdog is not None:
            self._watchdog.code = code

    async def settle(self, code: int, exit: Exit = os._exit) -> None:
        """Let cancelled tasks and the default executor's threads finish within the
        deadline; when some do not (a thread blocked in ``write`` on a full pipe), say
        so and end the process now with ``code`` instead of waiting for them at exit
        (``asyncio.run`` and the interpreter would join those threads forever)."""
        self.result(code)
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        for task in tasks:
            task.cancel()
        left = self.left(Phase.SAVE)
        if tasks:
            await asyncio.wait(tasks, timeout=left)
        stuck = sum(1 for task in tasks if not task.done())
        try:
            await asyncio.wait_for(loop.shutdown_default_executor(), self.left(Phase.SAVE))
        except TimeoutError:
            stuck += 1
        if stuck:
            log.warning("exiting with work still blocked (not waited for past the deadline)",
                        extra={"blocked": stuck, "exit_code": code})
            exit(code)


class Watchdog:
    """A daemon thread that ends the process when it is still alive ``seconds`` after
    :meth:`arm`: the last resort when the event loop itself is blocked. It writes one JSON
    line to stderr without the logging lock (a thread blocked in logging may hold it)."""

    def __init__(self, *, exit: Exit = os._exit, fd: int = 2) -> None:
        #: the exit code to use (1 until the pipeline knows its own)
        self.code = 1
        self._exit = exit
        self._fd = fd
        self._thread: threading.Thread | None = None
        self._disarmed = threading.Event()

    def arm(self, seconds: float) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(seconds,),
                                            name="shutdown-watchdog", daemon=True)
            self._thread.start()

    def disarm(self) -> None:
        self._disarmed.set()

    def _run(self, seconds: float) -> None:
        if not self._disarmed.wait(seconds):
            self._say(seconds)
            self._exit(self.code)

    def _say(self, seconds: float) -> None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        entry = {"time": now.replace("+00:00", "Z"), "level": "error",
                 "event": "shutdown did not finish within the deadline, exiting now",
                 "logger": "shipper.pipeline", "after_s": round(seconds, 3),
                 "exit_code": self.code}
        try:
            if select.select([], [self._fd], [], 0.1)[1]:
                os.write(self._fd, orjson.dumps(entry) + b"\n")
        except (OSError, ValueError):
            return  # stderr closed or unusable: exit anyway
