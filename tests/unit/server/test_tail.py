"""Live tail: the hub's filters, ring and bounds, and the SSE endpoint with a real client."""

from __future__ import annotations

import asyncio
import json
import sys
import tracemalloc

import aiohttp
import orjson
import pytest

from shipper.jobs import JobTracker
from shipper.server import (
    Progress,
    ServerSettings,
    TailBusyError,
    TailFilter,
    TailHub,
)
from shipper.server.app import bound_port, build_app, start_server
from shipper.sinks.encoding import encode_records
from tests.unit.helpers import rec

from .helpers import record

TIMEOUT = 5.0


def hub(**kw) -> TailHub:
    return TailHub(**{"ring_size": 100, "max_clients": 2, "client_queue": 50, **kw})


def decoded(items: list[bytes]) -> list[str]:
    return [json.loads(item)["message"] for item in items]


# --- the hub -------------------------------------------------------------------------

def test_filter_by_min_level_job_correlation_and_logger():
    f = TailFilter.from_query({"level": "warning", "job_id": "j1"})
    assert f.matches(record("a", level="error", job_id="j1"))
    assert not f.matches(record("b", level="info", job_id="j1"))
    assert not f.matches(record("c", level="error", job_id="j2"))
    by_logger = TailFilter.from_query({"logger": "stages"})
    assert by_logger.matches(record("d", logger="stages.asr"))
    assert not by_logger.matches(record("e", logger="stagesx"))
    by_corr = TailFilter.from_query({"correlation_id": "req-1"})
    assert by_corr.matches(record("f", correlation_id="req-1"))  # still in attributes
    assert not by_corr.matches(record("g"))


def test_unknown_level_is_rejected():
    with pytest.raises(ValueError, match="unknown level"):
        TailFilter.from_query({"level": "loud"})


def test_ring_is_bounded_and_replay_returns_last_matching_oldest_first():
    tail = hub(ring_size=5)
    tail.publish([record(f"m{i}", job_id="a" if i % 2 else "b") for i in range(10)])
    assert decoded(tail.recent(TailFilter(), 100)) == ["m5", "m6", "m7", "m8", "m9"]
    assert decoded(tail.recent(TailFilter(job_id="a"), 2)) == ["m7", "m9"]


def test_the_raw_line_beside_a_record_never_leaves_the_hub():
    tail = hub()
    tail.publish([rec(record("token=[REDACTED]"), "token=hunter2")])
    (data,) = tail.recent(TailFilter(), 10)
    assert b"hunter2" not in data


async def test_max_clients_is_enforced():
    tail = hub(max_clients=1)
    tail.subscribe(TailFilter(), 0)
    with pytest.raises(TailBusyError):
        tail.subscribe(TailFilter(), 0)


async def test_client_falling_behind_its_queue_is_kicked_and_counted():
    tail = hub(client_queue=3)
    client, _ = tail.subscribe(TailFilter(), 0)
    tail.publish([record(f"m{i}") for i in range(4)])
    assert tail.slow_disconnects == 1 and tail.clients == 0
    assert await client.next(1.0) is None
    assert client.closed_reason.startswith("slow client")


def test_ring_is_bounded_in_bytes_and_keeps_the_newest():
    """100 records of 10 KB in a 64 KiB ring: the ring's bytes never pass the bound and
    a replay returns the newest records, oldest first."""
    tail = hub(ring_size=1000, ring_bytes=64 * 1024, client_queue_bytes=1 << 20)
    for i in range(100):
        tail.publish([record(f"m{i:03d} " + "x" * 10_000)])
        assert tail.ring_bytes <= 64 * 1024
    got = [m[:4] for m in decoded(tail.recent(TailFilter(), 1000))]
    assert got == [f"m{i:03d}" for i in range(100 - len(got), 100)]
    assert 3 <= len(got) <= 6


def test_one_batch_larger_than_the_ring_keeps_its_newest_records():
    tail = hub(ring_size=1000, ring_bytes=64 * 1024)
    tail.publish([record(f"m{i:02d} " + "x" * 10_000) for i in range(20)])
    assert 0 < tail.ring_bytes <= 64 * 1024
    assert [m[:3] for m in decoded(tail.recent(TailFilter(), 1000))][-1] == "m19"


def test_ring_holds_about_ring_size_records_when_batches_are_small():
    tail = hub(ring_size=10)
    for i in range(50):
        tail.publish([record(f"m{i}-{j}") for j in range(3)])
    assert 10 <= tail.ring_records < 13
    assert len(tail.recent(TailFilter(), 1000)) == tail.ring_records


