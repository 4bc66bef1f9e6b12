"""Once mode's fixed cost per file: thread hops. Opening, sizing and identifying a file
share one hop with placing it and its first read (unless a checkpoint store knows its
device/inode: then the loop places it, in a hop of its own), and small files share that
hop: it opens files until it read
``OPEN_BATCH_CHUNKS`` times ``read_chunk_bytes`` or opened ``OPEN_BATCH_FILES`` (so a
thousand small files cost about what one file of their size does, with a few chunks held
at once). The fused steps read what
the separate ones did."""

from __future__ import annotations

import asyncio
import os

import pytest

from shipper.sources import fileset, resume
from shipper.sources.checkpoints import CheckpointStore
from shipper.sources.files import Chunk
from shipper.sources.hop import Reader
from shipper.sources.links import LinkPolicy
from shipper.sources.reads import READ_AHEAD_MAX_BUFFERED, drain_step
from tests.unit.sources.conftest import Collector, append, make_tailer


async def run_once(paths, **kw):
    tailer, metrics = make_tailer(paths, once=True, **kw)
    out = Collector()
    await tailer.run(out.emit, asyncio.Event(), out.on_closed)
    return out, metrics, tailer


def count_hops(monkeypatch) -> list[str]:
    """Every thread hop (``asyncio.to_thread`` and the tailer's reader thread, see
    ``shipper.sources.hop``), by the name of the function it runs."""
    hops: list[str] = []
    real, real_read = asyncio.to_thread, Reader.run

    async def counted(func, /, *args, **kwargs):
        hops.append(getattr(func, "__name__", type(func).__name__))
        return await real(func, *args, **kwargs)

    async def counted_read(self, func):
        hops.append(getattr(func, "__name__", type(func).__name__))
        return await real_read(self, func)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    monkeypatch.setattr(Reader, "run", counted_read)
    return hops


async def test_small_files_share_one_thread_hop_without_checkpoints(tmp_path, monkeypatch):
    """20 small files, no checkpoint store: one scan, then one hop for all of them (open,
    size, identify, place, read; one hop per file before), every line out once, in
    order, each file closed after its lines, under distinct keys."""
    for i in range(20):
        append(tmp_path / f"f{i:02}.log", f"a{i}\nb{i}\n")
    hops = count_hops(monkeypatch)
    out, metrics, tailer = await run_once([str(tmp_path / "*.log")])
    assert out.lines() == [f"{x}{i}".encode() for i in range(20) for x in "ab"]
    assert len(out.closed) == 20 and tailer.open_files == 0
    assert len(set(out.closed)) == 20 and out.closed == [c.file_key for c in out.chunks]
    assert hops == ["scan", "open_all"], hops
    assert metrics.value("shipper_lines_read_total") == 40


async def test_small_files_share_the_open_hop_with_checkpoints(tmp_path, monkeypatch):
    """With a checkpoint store, files whose device/inode it does not know are placed and
    read in the hop that opens them, as without one (20 files: after the start-up scan
    and recovery, one hop; one per file before), with the same chunks, keys and
    witnesses (the checks a checkpoint is saved with) as when the loop places them."""
    for i in range(20):
        append(tmp_path / f"f{i:02}.log", f"a{i}\nb{i}\n")
    store = CheckpointStore(tmp_path / "state")
    hops = count_hops(monkeypatch)
    out, _, _ = await run_once([str(tmp_path / "*.log")], checkpoints=store)
    assert out.lines() == [f"{x}{i}".encode() for i in range(20) for x in "ab"]
    assert hops == ["scan", "recover", "scan", "open_all"], hops
    # the same chunks, witnesses and keys as when the loop places every file
    monkeypatch.setattr(resume, "_first_read", lambda f, nbytes, **_: drain_step(f, nbytes))
    placed, _, _ = await run_once([str(tmp_path / "*.log")],
                                  checkpoints=CheckpointStore(tmp_path / "state2"))
    assert hops.count("_place_then") == 20
    assert [(c.file_key, c.lines, c.end_offset, c.eof, c.witnesses) for c in out.chunks] == [
        (c.file_key, c.lines, c.end_offset, c.eof, c.witnesses) for c in placed.chunks]
    assert all(c.witnesses[-1].at == c.witnesses[-1].size == c.end_offset for c in out.chunks)


