"""Follow mode with one busy file among many quiet ones: rounds read the busy (warm) file,
not the ends of all the quiet files at every write (:mod:`shipper.sources.rounds`); a
quiet file's new lines still come within ``poll_interval``."""

from __future__ import annotations

import asyncio
import time

from shipper.sources import tailer as tailer_module
from tests.unit.sources.conftest import append

QUIET = 100


async def test_a_busy_file_does_not_make_every_round_read_the_quiet_ones(
        tmp_path, follow, monkeypatch):
    """100 quiet files (read, then quiet for longer than ``poll_interval``) and one written
    40 times, 10 ms apart: every line arrives, and the rounds read ~1 file each instead of
    101 (every quiet file only in full rounds, one a
    ``poll_interval`` of 0.5 s, plus the few after a scan or with nothing warm)."""
    for i in range(QUIET):
        append(tmp_path / f"quiet{i:03}.log", f"q{i}\n")
    append(tmp_path / "busy.log", "start\n")
    sizes: list[int] = []
    real = tailer_module.read_some

    def counted(files, nbytes, budget):
        sizes.append(len(files))
        return real(files, nbytes, budget)

    monkeypatch.setattr(tailer_module, "read_some", counted)
    async with follow(poll_interval=0.5) as run:
        await run.out.wait_lines(QUIET + 1)
        await asyncio.sleep(0.6)  # their first lines read: warm for 0.5 s
        sizes.clear()
        for n in range(40):
            append(tmp_path / "busy.log", f"busy {n}\n")
            await asyncio.sleep(0.01)
        await run.out.wait_lines(QUIET + 41)
    assert run.out.lines(str(tmp_path / "busy.log"))[1:] == [
        f"busy {n}".encode() for n in range(40)]
    full = sum(1 for size in sizes if size > 1)
    assert len(sizes) >= 20 and full <= 4, (len(sizes), full, sizes)


async def test_a_quiet_file_written_while_another_is_busy_comes_within_the_interval(
        tmp_path, follow):
    """While busy.log is written every 10 ms (warm), a line appended to a quiet file is
    read by the next full round: within ``poll_interval`` (0.3 s) and some slack, not at
    the inotify poll (2 s) or never while the busy file keeps the rounds going."""
    append(tmp_path / "quiet.log", "q0\n")
    append(tmp_path / "busy.log", "start\n")
    async with follow(poll_interval=0.3) as run:
        await run.out.wait_lines(2)
        await asyncio.sleep(0.4)  # both cool down
        stop = asyncio.Event()

        async def write_busy() -> None:
            n = 0
            while not stop.is_set():
                append(tmp_path / "busy.log", f"busy {n}\n")
                n += 1
                await asyncio.sleep(0.01)

        writer = asyncio.create_task(write_busy())
        try:
            await asyncio.sleep(0.2)
            started = time.monotonic()
            append(tmp_path / "quiet.log", "q1\n")
            async with asyncio.timeout(2.0):
                while b"q1" not in run.out.lines(str(tmp_path / "quiet.log")):
                    await asyncio.sleep(0.01)
            waited = time.monotonic() - started
        finally:
            stop.set()
            await writer
    assert waited < 0.3 + 0.6, waited


async def test_quiet_files_are_read_while_backlogs_take_every_round_budget(tmp_path, follow):
    """Two 8 MB backlogs read in chunks of 1 KiB (a round ends once it read four chunks'
    bytes) keep two files warm; lines appended
    to 50 quiet files meanwhile all come within about a ``poll_interval`` (0.2 s): a pass
    reads the files it has not reached before the warm ones, and goes on until it has read
    every file (``test_rounds`` pins the order itself)."""
    for i in range(50):
        append(tmp_path / f"quiet{i:02}.log", f"q{i} first\n")
    backlogs = [tmp_path / "backlog-a.log", tmp_path / "backlog-b.log"]
    for path in backlogs:
        append(path, "start\n")
    async with follow(poll_interval=0.2, read_chunk_bytes=1024) as run:
        await run.out.wait_lines(52)
        await asyncio.sleep(0.3)  # all cool down
        for path in backlogs:
            append(path, "".join(f"backlog line {n:08}\n" for n in range(360_000)))
        await asyncio.sleep(0.05)  # the backlogs are being read
        started = time.monotonic()
        for i in range(50):
            append(tmp_path / f"quiet{i:02}.log", f"q{i} second\n")
        async with asyncio.timeout(5.0):
            while sum(1 for line in run.out.lines() if line.endswith(b" second")) < 50:
                await asyncio.sleep(0.01)
        waited = time.monotonic() - started
        left = 2 * 360_001 - sum(len(run.out.lines(str(path))) for path in backlogs)
    assert left > 0, "the backlogs were read before the quiet lines came: no contest"
    assert waited < 0.2 + 0.6, waited
