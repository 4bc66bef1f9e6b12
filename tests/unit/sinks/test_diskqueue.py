"""buffer.type: disk — envelopes are acked once in the DiskBuffer, delivered from it, and
survive a restart until delivered."""

from __future__ import annotations

import asyncio

import pytest

from shipper.buffer.disk import DiskBuffer
from shipper.errors import RetryableSinkError
from shipper.metrics import Metrics
from tests.unit.helpers import rec
from tests.unit.sinks.fakes import ScriptedSink, SleepRecorder, record, settings, token


def disk_sink(tmp_path, script=None, sleep=None, **overrides):
    cfg = settings(buffer={"type": "disk", "max_bytes": overrides.pop("max_bytes", 1 << 20),
                           "fsync": "never", **overrides.pop("buffer", {})},
                   batch={"max_wait": 0.01}, **overrides)
    metrics = Metrics(collectors=False)
    disk = DiskBuffer(tmp_path / "buf", cfg.buffer.max_bytes, "never", metrics, sink="fake")
    return ScriptedSink(cfg, script, metrics=metrics, disk=disk,
                        sleep=sleep or SleepRecorder(), state_dir=tmp_path)


async def test_envelope_is_acked_when_durably_buffered_then_delivered(tmp_path):
    sink = disk_sink(tmp_path)
    sink.gate = asyncio.Event()  # nothing can be delivered yet
    await sink.start()
    tok = token()
    await sink.put([record(1), record(2)], tok)
    assert tok.complete and sink.delivered == []
    sink.gate.set()
    await sink.close(2)
    assert [r["message"] for b in sink.delivered for r in b] == ["line 1", "line 2"]
    assert sink.queue.buffer.records == 0


async def test_undelivered_records_survive_a_restart(tmp_path):
    async def long_backoff(seconds: float) -> None:
        await asyncio.Event().wait()  # still backing off when the shutdown deadline passes

    first = disk_sink(tmp_path, [RetryableSinkError("503", status=503)], sleep=long_backoff)
    await first.start()
    await first.put([record(1), record(2)], token())
    await first.close(0.05)
    assert first.delivered == []
    second = disk_sink(tmp_path)
    await second.start()
    await second.close(2)
    assert [r["message"] for b in second.delivered for r in b] == ["line 1", "line 2"]


async def test_full_disk_buffer_with_drop_newest_counts_and_acks(tmp_path):
    sink = disk_sink(tmp_path, max_bytes=4096, buffer={"when_full": "drop_newest"})
    sink.gate = asyncio.Event()
    await sink.start()
    big = [record(i, attributes={"pad": "x" * 1000}) for i in range(3)]
    await sink.put(big, token())
    dropped = token()
    await sink.put(big, dropped)
    assert dropped.complete
    assert sink._m.failed("buffer-full")._value.get() == 3
    sink.gate.set()
    await sink.close(2)


async def test_full_disk_buffer_blocks_until_a_commit_makes_room(tmp_path):
    sink = disk_sink(tmp_path, max_bytes=4096)
    sink.gate = asyncio.Event()
    await sink.start()
    big = [record(i, attributes={"pad": "x" * 1000}) for i in range(3)]
    await sink.put(big, token())
    second = asyncio.create_task(sink.put(big, token()))
    await asyncio.sleep(0.05)
    assert not second.done()
    sink.gate.set()
    await asyncio.wait_for(second, 2)
    await sink.close(2)
    assert sum(len(b) for b in sink.delivered) == 6


