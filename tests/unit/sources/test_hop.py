"""The tailer's reader thread (``shipper.sources.hop``) keeps ``asyncio.to_thread``'s
contract: the call runs off the loop thread, its result or exception comes back, a
cancelled wait lets the call finish and drops its result, and ``stop`` ends the thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from shipper.sources.hop import Reader


async def test_runs_off_the_loop_thread_and_returns_the_result():
    reader = Reader()
    try:
        where = await reader.run(threading.get_ident)
        assert where != threading.get_ident()
        assert await reader.run(lambda: 42) == 42
    finally:
        reader.stop()


async def test_an_exception_reaches_the_awaiting_task():
    reader = Reader()

    def fail() -> None:
        raise OSError("boom")

    try:
        with pytest.raises(OSError, match="boom"):
            await reader.run(fail)
        assert await reader.run(lambda: "still serving") == "still serving"
    finally:
        reader.stop()


async def test_a_cancelled_wait_lets_the_call_finish_and_the_next_call_runs():
    reader = Reader()
    release, finished = threading.Event(), threading.Event()

    def slow() -> str:
        release.wait(10)
        finished.set()
        return "dropped"

    try:
        waiting = asyncio.ensure_future(reader.run(slow))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()
        assert await reader.run(lambda: "next") == "next"
        assert finished.is_set()
    finally:
        reader.stop()


async def test_stop_ends_the_thread():
    reader = Reader()
    await reader.run(lambda: None)
    threads = [t for t in threading.enumerate() if t.name == "shipper-reader"]
    reader.stop()
    for t in threads:
        t.join(5)
    assert threads and not any(t.is_alive() for t in threads)
