"""The memory buffer: bounded in bytes, batches cut by records and bytes, and the
``when_full`` policies (block, drop_newest, drop_oldest) that never shed a record at
``warning`` or above while one below it could go instead."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from shipper.acks import AckToken
from shipper.errors import SinkStoppedError
from shipper.sinks.batch import ENVELOPE_OVERHEAD, RECORD_OVERHEAD, Envelope
from shipper.sinks.encoding import encode_records
from shipper.sinks.membuffer import MemoryBuffer


def rec(n: int, level: str = "info", pad: int = 80) -> dict:
    return {"level": level, "message": f"m{n:04d} " + "x" * pad}


def envelope(records: list[dict], token: AckToken | None = None) -> Envelope:
    enc = encode_records(records, levels=True)
    return Envelope(enc.data, enc.ends, enc.high, token or AckToken("f", 0, pending=1), 0.0)


def size(records: list[dict]) -> int:
    """What an envelope of these records costs the buffer."""
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    return len(data) + RECORD_OVERHEAD * len(records) + ENVELOPE_OVERHEAD


class Shed:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, n: int = 1) -> None:
        self.count += n


def messages(buf: MemoryBuffer) -> list[str]:
    lines = buf.take(1 << 30, 1 << 40)
    buf.settle(lines)
    return [r["message"][:5] for r in lines.records()]


async def test_take_cuts_batches_by_records_and_by_bytes_across_envelopes():
    buf = MemoryBuffer(1 << 20, on_shed=Shed())
    for first in (0, 5):
        await buf.put(envelope([rec(n) for n in range(first, first + 5)]))
    by_count = buf.take(3, 1 << 20)
    assert by_count.count == 3
    one_record = len(orjson.dumps(rec(0))) + 1
    by_bytes = buf.take(100, one_record * 2)
    assert by_bytes.count == 2
    rest = buf.take(100, 1 << 20)
    got = [r["message"][:5] for b in (by_count, by_bytes, rest) for r in b.records()]
    assert got == [f"m{n:04d}" for n in range(10)]
    assert buf.take(100, 1).count == 0


async def test_a_record_bigger_than_max_bytes_still_makes_a_batch_of_one():
    buf = MemoryBuffer(1 << 20, on_shed=Shed())
    await buf.put(envelope([rec(0, pad=5000), rec(1)]))
    assert buf.take(100, 1024).count == 1
    assert buf.take(100, 1024).count == 1


async def test_settling_every_batch_acks_the_envelope_and_empties_the_accounts():
    buf = MemoryBuffer(1 << 20, on_shed=Shed())
    token = AckToken("f", 0, pending=1)
    await buf.put(envelope([rec(n) for n in range(4)], token))
    first, second = buf.take(2, 1 << 20), buf.take(2, 1 << 20)
    buf.settle(first)
    assert not token.complete and buf.records == 2
    buf.settle(second)
    assert token.complete and buf.records == 0 and buf.bytes == 0


async def test_block_waits_for_room_and_close_releases_the_waiter_unacknowledged():
    one = [rec(0)]
    buf = MemoryBuffer(size(one), on_shed=Shed())
    await buf.put(envelope(one))
    token = AckToken("f", 0, pending=1)
    waiting = asyncio.create_task(buf.put(envelope([rec(1)], token)))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    buf.close()
    assert await asyncio.wait_for(waiting, 1) is False
    assert not token.complete  # left to be read again from its file


async def test_block_waiter_gets_room_when_a_batch_settles():
    one = [rec(0)]
    buf = MemoryBuffer(size(one), on_shed=Shed())
    await buf.put(envelope(one))
    waiting = asyncio.create_task(buf.put(envelope([rec(1)])))
    await asyncio.sleep(0.01)
    buf.settle(buf.take(10, 1 << 20))
    assert await asyncio.wait_for(waiting, 1) is True


async def test_a_failed_worker_makes_waiting_and_new_puts_raise():
    one = [rec(0)]
    buf = MemoryBuffer(size(one), on_shed=Shed())
    await buf.put(envelope(one))
    waiting = asyncio.create_task(buf.put(envelope([rec(1)])))
    await asyncio.sleep(0.01)
    buf.fail(SinkStoppedError("sink x stopped"))
    with pytest.raises(SinkStoppedError):
        await asyncio.wait_for(waiting, 1)
    with pytest.raises(SinkStoppedError):
        await buf.put(envelope([rec(2)]))


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
async def test_drop_policies_shed_info_before_any_warning_and_count_exactly(policy):
    """A full buffer of info records takes an envelope of warnings, errors and infos:
    info records go (queued and new ones), every warning and error is kept, and the count
    of shed records is exact."""
    shed = Shed()
    infos = [rec(n, "info") for n in range(10)]
    buf = MemoryBuffer(size(infos) * 2, when_full=policy, on_shed=shed)
    await buf.put(envelope(infos))
    await buf.put(envelope([rec(n, "info") for n in range(10, 20)]))
    mixed = [rec(n, ("warning", "info", "error", "debug")[n % 4]) for n in range(20, 44)]
    await buf.put(envelope(mixed))
    kept = messages(buf)
    high = [f"m{n:04d}" for n in range(20, 44) if n % 4 in (0, 2)]
    assert all(name in kept for name in high)
    assert shed.count == 44 - len(kept) > 0


async def test_drop_oldest_keeps_the_newest_records():
    shed = Shed()
    ten = [rec(n) for n in range(10)]
    buf = MemoryBuffer(size(ten), when_full="drop_oldest", on_shed=shed)
    for first in range(0, 30, 10):
        await buf.put(envelope([rec(n) for n in range(first, first + 10)]))
    kept = messages(buf)
    assert kept[-1] == "m0029" and "m0000" not in kept
    assert kept == sorted(kept)
    assert shed.count + len(kept) == 30


async def test_drop_newest_keeps_the_oldest_records():
    shed = Shed()
    ten = [rec(n) for n in range(10)]
    buf = MemoryBuffer(size(ten), when_full="drop_newest", on_shed=shed)
    token = AckToken("f", 0, pending=1)
    await buf.put(envelope(ten))
    assert await buf.put(envelope([rec(n) for n in range(10, 20)], token)) is True
    assert token.complete  # its records are accounted for (shed), so it is acknowledged
    assert messages(buf) == [f"m{n:04d}" for n in range(10)]
    assert shed.count == 10


async def test_drop_newest_sheds_queued_info_for_a_new_warning():
    """The new envelope holds only an error: the newest queued info record goes instead."""
    shed = Shed()
    ten = [rec(n) for n in range(10)]
    buf = MemoryBuffer(size(ten), when_full="drop_newest", on_shed=shed)
    await buf.put(envelope(ten))
    await buf.put(envelope([rec(99, "error")]))
    kept = messages(buf)
    assert "m0099" in kept and shed.count == 11 - len(kept)


async def test_records_in_flight_are_never_shed():
    shed = Shed()
    ten = [rec(n) for n in range(10)]
    buf = MemoryBuffer(size(ten), when_full="drop_oldest", on_shed=shed)
    await buf.put(envelope(ten))
    in_flight = buf.take(100, 1 << 20)
    await buf.put(envelope([rec(n) for n in range(10, 20)]))
    assert [r["message"][:5] for r in in_flight.records()] == [f"m{n:04d}" for n in range(10)]
    buf.settle(in_flight)
    assert shed.count + buf.records == 10


async def test_max_records_also_bounds_the_buffer():
    shed = Shed()
    buf = MemoryBuffer(1 << 30, max_records=5, when_full="drop_newest", on_shed=shed)
    await buf.put(envelope([rec(n) for n in range(4)]))
    await buf.put(envelope([rec(n) for n in range(4, 8)]))
    assert buf.records == 5 and shed.count == 3
