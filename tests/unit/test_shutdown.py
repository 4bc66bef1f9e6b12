"""Shutdown budget and the last-resort exits: phases end at their share of the deadline;
``settle`` ends the process when a thread is still blocked at the deadline; the watchdog
ends it when nothing else did, after writing one JSON line."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time

import pytest

from shipper.shutdown import GRACE, Phase, Shutdown, Watchdog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_phases_share_the_deadline():
    """20 s: the save reserve is 1 s; the drain ends at 3/4 of the rest (14.25 s), the
    sinks' close at 19 s, the save at 20 s; nothing is limited before shutdown begins."""
    clock = Clock()
    shutdown = Shutdown(20.0, monotonic=clock)
    assert shutdown.left(Phase.DRAIN) is None
    shutdown.begin("test")
    assert shutdown.left(Phase.DRAIN) == pytest.approx(14.25)
    assert shutdown.left(Phase.CLOSE) == pytest.approx(19.0)
    assert shutdown.left(Phase.SAVE) == pytest.approx(20.0)
    clock.now += 30
    assert shutdown.left(Phase.SAVE) == 0.0
    shutdown.begin("again")  # the first begin counts
    assert shutdown.reason == "test"


def test_a_short_deadline_keeps_a_tenth_for_the_save():
    shutdown = Shutdown(3.0, monotonic=Clock())
    shutdown.begin("test")
    assert shutdown.left(Phase.CLOSE) == pytest.approx(2.7)
    assert shutdown.left(Phase.DRAIN) == pytest.approx(2.025)


async def test_settle_exits_when_a_thread_is_still_blocked_at_the_deadline():
    """A thread blocked (as in ``write`` to a full pipe) is not waited for: ``settle``
    calls exit with the run's code once the deadline is reached."""
    exits: list[int] = []
    release = threading.Event()
    shutdown = Shutdown(0.5)
    blocked = asyncio.ensure_future(asyncio.to_thread(release.wait))
    await asyncio.sleep(0.05)  # the thread is waiting now
    shutdown.begin("test")
    began = time.monotonic()
    try:
        await shutdown.settle(0, exit=exits.append)
        took = time.monotonic() - began
    finally:
        release.set()
    assert exits == [0] and took <= 0.5 + 0.3
    assert blocked.cancelled()


async def test_settle_returns_when_everything_finished():
    exits: list[int] = []
    shutdown = Shutdown(5.0)
    await asyncio.to_thread(time.sleep, 0)
    shutdown.begin("test")
    await shutdown.settle(0, exit=exits.append)
    assert exits == []


def test_the_watchdog_exits_with_the_known_code_and_says_why():
    read, write = os.pipe()
    exited = threading.Event()
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        exited.set()

    dog = Watchdog(exit=fake_exit, fd=write)
    dog.code = 0
    dog.arm(0.2)
    assert exited.wait(5)
    entry = json.loads(os.read(read, 4096))
    os.close(read)
    os.close(write)
    assert codes == [0] and entry["level"] == "error" and entry["exit_code"] == 0
    assert "deadline" in entry["event"]


def test_a_disarmed_watchdog_does_nothing():
    codes: list[int] = []
    dog = Watchdog(exit=codes.append)
    dog.arm(0.1)
    dog.disarm()
    time.sleep(0.3)
    assert codes == []


def test_shutdown_arms_the_watchdog_for_deadline_plus_grace():
    armed: list[float] = []

    class Recorder(Watchdog):
        def arm(self, seconds: float) -> None:
            armed.append(seconds)

    shutdown = Shutdown(3.0, monotonic=Clock(), watchdog=Recorder())
    shutdown.begin("signal SIGTERM")
    shutdown.result(0)
    assert armed == [3.0 + GRACE]
