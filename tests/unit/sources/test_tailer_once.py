"""Once mode: deterministic order, final lines, checkpoints and long lines."""

from __future__ import annotations

import asyncio
import os

from shipper.sources.checkpoints import CheckpointStore
from tests.unit.sources.conftest import Collector, append, make_tailer


async def run_once(paths, **kw):
    tailer, metrics = make_tailer(paths, once=True, **kw)
    out = Collector()
    await tailer.run(out.emit, asyncio.Event(), out.on_closed)
    return out, metrics, tailer


async def test_once_reads_files_in_sorted_order_and_returns(tmp_path):
    """Files come out one after the other in path order, each closed after its EOF."""
    append(tmp_path / "b.log", "b1\nb2\n")
    append(tmp_path / "a.log", "a1\n")
    out, metrics, tailer = await run_once([str(tmp_path / "*.log")])
    assert out.lines() == [b"a1", b"b1", b"b2"]
    assert [c.path for c in out.chunks] == [str(tmp_path / "a.log"), str(tmp_path / "b.log")]
    assert all(c.eof for c in out.chunks)
    assert len(out.closed) == 2 and tailer.open_files == 0
    assert metrics.value("shipper_lines_read_total") == 3


async def test_once_small_chunks_split_lines_exactly(tmp_path):
    """With tiny read chunks every line still comes out once, in order, with its offset."""
    text = "".join(f"line-{i}\n" for i in range(500))
    append(tmp_path / "a.log", text)
    out, _, _ = await run_once([str(tmp_path / "a.log")], read_chunk_bytes=7)
    assert out.lines() == [f"line-{i}".encode() for i in range(500)]
    offsets = [o for c in out.chunks for o, _ in c.lines]
    assert offsets[1] == len("line-0\n")


async def test_long_line_is_cut_and_counted(tmp_path):
    """A line over max_line_bytes is cut, its offset marked, the metric counted."""
    append(tmp_path / "a.log", "x" * 100 + "\nshort\n")
    out, metrics, _ = await run_once([str(tmp_path / "a.log")], max_line_bytes=10)
    assert out.lines() == [b"x" * 10, b"short"]
    assert set().union(*(c.truncated for c in out.chunks)) == {0}
    assert metrics.value("shipper_parse_errors_total", kind="truncated_line") == 1


async def test_resumes_at_checkpoint(tmp_path):
    """A file with a checkpoint is read from the checkpointed offset on."""
    log = tmp_path / "a.log"
    append(log, "one\ntwo\n")
    store = CheckpointStore(tmp_path / "state")
    first, _, _ = await run_once([str(log)])
    store.set(first.chunks[0].file_key, str(log), 4)
    out, _, _ = await run_once([str(log)], checkpoints=store)
    assert out.lines() == [b"two"]


async def test_checkpoint_beyond_size_reads_from_start(tmp_path):
    """A checkpoint past the end of the file (truncated while stopped) is not trusted."""
    log = tmp_path / "a.log"
    append(log, "one\ntwo\n")
    store = CheckpointStore(tmp_path / "state")
    first, _, _ = await run_once([str(log)])
    store.set(first.chunks[0].file_key, str(log), 10_000)
    out, _, _ = await run_once([str(log)], checkpoints=store)
    assert out.lines() == [b"one", b"two"]


async def test_file_renamed_while_stopped_is_finished_from_checkpoint(tmp_path):
    """A checkpointed file renamed to a rotated name is found by identity and finished;
    a renamed file that was already finished is not read again."""
    log, done = tmp_path / "app.log", tmp_path / "done.log"
    append(log, "one\ntwo\n")
    append(done, "old\n")
    store = CheckpointStore(tmp_path / "state")
    first, _, _ = await run_once([str(tmp_path / "*.log")])
    keys = {c.path: c.file_key for c in first.chunks}
    store.set(keys[str(log)], str(log), 4)
    store.set(keys[str(done)], str(done), 4)
    os.rename(log, tmp_path / "app.log.1")
    os.rename(done, tmp_path / "done.log.1")
    append(log, "new\n")
    out, _, _ = await run_once([str(tmp_path / "*.log")], checkpoints=store)
    assert out.lines() == [b"two", b"new"]
