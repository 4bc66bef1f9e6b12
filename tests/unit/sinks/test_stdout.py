"""The stdout sink on real pipes: byte-bounded batches, ``close`` within its deadline even
with a writer blocked on a full pipe, and a closed stdout that stops the sink loudly."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import time

import orjson
import pytest

from shipper.acks import AckToken
from shipper.errors import SinkStoppedError
from shipper.metrics import Metrics
from shipper.sinks.settings import StdoutSinkSettings
from shipper.sinks.stdout import StdoutSink
from tests.unit.helpers import rec as beside


def rec(i: int, pad: int = 50) -> dict:
    return {"level": "info", "message": f"line {i} " + "x" * pad}


def full_pipe() -> tuple[int, int]:
    """A pipe nobody reads, filled to the brim: the next write blocks."""
    r, w = os.pipe()
    flags = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"x" * 65536)
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, flags)
    return r, w


class Recording(StdoutSink):
    """Records the size of every write."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[int] = []

    async def send(self, payload) -> None:
        self.writes.append(payload.raw_bytes)  # what is written (a body of spans is empty)
        await super().send(payload)


async def test_batches_are_bounded_in_bytes_as_well_as_records(tmp_path):
    """11. 40 records of 250 KB with the default 1 MiB batch: no write carries more than
    1 MiB plus one record (the old sink wrote them as one 10 MB batch)."""
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    sink = Recording(StdoutSinkSettings(), metrics=Metrics(collectors=False), fd=fd)
    await sink.start()
    big = [rec(i, pad=250_000) for i in range(40)]
    token = AckToken("f", 0, pending=1)
    await sink.put(big, token)
    await sink.close(10)
    os.close(fd)
    lines = (tmp_path / "out").read_bytes().splitlines()
    assert token.complete and len(lines) == 40
    assert max(sink.writes) <= 1_048_576 + 250_100
    assert len(sink.writes) >= 10


async def test_close_returns_at_its_deadline_while_the_writer_is_blocked_on_a_full_pipe():
    """4. stdout's reader stopped reading: the writer thread is stuck in write(2). close(0.5)
    still returns within its deadline, and the envelope is not acknowledged."""
    r, w = full_pipe()
    try:
        sink = StdoutSink(StdoutSinkSettings(), metrics=Metrics(collectors=False), fd=w)
        await sink.start()
        token = AckToken("f", 0, pending=1)
        await sink.put([rec(i) for i in range(10)], token)
        await asyncio.sleep(0.3)  # the batch is cut and its write is stuck
        began = time.monotonic()
        await sink.close(0.5)
        took = time.monotonic() - began
        assert took < 0.6, f"close took {took:.2f}s"
        assert not token.complete
    finally:
        os.close(r)  # unblocks the abandoned writer thread (EPIPE)
        os.close(w)


async def test_close_returns_at_its_deadline_while_put_waits_for_room():
    """4. The buffer is full and ``put`` waits (``block``): close(0.3) wakes it (it returns
    without acknowledging) and returns within the deadline."""
    r, w = full_pipe()
    try:
        sink = StdoutSink(StdoutSinkSettings(buffer={"max_bytes": 1500}),  # two envelopes
                          metrics=Metrics(collectors=False), fd=w)
        await sink.start()
        await asyncio.wait_for(sink.put([rec(0)], AckToken("f", 0, pending=1)), 1)
        await asyncio.sleep(0.3)
        await asyncio.wait_for(sink.put([rec(1)], AckToken("f", 0, pending=1)), 1)
        waiting_token = AckToken("f", 0, pending=1)
        waiting = asyncio.create_task(sink.put([rec(2)], waiting_token))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        began = time.monotonic()
        await sink.close(0.3)
        assert time.monotonic() - began < 0.4
        await asyncio.wait_for(waiting, 0.1)
        assert not waiting_token.complete
    finally:
        os.close(r)
        os.close(w)


async def test_drop_newest_keeps_stdout_from_blocking_the_pipeline_and_counts():
    r, w = full_pipe()
    metrics = Metrics(collectors=False)
    try:
        sink = StdoutSink(StdoutSinkSettings(buffer={"max_bytes": 4000, "when_full": "drop_newest"}),
                          metrics=metrics, fd=w)
        await sink.start()
        tokens = [AckToken("f", i, pending=1) for i in range(50)]
        for i, token in enumerate(tokens):
            await asyncio.wait_for(sink.put([rec(i)], token), 1)
        dropped = metrics.value("shipper_records_failed_total", sink="stdout", reason="buffer-full")
        assert dropped > 40 and sum(t.complete for t in tokens) == dropped
        await sink.close(0.2)
    finally:
        os.close(r)
        os.close(w)


