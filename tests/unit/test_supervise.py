"""The supervisor: a task that dies is logged (no record content), counted, makes
/healthz 503 and stops the run; cancellation is not a failure; isolated failures are
counted every time and logged at most once a minute."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry

from shipper.errors import SinkStoppedError
from shipper.metrics import Metrics
from shipper.server.health import Progress
from shipper.supervise import Supervisor, describe

SECRET = "hunter22-from-a-record"


def _supervisor(fatal: list[str], clock=None) -> tuple[Supervisor, Metrics, Progress]:
    metrics = Metrics(CollectorRegistry(), collectors=False)
    progress = Progress(lambda: 0.0, stall_after=60)
    kwargs = {"clock": clock} if clock else {}
    return Supervisor(metrics, progress=progress, on_fatal=fatal.append, **kwargs), metrics, progress


async def test_a_task_that_raises_is_logged_counted_unhealthy_and_fatal(caplog):
    fatal: list[str] = []
    sup, metrics, progress = _supervisor(fatal)

    async def boom() -> None:
        raise ValueError(f"cannot parse {SECRET}")

    caplog.set_level(logging.ERROR, logger="shipper")
    task = sup.watch(asyncio.create_task(boom()), "processor")
    await asyncio.wait({task})
    await asyncio.sleep(0)
    assert fatal == ["processor"] and sup.exit_code == 1
    assert metrics.value("shipper_task_failures_total", task="processor") == 1
    assert progress.healthy() == (False, "failed: task processor (ValueError)")
    [entry] = caplog.records
    assert entry.getMessage() == "task failed" and entry.error_type == "ValueError"
    assert entry.where and "boom" in entry.where[-1]
    assert SECRET not in caplog.text and not hasattr(entry, "error")


async def test_cancelled_and_finished_tasks_are_not_failures():
    fatal: list[str] = []
    sup, _, progress = _supervisor(fatal)
    waiting = sup.watch(asyncio.create_task(asyncio.Event().wait()), "ticker")
    done = sup.watch(asyncio.create_task(asyncio.sleep(0)), "tailer")
    waiting.cancel()
    await asyncio.wait({waiting, done})
    await asyncio.sleep(0)
    assert fatal == [] and sup.exit_code == 0 and progress.healthy()[0]


def test_a_stopped_sink_is_named_after_the_sink_with_its_message():
    fields = describe("processor", SinkStoppedError("worker task died", sink="loki"))
    assert fields["error"] == "worker task died" and fields["error_type"] == "SinkStoppedError"
    fatal: list[str] = []
    sup, metrics, _ = _supervisor(fatal)
    sup.fail("processor", SinkStoppedError("worker task died", sink="loki"))
    assert fatal == ["sink-loki"]
    assert metrics.value("shipper_task_failures_total", task="sink-loki") == 1


def test_isolated_failures_are_counted_each_time_and_logged_once_a_minute(caplog):
    now = [0.0]
    fatal: list[str] = []
    sup, metrics, progress = _supervisor(fatal, clock=lambda: now[0])
    caplog.set_level(logging.ERROR, logger="shipper")
    for _ in range(3):
        sup.isolated("observers", RuntimeError("x"))
    now[0] = 61.0
    sup.isolated("observers", RuntimeError("x"))
    assert metrics.value("shipper_task_failures_total", task="observers") == 4
    assert len(caplog.records) == 2
    assert fatal == [] and progress.healthy()[0]
