"""6 and 13. The disk buffer across restarts: batches committed out of order are not sent
again, and damaged state (cursor, segments) is set aside with one warning and counted,
never a crash loop; records lost are counted as records, not damaged regions."""

from __future__ import annotations

import json
import logging
import os

import pytest

from shipper.buffer.disk import DiskBuffer
from shipper.buffer.frames import HEADER
from shipper.metrics import Metrics


def items(n: int, start: int = 0) -> list[bytes]:
    return [f'{{"n":{i:06d}}}'.encode() for i in range(start, start + n)]


@pytest.fixture
def metrics():
    return Metrics(collectors=False)


async def read_all(buf: DiskBuffer) -> list[bytes]:
    got: list[bytes] = []
    while True:
        batch, records = await buf.read(1000, 1 << 20)
        if not records:
            return got
        got += records
        await buf.commit(batch)


async def filled(path, n: int = 30, **kw) -> DiskBuffer:
    buf = DiskBuffer(path, 1 << 20, "always", Metrics(collectors=False), **kw)
    await buf.append(items(n))
    return buf


def set_aside(metrics: Metrics, kind: str) -> float:
    return metrics.value("shipper_state_set_aside_total", kind=kind)


def corrupt_count(metrics: Metrics, sink: str = "s") -> float:
    return metrics.value("shipper_records_failed_total", sink=sink, reason="buffer-corrupt")


# -- 6: out-of-order commits --------------------------------------------------------------

async def test_batches_delivered_after_a_stuck_one_are_not_sent_again(tmp_path, metrics):
    """One batch stuck in retries, the two after it delivered, then a restart: only the
    stuck batch's records come back (the old position held everything after it back)."""
    buf = await filled(tmp_path)
    await buf.read(10, 1 << 20)  # stuck: never committed
    second, _ = await buf.read(10, 1 << 20)
    third, _ = await buf.read(10, 1 << 20)
    await buf.commit(third)
    await buf.commit(second)
    assert buf.records == 10
    await buf.close()
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    await again.open()
    assert again.records == 10
    await again.append(items(5, start=100))
    assert await read_all(again) == items(10) + items(5, start=100)


async def test_delivered_ranges_survive_a_second_restart(tmp_path, metrics):
    buf = await filled(tmp_path)
    await buf.read(10, 1 << 20)  # stuck: never committed
    later, _ = await buf.read(20, 1 << 20)
    await buf.commit(later)
    await buf.close()
    restarted = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    batch, records = await restarted.read(5, 1 << 20)  # part of the stuck batch
    assert records == items(5)
    await restarted.commit(batch)
    await restarted.close()
    third = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    assert await read_all(third) == items(5, start=5)
    await third.close()
    assert await read_all(DiskBuffer(tmp_path, 1 << 20, "always", metrics)) == []


async def test_the_cursor_records_the_ranges_delivered_out_of_order(tmp_path):
    buf = await filled(tmp_path)
    await buf.read(10, 1 << 20)
    second, _ = await buf.read(10, 1 << 20)
    await buf.commit(second)
    doc = json.loads((tmp_path / "cursor.json").read_text())
    assert doc["offset"] == 0 and len(doc["acked"]) == 1
    frame = HEADER.size + len(items(1)[0])
    seq = doc["seq"]
    assert doc["acked"] == [[seq, 10 * frame, seq, 20 * frame]]


# -- 13: damaged state is set aside --------------------------------------------------------

async def committed_once(tmp_path) -> None:
    buf = await filled(tmp_path)
    batch, _ = await buf.read(5, 1 << 20)
    await buf.commit(batch)
    await buf.close()


@pytest.mark.parametrize("cursor, why", [
    ({"version": 2, "seq": 0, "offset": -40}, "negative offset"),
    ({"version": 2, "seq": 0, "offset": 10 ** 9}, "past the segment's end"),
    ({"version": 2, "seq": 0, "offset": 7}, "inside a frame"),
    ({"version": 2, "seq": "0", "offset": 0}, "wrong type"),
    ({"version": 2, "seq": 0, "offset": 0, "acked": [[0, 9, 0, 3]]}, "reversed range"),
    ([1, 2, 3], "not an object"),
])
async def test_a_bad_cursor_is_set_aside_and_everything_is_sent_again(tmp_path, metrics,
                                                                     caplog, cursor, why):
    await committed_once(tmp_path)
    seq = int(next(tmp_path.glob("seg-*.buf")).stem.split("-")[1])
    if isinstance(cursor, dict):
        cursor["seq"] = seq if cursor["seq"] == 0 else cursor["seq"]
        if cursor.get("acked"):
            cursor["acked"] = [[seq, 9, seq, 3]]
    (tmp_path / "cursor.json").write_text(json.dumps(cursor))
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    assert await read_all(buf) == items(30), why
    assert (tmp_path / "cursor.json.corrupt").exists()
    assert set_aside(metrics, "buffer-cursor") == 1
    assert sum("set aside" in r.getMessage() for r in caplog.records) == 1


