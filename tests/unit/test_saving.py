"""Checkpoint saving (``shipper/saving.py``): soon after a checkpoint moves, never two
saves at once, and a last save after the one in progress, within the deadline."""

import asyncio

from shipper.saving import CheckpointSaver
from shipper.shutdown import Shutdown


class SlowStore:
    """A store whose saves take ``seconds``; counts them and the most at once."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.saves = self.running = self.most = 0

    async def save(self):
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(self.seconds)
        self.running -= 1
        self.saves += 1
        return True


def start(name, coro):
    return asyncio.create_task(coro, name=name)


async def test_moves_while_a_save_runs_make_one_more_save_never_two_at_once():
    store = SlowStore(0.05)
    saver = CheckpointSaver(store, start, Shutdown(5.0))
    loop = asyncio.create_task(saver.loop())
    for _ in range(20):
        saver.moved()
        await asyncio.sleep(0.005)
    async with asyncio.timeout(5):
        while store.saves < 2 or store.running:
            await asyncio.sleep(0.01)
    loop.cancel()
    assert store.most == 1
    assert 2 <= store.saves <= 4  # 20 moves over ~0.1 s: a few saves, not 20


async def test_the_final_save_follows_the_one_in_progress():
    store = SlowStore(0.05)
    saver = CheckpointSaver(store, start, Shutdown(5.0))
    loop = asyncio.create_task(saver.loop())
    saver.moved()
    async with asyncio.timeout(5):
        while not store.running:
            await asyncio.sleep(0.005)
    loop.cancel()
    await saver.final()
    assert store.saves == 2 and store.most == 1


async def test_without_a_store_no_save_task_is_started():
    started = []
    saver = CheckpointSaver(None, lambda name, coro: started.append(name), Shutdown(1.0))
    await saver.final()
    assert started == []