class FlakyDisk:
    """A buffer whose first writes fail as on a full file system."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.appended: list[bytes] = []
        self.records = 0

    async def append(self, items):
        from shipper.errors import BufferError_

        if self.failures:
            self.failures -= 1
            raise BufferError_("No space left on device")
        self.appended.extend(items)


async def test_a_failed_disk_write_is_counted_held_and_retried_until_it_succeeds():
    from shipper.acks import AckToken
    from shipper.sinks.diskqueue import DiskQueue

    errors, sleeps = [], []

    async def sleep(seconds):
        sleeps.append(seconds)

    disk = FlakyDisk(failures=3)
    queue = DiskQueue(disk, when_full="block", clock=lambda: 0.0, on_drop=lambda n: None,
                      on_write_error=lambda: errors.append(1), sleep=sleep)
    from shipper.sinks.encoding import encode_records

    token = AckToken("f", 10, pending=1)
    await queue.put(encode_records([rec({"message": "kept"}, "the raw line")], levels=False),
                    token)
    assert token.complete
    assert len(disk.appended) == 1 and b"the raw line" not in bytes(disk.appended[0])
    assert len(errors) == 3
    assert sleeps == [0.5, 1.0, 2.0]


# -- 9: drop policies on disk: below-warning records go first, counted exactly --------------

def disk_queue(tmp_path, policy: str, max_bytes: int):
    from shipper.sinks.diskqueue import DiskQueue

    shed: list[int] = []
    disk = DiskBuffer(tmp_path / "buf", max_bytes, "never", Metrics(collectors=False),
                      sink="d", segment_bytes=4096)
    queue = DiskQueue(disk, when_full=policy, clock=lambda: 0.0, on_drop=shed.append)
    return queue, disk, shed


def leveled(n: int, level: str) -> dict:
    return {"level": level, "message": f"m{n:04d} " + "x" * 60}


async def put(queue, records) -> None:
    from shipper.acks import AckToken
    from shipper.sinks.encoding import encode_records

    token = AckToken("f", 0, pending=1)
    await asyncio.wait_for(queue.put(encode_records(records, levels=True), token), 5)
    assert token.complete


async def drain(disk) -> list[dict]:
    import orjson

    got = []
    while True:
        batch, items = await disk.read(1000, 1 << 20)
        if not items:
            return got
        got += [orjson.loads(i) for i in items]
        await disk.commit(batch)


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
async def test_full_disk_buffer_sheds_info_before_warnings_and_counts_exactly(tmp_path, policy):
    queue, disk, shed = disk_queue(tmp_path, policy, 16_384)
    await queue.open()
    written = 0
    for start in range(0, 400, 20):  # ~40 KB of info records into 16 KB
        await put(queue, [leveled(n, "info") for n in range(start, start + 20)])
        written += 20
    for start in range(1000, 1040, 4):  # then warnings and errors (with some infos)
        await put(queue, [leveled(start, "warning"), leveled(start + 1, "debug"),
                          leveled(start + 2, "error"), leveled(start + 3, "info")])
        written += 4
    assert disk.bytes <= 16_384
    kept = await drain(disk)
    names = {r["message"][:5] for r in kept}
    assert all(f"m{n:04d}" in names for n in range(1000, 1040) if n % 4 in (0, 2))
    assert sum(shed) + len(kept) == written


async def test_drop_oldest_on_disk_keeps_the_newest(tmp_path):
    queue, disk, shed = disk_queue(tmp_path, "drop_oldest", 16_384)
    await queue.open()
    for start in range(0, 600, 20):
        await put(queue, [leveled(n, "info") for n in range(start, start + 20)])
    kept = [r["message"][:5] for r in await drain(disk)]
    assert kept[-1] == "m0599" and "m0000" not in kept and kept == sorted(kept)
    assert sum(shed) + len(kept) == 600


async def test_drop_newest_on_disk_keeps_the_oldest(tmp_path):
    queue, disk, shed = disk_queue(tmp_path, "drop_newest", 16_384)
    await queue.open()
    for start in range(0, 600, 20):
        await put(queue, [leveled(n, "info") for n in range(start, start + 20)])
    kept = [r["message"][:5] for r in await drain(disk)]
    assert kept[0] == "m0000" and "m0599" not in kept and kept == sorted(kept)
    assert sum(shed) + len(kept) == 600


async def test_records_read_from_disk_are_never_shed(tmp_path):
    import orjson

    queue, disk, shed = disk_queue(tmp_path, "drop_oldest", 16_384)
    await queue.open()
    await put(queue, [leveled(n, "info") for n in range(100)])
    batch, in_flight = await disk.read(50, 1 << 20)
    for start in range(100, 600, 20):
        await put(queue, [leveled(n, "info") for n in range(start, start + 20)])
    assert [orjson.loads(i)["message"][:5] for i in in_flight] == [f"m{n:04d}" for n in range(50)]
    await disk.commit(batch)
    rest = await drain(disk)
    assert sum(shed) + len(rest) + 50 == 600


async def test_shedding_on_a_full_file_system_drops_the_new_records_instead(tmp_path, monkeypatch):
    """Rewriting a segment needs room for its copy: when the file system refuses it, the
    buffer stays as it was, the new records are shed (counted) and nothing raises."""
    import os as os_module

    queue, disk, shed = disk_queue(tmp_path, "drop_oldest", 16_384)
    await queue.open()
    for start in range(0, 300, 20):
        await put(queue, [leveled(n, "info") for n in range(start, start + 20)])
    real_open = os_module.open

    def no_space(path, flags, *args):
        if str(path).endswith(".buf.tmp"):
            raise OSError(28, "No space left on device")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os_module, "open", no_space)
    before = sum(shed)
    await put(queue, [leveled(n, "info") for n in range(300, 320)])
    monkeypatch.setattr(os_module, "open", real_open)
    assert sum(shed) - before == 20
    assert not list((tmp_path / "buf").glob("*.tmp"))
    assert sum(shed) + len(await drain(disk)) == 320
