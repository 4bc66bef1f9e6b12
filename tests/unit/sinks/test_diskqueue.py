"""buffer.type: disk — envelopes are acked once in the DiskBuffer, delivered from it, and
survive a restart until delivered."""

from __future__ import annotations

import asyncio

from shipper.buffer.disk import DiskBuffer
from shipper.errors import RetryableSinkError
from shipper.metrics import Metrics
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
    assert sink._diskq.buffer.records == 0


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
    await queue.put(encode_records([{"message": "kept", "_raw": "x"}], levels=False), token)
    assert token.complete
    assert len(disk.appended) == 1 and b"_raw" not in bytes(disk.appended[0])
    assert len(errors) == 3
    assert sleeps == [0.5, 1.0, 2.0]