def test_ring_is_a_copy_of_what_was_published():
    """The pipeline hands the same list to a sink, which may reuse it."""
    tail = hub()
    batch = [record("kept")]
    tail.publish(batch)
    batch.clear()
    assert decoded(tail.recent(TailFilter(), 10)) == ["kept"]


def test_the_ring_keeps_json_and_no_reference_to_the_records():
    """The ring holds what it weighs (each batch's JSON), so a published record is freed
    once delivered: its reference count is what it was before the publish."""
    tail = hub()
    one = rec(record("kept", job_id="j"), "raw line")
    before = sys.getrefcount(one)
    tail.publish([one])
    assert sys.getrefcount(one) == before
    assert decoded(tail.recent(TailFilter(job_id="j"), 10)) == ["kept"]


def test_the_ring_memory_stays_within_its_byte_bound_for_records_of_many_small_fields():
    """A record of 300 small attributes takes ~10x its JSON as Python objects; the ring
    keeps JSON, so the memory it holds stays within ``ring_bytes`` (traced by
    tracemalloc; the records themselves are dropped by the caller after each publish)."""
    bound = 64 * 1024
    tail = hub(ring_size=1000, ring_bytes=bound)

    def publish_one(n: int) -> None:
        fields = {f"attr_{n}_{i}": 1000 + i for i in range(300)}
        tail.publish([record(f"m{n}", **fields)])

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(60):
            publish_one(n)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert tail.ring_bytes <= bound and tail.ring_records >= 5
    assert held <= bound
    assert decoded(tail.recent(TailFilter(), 1000))[-1] == "m59"


def test_a_record_changed_after_publish_replays_as_it_was_published():
    """What a sink (or anything after the tail) does to a record's fields never reaches a
    later replay."""
    tail = hub()
    one = record("as published", level="warning")
    tail.publish([one])
    one["message"] = "changed later"
    one["attributes"]["added"] = "later"
    (data,) = tail.recent(TailFilter(), 10)
    assert json.loads(data)["message"] == "as published"
    assert "added" not in json.loads(data)["attributes"]
    assert decoded(tail.recent(TailFilter.from_query({"level": "warning"}), 10)) == [
        "as published"]


def test_replay_is_bounded_by_the_client_queue_bytes():
    tail = hub(client_queue_bytes=32 * 1024)
    tail.publish([record(f"m{i} " + "x" * 10_000) for i in range(20)])
    replay = tail.recent(TailFilter(), 100)
    assert sum(map(len, replay)) <= 32 * 1024 and len(replay) == 3
    assert decoded(replay)[-1].startswith("m19 ")
    (one,) = tail.recent(TailFilter(), 100, max_bytes=10)  # never less than one record
    assert json.loads(one)["message"].startswith("m19 ")


def test_a_record_too_deep_for_json_is_kept_as_its_plain_fields():
    """Nesting JSON encoders refuse (item 8 of issue 11) must not break publish."""
    deep: object = "bottom"
    for _ in range(400):
        deep = [deep]
    tail = hub()
    tail.publish([record("deep one", job_id="j", nested=deep), record("after")])
    first, second = (json.loads(item) for item in tail.recent(TailFilter(), 10))
    assert first["message"] == "deep one" and first["job_id"] == "j"
    assert "not encodable" in first["attributes"]["tail_note"]
    assert second["message"] == "after"


async def test_a_client_is_kicked_when_its_queue_passes_its_bytes():
    tail = hub(client_queue=1000, client_queue_bytes=32 * 1024)
    client, _ = tail.subscribe(TailFilter(), 0)
    tail.publish([record("x" * 10_000) for _ in range(3)])
    assert client.queued_bytes > 20_000 and tail.clients == 1
    tail.publish([record("x" * 10_000)])
    assert tail.slow_disconnects == 1 and tail.clients == 0


async def test_a_record_larger_than_the_queue_bytes_passes_an_empty_queue():
    tail = hub(client_queue_bytes=16 * 1024)
    client, _ = tail.subscribe(TailFilter(), 0)
    tail.publish([record("y" * 50_000)])
    assert tail.clients == 1
    data = await client.next(1.0)
    assert data is not None and len(data) > 50_000 and client.queued_bytes == 0


# --- the SSE endpoint ----------------------------------------------------------------

