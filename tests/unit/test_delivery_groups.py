"""Chunks of several files queued together are processed as one batch
(``Processor.feed_many``) and delivered as one envelope, with the same records, order,
safe offsets and per-file acknowledgements as one chunk at a time."""

import asyncio

from shipper.config import Settings
from shipper.delivery import Closed
from shipper.enrich.podinfo import PodInfo
from shipper.processor import Processor
from shipper.sources.files import Chunk
from shipper.stages import CountingFates
from tests.unit.test_stream import delivery

LINES = [b"2024-01-01T00:00:00Z INFO first of %d",
         b'{"level":"info","msg":"json of %d","ts":"2024-01-01T00:00:01Z"}',
         b"2024-01-01T00:00:02Z INFO held until the file is let go %d"]


def processor(**settings):
    s = Settings(**settings)
    podinfo = PodInfo({}, s.downward_api, s.podinfo_dir)
    return Processor(s, podinfo=podinfo, fates=CountingFates(), clock=lambda: 1.0e9)


def chunk(n):
    lines, offset = [], 0
    for line in LINES:
        lines.append((offset, line % n))
        offset += len(line % n) + 1
    return Chunk(f"key{n}", f"/var/log/pods/ns_app_uid/app/{n}.log", lines, frozenset(),
                 offset, False)


def items():
    return [chunk(1), chunk(2), "key1", chunk(3), "key2", "key3"]


def one_at_a_time(proc, items):
    out = []
    for item in items:
        batch = proc.feed(item) if isinstance(item, Chunk) else proc.close(item)
        if batch is not None:
            out.append(batch)
    return out


def shape(batches):
    return [(b.file_key, b.safe_offset, [dict(r) for r in b.records]) for b in batches]


def test_feed_many_gives_what_feed_and_close_give_one_at_a_time():
    assert shape(processor().feed_many(items())) == shape(one_at_a_time(processor(), items()))


def test_feed_many_runs_the_stages_once_for_the_whole_group():
    proc, calls = processor(), []
    stage = proc.stages[0]
    original = stage.process_batch

    def counted(records, dropped):
        calls.append(len(records))
        return original(records, dropped)

    proc._batched[0] = counted
    batches = proc.feed_many(items())
    assert calls == [sum(len(b.records) for b in batches)]


class AckingSink:
    name = "acking"
    held = 0

    def __init__(self):
        self.puts = []

    async def put(self, records, token):
        self.puts.append([r["message"] for r in records])
        token.done()


class Checkpoints:
    def __init__(self):
        self.offsets = {}

    def set(self, key, path, offset):
        self.offsets[key] = offset


def test_queued_chunks_go_out_in_one_envelope_and_each_file_checkpoint_moves():
    """Three files' chunks and closes queued before the processor runs: one put, in
    order, and each file's checkpoint at its end (its held record shipped at close)."""
    async def main():
        proc, sink, cps = processor(), AckingSink(), Checkpoints()
        queue = asyncio.Queue(16)
        d = delivery(queue, proc, sink, cps)
        for item in items():
            queue.put_nowait(Closed(item) if isinstance(item, str) else item)
        queue.put_nowait(None)
        await d.run()
        return sink, cps, d

    sink, cps, d = asyncio.run(main())
    assert len(sink.puts) == 1
    assert sink.puts[0] == [
        "first of 1", "json of 1", "first of 2", "json of 2",
        "held until the file is let go 1", "first of 3", "json of 3",
        "held until the file is let go 2", "held until the file is let go 3"]
    assert cps.offsets == {f"key{n}": chunk(n).end_offset for n in (1, 2, 3)}
    assert d.inflight == 0


def test_a_file_let_go_behind_its_queued_chunk_takes_no_place_in_the_queue():
    """The tailer's ``on_closed`` right after ``emit``: the close rides with the chunk
    (the bounded queue holds chunks only) and the held record still ships after it."""
    async def main():
        proc, sink, cps = processor(), AckingSink(), Checkpoints()
        queue = asyncio.Queue(16)
        d = delivery(queue, proc, sink, cps)
        for n in (1, 2, 3):
            await d.emit(chunk(n))
            await d.file_closed(f"key{n}")
        sizes = queue.qsize()
        queue.put_nowait(None)
        await d.run()
        return sink, cps, sizes

    sink, cps, sizes = asyncio.run(main())
    assert sizes == 3
    assert sink.puts == [[
        "first of 1", "json of 1", "held until the file is let go 1",
        "first of 2", "json of 2", "held until the file is let go 2",
        "first of 3", "json of 3", "held until the file is let go 3"]]
    assert cps.offsets == {f"key{n}": chunk(n).end_offset for n in (1, 2, 3)}


def test_the_files_of_a_processor_share_one_timestamp_normalizer():
    """Its caches (the last good second, parsed stamps) stay warm from file to file, and
    two files parse their stamps as each would alone."""
    proc = processor()
    alone = processor()
    first, second = proc._parsers.parser("/a.log"), proc._parsers.parser("/b.log")
    assert first._stamps is second._stamps is proc._stamps
    assert shape([proc.feed(chunk(4)), proc.feed(chunk(5))]) == \
        shape([alone.feed(chunk(4)), processor().feed(chunk(5))])


def lines_chunk(key, count):
    return Chunk(key, f"/var/log/{key}.log", [(i * 10, b"x") for i in range(count)],
                 frozenset(), count * 10, True)


def test_one_read_of_three_small_files_is_one_group_but_two_busy_chunks_are_not():
    """What one thread hop reads of 200-line files (three, about ``read_chunk_bytes``) is
    processed as one group (512 lines cut it after two); two ~570-line chunks of a busy
    file stay two groups, and the item that did not fit is handed back."""
    from shipper.delivery_parts import Riders, queued_behind

    none = Closed("")

    def take(chunks):
        queue = asyncio.Queue()
        for c in chunks[1:]:
            queue.put_nowait(c)
        return queued_behind(chunks[0], queue, none, Riders())

    small = [lines_chunk(f"f{i}", 200) for i in range(4)]
    items, after = take(small)
    assert [c.file_key for c in items] == ["f0", "f1", "f2"] and after is small[3]
    busy = [lines_chunk("busy", 570), lines_chunk("busy", 570)]
    items, after = take(busy)
    assert items == [busy[0]] and after is busy[1]
