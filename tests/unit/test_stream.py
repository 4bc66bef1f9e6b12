"""Per-file streams (``shipper/stream.py``): the processor keeps a file's state (parser,
path, end offset, acknowledgements) while the file is open or deliveries from it are
unacknowledged, and nothing once it is closed and acknowledged."""

import asyncio
import gc
import time
import tracemalloc

from shipper.acks import AckToken
from shipper.components import Observers
from shipper.config import Settings
from shipper.delivery import Delivery
from shipper.enrich.podinfo import PodInfo
from shipper.parse.spares import SpareParsers
from shipper.processor import Processor
from shipper.sources.files import Chunk
from shipper.stages import CountingFates

PATH = "/var/log/pods/ns_app_uid/app/0.log"
FIRST = b"2024-01-01T00:00:00Z INFO first"
HELD = b"2024-01-01T00:00:01Z INFO held until the file is let go"


def processor():
    settings = Settings()
    podinfo = PodInfo({}, settings.downward_api, settings.podinfo_dir)
    return Processor(settings, podinfo=podinfo, fates=CountingFates(), clock=time.time)


def chunk(key, start=0):
    lines = [(start, FIRST), (start + len(FIRST) + 1, HELD)]
    end = lines[-1][0] + len(HELD) + 1
    return Chunk(key, PATH, lines, frozenset(), end, False)


class AckingSink:
    """Acknowledges every envelope as it is put (or keeps them, with ``hold``)."""

    name = "acking"

    def __init__(self, hold=False):
        self.hold = hold
        self.held = []
        self.records = 0

    async def put(self, records, token):
        self.records += len(records)
        if self.hold:
            self.held.append(token)
        else:
            token.done()


class Checkpoints:
    """Counts the moves; keeps no entry per file (the real store retires let-go files)."""

    def __init__(self):
        self.moves = 0

    def set(self, key, path, offset):
        self.moves += 1


async def _noop():
    return None


def delivery(queue, proc, sink, cps):
    """A :class:`Delivery` of ``queue`` through ``proc`` to ``sink``, flushing at the end,
    its checkpoints in ``cps`` (the wiring these tests share)."""
    return Delivery(queue, proc, [sink], observers=Observers(), checkpoints=cps,
                    flush_at_end=True, on_isolated=lambda *a: None,
                    on_checkpoint=lambda: None, clock=time.time, monotonic=time.monotonic)


