"""Follow mode: copytruncate tails, the stop point, and lag while emit waits."""

from __future__ import annotations

import asyncio
import os
import shutil

from shipper.sources.checkpoints import CheckpointStore
from tests.unit.sources.conftest import Collector, Running, append, make_tailer


async def test_copytruncate_tail_is_read_from_the_copy(tmp_path, follow):
    """Lines written after the last read and before the truncation exist only in the
    copy: they are read from it, from where reading of the original stopped."""
    log = tmp_path / "app.log"
    append(log, "".join(f"a{i}\n" for i in range(100)))
    async with follow() as run:
        await run.out.wait_lines(100)
        with open(log, "a") as fh:  # written and copied between two looks
            fh.write("".join(f"a{i}\n" for i in range(100, 150)))
        shutil.copyfile(log, tmp_path / "app.log.1")
        os.truncate(log, 0)
        append(log, "b0\n")
        await run.out.wait_lines(151)
        await asyncio.sleep(0.3)
    assert sorted(run.out.lines()) == sorted(
        [f"a{i}".encode() for i in range(150)] + [b"b0"])


async def test_drain_stops_at_the_end_seen_when_the_stop_came(tmp_path):
    """While emit waits (a full queue), a stop is noticed and each file's end recorded;
    lines appended afterwards, and files created afterwards, are not read."""
    log = tmp_path / "app.log"
    append(log, "".join(f"x{i}\n" for i in range(20)))
    tailer, _ = make_tailer([str(tmp_path / "*.log")], read_chunk_bytes=16, chunk_max_lines=1)
    gate = asyncio.Event()
    out = Collector()

    async def slow_emit(chunk):
        await gate.wait()
        await out.emit(chunk)

    stop = asyncio.Event()
    task = asyncio.create_task(tailer.run(slow_emit, stop, out.on_closed))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.sleep(0.3)  # the blocked tailer sees the stop (poll_interval 0.05)
    append(log, "late\n")
    append(tmp_path / "new.log", "new\n")
    gate.set()
    await asyncio.wait_for(task, 10)
    assert out.lines() == [f"x{i}".encode() for i in range(20)]


async def test_lag_gauge_moves_while_emit_waits(tmp_path):
    """shipper_file_lag_bytes follows the file while the tailer waits on emit."""
    log = tmp_path / "app.log"
    append(log, "first\n")
    tailer, metrics = make_tailer([str(tmp_path / "*.log")])
    gate = asyncio.Event()
    out = Collector()

    async def blocked_emit(chunk):
        await gate.wait()
        await out.emit(chunk)

    stop = asyncio.Event()
    task = asyncio.create_task(tailer.run(blocked_emit, stop, out.on_closed))
    await asyncio.sleep(0.2)
    append(log, "x" * 999 + "\n")
    await asyncio.sleep(0.3)
    assert metrics.value("shipper_file_lag_bytes") == 1000
    assert tailer.lag_bytes == 1000
    gate.set()
    await out.wait_lines(2)
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_banner_file_on_a_reused_inode_is_read_from_its_start(tmp_path):
    """A checkpoint of the same inode and first line but other bytes before its offset
    (the inode reused by a new file with the same start-up banner) is not trusted."""
    log = tmp_path / "app.log"
    banner = "=== starting ===\n"
    append(log, banner + "".join(f"old {i}\n" for i in range(50)))
    store = CheckpointStore(tmp_path / "state")
    tailer, _ = make_tailer([str(log)], checkpoints=store)
    first = Running(tailer, Collector())
    async with first:
        await first.out.wait_lines(51)
        await asyncio.sleep(0.1)
    for chunk in first.out.chunks:
        for witness in chunk.witnesses:
            store.note(chunk.file_key, witness)
    last = first.out.chunks[-1]
    store.set(last.file_key, str(log), last.end_offset)
    with open(log, "r+") as fh:  # same inode, same banner, other lines, longer
        fh.write(banner + "".join(f"new {i}\n" for i in range(80)))
    again, _ = make_tailer([str(log)], checkpoints=store)
    second = Running(again, Collector())
    async with second:
        await second.out.wait_lines(81)
    assert second.out.lines()[:2] == [banner.strip().encode(), b"new 0"]


def test_rotated_sibling_is_judged_once_left_alone_whatever_its_clock(tmp_path):
    """A never-seen rotated sibling is reported only after SETTLE seconds without change
    (a copy may still be being written); an mtime far in the past or the future (a clock
    jump, ``touch -d``) does not hide it."""
    import time

    from shipper.sources.globs import PathMatcher
    from shipper.sources.survey import SETTLE, survey

    append(tmp_path / "app.log", "live\n")
    sibling = tmp_path / "app.log.1"
    append(sibling, "rotated\n")
    matcher = PathMatcher((str(tmp_path / "*.log"),))
    assert survey(matcher, {}, {}, since=0.0).missed == {}
    for shift in (-3600.0, 3600.0, -SETTLE - 1):
        stamp = time.time() + shift
        os.utime(sibling, (stamp, stamp))
        found = survey(matcher, {}, {}, since=0.0).missed
        assert [path for path, _fp in found.values()] == [str(sibling)], shift


def test_a_file_renamed_away_before_it_was_seen_is_found_by_the_glob(tmp_path):
    """``app.log`` made, written and renamed to ``app.log.1`` between two looks (no new
    ``app.log``): the glob would follow ``app.log``, so its rotated sibling is reported,
    though no followed file has that name; a sibling of a name the glob would not follow
    (``other.txt.1``) or that an exclude leaves out is not."""
    import time

    from shipper.sources.globs import PathMatcher
    from shipper.sources.survey import SETTLE, survey

    for name in ("app.log.1", "other.txt.1", "skip.log.1"):
        append(tmp_path / name, "rotated\n")
        stamp = time.time() - SETTLE - 1
        os.utime(tmp_path / name, (stamp, stamp))
    matcher = PathMatcher((str(tmp_path / "*.log"),), exclude=("skip.log",))
    found = survey(matcher, {}, {}, since=0.0).missed
    assert [path for path, _fp in found.values()] == [str(tmp_path / "app.log.1")]
    assert survey(matcher, {}, {}, since=time.time() + 60).missed == {}  # older: left


def test_a_rotated_file_under_a_reused_inode_is_not_taken_for_the_one_read(tmp_path):
    """The identity of a file read (from this run, or an earlier run's checkpoints) comes
    with its first line's fingerprint: a rotated sibling with that identity but another
    first line (the file system gave the inode of the deleted file to a new one, which
    was written and renamed away before it was seen) is reported, never skipped as read;
    with the same first line, or a first line not known, it is the file read."""
    import time

    from shipper.sources.globs import PathMatcher
    from shipper.sources.identity import fingerprint_of
    from shipper.sources.survey import SETTLE, survey

    sibling = tmp_path / "app.log.1"
    append(sibling, "a new file's first line\n")
    stamp = time.time() - SETTLE - 1
    os.utime(sibling, (stamp, stamp))
    st = os.stat(sibling)
    ident = (st.st_dev, st.st_ino)
    matcher = PathMatcher((str(tmp_path / "*.log"),))
    old = fingerprint_of(b"the deleted file's first line\n")
    found = survey(matcher, {}, {ident: old}, since=0.0).missed
    assert [path for path, _fp in found.values()] == [str(sibling)]
    same = fingerprint_of(b"a new file's first line\n")
    assert survey(matcher, {}, {ident: same}, since=0.0).missed == {}
    assert survey(matcher, {}, {ident: None}, since=0.0).missed == {}