async def test_a_file_with_checkpoints_is_placed_on_the_loop_and_resumed(tmp_path,
                                                                         monkeypatch):
    """A file whose device/inode has a checkpoint is not placed in the opening hop: the
    loop verifies the checkpoint (a hop of its own) and the file resumes after it, while
    a new file beside it is still read in the opening hop."""
    old, new = tmp_path / "old.log", tmp_path / "new.log"
    append(old, "one\ntwo\n")
    first, _, _ = await run_once([str(old)], checkpoints=CheckpointStore(tmp_path / "state"))
    [chunk] = first.chunks
    store = CheckpointStore(tmp_path / "state")
    store.note(chunk.file_key, chunk.witnesses[0])
    store.set(chunk.file_key, str(old), chunk.end_offset)
    append(old, "three\n")
    append(new, "fresh\n")
    hops = count_hops(monkeypatch)
    out, _, _ = await run_once([str(tmp_path / "*.log")], checkpoints=store)
    assert out.lines(str(old)) == [b"three"] and out.lines(str(new)) == [b"fresh"]
    assert hops.count("open_all") == 1 and hops.count("_place_then") == 1, hops


async def test_a_hop_opens_files_until_it_read_a_few_read_chunks(tmp_path, monkeypatch):
    """Files of 30 bytes with ``read_chunk_bytes`` 32: a hop opens and reads files until
    ``OPEN_BATCH_CHUNKS`` chunks' bytes (128) were read (five files, then the four left),
    so at most about that much is held at once; the order of lines and closes is the
    order of the files."""
    assert fileset.OPEN_BATCH_CHUNKS == 4
    for i in range(9):
        append(tmp_path / f"f{i}.log", f"line-{i}-" + "x" * 20 + "\n")
    hops = count_hops(monkeypatch)
    seen_open: list[int] = []
    tailer, _ = make_tailer([str(tmp_path / "*.log")], once=True, read_chunk_bytes=32)
    out = Collector()

    async def emit(chunk):
        seen_open.append(tailer.open_files)
        await out.emit(chunk)

    await tailer.run(emit, asyncio.Event(), out.on_closed)
    assert [line[:7] for line in out.lines()] == [f"line-{i}-".encode() for i in range(9)]
    assert out.closed == [c.file_key for c in out.chunks]
    assert hops == ["scan"] + ["open_all"] * 2, hops
    assert max(seen_open) == 5 and tailer.open_files == 0


async def test_a_hop_opens_at_most_open_batch_files(tmp_path, monkeypatch):
    """Empty files read nothing: a hop still stops at ``OPEN_BATCH_FILES`` files, so the
    descriptors held at once stay bounded however many files match."""
    count = fileset.OPEN_BATCH_FILES + 6
    for i in range(count):
        append(tmp_path / f"f{i:03}.log", "")
    append(tmp_path / f"f{count:03}.log", "last\n")
    hops = count_hops(monkeypatch)
    out, _, tailer = await run_once([str(tmp_path / "*.log")])
    assert out.lines() == [b"last"]
    assert hops == ["scan", "open_all", "open_all"], hops
    assert len(out.closed) == count + 1 and tailer.open_files == 0


async def test_a_file_gone_before_its_batch_opens_it_does_not_stop_the_others(tmp_path):
    """A matched file deleted between the scan and the hop that opens it is reported
    and skipped; the files around it in the same hop are read whole, in order."""
    for name, text in (("a", "one\n"), ("b", "two\n"), ("c", "three\n")):
        append(tmp_path / f"{name}.log", text)
    tailer, _ = make_tailer([str(tmp_path / "*.log")], once=True)
    real_scan = tailer._matcher.scan

    def scan_then_delete(*args, **kwargs):
        paths = real_scan(*args, **kwargs)
        os.unlink(tmp_path / "b.log")
        return paths

    tailer._matcher.scan = scan_then_delete
    out = Collector()
    await tailer.run(out.emit, asyncio.Event(), out.on_closed)
    assert out.lines() == [b"one", b"three"]
    assert len(out.closed) == 2 and tailer.open_files == 0


async def test_a_second_name_of_a_file_read_is_neither_read_nor_closed_again(tmp_path):
    """A hard link matched after its first name: its lines come out once, and the
    second name gets no key of its own (no close reported for it)."""
    append(tmp_path / "a.log", "one\ntwo\n")
    os.link(tmp_path / "a.log", tmp_path / "b.log")
    out, _, tailer = await run_once([str(tmp_path / "*.log")])
    assert out.lines() == [b"one", b"two"]
    assert out.closed == [out.chunks[0].file_key] and tailer.open_files == 0