@pytest.fixture
async def served(metrics, clock):
    tail = TailHub(ring_size=100, max_clients=2, client_queue=20)
    settings = ServerSettings(listen="127.0.0.1:0", tail_replay=3, tail_heartbeat=0.2,
                              token="sekrit")
    app = build_app(metrics=metrics, progress=Progress(clock, 30), tail=tail,
                    jobs=JobTracker(metrics, clock, 10), settings=settings)
    runner = await start_server(app, settings.listen)
    base = f"http://127.0.0.1:{bound_port(runner)}"
    auth = {"Authorization": "Bearer sekrit"}
    async with aiohttp.ClientSession(base, headers=auth) as session:
        yield tail, session
    await runner.cleanup()


async def read_events(resp: aiohttp.ClientResponse, count: int) -> list[dict]:
    """The next ``count`` ``data:`` events (heartbeat comments skipped)."""
    events: list[dict] = []
    async with asyncio.timeout(TIMEOUT):
        while len(events) < count:
            line = await resp.content.readline()
            if not line:
                break
            if line.startswith(b"data: {"):
                events.append(json.loads(line[6:]))
    return events


async def wait_for(condition) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.01)


async def test_sse_replays_ring_then_streams_live_records_filtered_by_job_and_level(served):
    tail, session = served
    tail.publish([record(f"old{i}", job_id="j1", level="error") for i in range(5)])
    tail.publish([record("other job", job_id="j2", level="error")])
    params = {"job_id": "j1", "level": "warning"}
    async with session.get("/v1/tail", params=params) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        replay = await read_events(resp, 3)
        await wait_for(lambda: tail.clients == 1)
        tail.publish([record("live info", job_id="j1", level="info"),
                      record("live other", job_id="j2", level="error"),
                      record("live warn", job_id="j1", level="warning")])
        live = await read_events(resp, 1)
    assert [e["message"] for e in replay] == ["old2", "old3", "old4"]
    assert [e["message"] for e in live] == ["live warn"]


async def test_sse_replay_count_can_be_asked_for(served):
    tail, session = served
    tail.publish([record(f"m{i}") for i in range(10)])
    async with session.get("/v1/tail", params={"replay": "6"}) as resp:
        events = await read_events(resp, 6)
    assert [e["message"] for e in events] == [f"m{i}" for i in range(4, 10)]


async def test_sse_sends_heartbeats_when_idle(served):
    _, session = served
    async with session.get("/v1/tail", params={"replay": "0"}) as resp:
        async with asyncio.timeout(TIMEOUT):
            line = await resp.content.readline()
    assert line == b": keepalive\n"


async def test_sse_requires_the_token(served):
    _, session = served
    async with session.get("/v1/tail", headers={"Authorization": "Bearer nope"}) as resp:
        assert resp.status == 401
    async with session.get("/v1/tail", headers={"Authorization": ""}) as resp:
        assert resp.status == 401


async def test_sse_rejects_a_bad_level_with_400(served):
    _, session = served
    async with session.get("/v1/tail", params={"level": "loud"}) as resp:
        assert resp.status == 400


async def test_sse_limits_concurrent_clients(served):
    tail, session = served
    first = await session.get("/v1/tail")
    second = await session.get("/v1/tail")
    try:
        await wait_for(lambda: tail.clients == 2)
        async with session.get("/v1/tail") as third:
            assert third.status == 503
    finally:
        first.close()
        second.close()
    await wait_for(lambda: tail.clients == 0)


async def test_sse_burst_beyond_client_queue_disconnects_the_client(served):
    tail, session = served
    async with session.get("/v1/tail", params={"replay": "0"}) as resp:
        await wait_for(lambda: tail.clients == 1)
        tail.publish([record(f"m{i}") for i in range(25)])  # queue holds 20
        assert tail.slow_disconnects == 1
        with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)):
            async with asyncio.timeout(TIMEOUT):
                while await resp.content.readline():
                    pass


async def test_sse_client_that_stops_reading_is_disconnected_without_blocking_publish(served):
    """A client that never reads: socket buffers fill, its queue fills, it is kicked;
    every publish call returns at once meanwhile."""
    tail, session = served
    big = "x" * 65536
    async with session.get("/v1/tail", params={"replay": "0"}) as resp:
        assert resp.status == 200
        await wait_for(lambda: tail.clients == 1)
        for i in range(2000):
            tail.publish([record(big + str(i))])
            await asyncio.sleep(0)
            if tail.slow_disconnects:
                break
    assert tail.slow_disconnects == 1
    assert tail.clients == 0


