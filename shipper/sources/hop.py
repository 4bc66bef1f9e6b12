"""The tailer's reader thread: where its per-chunk reads run.

:func:`asyncio.to_thread` costs, per call, a copy of the context, a ``concurrent.futures``
future (with its ``Condition``) chained to an asyncio future, and the executor's
bookkeeping: about 220k instructions a hop here, ~380 a line with 128 KiB chunks. A read
step needs none of it: :meth:`Reader.run` puts the call on a queue the thread takes from
and the thread sets the result on the loop with one ``call_soon_threadsafe``. As with
``to_thread``, a cancelled wait leaves the call running to its end (its result is
dropped), and the caller awaits one call at a time per file (files are never touched from
two threads at once).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


class Reader:
    """One worker thread, started at the first :meth:`run`, ended by :meth:`stop`."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in the reader thread; its result, or what it raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="shipper-reader",
                                            daemon=True)
            self._thread.start()
        self._jobs.put((loop, done, fn))
        return await done

    def stop(self) -> None:
        """End the thread once the call it runs (if any) returns."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread = None

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, done, fn = job
            try:
                result, error = fn(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                result, error = None, exc
            _hand_back(loop, done, result, error)
            del job, done, fn, result, error


def _hand_back(loop: asyncio.AbstractEventLoop, done: asyncio.Future[Any], result: Any,
               error: BaseException | None) -> None:
    if loop.is_closed():
        return  # nobody waits any more (as with to_thread's futures)
    try:
        loop.call_soon_threadsafe(_settle, done, result, error)
    except RuntimeError:  # the loop closed meanwhile: nobody waits any more
        return


def _settle(done: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if done.cancelled():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