async def test_fused_drain_reads_big_files_in_chunks_with_a_last_line_without_newline(
        tmp_path):
    """The first step's size bounds the drain; later steps read chunk by chunk; the
    last line without a newline still comes out."""
    text = "".join(f"line-{i}\n" for i in range(300)) + "tail"
    append(tmp_path / "a.log", text)
    append(tmp_path / "b.log", "")
    out, _, tailer = await run_once([str(tmp_path / "*.log")], read_chunk_bytes=64)
    assert out.lines() == [f"line-{i}".encode() for i in range(300)] + [b"tail"]
    assert len(out.chunks) > 10 and out.chunks[-1].eof
    assert tailer.open_files == 0


async def test_a_failed_placement_identifies_again_and_still_reads_the_file(
        tmp_path, monkeypatch):
    """``place`` raising ``OSError`` once (its fused read does not run): the file is
    identified again and read whole, once."""
    append(tmp_path / "a.log", "one\ntwo\n")
    real, calls = resume.place, []

    def flaky(f, candidates, taken, **kwargs):
        calls.append(f.path)
        if len(calls) == 1:
            raise OSError(5, "injected")
        return real(f, candidates, taken, **kwargs)

    monkeypatch.setattr(resume, "place", flaky)
    out, _, _ = await run_once([str(tmp_path / "a.log")])
    assert out.lines() == [b"one", b"two"]
    assert len(calls) == 2