async def test_a_cursor_that_is_a_directory_is_set_aside(tmp_path, metrics):
    await committed_once(tmp_path)
    (tmp_path / "cursor.json").unlink()
    (tmp_path / "cursor.json").mkdir()
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    assert await read_all(buf) == items(30)
    assert set_aside(metrics, "buffer-cursor") == 1


async def test_a_stray_segment_name_is_set_aside_and_its_records_counted(tmp_path, metrics):
    """``seg-backup.buf`` (int() of its name fails) crash-looped the shipper."""
    buf = await filled(tmp_path, n=10)
    await buf.close()
    segment = next(tmp_path.glob("seg-*.buf"))
    (tmp_path / "seg-backup.buf").write_bytes(segment.read_bytes())
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    assert await read_all(again) == items(10)
    assert (tmp_path / "seg-backup.buf.corrupt").exists()
    assert set_aside(metrics, "buffer-segment") == 1
    assert corrupt_count(metrics) == 10


async def test_a_segment_that_is_a_directory_is_set_aside(tmp_path, metrics):
    buf = await filled(tmp_path, n=10)
    await buf.close()
    (tmp_path / "seg-0000000000000099.buf").mkdir()
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    assert await read_all(again) == items(10)
    assert (tmp_path / "seg-0000000000000099.buf.corrupt").is_dir()
    assert set_aside(metrics, "buffer-segment") == 1


async def test_an_unreadable_segment_is_set_aside(tmp_path, metrics, monkeypatch):
    """Mode 0 makes the segment unreadable; root reads whatever the mode, so there the
    kernel's refusal (EACCES from open) is reproduced for that one path."""
    buf = await filled(tmp_path, n=10)
    await buf.close()
    segment = next(tmp_path.glob("seg-*.buf"))
    segment.chmod(0)
    if os.geteuid() == 0:
        real_open = os.open

        def refusing_open(path, flags, *args, **kwargs):
            if os.fspath(path) == os.fspath(segment):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    assert await read_all(again) == []
    assert set_aside(metrics, "buffer-segment") == 1


async def test_a_buffer_path_that_is_a_file_is_set_aside(tmp_path, metrics):
    (tmp_path / "buf").write_text("not a directory")
    buf = DiskBuffer(tmp_path / "buf", 1 << 20, "always", metrics, sink="s")
    await buf.append(items(2))
    assert await read_all(buf) == items(2)
    assert (tmp_path / "buf.corrupt").read_text() == "not a directory"


async def test_garbage_instead_of_frames_counts_the_records_it_held(tmp_path, metrics, caplog):
    """A segment overwritten with zeros held 200 records in one damaged region without a
    single magic marker: 200 records are counted lost (region / mean frame size), not 1."""
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s", segment_bytes=4096)
    await buf.append(items(200))            # 5,000 bytes: the first segment is full
    await buf.append(items(40, start=200))  # second segment
    await buf.close()
    first = min(tmp_path.glob("seg-*.buf"))
    first.write_bytes(b"\0" * first.stat().st_size)
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    await again.open()
    assert again.records == 240
    assert await read_all(again) == items(40, start=200)
    assert corrupt_count(metrics) == 200
    assert again.records == 0
    assert any("damaged" in r.getMessage() for r in caplog.records)


async def test_a_torn_region_spanning_frames_counts_each_frame(tmp_path, metrics):
    """Zeros over the middle of a segment (markers erased) cost the frames they covered."""
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    await buf.append(items(30))
    await buf.close()
    segment = next(tmp_path.glob("seg-*.buf"))
    data = bytearray(segment.read_bytes())
    frame = HEADER.size + len(items(1)[0])
    data[10 * frame:20 * frame] = bytes(10 * frame)
    segment.write_bytes(bytes(data))
    got = await read_all(DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s"))
    assert got == items(10) + items(10, start=20)
    assert corrupt_count(metrics) == 10


async def test_stray_temp_files_are_removed_at_start(tmp_path, metrics):
    buf = await filled(tmp_path, n=3)
    await buf.close()
    (tmp_path / "cursor.json.tmp").write_text("half")
    (tmp_path / "seg-0000000000000000.buf.tmp").write_bytes(b"half")
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    assert await read_all(again) == items(3)
    assert not list(tmp_path.glob("*.tmp"))


def test_nothing_in_a_damaged_directory_raises(tmp_path, metrics, caplog):
    """Everything at once: the buffer opens, logs, and goes on."""
    import asyncio

    (tmp_path / "seg-0000000000000001.buf").write_bytes(os.urandom(5000))
    (tmp_path / "seg-x.buf").write_bytes(b"junk")
    (tmp_path / "seg-0000000000000002.buf").mkdir()
    (tmp_path / "cursor.json").write_text('{"seq": -1, "offset": "yesterday"}')
    caplog.set_level(logging.WARNING)
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="s")
    asyncio.run(buf.open())
    assert set_aside(metrics, "buffer-segment") == 2
    assert set_aside(metrics, "buffer-cursor") == 1
