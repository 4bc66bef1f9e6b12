"""The changes asked of the processor task (:mod:`shipper.delivery_changes`), on their own."""

from __future__ import annotations

import asyncio

import pytest

from shipper.delivery_changes import Changes
from shipper.errors import ConfigError


async def test_changes_run_in_order_and_a_refused_one_tells_only_its_caller():
    changes, ran = Changes(), []

    async def refused():
        ran.append("refused")
        raise ConfigError("no", key="sinks.x")

    async def fine():
        ran.append("fine")

    first, second = changes.ask(refused), changes.ask(fine)
    assert changes
    await changes.run_due()
    assert ran == ["refused", "fine"] and not changes
    with pytest.raises(ConfigError, match="sinks.x: no"):
        await first
    assert second.done() and second.exception() is None


async def test_a_change_that_fails_otherwise_fails_the_task_and_the_rest_are_refused_at_its_end():
    changes = Changes()

    async def broken():
        raise ValueError("bug")

    async def never():
        raise AssertionError("ran after a failed change")

    failed, later = changes.ask(broken), changes.ask(never)
    with pytest.raises(ValueError, match="bug"):
        await changes.run_due()
    with pytest.raises(RuntimeError, match="the change failed: ValueError"):
        await failed
    changes.end()
    with pytest.raises(RuntimeError, match="stopping"):
        await later
    with pytest.raises(RuntimeError, match="stopping"):
        await changes.ask(never)


async def test_asking_for_a_change_ends_the_idle_wait_at_once():
    changes = Changes()

    async def idle() -> str:
        try:
            async with asyncio.timeout(None) as changes.waiting:
                await asyncio.sleep(30)
        except TimeoutError:
            return "woken"
        finally:
            changes.waiting = None
        return "slept"

    waiter = asyncio.create_task(idle())
    await asyncio.sleep(0)
    changes.ask(lambda: asyncio.sleep(0))
    assert await asyncio.wait_for(waiter, 2.0) == "woken"