@pytest.mark.parametrize("offset", [0, 4])
async def test_fused_placement_resumes_at_the_checkpoint(tmp_path, offset):
    """With a checkpoint store, the read fused with the placement starts at the
    verified checkpoint (the same key as the first run)."""
    log = tmp_path / "a.log"
    append(log, "one\ntwo\n")
    first, _, _ = await run_once([str(log)])
    store = CheckpointStore(tmp_path / "state")
    store.set(first.chunks[0].file_key, str(log), offset)
    out, _, _ = await run_once([str(log)], checkpoints=store)
    assert out.lines() == [b"one", b"two"][offset // 4:]
    assert {c.file_key for c in out.chunks} == {first.chunks[0].file_key}


async def test_a_burst_of_small_files_enters_a_queue_with_room_in_one_turn(tmp_path):
    """Emits that find room finish without a turn of the event loop: another task never
    sees the five files' chunks and closes half queued (it did, item by item, before),
    so the consumer takes them together. A queue of one still gets everything, in
    order, each file's close after its lines (backpressure: the tailer waits)."""
    for i in range(5):
        append(tmp_path / f"f{i}.log", f"a{i}\nb{i}\n")
    queue: asyncio.Queue[object] = asyncio.Queue(100)
    sizes: list[int] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            sizes.append(queue.qsize())
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    tailer, _ = make_tailer([str(tmp_path / "*.log")], once=True)
    await tailer.run(queue.put, asyncio.Event(), queue.put)
    done.set()
    await watcher
    assert queue.qsize() == 10 and set(sizes) <= {0, 10}, sizes

    small: asyncio.Queue[object] = asyncio.Queue(1)
    got: list[object] = []

    async def consume() -> None:
        while len(got) < 10:
            got.append(await small.get())
            await asyncio.sleep(0.01)

    consumer = asyncio.create_task(consume())
    tailer, _ = make_tailer([str(tmp_path / "*.log")], once=True)
    await tailer.run(small.put, asyncio.Event(), small.put)
    await asyncio.wait_for(consumer, 10)
    lines = [[line for _, line in c.lines] if isinstance(c, Chunk) else c for c in got]
    keys = [c.file_key for c in got if isinstance(c, Chunk)]
    assert lines == [x for i, k in enumerate(keys) for x in ([f"a{i}".encode(),
                                                              f"b{i}".encode()], k)]


def test_a_batch_hop_always_moves_on_and_leaves_no_descriptor_when_its_step_fails(tmp_path):
    """``open_all`` with a budget takes at least one path (even with a budget of 0, so
    the tailer's loop always moves on); a first step that raises closes every file the
    hop opened before the error goes up (nobody would track them)."""
    for i in range(5):
        append(tmp_path / f"f{i}.log", f"line {i}\n")
    paths = [str(tmp_path / f"f{i}.log") for i in range(5)]
    links = LinkPolicy("always")
    one = fileset.open_all(paths, 1024, links, lambda f: "read", budget=0)
    assert [p for p, _, _ in one] == paths[:1]
    for _, f, _ in one:
        f.close()
    fds = len(os.listdir("/proc/self/fd"))
    calls: list[str] = []

    def third_fails(f):
        calls.append(f.path)
        if len(calls) == 3:
            raise RuntimeError("injected")
        return "read"

    with pytest.raises(RuntimeError):
        fileset.open_all(paths, 1024, links, third_fails, budget=1 << 20)
    assert len(calls) == 3 and len(os.listdir("/proc/self/fd")) == fds


@pytest.mark.parametrize(("buffered", "per_hop"), [(0, 4), (READ_AHEAD_MAX_BUFFERED - 1, 4),
                                                    (READ_AHEAD_MAX_BUFFERED, 1)])
async def test_a_drain_reads_four_chunks_a_hop_while_the_sinks_keep_up(
        tmp_path, monkeypatch, buffered, per_hop):
    """A file of 40 chunks (``read_chunk_bytes`` 100, 10 lines of 10 bytes each): four
    chunks a read hop while no sink holds ``READ_AHEAD_MAX_BUFFERED`` bytes (10 hops), one
    a hop once one does (40), asked before each hop; every line out once, in order, in
    chunks of 10 lines either way (each chunk emitted as it was)."""
    append(tmp_path / "big.log", "".join(f"line-{i:04}\n" for i in range(400)))
    asked: list[int] = []

    def sinks_buffered() -> int:
        asked.append(buffered)
        return buffered

    hops = count_hops(monkeypatch)
    out, _, _ = await run_once([str(tmp_path / "big.log")], read_chunk_bytes=100,
                               sinks_buffered=sinks_buffered)
    assert out.lines() == [f"line-{i:04}".encode() for i in range(400)]
    assert [len(c.lines) for c in out.chunks] == [10] * 40
    reads = [h for h in hops if h == "partial"]
    assert len(reads) == len(asked) == -(-39 // per_hop), hops  # the first chunk: open hop


async def test_what_was_emitted_is_taken_before_the_next_read_starts(tmp_path, monkeypatch):
    """Emits are eager, but before each read the tailer gives the loop a turn: a consumer
    waiting on the queue takes every chunk emitted so far before the next read hop
    starts (reads overlapping the processing starved the sinks' writer threads: +31 MiB
    of stdout buffer). Once mode, a big file in many chunks (four a hop) and small files
    in batches."""
    append(tmp_path / "big.log", "".join(f"line-{i}\n" for i in range(1000)))
    for i in range(6):
        append(tmp_path / f"s{i}.log", f"small-{i}\n")
    queue: asyncio.Queue[object] = asyncio.Queue(100)
    waiting_at_hop: list[int] = []
    real, real_read = asyncio.to_thread, Reader.run

    async def counted(func, /, *args, **kwargs):
        waiting_at_hop.append(queue.qsize())
        return await real(func, *args, **kwargs)

    async def counted_read(self, func):  # the big file's reads
        waiting_at_hop.append(queue.qsize())
        return await real_read(self, func)

    async def consume() -> None:
        while (await queue.get()) is not None:
            pass

    monkeypatch.setattr(asyncio, "to_thread", counted)
    monkeypatch.setattr(Reader, "run", counted_read)
    consumer = asyncio.create_task(consume())
    tailer, _ = make_tailer([str(tmp_path / "*.log")], once=True, read_chunk_bytes=256)
    await tailer.run(queue.put, asyncio.Event(), queue.put)
    await queue.put(None)
    await asyncio.wait_for(consumer, 10)
    assert len(waiting_at_hop) > 5 and set(waiting_at_hop) == {0}, waiting_at_hop


async def test_files_a_cancelled_hop_opens_are_closed_when_its_thread_ends(tmp_path,
                                                                         monkeypatch):
    """The tailer cancelled (shutdown) while a thread opens a batch of small files: the
    thread goes on, and every descriptor it opened is closed when it ends (nothing else
    tracks them)."""
    for i in range(40):
        append(str(tmp_path / f"f{i:02}.log"), f"line {i}\n")
    real_open = fileset.OpenFile.open

    def slow_open(path, max_line_bytes, links=None):
        import time
        time.sleep(0.01)
        return real_open(path, max_line_bytes, links)

    monkeypatch.setattr(fileset.OpenFile, "open", staticmethod(slow_open))
    before = len(os.listdir("/proc/self/fd"))
    tailer, _ = make_tailer([str(tmp_path / "*.log")], once=True)
    out = Collector()
    task = asyncio.create_task(tailer.run(out.emit, asyncio.Event(), out.on_closed))
    await asyncio.sleep(0.1)  # inside the hop: ~10 of its 40 opens done
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while len(os.listdir("/proc/self/fd")) > before and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert len(os.listdir("/proc/self/fd")) <= before


def count_calls(monkeypatch, module, name: str) -> list[object]:
    """Every call of ``module.name`` (patched where the tailer's modules look it up)."""
    calls: list[object] = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


async def test_small_files_read_once_take_no_witnesses_and_one_fstat(tmp_path, monkeypatch):
    """Once mode without a checkpoint store: nothing looks at a file's witnesses (they
    serve checkpoints and follow mode), so 20 small files hash none of them (three a
    file before) and each costs one ``fstat`` call, the open's (four before: the open's
    twice, the drain limit's, the placement's). Every line still comes out once, in
    order."""
    from shipper.sources import files

    for i in range(20):
        append(tmp_path / f"f{i:02}.log", f"a{i}\nb{i}\n")
    checks = count_calls(monkeypatch, files, "check_of")
    fstats = count_calls(monkeypatch, os, "fstat")
    out, _, tailer = await run_once([str(tmp_path / "*.log")])
    assert out.lines() == [f"{x}{i}".encode() for i in range(20) for x in "ab"]
    assert all(c.witnesses == () for c in out.chunks) and tailer.open_files == 0
    assert checks == [] and len(fstats) == 20, (len(checks), len(fstats))


async def test_witnesses_are_still_taken_with_a_checkpoint_store(tmp_path):
    """With a checkpoint store the same files' chunks carry the witnesses of their
    last line's start and of their end, as before (the store keeps them)."""
    for i in range(3):
        append(tmp_path / f"f{i}.log", f"a{i}\nb{i}\n")
    store = CheckpointStore(tmp_path / "state")
    out, _, _ = await run_once([str(tmp_path / "*.log")], checkpoints=store)
    assert [[w.at for w in c.witnesses] for c in out.chunks] == [[3, 6]] * 3


async def test_a_batch_of_opens_resolves_the_roots_once(tmp_path, monkeypatch):
    """20 files in one directory, no links: the glob's root is resolved once for the
    batch that opens them and no file path is resolved (two ``realpath`` calls a file
    before: the file's and the root's)."""
    from shipper.sources import links

    for i in range(20):
        append(tmp_path / f"f{i:02}.log", f"a{i}\n")
    resolved = count_calls(monkeypatch, links.os.path, "realpath")
    out, _, _ = await run_once([str(tmp_path / "*.log")])
    assert len(out.lines()) == 20
    assert [p for p in resolved if str(p).endswith(".log")] == []
    assert resolved.count(str(tmp_path)) == 1, resolved


async def test_a_small_file_read_once_is_identified_from_its_one_read(tmp_path, monkeypatch):
    """Without a checkpoint store a file's first read also gives its first-line
    fingerprint: one ``pread`` a file (two before: its head, then its lines), the keys
    those of ``read_fingerprint``. A file whose first read holds neither a newline nor
    256 bytes has its head read as before; lines and keys are the same either way."""
    from shipper.sources import files as files_module
    from shipper.sources.identity import read_fingerprint

    append(tmp_path / "a.log", "first\nsecond\n")
    append(tmp_path / "b.log", "x" * 300 + "\ny\n")  # no newline in its first 256 bytes
    append(tmp_path / "c.log", "no newline yet")  # short, no newline: head read apart
    preads: list[int] = []
    real = os.pread

    def counted(fd, n, offset):
        preads.append(n)
        return real(fd, n, offset)

    monkeypatch.setattr(files_module.os, "pread", counted)
    out, _, _ = await run_once([str(tmp_path / "*.log")])
    assert out.lines() == [b"first", b"second", b"x" * 300, b"y", b"no newline yet"]
    assert len(preads) == 4, preads  # a, b: one each; c: its lines, then its head
    expected = []
    for name in ("a.log", "b.log", "c.log"):
        fd = os.open(tmp_path / name, os.O_RDONLY)
        st = os.fstat(fd)
        expected.append(f"{st.st_dev}:{st.st_ino}:{read_fingerprint(fd, force=True)}")
        os.close(fd)
    assert [c.file_key for c in out.chunks] == expected