async def test_server_shutdown_ends_open_streams(metrics, clock):
    tail = TailHub(ring_size=10, max_clients=2, client_queue=10)
    app = build_app(metrics=metrics, progress=Progress(clock, 30), tail=tail,
                    jobs=JobTracker(metrics, clock, 10), settings=ServerSettings(tail_heartbeat=5))
    runner = await start_server(app, "127.0.0.1:0")
    base = f"http://127.0.0.1:{bound_port(runner)}"
    async with aiohttp.ClientSession(base) as session, session.get("/v1/tail"):
        await wait_for(lambda: tail.clients == 1)
        async with asyncio.timeout(TIMEOUT):
            await runner.cleanup()
        assert tail.clients == 0


# --- the ring given the sinks' encoding (issue 14: each record encoded once) ---------------

def _shared_and_own(records: list[dict], **kw) -> tuple[TailHub, TailHub]:
    """One hub given the sinks' encoding of ``records``, one encoding them itself."""
    shared, own = hub(**kw), hub(**kw)
    shared.publish(records, encode_records(records, levels=False))
    own.publish(records)
    return shared, own


@pytest.mark.parametrize("kw, count, pad", [
    ({}, 7, 10),                                            # everything kept
    ({"ring_size": 5}, 12, 10),                             # a batch longer than ring_size
    ({"ring_size": 1000, "ring_bytes": 64 * 1024}, 20, 10_000),  # the oversized-batch cut
    ({"ring_size": 1000, "ring_bytes": 600}, 3, 10),        # no record fits on its own
])
def test_a_ring_given_the_sinks_encoding_keeps_and_replays_what_it_would_encode(kw, count, pad):
    """Replays (every filter and byte cap), ``ring_records`` and ``ring_bytes`` are those of
    a ring that encodes the batch itself."""
    records = [record(f"m{i} " + "x" * pad, level=("info", "error")[i % 2],
                      job_id=f"j{i % 3}") for i in range(count)]
    shared, own = _shared_and_own(records, client_queue_bytes=1 << 20, **kw)
    assert (shared.ring_records, shared.ring_bytes) == (own.ring_records, own.ring_bytes)
    errors = TailFilter.from_query({"level": "error"})
    for tail_filter in (TailFilter(), TailFilter(job_id="j1"), errors):
        for limit, max_bytes in ((1000, None), (2, None), (1000, 25_000), (1000, 1)):
            assert (shared.recent(tail_filter, limit, max_bytes)
                    == own.recent(tail_filter, limit, max_bytes))


def test_the_ring_weighs_a_batch_as_its_json_array_plus_the_record_overhead():
    """The ring keeps NDJSON now; its accounting is unchanged: the batch's JSON array
    (``[a,b]``, one byte longer than ``a\\nb\\n``) plus 512 bytes a record."""
    records = [record(f"m{i}", job_id="j") for i in range(4)]
    for given in (None, encode_records(records, levels=False)):
        tail = hub()
        tail.publish(records, given)
        assert tail.ring_records == 4
        assert tail.ring_bytes == len(orjson.dumps(records, default=str)) + 512 * 4


def test_the_ring_keeps_the_sinks_bytes_themselves_not_a_copy():
    """Given the sinks' encoding of a batch it keeps whole, the ring holds that very
    ``bytes`` object: the memory the sink's buffer counts, not a second copy."""
    records = [record(f"m{i}") for i in range(3)]
    encoded = encode_records(records, levels=False)
    tail = hub()
    tail.publish(records, encoded)
    _, ring = tail.attach(TailFilter())
    ((data, count, _),) = ring
    assert data is encoded.data and count == 3


def test_a_record_the_sinks_ship_as_text_is_kept_as_its_plain_fields_as_before():
    """An envelope with a record JSON cannot hold (the sinks ship their text form) is not
    the ring's bytes: the ring encodes the batch itself, the record as its plain fields."""
    deep: object = "bottom"
    for _ in range(400):
        deep = [deep]
    records = [record("deep one", job_id="j", nested=deep), record("after")]
    encoded = encode_records(records, levels=False)
    assert encoded.unencodable == 1
    shared, own = _shared_and_own(records)
    replay = shared.recent(TailFilter(), 10)
    assert replay == own.recent(TailFilter(), 10)
    assert "not encodable" in json.loads(replay[0])["attributes"]["tail_note"]
    assert (shared.ring_records, shared.ring_bytes) == (own.ring_records, own.ring_bytes)


def test_an_encoding_of_other_records_is_not_kept():
    """An envelope that is not one line per published record (a caller's mistake) is
    not what the ring keeps: it encodes the batch itself."""
    records = [record(f"m{i}") for i in range(3)]
    tail = hub()
    tail.publish(records, encode_records(records[:2], levels=False))
    assert decoded(tail.recent(TailFilter(), 10)) == ["m0", "m1", "m2"]