def test_a_thousand_rotated_generations_leave_no_per_file_state_behind():
    """Every generation (a new file key: rotation, copytruncate) is read, closed and
    acknowledged; memory held after 1,000 more of them does not grow with them."""
    async def main():
        proc, sink, cps = processor(), AckingSink(), Checkpoints()
        queue = asyncio.Queue(16)
        d = delivery(queue, proc, sink, cps)
        task = asyncio.create_task(d.run())

        async def generations(first, count):
            for gen in range(first, first + count):
                key = f"2049:{gen}:fp"
                await d.emit(chunk(key))
                await d.file_closed(key)
            await d.between(_noop)  # every item before it is processed

        await generations(0, 200)  # warm-up: caches, interned strings, allocator pools
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        await generations(200, 1000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        await queue.put(None)
        await task
        return proc, sink, cps, grown

    tracemalloc.start()
    try:
        proc, sink, cps, grown = asyncio.run(main())
    finally:
        tracemalloc.stop()
    assert sink.records == 2 * 1200 and cps.moves == 2 * 1200  # read, closed, shipped
    assert grown < 40_000, f"{grown} bytes held for 1,000 closed generations"
    assert len(proc.streams) == 0


def test_a_closed_file_waits_for_its_acks_then_is_forgotten():
    """A stream closed with deliveries unacknowledged is kept until they are (so the
    checkpoint still moves, in order), then the next flush forgets it."""
    async def main():
        proc, sink, cps = processor(), AckingSink(hold=True), Checkpoints()
        d = delivery(asyncio.Queue(4), proc, sink, cps)
        await d._handle(chunk("k"))
        await d._closed("k")
        assert len(proc.streams) == 1 and len(sink.held) == 2
        assert proc.flush(time.time()) == [] and len(proc.streams) == 1  # still waiting
        for token in sink.held:
            token.done()
        assert cps.moves == 2
        proc.flush(time.time())
        assert len(proc.streams) == 0

    asyncio.run(main())


def test_a_file_back_under_its_key_goes_on_with_the_same_acks():
    """A key let go and read again before its deliveries are acknowledged keeps one
    ordered list of them: the checkpoint never moves back to the older offset."""
    proc = processor()
    first = proc.feed(chunk("k"))
    first.stream.acks.add(AckToken("k", first.safe_offset, pending=1))  # a sink has it
    proc.close("k")
    again = proc.feed(chunk("k", start=first.safe_offset + 100))
    assert again.stream is first.stream
    # its parser starts afresh (a spare restarted: nothing of the first reading held)
    assert [(r["message"], r["file"]["offset"]) for r in again.records] == [
        ("first", first.safe_offset + 100)]
    assert len(again.stream.acks.tokens) == 1  # still there, first in line
    assert len(proc.streams) == 1


def test_a_file_let_go_hands_its_parser_on_to_the_next_new_file():
    """The parser of a file let go with nothing held parses the next new file's lines
    (no new one made), with the records a new parser gives."""
    proc = processor()
    first = proc.feed(chunk("a"))
    parser = first.stream.parser
    proc.close("a")  # flushes the held record: the parser holds nothing
    other = Chunk("b", PATH + ".1", chunk("b").lines, frozenset(), 100, False)
    second = proc.feed(other)
    assert second.stream.parser is parser
    fresh = processor().feed(other)
    assert second.records == fresh.records
    assert second.records[0]["file"]["path"] == PATH + ".1"


def test_files_read_and_let_go_in_one_group_come_out_as_without_spares():
    """One ``feed_many`` group in which each file is let go before the next new one is
    read (its parser handed on within the group): the batches equal those of a processor
    that makes a new parser for every file, records, keys and safe offsets."""
    def group(proc):
        items = []
        for i in range(5):
            lines = chunk(f"k{i}").lines + [(200, b"Traceback (most recent call last):"),
                                            (240, b'  File "x.py", line 1')]
            items += [Chunk(f"k{i}", f"{PATH}.{i}", lines, frozenset(), 270, False), f"k{i}"]
        return [(b.records, b.file_key, b.safe_offset) for b in proc.feed_many(items)]

    spared = processor()
    unspared = processor()
    unspared._parsers = SpareParsers(unspared._new_parser, unspared.settings.parse.formats,
                                     keep=0)
    assert group(spared) == group(unspared)
    assert len(spared._parsers) == 1 and len(unspared._parsers) == 0


def test_a_file_let_go_holding_a_record_keeps_its_parser_out():
    """Let go without flushing (its held record is read again after a restart), the
    parser still holds the record: the next new file gets a new parser."""
    proc = processor()
    parser = proc.feed(chunk("a")).stream.parser
    proc.close("a", flush=False)
    assert parser.pending
    assert proc.feed(chunk("b")).stream.parser is not parser


def test_feed_gives_the_safe_offset_the_start_of_the_held_record():
    proc = processor()
    batch = proc.feed(chunk("k"))
    assert [r["message"] for r in batch.records] == ["first"]
    assert batch.file_key == "k" and batch.safe_offset == len(FIRST) + 1
    [flushed] = proc.flush(time.time(), force=True)
    assert flushed.records[0]["message"].startswith("held")
    assert flushed.safe_offset == len(FIRST) + len(HELD) + 2
    assert proc.close("k") is None  # nothing held any more


def test_a_busy_file_is_not_flushed_unless_forced():
    proc = processor()
    proc.feed(chunk("k"))
    assert proc.flush(time.time() + 3600, busy={"k"}) == []
    assert len(proc.flush(time.time() + 3600, busy={"k"}, force=True)) == 1


def test_close_without_flush_drops_the_held_record_for_rereading():
    proc = processor()
    proc.feed(chunk("k"))
    assert proc.close("k", flush=False) is None
    assert len(proc.streams) == 0


def test_a_late_ack_of_a_closed_generation_never_moves_the_checkpoint_back():
    """The file is let go and read again under its key while the first deliveries are
    still with the sink; acknowledged out of order, the checkpoint only moves forward."""
    async def main():
        proc, sink = processor(), AckingSink(hold=True)
        offsets = []
        cps = type("Cps", (), {"set": lambda self, key, path, offset: offsets.append(offset)})()
        d = delivery(asyncio.Queue(4), proc, sink, cps)
        await d._handle(chunk("k"))
        await d._closed("k")
        await d._handle(chunk("k", start=1000))
        old, new = sink.held[:2], sink.held[2:]
        for token in new:
            token.done()
        assert offsets == []  # the older deliveries come first
        for token in old:
            token.done()
        # the first chunk's (its held record's start), then past the later chunk's
        # first record; never back
        assert offsets == [len(FIRST) + 1, 1000 + len(FIRST) + 1]

    asyncio.run(main())


class Parser:
    """A parser that counts the looks at whether it holds a record."""

    looks = 0

    def __init__(self) -> None:
        self.holding = False

    @property
    def pending(self) -> bool:
        Parser.looks += 1
        return self.holding


def test_held_looks_only_at_streams_fed_since_they_last_held_nothing():
    """1,000 open files whose last chunks left nothing pending: one look at each, then
    none (the delivery asks at every queue wait); a stream fed again is looked at again,
    and found while it holds a record, in every look until it holds none."""
    from shipper.stream import FileStreams

    streams = FileStreams(lambda path: Parser())  # type: ignore[arg-type,return-value]
    for n in range(1000):
        streams.get(f"k{n}", f"/logs/{n}.log")
    Parser.looks = 0
    assert list(streams.held()) == [] and Parser.looks == 1000
    assert list(streams.held()) == [] and Parser.looks == 1000
    fed = streams.get("k7", "/logs/7.log")
    fed.parser.holding = True
    assert list(streams.held()) == [fed] == list(streams.held())
    assert list(streams.held(busy={"k7"})) == []
    fed.parser.holding = False
    assert list(streams.held()) == [] and Parser.looks == 1000 + 4
    streams.get("k9", "/logs/9.log").parser.holding = True
    streams.close("k9")
    assert list(streams.held()) == []  # let go: not held by an open stream
