"""DiskBuffer: order, commit, restarts, the size cap, corruption and write failures."""

from __future__ import annotations

import errno
import os

import pytest

from shipper.buffer.disk import DiskBuffer
from shipper.buffer.settings import BufferSettings
from shipper.errors import BufferError_, BufferFullError
from shipper.metrics import Metrics


def items(n: int, start: int = 0) -> list[bytes]:
    return [f"record-{i:05d}".encode() for i in range(start, start + n)]


@pytest.fixture
def metrics():
    return Metrics(collectors=False)


async def test_records_come_back_in_order_in_bounded_batches(tmp_path, metrics):
    """append then read returns the records in order, at most max_items per batch."""
    buf = DiskBuffer(tmp_path, 1 << 20, "never", metrics, sink="s")
    await buf.append(items(25))
    got: list[bytes] = []
    while True:
        batch, records = await buf.read(10, 1 << 20)
        if not records:
            break
        assert len(records) <= 10
        got += records
        await buf.commit(batch)
    assert got == items(25)
    assert buf.records == 0 and buf.bytes == 0


async def test_uncommitted_batches_are_read_again_after_restart(tmp_path, metrics):
    """At least once: what was read but not committed comes back after a restart."""
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    await buf.append(items(10))
    first, records = await buf.read(4, 1 << 20)
    await buf.commit(first)
    await buf.read(4, 1 << 20)  # read, never committed
    await buf.close()
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    await again.open()
    assert again.records == 6
    _, records = await again.read(100, 1 << 20)
    assert records == items(6, start=4)


async def test_segments_roll_and_delivered_ones_are_deleted(tmp_path, metrics):
    """Small segments roll over; wholly committed segments are removed from disk."""
    buf = DiskBuffer(tmp_path, 1 << 20, "never", metrics, segment_bytes=4096)
    for i in range(20):
        await buf.append(items(50, start=i * 50))
    assert len(list(tmp_path.glob("seg-*.buf"))) > 3
    got: list[bytes] = []
    while (batch := await buf.read(100, 1 << 20))[1]:
        got += batch[1]
        await buf.commit(batch[0])
    assert got == items(1000)
    assert len(list(tmp_path.glob("seg-*.buf"))) <= 2


async def test_append_over_the_cap_raises_buffer_full(tmp_path, metrics):
    """The size cap is enforced per append; committing frees room again."""
    buf = DiskBuffer(tmp_path, 200, "never", metrics)
    await buf.append([b"x" * 100])
    with pytest.raises(BufferFullError):
        await buf.append([b"y" * 100])
    batch, _ = await buf.read(10, 1000)
    await buf.commit(batch)
    await buf.append([b"y" * 100])
    assert buf.records == 1


async def test_corrupt_record_is_skipped_and_counted(tmp_path, metrics):
    """A damaged record on disk is skipped at restart; the others are sent; the loss is
    counted under reason buffer-corrupt."""
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="loki")
    await buf.append(items(3))
    await buf.close()
    segment = next(tmp_path.glob("seg-*.buf"))
    data = bytearray(segment.read_bytes())
    data[data.index(b"record-00001")] ^= 0xFF
    segment.write_bytes(bytes(data))
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics, sink="loki")
    _, records = await again.read(100, 1 << 20)
    assert records == [b"record-00000", b"record-00002"]
    assert metrics.value("shipper_records_failed_total", sink="loki", reason="buffer-corrupt") == 1


async def test_torn_write_at_segment_end_is_skipped(tmp_path, metrics):
    """A crash mid-write leaves a torn frame: it is skipped, new appends still work."""
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    await buf.append(items(2))
    await buf.close()
    segment = next(tmp_path.glob("seg-*.buf"))
    os.truncate(segment, segment.stat().st_size - 3)
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    await again.append([b"after"])
    _, records = await again.read(100, 1 << 20)
    assert records == [b"record-00000", b"after"]


async def test_corrupt_cursor_resends_rather_than_loses(tmp_path, metrics, caplog):
    """An unreadable position file is set aside (counted) and reading starts again at the
    oldest record (duplicates, no loss)."""
    buf = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    await buf.append(items(3))
    batch, _ = await buf.read(1, 1 << 20)
    await buf.commit(batch)
    await buf.close()
    (tmp_path / "cursor.json").write_text("{garbage")
    again = DiskBuffer(tmp_path, 1 << 20, "always", metrics)
    _, records = await again.read(100, 1 << 20)
    assert records == items(3)
    assert any("set aside" in r.getMessage() for r in caplog.records)
    assert (tmp_path / "cursor.json.corrupt").read_text() == "{garbage"
    assert metrics.value("shipper_state_set_aside_total", kind="buffer-cursor") == 1


async def test_write_failure_is_undone_and_reported(tmp_path, metrics, monkeypatch):
    """ENOSPC mid-append: the partial write is undone, BufferError_ raised, and appends
    work again once space returns."""
    buf = DiskBuffer(tmp_path, 1 << 20, "never", metrics)
    await buf.append([b"before"])
    real_write = os.write
    calls = {"fail": True}

    def full_disk(fd, data):
        if calls["fail"]:
            real_write(fd, bytes(data[:3]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(BufferError_) as info:
        await buf.append([b"lost?"])
    assert not isinstance(info.value, BufferFullError)
    calls["fail"] = False
    await buf.append([b"after"])
    _, records = await buf.read(100, 1 << 20)
    assert records == [b"before", b"after"]


def test_buffer_settings_defaults_and_directory(tmp_path):
    """Disk buffers live under <state_dir>/buffer/<sink> unless a path is given."""
    settings = BufferSettings(type="disk")
    assert settings.when_full == "block" and settings.fsync == "batch"
    assert settings.directory(tmp_path, "loki") == tmp_path / "buffer" / "loki"
    assert BufferSettings().directory(tmp_path, "loki") is None
    with pytest.raises(ValueError):
        BufferSettings(type="disk", max_bytes=10)