async def test_a_closed_stdout_stops_the_sink_loudly(caplog):
    """8. The reader went away (EPIPE): the worker's failure is logged (type and frames),
    later puts and close raise SinkStoppedError (the pipeline's supervisor counts it)."""
    r, w = os.pipe()
    os.close(r)
    metrics = Metrics(collectors=False)
    sink = StdoutSink(StdoutSinkSettings(), metrics=metrics, fd=w)
    await sink.start()
    caplog.set_level(logging.ERROR, logger="shipper.sinks")
    await sink.put([rec(0)], AckToken("f", 0, pending=1))
    for _ in range(200):
        if any("sink worker failed" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    with pytest.raises(SinkStoppedError):
        await sink.put([rec(1)], AckToken("f", 0, pending=1))
    with pytest.raises(SinkStoppedError):
        await sink.close(1)
    os.close(w)
    (failure,) = [r for r in caplog.records if "sink worker failed" in r.getMessage()]
    assert failure.error_type == "BrokenPipeError" and failure.task == "sink-stdout"


async def test_the_buffer_holds_records_encoded_and_ships_them_unchanged(tmp_path):
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    sink = StdoutSink(StdoutSinkSettings(), metrics=Metrics(collectors=False), fd=fd)
    await sink.start()
    records = [beside({"level": "info", "message": "é ✓", "n": 2**63 - 1}, "internal")]
    await sink.put(records, AckToken("f", 0, pending=1))
    await sink.close(5)
    os.close(fd)
    assert orjson.loads((tmp_path / "out").read_bytes()) == {
        "level": "info", "message": "é ✓", "n": 2**63 - 1}


def test_errno_of_a_closed_pipe_is_epipe():
    """(The case above relies on Python ignoring SIGPIPE, so write(2) raises EPIPE.)"""
    r, w = os.pipe()
    os.close(r)
    with pytest.raises(OSError) as info:
        os.write(w, b"x")
    os.close(w)
    assert info.value.errno == errno.EPIPE


async def test_close_returns_at_its_deadline_with_puts_queued_behind_a_blocked_writer():
    """4. The writer is blocked and more envelopes come (the old sink's 4-envelope queue
    filled, and its close() then waited forever to queue its end marker)."""
    r, w = full_pipe()
    try:
        sink = StdoutSink(StdoutSinkSettings(), metrics=Metrics(collectors=False), fd=w)
        await sink.start()
        tokens = [AckToken("f", i, pending=1) for i in range(16)]
        puts = [asyncio.create_task(sink.put([rec(i) for i in range(100)], t)) for t in tokens]
        await asyncio.sleep(0.3)
        began = time.monotonic()
        await asyncio.wait_for(sink.close(0.5), 5)
        assert time.monotonic() - began < 0.6
        await asyncio.wait(puts, timeout=1)
        assert not any(t.complete for t in tokens)
    finally:
        os.close(r)
        os.close(w)


CHILD = """
import asyncio, sys
from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.sinks.settings import StdoutSinkSettings
from shipper.sinks.stdout import StdoutSink

async def main():
    sink = StdoutSink(StdoutSinkSettings(), metrics=Metrics(collectors=False))
    await sink.start()
    await sink.put([{"message": "x" * 1000, "n": i} for i in range(500)], AckToken("f", 0, pending=1))
    await asyncio.sleep(0.5)
    await sink.close(0.3)
    print("closed", file=sys.stderr, flush=True)

asyncio.run(main())
"""


def test_a_process_whose_stdout_nobody_reads_still_exits_after_close():
    """4. The writer thread stuck on a full stdout pipe does not keep the process alive
    (asyncio.to_thread's worker was joined at exit: the process hung until killed)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ})
    try:
        code = child.wait(20)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        pytest.fail("the process did not exit with its stdout writer blocked")
    finally:
        assert child.stderr is not None and child.stdout is not None
        err = child.stderr.read()
        child.stdout.close()
        child.stderr.close()
    assert code == 0 and b"closed" in err


@pytest.mark.parametrize("state_dir", [True, False])
async def test_undelivered_at_shutdown_is_reported_as_read_again_with_checkpoints(
        tmp_path, caplog, state_dir):
    """stdout has no dead letter, but with a state dir the pipeline has checkpoints: what
    it could not write by the deadline is read again at the next start, not lost."""
    r, w = full_pipe()
    try:
        sink = StdoutSink(StdoutSinkSettings(), metrics=Metrics(collectors=False), fd=w,
                          state_dir=tmp_path if state_dir else None)
        await sink.start()
        await sink.put([rec(i) for i in range(10)], AckToken("f", 0, pending=1))
        await asyncio.sleep(0.3)
        with caplog.at_level(logging.WARNING):
            await sink.close(0.5)
        said = caplog.text
        assert ("read again at the next start" in said) is state_dir
        assert ("are lost" in said) is not state_dir
        assert not (tmp_path / "dead-letter").exists()
    finally:
        os.close(r)
        os.close(w)


async def test_batches_written_four_at_a_time_come_out_in_the_order_they_were_put():
    """``concurrency`` 4 (the default) on a real pipe read slowly, in odd-sized pieces:
    300 envelopes of 1-9 records cut into batches of 7 come out in order, each once, and
    every token completes."""
    settings = StdoutSinkSettings(batch={"max_records": 7, "max_wait": 0.01})
    assert settings.concurrency == 4
    r, w = os.pipe()
    got = bytearray()

    def read_slowly() -> None:
        while chunk := os.read(r, 1531):
            got.extend(chunk)
            time.sleep(0.0002)

    reader = asyncio.get_running_loop().run_in_executor(None, read_slowly)
    sink = StdoutSink(settings, metrics=Metrics(collectors=False), fd=w)
    await sink.start()
    tokens, n = [], 0
    for envelope in range(300):
        size = envelope % 9 + 1
        token = AckToken("f", envelope, pending=1)
        await sink.put([rec(i, pad=(i * 37) % 300) for i in range(n, n + size)], token)
        tokens.append(token)
        n += size
    await sink.close(30)
    os.close(w)
    await reader
    os.close(r)
    messages = [orjson.loads(line)["message"].split(" ")[1] for line in got.splitlines()]
    assert messages == [str(i) for i in range(n)]
    assert all(token.complete for token in tokens)


def test_stdout_concurrency_is_bounded():
    with pytest.raises(ValueError, match="concurrency"):
        StdoutSinkSettings(concurrency=0)
    with pytest.raises(ValueError, match="concurrency"):
        StdoutSinkSettings(concurrency=65)
