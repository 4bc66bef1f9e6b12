"""The pipeline in one process: real files, the real tailer and processor, fake sinks.

What it proves: a stop returns within ``shutdown_deadline`` even with a sink blocked in
``put`` and a ``close`` that hangs (item 4); a failed task or sink is loud (logged without
record content, counted, ``/healthz`` 503) and ends the run with 1 (item 8); a stage
raising on one record costs that record only (item 8); a multi-line record is not flushed
while its next lines wait in the queue behind a blocked sink (item 7); the final checkpoint
equals what was delivered (item 5 overlap). Sinks are replaced through ``build_sink``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import shipper.pipeline as pipeline_module
import shipper.processor as processor_module
from shipper.components import Observers, most_buffered
from shipper.config import Settings
from shipper.errors import SinkStoppedError
from shipper.metrics import Metrics
from shipper.pipeline import Pipeline
from shipper.server.health import Progress
from shipper.sources.checkpoints import CheckpointStore
from shipper.sources.hop import Reader
from shipper.sources.reads import READ_AHEAD_MAX_BUFFERED

SECRET = "s3cr3t-content-of-a-record"


class FakeSink:
    """A sink worker: ``put`` waits for :attr:`gate` (set: delivers at once) or raises
    ``put_error``; ``close`` raises ``close_error``, hangs with ``hang_close``, or acks
    what it held back with ``ack_on_close``."""

    def __init__(self, name: str = "fake", *, gate_open: bool = True,
                 put_error: BaseException | None = None, close_error: BaseException | None = None,
                 hang_close: bool = False, ack_on_close: bool = False) -> None:
        self.name = name
        self.records: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        if gate_open:
            self.gate.set()
        self.put_called = asyncio.Event()
        self.put_error, self.close_error = put_error, close_error
        self.hang_close, self.ack_on_close = hang_close, ack_on_close
        self.held: list[Any] = []

    async def start(self) -> None:
        return None

    async def put(self, records: list[dict[str, Any]], token: Any) -> None:
        self.put_called.set()
        if self.put_error is not None:
            raise self.put_error
        await self.gate.wait()
        self.records.extend(records)
        if self.ack_on_close:
            self.held.append(token)
        else:
            token.done()

    async def close(self, deadline: float) -> None:
        if self.close_error is not None:
            raise self.close_error
        if self.hang_close:
            await asyncio.Event().wait()
        for token in self.held:
            token.done()

    def messages(self) -> list[str]:
        return [r["message"] for r in self.records]


def settings_for(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("podinfo_dir", tmp_path)
    return Settings(paths=[str(tmp_path / "*.log")], poll_interval=0.05, **values)


def new_metrics() -> Metrics:
    return Metrics(CollectorRegistry(), collectors=False)


def make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: FakeSink, *,
         metrics: Metrics | None = None, **values: Any) -> tuple[Pipeline, asyncio.Event]:
    monkeypatch.setattr(pipeline_module, "build_sink", lambda *a, **k: sink)
    stop = asyncio.Event()
    observers = values.pop("observers", None)
    checkpoints = values.pop("checkpoints", None)
    pipeline = Pipeline(settings_for(tmp_path, **values), metrics=metrics or new_metrics(),
                        env={}, stop=stop, observers=observers, checkpoints=checkpoints)
    return pipeline, stop


async def finished(task: asyncio.Task[Any], within: float) -> bool:
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        task.cancel()
    return bool(done)


async def test_stop_with_a_sink_blocked_in_put_and_a_hanging_close_returns_in_time(
        tmp_path, monkeypatch):
    """4. The processor is blocked in ``sink.put`` and the sink's ``close`` never returns:
    after the stop, ``run`` still returns 0 within ``shutdown_deadline`` (1 s here)."""
    (tmp_path / "app.log").write_text("".join(f"line {n}\n" for n in range(50)))
    sink = FakeSink(gate_open=False, hang_close=True)
    pipeline, stop = make(tmp_path, monkeypatch, sink, shutdown_deadline=1.0)
    run = asyncio.create_task(pipeline.run())
    await asyncio.wait_for(sink.put_called.wait(), 10)
    began = time.monotonic()
    stop.set()
    assert await finished(run, 6.0), "run() did not return 6 s after the stop"
    took = time.monotonic() - began
    assert run.result() == 0
    assert took <= 1.0 + 0.5, f"took {took:.2f}s (deadline 1 s)"


async def test_a_sink_that_stopped_fails_the_run_loudly(tmp_path, monkeypatch, caplog):
    """8. ``put`` raises ``SinkStoppedError`` (its worker died): the run stops by itself
    with 1, logs one JSON-able error naming the sink (no record content), counts
    ``shipper_task_failures_total{task="sink-fake"}`` and ``/healthz`` says 503."""
    (tmp_path / "app.log").write_text(f"password {SECRET}\n")
    sink = FakeSink(put_error=SinkStoppedError("worker task died", sink="fake"))
    metrics = new_metrics()
    progress = Progress(time.monotonic, stall_after=60)
    pipeline, _ = make(tmp_path, monkeypatch, sink, metrics=metrics, shutdown_deadline=2.0,
                       observers=Observers(progress=progress))
    caplog.set_level(logging.ERROR, logger="shipper")
    run = asyncio.create_task(pipeline.run())
    assert await finished(run, 6.0), "the run went on with a dead sink"
    assert run.result() == 1
    assert metrics.value("shipper_task_failures_total", task="sink-fake") == 1
    ok, reason = progress.healthy()
    assert not ok and "sink-fake" in reason
    [failure] = [r for r in caplog.records if r.getMessage() == "task failed"]
    assert failure.task == "sink-fake" and failure.error_type == "SinkStoppedError"
    assert SECRET not in caplog.text and SECRET not in json.dumps(vars(failure), default=str)


async def test_a_failing_checkpoint_save_fails_the_run(tmp_path, monkeypatch):
    """8. The checkpoint saver raising (a bug, a corrupt entry) is not silent: exit 1,
    counted under its task name."""

    class BrokenStore:
        def get(self, key: str) -> None:
            return None

        def entries(self) -> list[Any]:
            return []

        def rotated_since(self, started: float) -> float:
            return started

        def set(self, key: str, path: str, offset: int) -> None:
            return None

        def retire(self, key: str) -> None:
            return None

        def find_by_fingerprint(self, fingerprint: str) -> None:
            return None

        async def save(self) -> bool:
            raise TypeError("unsupported operand type(s) for -: 'float' and 'str'")

    (tmp_path / "app.log").write_text("one\ntwo\n")
    metrics = new_metrics()
    pipeline, _ = make(tmp_path, monkeypatch, FakeSink(), metrics=metrics,
                       shutdown_deadline=2.0, checkpoints=BrokenStore())
    run = asyncio.create_task(pipeline.run())
    assert await finished(run, 6.0), "the run went on without saving checkpoints"
    assert run.result() == 1
    assert metrics.value("shipper_task_failures_total", task="checkpoints-save") >= 1


async def test_a_stage_raising_on_one_record_costs_only_that_record(tmp_path, monkeypatch):
    """8. A filter stage raises on one record: the run goes on (exit 0), the others are
    delivered intact, that one ships as a placeholder without its content, counted in
    ``shipper_parse_errors_total{kind="unprocessable"}``."""

    class Faulty:
        def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
            if "poison" in record["message"]:
                raise ValueError(f"cannot handle {record['message']}")
            return record

    real = processor_module.build_filter_stages
    monkeypatch.setattr(processor_module, "build_filter_stages",
                        lambda *a, **k: [Faulty(), *real(*a, **k)])
    (tmp_path / "app.log").write_text(f"first\npoison {SECRET}\nlast\n")
    sink, metrics = FakeSink(), new_metrics()
    pipeline, _ = make(tmp_path, monkeypatch, sink, metrics=metrics, once=True)
    assert await asyncio.wait_for(pipeline.run(), 10) == 0
    assert sink.messages() == ["first", "[unprocessable record: ValueError]", "last"]
    assert SECRET not in json.dumps(sink.records)
    assert sink.records[1]["file"]["offset"] == len("first\n")
    assert metrics.value("shipper_parse_errors_total", kind="unprocessable") == 1


async def test_a_failing_observer_does_not_stop_delivery(tmp_path, monkeypatch):
    """8. The live tail or job tracker raising is counted (task ``observers``) and the
    records are still delivered."""

    def broken(records: list[dict[str, Any]]) -> None:
        raise RuntimeError("tail hub bug")

    (tmp_path / "app.log").write_text("a\nb\n")
    sink, metrics = FakeSink(), new_metrics()
    pipeline, _ = make(tmp_path, monkeypatch, sink, metrics=metrics, once=True,
                       observers=Observers(publish=[broken]))
    assert await asyncio.wait_for(pipeline.run(), 10) == 0
    assert sink.messages() == ["a", "b"]
    assert metrics.value("shipper_task_failures_total", task="observers") >= 1


TRACEBACK = ["Traceback (most recent call last):",
             *[f'  File "/app/step{n}.py", line {n}, in step{n}' for n in range(8)],
             "ValueError: boom"]


async def test_a_pending_record_waits_while_its_next_lines_are_queued(tmp_path, monkeypatch):
    """7. The sink blocks ``put`` while a traceback's head is pending in the parser and its
    next lines wait in the chunk queue; ``flush_after`` (0.1 s) passes many times over.
    The traceback still ships as one record once the sink takes records again."""
    log = tmp_path / "app.log"
    log.write_text("2025-07-06T10:30:00Z INFO first\n2025-07-06T10:30:01Z ERROR job failed\n")
    sink = FakeSink(gate_open=False)
    pipeline, stop = make(tmp_path, monkeypatch, sink,
                          parse={"multiline": {"flush_after": "100ms"}})
    run = asyncio.create_task(pipeline.run())
    await asyncio.wait_for(sink.put_called.wait(), 10)  # "first" is in put, the head pending
    with log.open("a") as fh:
        fh.write("\n".join(TRACEBACK) + "\n2025-07-06T10:30:02Z INFO next\n")
    await asyncio.sleep(1.0)
    sink.gate.set()
    deadline = time.monotonic() + 10
    while len(sink.records) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    assert await finished(run, 10)
    assert sink.messages() == ["first", "\n".join(["job failed", *TRACEBACK]), "next"]


async def test_stopping_without_drain_leaves_a_pending_record_to_be_read_again(
        tmp_path, monkeypatch):
    """7. With ``drain_on_exit: false`` the files are not read to their end, so a pending
    multi-line record may go on in the unread part: it is not shipped cut; the checkpoint
    stays at its first line, so the next run reads it whole."""
    log = tmp_path / "app.log"
    head = "2025-07-06T10:30:00Z INFO first\n"
    log.write_text(head + "2025-07-06T10:30:01Z ERROR job failed\n" + TRACEBACK[0] + "\n")
    store = CheckpointStore(tmp_path / "state")
    await store.load()
    sink = FakeSink()
    pipeline, stop = make(tmp_path, monkeypatch, sink, drain_on_exit=False,
                          state_dir=tmp_path / "state", checkpoints=store,
                          parse={"multiline": {"flush_after": "30s"}})
    run = asyncio.create_task(pipeline.run())
    deadline = time.monotonic() + 10
    while not sink.records and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    stop.set()
    assert await finished(run, 10) and run.result() == 0
    assert sink.messages() == ["first"]
    [entry] = json.loads((tmp_path / "state" / "checkpoints.json").read_text())["files"]
    assert entry["offset"] == len(head)


async def test_the_final_checkpoint_is_saved_after_the_last_ack(tmp_path, monkeypatch):
    """Item 5 (pipeline part): a sink that acknowledges only while closing; the checkpoint
    file left at exit covers everything it acknowledged."""
    log = tmp_path / "app.log"
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    store = CheckpointStore(tmp_path / "state")
    await store.load()
    sink = FakeSink(ack_on_close=True)
    pipeline, stop = make(tmp_path, monkeypatch, sink, state_dir=tmp_path / "state",
                          checkpoints=store)
    run = asyncio.create_task(pipeline.run())
    deadline = time.monotonic() + 10
    while len(sink.records) < 100 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    assert await finished(run, 10) and run.result() == 0
    [entry] = json.loads((tmp_path / "state" / "checkpoints.json").read_text())["files"]
    assert entry["offset"] == log.stat().st_size


async def test_bytes_waiting_in_files_with_nothing_read_turn_healthz_503(tmp_path, monkeypatch):
    """10. A dead watcher: the tailer reports bytes waiting in the files (``lag_bytes``)
    but emits nothing; past ``stall_after`` /healthz is 503 naming the reading stall."""

    class DeadTailer:
        lag_bytes = 4096

        async def run(self, emit: Any, stop: asyncio.Event, on_closed: Any = None) -> None:
            await stop.wait()

    monkeypatch.setattr(pipeline_module, "build_sink", lambda *a, **k: FakeSink())
    progress = Progress(time.monotonic, stall_after=0.5)
    stop = asyncio.Event()
    pipeline = Pipeline(settings_for(tmp_path), metrics=new_metrics(), env={}, stop=stop,
                        observers=Observers(progress=progress), tailer=DeadTailer())
    run = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.3)
    ok, reason = progress.healthy()
    assert ok and reason.startswith("degraded: reading: 4096 bytes waiting")
    await asyncio.sleep(0.5)
    ok, reason = progress.healthy()
    stop.set()
    assert await finished(run, 10)
    assert not ok and reason.startswith("stalled: reading: 4096 bytes waiting in files")


async def test_a_checkpoint_save_that_hangs_does_not_hold_the_exit(tmp_path, monkeypatch):
    """4. A save blocked in its thread (a hung fsync): the run still returns within the
    deadline, and no second save is started while it runs."""
    started: list[float] = []

    class HangingStore(CheckpointStore):
        async def save(self) -> bool:
            started.append(time.monotonic())
            await asyncio.Event().wait()
            return True

    store = HangingStore(tmp_path / "state")
    (tmp_path / "app.log").write_text("".join(f"line {n}\n" for n in range(20)))
    sink = FakeSink()
    pipeline, stop = make(tmp_path, monkeypatch, sink, shutdown_deadline=1.0,
                          state_dir=tmp_path / "state", checkpoints=store)
    run = asyncio.create_task(pipeline.run())
    deadline = time.monotonic() + 10
    while len(sink.records) < 20 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    began = time.monotonic()
    stop.set()
    assert await finished(run, 6.0)
    assert run.result() == 0 and time.monotonic() - began <= 1.5
    assert len(started) == 1, "a second save started while the first was running"


async def test_readiness_goes_away_when_the_drain_starts(tmp_path, monkeypatch):
    """/readyz is 503 while draining: readiness drops at the stop, not after the drain."""
    (tmp_path / "app.log").write_text("".join(f"line {n}\n" for n in range(20)))
    sink = FakeSink(gate_open=False)
    progress = Progress(time.monotonic, stall_after=60)
    pipeline, stop = make(tmp_path, monkeypatch, sink, shutdown_deadline=2.0,
                          observers=Observers(progress=progress))
    run = asyncio.create_task(pipeline.run())
    await asyncio.wait_for(sink.put_called.wait(), 10)
    assert progress.ready
    stop.set()
    await asyncio.sleep(0.2)
    draining = not run.done()
    assert draining and not progress.ready
    sink.gate.set()
    assert await finished(run, 10)


async def test_a_periodic_look_runs_in_a_worker_thread_until_the_run_ends(tmp_path, monkeypatch):
    """``heap`` (the heap's trim, built by ``shipper.run``): its ``check`` runs every
    ``interval`` off the event loop's thread while the pipeline runs, and no more once
    ``run`` returned."""
    import threading

    class Look:
        interval = 0.02

        def __init__(self) -> None:
            self.threads: list[int] = []

        def check(self) -> bool:
            self.threads.append(threading.get_ident())
            return False

    look = Look()
    monkeypatch.setattr(pipeline_module, "build_sink", lambda *a, **k: FakeSink())
    stop = asyncio.Event()
    pipeline = Pipeline(settings_for(tmp_path), metrics=new_metrics(), env={}, stop=stop,
                        heap=look)
    run = asyncio.create_task(pipeline.run())
    for _ in range(200):
        if len(look.threads) >= 3:
            break
        await asyncio.sleep(0.02)
    stop.set()
    assert await finished(run, 6.0) and run.result() == 0
    seen = len(look.threads)
    assert seen >= 3 and threading.get_ident() not in look.threads
    await asyncio.sleep(0.1)
    assert len(look.threads) == seen  # cancelled with the run


class HeldBytes:
    """A sink buffer's gauge (``SinkBuffer.bytes``) set by the test."""

    def __init__(self, nbytes: int) -> None:
        self.bytes = nbytes


@pytest.mark.parametrize(("held", "hops"), [(0, 10), (READ_AHEAD_MAX_BUFFERED, 39)])
async def test_the_tailer_reads_ahead_while_no_sink_holds_much(tmp_path, monkeypatch, held,
                                                               hops):
    """The pipeline's tailer asks the sinks' buffers before each drain hop: a file of 40
    chunks takes 10 read hops while the sink holds nothing, 39 (one chunk each, after the
    open hop's) while it holds ``READ_AHEAD_MAX_BUFFERED`` bytes; every line delivered
    either way."""
    (tmp_path / "app.log").write_text("".join(f"line-{i:04}\n" for i in range(400)))
    sink = FakeSink()
    sink.queue = HeldBytes(held)  # type: ignore[attr-defined]
    reads: list[object] = []
    real_read = Reader.run

    async def counted_read(self: Reader, func: Any) -> Any:
        reads.append(func)
        return await real_read(self, func)

    monkeypatch.setattr(Reader, "run", counted_read)
    pipeline, _ = make(tmp_path, monkeypatch, sink, once=True, read_chunk_bytes=100)
    assert await asyncio.wait_for(pipeline.run(), 10) == 0
    assert sink.messages() == [f"line-{i:04}" for i in range(400)]
    assert len(reads) == hops


def test_most_buffered_is_the_fullest_sinks_buffer():
    """``most_buffered``: the largest ``queue.bytes`` of the sinks; a sink without a
    buffer counts for nothing, no sinks for 0."""
    full, empty, bare = FakeSink("a"), FakeSink("b"), FakeSink("c")
    full.queue, empty.queue = HeldBytes(5000), HeldBytes(0)  # type: ignore[attr-defined]
    assert most_buffered([empty, full, bare]) == 5000
    assert most_buffered([bare]) == most_buffered([]) == 0


async def test_the_tailer_sees_the_sinks_a_reload_puts_in(tmp_path, monkeypatch):
    """A reload's ``replace_sinks`` changes the pipeline's one list of sinks in place, so
    the tailer's read-ahead asks the new sinks' buffers: a sink put in that holds
    ``READ_AHEAD_MAX_BUFFERED`` bytes makes the next hops one chunk each."""
    pipeline, _ = make(tmp_path, monkeypatch, FakeSink())
    behind = FakeSink("behind")
    behind.queue = HeldBytes(READ_AHEAD_MAX_BUFFERED)  # type: ignore[attr-defined]
    assert pipeline.tailer._sinks_buffered() == 0
    pipeline.delivery.replace_sinks([behind], pipeline.delivery.router, pipeline.delivery.shares)
    assert pipeline.sinks == [behind]
    assert pipeline.tailer._sinks_buffered() == READ_AHEAD_MAX_BUFFERED
