"""The changes asked of the processor task (:meth:`shipper.delivery.Delivery.between`: a
reload's swap): run in that task between two items, in order, never while a ``put`` is in
progress; each asker waits on a future for the outcome. An idle task's wait without a
timeout is ended when a change is asked for, so it runs within a tick."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from shipper.delivery_parts import settle
from shipper.errors import ConfigError

Change = Callable[[], Awaitable[None]]


class Changes:
    """The changes asked for and not run yet (true while there are some)."""

    def __init__(self) -> None:
        self._asked: list[tuple[Change, asyncio.Future[None]]] = []
        self._ended = False
        #: the wait of the idle task for its next item, to end when a change is asked for
        self.waiting: asyncio.Timeout | None = None

    def __bool__(self) -> bool:
        return bool(self._asked)

    def ask(self, change: Change) -> asyncio.Future[None]:
        """Run ``change`` between two items (within a tick when idle); the future has its
        outcome. Refused (``RuntimeError``) once the task has ended."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._ended:
            future.set_exception(RuntimeError("the pipeline is stopping"))
        else:
            self._asked.append((change, future))
            if self.waiting is not None:  # idle without a timeout: wake up now
                self.waiting.reschedule(asyncio.get_running_loop().time())
        return future

    async def run_due(self) -> None:
        """The changes asked for, in order. One that refuses (a ``ConfigError``) tells
        its caller only; anything else (a sink that died included) is a failure of the
        task as well."""
        while self._asked:
            change, future = self._asked.pop(0)
            try:
                await change()
            except ConfigError as exc:
                settle(future, exc)
                continue
            except BaseException as exc:
                settle(future, RuntimeError(f"the change failed: {type(exc).__name__}"))
                raise
            settle(future, None)

    def end(self) -> None:
        """The task has ended: the changes still asked for, and any asked later, fail."""
        self._ended = True
        for _change, future in self._asked:
            if not future.done():
                future.set_exception(RuntimeError("the pipeline is stopping"))
        self._asked.clear()
