"""Checkpoint saving (``shipper/saving.py``): soon after a checkpoint moves, never two
saves at once, a big checkpoint file saved less often, and a last save after the one in
progress, within the deadline."""

import asyncio

from shipper.saving import CHECKPOINT_MIN_INTERVAL, CheckpointSaver, pause_after
from shipper.shutdown import Shutdown


class SlowStore:
    """A store whose saves take ``seconds``; counts them and the most at once."""

    def __init__(self, seconds, saved_bytes=0):
        self.seconds, self.saved_bytes = seconds, saved_bytes
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


def test_the_pause_after_a_save_grows_with_the_file_it_wrote():
    """Small files: the minimum interval; larger: as long as writing them at 1 MiB/s takes
    (1,000 entries, ~265 KB: ~0.25 s)."""
    assert pause_after(0) == pause_after(50_000) == CHECKPOINT_MIN_INTERVAL
    assert pause_after(265_000) == 265_000 / (1 << 20)
    assert pause_after(3 << 20) == 3.0


async def test_a_big_checkpoint_file_is_saved_less_often():
    """Deliveries moving every 10 ms for 0.6 s: a store writing 32 KB is saved about every
    50 ms (more than 6 times), one writing 512 KB every 0.5 s (at most twice)."""
    counts = []
    for size in (32_000, 512 * 1024):
        store = SlowStore(0.001, saved_bytes=size)
        saver = CheckpointSaver(store, start, Shutdown(5.0))
        loop = asyncio.create_task(saver.loop())
        for _ in range(60):
            saver.moved()
            await asyncio.sleep(0.01)
        loop.cancel()
        counts.append(store.saves)
    assert counts[0] > 6 and counts[1] <= 2, counts


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
