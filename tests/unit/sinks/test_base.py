"""The generic sink worker: batching, acks, retries/backoff, 413 split, dead letter, backpressure."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from shipper.errors import FatalSinkError, RetryableSinkError
from shipper.metrics import Metrics
from shipper.sinks.batch import Payload
from shipper.sinks.encoding import encode_records
from tests.unit.sinks.fakes import ScriptedSink, SleepRecorder, record, settings, token


async def run(sink: ScriptedSink, envelopes, deadline: float = 5.0):
    await sink.start()
    for recs, tok in envelopes:
        await sink.put(recs, tok)
    await sink.close(deadline)


async def until(condition, timeout: float = 2.0) -> None:
    for _ in range(int(timeout / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def test_batches_by_count_and_acks_each_envelope_once_delivered():
    sink = ScriptedSink(settings(batch={"max_records": 3, "max_wait": 0.01}))
    tokens = [token(), token(), token()]
    await run(sink, [([record(i) for i in range(2)], tokens[0]),
                     ([record(i) for i in range(2, 4)], tokens[1]),
                     ([record(4)], tokens[2])])
    assert [len(b) for b in sink.delivered] == [3, 2]
    assert all(t.complete for t in tokens)
    assert sink._m.forwarded._value.get() == 5


async def test_batches_by_bytes():
    sink = ScriptedSink(settings(batch={"max_records": 1000, "max_bytes": 1024, "max_wait": 0.01}))
    big = [record(i, attributes={"pad": "x" * 300}) for i in range(5)]
    await run(sink, [(big, token())])
    assert max(len(b) for b in sink.delivered) == 2
    assert sum(len(b) for b in sink.delivered) == 5


async def test_max_wait_flushes_a_partial_batch_without_close():
    sink = ScriptedSink(settings(batch={"max_records": 100, "max_wait": 0.02}))
    await sink.start()
    tok = token()
    await sink.put([record(1)], tok)
    for _ in range(100):
        if tok.complete:
            break
        await asyncio.sleep(0.01)
    assert tok.complete and sink.delivered == [[record(1)]]
    await sink.close(1)


async def test_empty_envelope_is_acknowledged_immediately():
    sink = ScriptedSink(settings())
    tok = token()
    await sink.put([], tok)
    assert tok.complete


async def deliver_then_close(sink: ScriptedSink, records, tok) -> None:
    """Put one envelope, wait until it is acknowledged (backoffs as in normal running:
    closing would shorten them), then close."""
    await sink.start()
    await sink.put(records, tok)
    await until(lambda: tok.complete)
    await sink.close(2)


async def test_retryable_errors_back_off_with_jitter_until_delivered():
    sleep = SleepRecorder()
    errors = [RetryableSinkError("503", status=503) for _ in range(4)]
    sink = ScriptedSink(settings(batch={"max_wait": 0}, retry={"initial_backoff": 1, "max_backoff": 4}),
                        errors, sleep=sleep, rng=lambda: 1.0)
    tok = token()
    await deliver_then_close(sink, [record(1)], tok)
    assert tok.complete and len(sink.delivered) == 1
    assert sleep.delays == [1.0, 2.0, 4.0, 4.0]  # doubling, capped at max_backoff
    assert sink._m.retries._value.get() == 4
    assert sink._m.requests("retry")._value.get() == 4
    assert sink._m.requests("ok")._value.get() == 1


async def test_full_jitter_draws_below_the_ceiling():
    sink = ScriptedSink(settings(retry={"initial_backoff": 2, "max_backoff": 100}), rng=lambda: 0.25)
    assert sink.delivery.backoff(3, None) == pytest.approx(0.25 * 8)


async def test_retry_after_is_a_floor_on_the_delay():
    sleep = SleepRecorder()
    sink = ScriptedSink(settings(batch={"max_wait": 0}),
                        [RetryableSinkError("429", status=429, retry_after=7.0)],
                        sleep=sleep, rng=lambda: 0.0)
    await deliver_then_close(sink, [record(1)], token())
    assert sleep.delays == [7.0]


async def test_max_attempts_dead_letters_after_the_last_retry(tmp_path):
    sink = ScriptedSink(settings(batch={"max_wait": 0}, retry={"max_attempts": 2}),
                        [RetryableSinkError("503", status=503)] * 5, sleep=SleepRecorder(),
                        state_dir=tmp_path)
    tok = token()
    await run(sink, [([record(1)], tok)])
    assert tok.complete and sink.delivered == []
    assert len(sink.attempts) == 2
    assert sink._m.failed("dead-letter")._value.get() == 1


async def test_fatal_error_dead_letters_records_and_still_acks(tmp_path):
    sink = ScriptedSink(settings(name="loki-a", batch={"max_wait": 0}),
                        [FatalSinkError("HTTP 400: bad labels", status=400)], state_dir=tmp_path)
    tok = token()
    await run(sink, [([record(1), record(2)], tok)])
    assert tok.complete
    lines = (tmp_path / "dead-letter" / "loki-a.ndjson").read_bytes().splitlines()
    rows = [orjson.loads(line) for line in lines]
    assert [r["record"]["message"] for r in rows] == ["line 1", "line 2"]
    assert rows[0]["status"] == 400 and "bad labels" in rows[0]["reason"]
    assert sink._m.failed("dead-letter")._value.get() == 2
    assert sink._m.requests("fatal")._value.get() == 1


class WithholdingSink(ScriptedSink):
    """Encodes odd-numbered records as a payload that must never be sent."""

    def encode(self, records):
        odd = [r for r in records if int(r["message"].split()[-1]) % 2]
        even = [r for r in records if r not in odd]
        return [Payload(b"", odd, 0, withheld="too old for the backend"),
                *super().encode(even)]


async def test_a_withheld_payload_is_dead_lettered_without_a_request(tmp_path):
    """Records a sink sets aside as unsendable reach the dead letter with the sink's
    reason; no request is made or counted for them, the others are delivered."""
    sink = WithholdingSink(settings(name="dd", batch={"max_wait": 0}), state_dir=tmp_path)
    tok = token()
    await run(sink, [([record(1), record(2), record(3)], tok)])
    assert tok.complete and sink.attempts == [1]
    assert [r["message"] for r in sink.delivered[0]] == ["line 2"]
    rows = [orjson.loads(line) for line in
            (tmp_path / "dead-letter" / "dd.ndjson").read_bytes().splitlines()]
    assert [r["record"]["message"] for r in rows] == ["line 1", "line 3"]
    assert all(r["reason"] == "too old for the backend" for r in rows)
    assert sink._m.failed("dead-letter")._value.get() == 2
    assert sink._m.requests("fatal")._value.get() == 0
    assert sink._m.requests("ok")._value.get() == 1
    assert sink._m.forwarded._value.get() == 1


async def test_without_state_dir_fatal_records_are_counted_not_lost(caplog):
    sink = ScriptedSink(settings(batch={"max_wait": 0}),
                        [FatalSinkError("HTTP 400", status=400)] * 2)
    toks = [token(), token()]
    await run(sink, [([record(1)], toks[0]), ([record(2)], toks[1])])
    assert all(t.complete for t in toks)
    assert sink._m.failed("dead-letter")._value.get() == 2
    assert sum("no state_dir" in r.getMessage() for r in caplog.records) == 1


async def test_dead_letter_file_cap_counts_overflow_separately(tmp_path):
    sink = ScriptedSink(settings(batch={"max_wait": 0, "max_records": 1}, dead_letter_max_bytes=10),
                        [FatalSinkError("HTTP 400", status=400)], state_dir=tmp_path)
    await run(sink, [([record(1)], token())])
    assert sink._m.failed("dead-letter-full")._value.get() == 1


async def test_413_splits_the_batch_until_it_fits():
    sink = ScriptedSink(settings(batch={"max_wait": 0, "max_records": 8}), max_records_per_request=2)
    tok = token()
    await run(sink, [([record(i) for i in range(8)], tok)])
    assert tok.complete
    assert sorted(len(b) for b in sink.delivered) == [2, 2, 2, 2]
    assert [r["message"] for b in sink.delivered for r in b] == [f"line {i}" for i in range(8)]


async def test_413_on_a_single_record_dead_letters_it(tmp_path):
    sink = ScriptedSink(settings(batch={"max_wait": 0}), max_records_per_request=0,
                        state_dir=tmp_path)
    tok = token()
    await run(sink, [([record(1)], tok)])
    assert tok.complete and sink.delivered == []
    assert sink._m.failed("dead-letter")._value.get() == 1


async def test_envelope_split_across_batches_is_acked_only_when_all_parts_delivered():
    sink = ScriptedSink(settings(batch={"max_records": 2, "max_wait": 0}))
    sink.gate = asyncio.Event()
    await sink.start()
    tok = token()
    await sink.put([record(i) for i in range(3)], tok)
    await asyncio.sleep(0.02)
    assert not tok.complete
    sink.gate.set()
    await sink.close(2)
    assert tok.complete and sum(len(b) for b in sink.delivered) == 3


#: a buffer with room for one single-record envelope (record ~150 B + 517 B overhead)
ONE_ENVELOPE = 1000


async def fill(sink: ScriptedSink) -> None:
    """One batch in flight (blocked on the gate): the buffer is full."""
    await sink.put([record(0)], token())
    await until(lambda: len(sink.attempts) == 1)


async def test_full_buffer_blocks_put_until_delivery_frees_room():
    sink = ScriptedSink(settings(concurrency=1, batch={"max_records": 1, "max_wait": 0},
                                 buffer={"max_bytes": ONE_ENVELOPE}))
    sink.gate = asyncio.Event()
    await sink.start()
    await fill(sink)
    second = asyncio.create_task(sink.put([record(1)], token()))
    await asyncio.sleep(0.02)
    assert not second.done()                       # backpressure: put is waiting
    sink.gate.set()
    await asyncio.wait_for(second, 2)
    await sink.close(2)
    assert sum(len(b) for b in sink.delivered) == 2


async def test_an_empty_buffer_takes_an_envelope_bigger_than_its_cap():
    sink = ScriptedSink(settings(concurrency=1, batch={"max_records": 1, "max_wait": 0},
                                 buffer={"max_bytes": 1}))
    sink.gate = asyncio.Event()
    await sink.start()
    await sink.put([record(0)], token())           # always accepted into an empty buffer
    second = asyncio.create_task(sink.put([record(1)], token()))
    await asyncio.sleep(0.02)
    assert not second.done()
    sink.gate.set()
    await asyncio.wait_for(second, 2)
    await sink.close(2)


async def test_many_small_envelopes_do_not_fill_the_buffer_before_its_bytes_do():
    """9. The envelope count no longer bounds the buffer (``queue_max`` is ignored): with
    the only request stuck, 500 one-record envelopes wait in 1 MiB."""
    sink = ScriptedSink(settings(concurrency=1, queue_max=4, buffer={"max_bytes": "1MiB"},
                                 batch={"max_records": 1, "max_wait": 0}))
    sink.gate = asyncio.Event()
    await sink.start()
    tokens = [token() for _ in range(500)]
    for i, tok in enumerate(tokens):
        await asyncio.wait_for(sink.put([record(i)], tok), 1)
    sink.gate.set()
    await sink.close(5)
    assert all(t.complete for t in tokens)


async def test_drop_newest_drops_counts_and_acks_when_full():
    sink = ScriptedSink(settings(concurrency=1, batch={"max_records": 1, "max_wait": 0},
                                 buffer={"when_full": "drop_newest", "max_bytes": ONE_ENVELOPE}))
    sink.gate = asyncio.Event()
    await sink.start()
    await fill(sink)
    dropped = token()
    await asyncio.wait_for(sink.put([record(3), record(4)], dropped), 1)
    assert dropped.complete
    assert sink._m.failed("buffer-full")._value.get() == 2
    sink.gate.set()
    await sink.close(2)
    assert sum(len(b) for b in sink.delivered) == 1


async def test_gauges_track_buffered_records_and_return_to_zero():
    metrics = Metrics(collectors=False)
    sink = ScriptedSink(settings(batch={"max_wait": 0}), metrics=metrics)
    sink.gate = asyncio.Event()
    await sink.start()
    await sink.put([record(1), record(2)], token())
    assert metrics.value("shipper_buffer_records", sink="fake") == 2
    assert metrics.value("shipper_buffer_bytes", sink="fake") > 0
    sink.gate.set()
    await sink.close(2)
    assert metrics.value("shipper_buffer_records", sink="fake") == 0
    assert metrics.value("shipper_buffer_bytes", sink="fake") == 0
    assert metrics.value("shipper_delivery_lag_seconds", sink="fake") == 0


async def test_close_retries_until_its_deadline_then_leaves_records_unacked():
    """4. A backoff of an hour does not hold ``close``: closing ends it, retries go on
    (each pause capped) until the deadline, and close returns within it; the records are
    not acknowledged, so the checkpoint does not move past them."""
    async def long_backoff(seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.05))
        if seconds > 1:
            await asyncio.Event().wait()  # an hour-long backoff

    sink = ScriptedSink(settings(batch={"max_wait": 0}, retry={"initial_backoff": "1h"}),
                        [RetryableSinkError("503", status=503)] * 1000, sleep=long_backoff)
    await sink.start()
    tok = token()
    await sink.put([record(1)], tok)
    await until(lambda: len(sink.attempts) == 1)
    began = time.monotonic()
    await sink.close(0.5)
    assert time.monotonic() - began < 0.6
    assert len(sink.attempts) > 1  # retried while closing
    assert not tok.complete


async def test_a_batch_the_encoder_cannot_serialise_is_dead_lettered_not_stuck(tmp_path):
    class Broken(ScriptedSink):
        def encode(self, records):
            raise TypeError("Type is not JSON serializable: set")

    sink = Broken(settings(batch={"max_wait": 0}), state_dir=tmp_path)
    tok = token()
    await run(sink, [([record(1)], tok)])
    assert tok.complete
    assert sink._m.failed("dead-letter")._value.get() == 1


class TruncatingSink(ScriptedSink):
    """An encoder that has to shorten every other record to fit the backend."""

    def encode(self, records):
        self.counts["truncated"] += len(records[::2])
        return super().encode(records)


async def test_records_changed_by_the_encoder_are_counted_per_reason():
    metrics = Metrics(collectors=False)
    sink = TruncatingSink(settings(batch={"max_records": 4, "max_wait": 0.01}), metrics=metrics)
    await run(sink, [([record(i) for i in range(4)], token()), ([record(9)], token())])
    assert metrics.value("shipper_records_failed_total", sink="fake", reason="truncated") == 3
    assert not sink.counts


async def test_draining_ends_a_long_backoff_without_closing():
    """6. The optional ``draining()`` hint: a batch backing off for an hour is retried at
    once (and every 0.25 s after), while the sink keeps taking records."""
    async def hour_long(seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.05))
        if seconds > 1:
            await asyncio.Event().wait()

    sink = ScriptedSink(settings(batch={"max_wait": 0}, retry={"initial_backoff": "1h"}),
                        [RetryableSinkError("503", status=503)] * 2, sleep=hour_long)
    await sink.start()
    tok = token()
    await sink.put([record(1)], tok)
    await until(lambda: len(sink.attempts) == 1)
    sink.draining()
    await until(lambda: tok.complete)
    later = token()
    await sink.put([record(2)], later)
    await until(lambda: later.complete)
    await sink.close(1)
    assert len(sink.attempts) == 4


async def test_a_backend_refusing_every_batch_logs_once_a_minute_not_per_batch(caplog):
    sink = ScriptedSink(settings(batch={"max_wait": 0, "max_records": 1}),
                        [FatalSinkError("HTTP 400: bad", status=400)] * 50)
    await run(sink, [([record(i)], token()) for i in range(50)])
    warnings = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert len(warnings) == 1 and "HTTP 400: bad" in warnings[0]
    assert sink._m.failed("dead-letter")._value.get() == 50


async def test_a_worker_dying_on_a_bug_wakes_a_waiting_put_with_sink_stopped(caplog):
    """8. A bug kills the delivery task: it is logged (type and frames, no message from
    outside the shipper), the ``put`` waiting for room is woken with SinkStoppedError, and
    close raises it too."""
    from shipper.errors import SinkStoppedError

    class Buggy(ScriptedSink):
        async def send(self, payload):
            await self.gate.wait()
            raise KeyError("record content must not reach the log")

    sink = Buggy(settings(concurrency=1, batch={"max_records": 1, "max_wait": 0},
                          buffer={"max_bytes": ONE_ENVELOPE}))
    sink.gate = asyncio.Event()
    await sink.start()
    await sink.put([record(0)], token())
    waiting = asyncio.create_task(sink.put([record(1)], token()))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    sink.gate.set()
    with pytest.raises(SinkStoppedError):
        await asyncio.wait_for(waiting, 2)
    with pytest.raises(SinkStoppedError):
        await sink.close(1)
    text = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "KeyError" in text and "must not reach" not in text


async def held_after(sink: ScriptedSink, envelopes, *, shared: bool):
    """The messages a sink that is not started still holds after these ``put``s (or
    ``put_encoded`` of one encoding made without level flags), and the tokens done."""
    tokens = [token() for _ in envelopes]
    for records, tok in zip(envelopes, tokens, strict=True):
        if shared:
            await sink.put_encoded(records, encode_records(records, levels=False), tok)
        else:
            await sink.put(records, tok)
    sink.queue.close()
    held = [[r["message"] for r in records] for records, _ in sink.undelivered()]
    return held, [t.complete for t in tokens]


@pytest.mark.parametrize("when_full", ["drop_newest", "drop_oldest"])
async def test_put_encoded_sheds_by_level_as_put_does(when_full):
    """Given the records' encoding made once for the live tail and every sink (without
    level flags), a sink whose policy sheds by level adds the flags: the same records
    survive as with its own ``put`` (the error ones), and the same envelopes are done."""
    envelopes = [[record(0, level="error")],
                 [record(1), record(2, level="error"), record(3), record(4)]]
    got = [await held_after(ScriptedSink(settings(buffer={
        "when_full": when_full, "max_bytes": 1400})), envelopes, shared=flag)
        for flag in (False, True)]
    assert got[0] == got[1]
    held = sum(got[1][0], [])
    assert "line 0" in held and "line 2" in held and len(held) < 5


async def test_put_encoded_keeps_the_envelope_as_put_makes_it():
    """``when_full: block`` (no level flags): the buffered NDJSON and ends are those of
    ``put``; an empty list is acknowledged at once."""
    records = [record(i, level="error" if i == 2 else "info") for i in range(5)]
    envs = []
    for shared in (False, True):
        sink = ScriptedSink(settings())
        if shared:
            await sink.put_encoded(records, encode_records(records, levels=False), token())
        else:
            await sink.put(records, token())
        (env,) = sink.queue.buffer.leftovers()
        envs.append((env.data, list(env.ends), env.high))
    assert envs[0] == envs[1] and envs[1][2] is None
    empty = token()
    await ScriptedSink(settings()).put_encoded([], encode_records([], levels=False), empty)
    assert empty.complete
