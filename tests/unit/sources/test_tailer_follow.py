"""Follow mode: new lines, new files, rotation, truncation and deletion."""

from __future__ import annotations

import asyncio
import os
import time

from tests.unit.sources.conftest import append


async def test_new_lines_arrive_quickly(tmp_path, follow):
    """A line appended to a followed file reaches emit well under one second."""
    log = tmp_path / "app.log"
    log.write_text("first\n")
    async with follow() as run:
        await run.out.wait_lines(1)
        started = time.monotonic()
        append(log, "second\n")
        await run.out.wait_lines(2, timeout=1.0)
        assert time.monotonic() - started < 0.5
    assert run.out.lines() == [b"first", b"second"]


async def test_files_created_later_are_picked_up(tmp_path, follow):
    """A file matching the glob that appears while running (in a new subdirectory) is read."""
    async with follow() as run:
        sub = tmp_path / "job" / "stage"
        sub.mkdir(parents=True)
        append(sub / "late.log", "hello\n")
        await run.out.wait_lines(1)
    assert run.out.lines() == [b"hello"]


async def test_partial_line_waits_for_its_newline(tmp_path, follow):
    """A line without newline is held until completed, then emitted whole."""
    log = tmp_path / "app.log"
    async with follow() as run:
        append(log, "hel")
        await asyncio.sleep(0.2)
        assert run.out.lines() == []
        append(log, "lo\nnext\n")
        await run.out.wait_lines(2)
    assert run.out.lines() == [b"hello", b"next"]


async def test_rename_and_create_reads_old_file_to_eof(tmp_path, follow):
    """kubelet rotation: lines written to the old file after the rename are still read."""
    log = tmp_path / "app.log"
    append(log, "a1\n")
    async with follow() as run:
        await run.out.wait_lines(1)
        with open(log, "a") as old:
            os.rename(log, tmp_path / "app.log.1")
            old.write("a2\n")
        append(log, "b1\n")
        await run.out.wait_lines(3)
        await asyncio.sleep(0.4)
        assert run.tailer.open_files == 1
    assert sorted(run.out.lines()) == [b"a1", b"a2", b"b1"]
    assert run.metrics.value("shipper_files_rotated_total", kind="rename") == 1


async def test_truncate_then_append_reads_from_start(tmp_path, follow):
    """200 lines, truncate, 100 more lines: exactly 300 lines come out."""
    log = tmp_path / "app.log"
    append(log, "".join(f"line {i}\n" for i in range(200)))
    async with follow() as run:
        await run.out.wait_lines(200)
        os.truncate(log, 0)
        await asyncio.sleep(0.15)
        append(log, "".join(f"line {i}\n" for i in range(200, 300)))
        await run.out.wait_lines(300)
        await asyncio.sleep(0.1)
    assert run.out.lines() == [f"line {i}".encode() for i in range(300)]
    assert run.metrics.value("shipper_files_rotated_total", kind="truncate") == 1


async def test_nul_run_after_truncation_is_skipped(tmp_path, follow):
    """A writer without O_APPEND leaves NULs after a truncation; they never become lines."""
    log = tmp_path / "app.log"
    with open(log, "wb") as fh:
        fh.write(b"x" * 50 + b"\n")
        fh.flush()
        async with follow() as run:
            await run.out.wait_lines(1)
            os.truncate(log, 0)
            await asyncio.sleep(0.15)
            fh.write(b"after\n")  # lands at offset 51: 51 NULs before it
            fh.flush()
            await run.out.wait_lines(2)
    assert run.out.lines() == [b"x" * 50, b"after"]


async def test_deleted_file_is_read_to_eof_then_closed(tmp_path, follow):
    """A deleted file still open by its writer is read to EOF, then its descriptor closed."""
    log = tmp_path / "app.log"
    with open(log, "a") as writer:
        writer.write("one\n")
        writer.flush()
        async with follow() as run:
            await run.out.wait_lines(1)
            os.unlink(log)
            writer.write("two\n")
            writer.flush()
            await run.out.wait_lines(2)
            await asyncio.sleep(0.5)
            assert run.tailer.open_files == 0
            assert len(run.out.closed) == 1
    assert run.out.lines() == [b"one", b"two"]


async def test_unreadable_file_is_reported_and_retried(tmp_path, follow, caplog, monkeypatch):
    """A file that cannot be opened (permission denied) is warned about once, the others
    go on, and it is read once it can be opened."""
    from shipper.sources.files import OpenFile

    bad = tmp_path / "bad.log"
    append(bad, "late\n")
    append(tmp_path / "good.log", "ok\n")
    denied = {"on": True}
    real_open = OpenFile.open.__func__

    def fake_open(cls, path, max_line_bytes, links=None):
        if denied["on"] and path == str(bad):
            raise PermissionError(13, "Permission denied", path)
        return real_open(cls, path, max_line_bytes, links)

    monkeypatch.setattr(OpenFile, "open", classmethod(fake_open))
    async with follow() as run:
        await run.out.wait_lines(1)
        await asyncio.sleep(0.2)
        assert run.out.lines() == [b"ok"]
        denied["on"] = False
        await run.out.wait_lines(2)
    assert sorted(run.out.lines()) == [b"late", b"ok"]
    warnings = [r for r in caplog.records if "cannot open file" in r.message]
    assert len(warnings) == 1 and warnings[0].path == str(bad)


async def test_drain_on_exit_emits_last_partial_line(tmp_path, follow):
    """On stop with drain_on_exit, a final line without newline is still emitted."""
    log = tmp_path / "app.log"
    async with follow() as run:
        append(log, "done\nno newline")
        await run.out.wait_lines(1)
    assert run.out.lines() == [b"done", b"no newline"]
    assert run.out.chunks[-1].end_offset == len("done\nno newline")


async def test_metrics_count_lines_bytes_and_files(tmp_path, follow):
    """lines_read_total, bytes_read_total and files_watched follow what was read."""
    append(tmp_path / "a.log", "1\n2\n")
    append(tmp_path / "b.log", "3\n")
    async with follow() as run:
        await run.out.wait_lines(3)
        await asyncio.sleep(0.1)
        assert run.metrics.value("shipper_files_watched") == 2
    assert run.metrics.value("shipper_lines_read_total") == 3
    assert run.metrics.value("shipper_bytes_read_total") == 6
    assert run.metrics.value("shipper_files_watched") == 0
