"""Hot reload in-process: which keys need a restart, which sinks keep their worker, what a
refused or a good reload counts, and the swap of stages, routes and sinks (fake workers)."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from shipper.acks import AckToken, Shares
from shipper.config import Settings
from shipper.errors import ConfigError
from shipper.metrics import Metrics
from shipper.reload import Outcome, Reloader, effective, restart_keys
from shipper.reload_swap import Swap, same_sink
from shipper.routes import Router
from shipper.sinks.settings import HttpSinkSettings, StdoutSinkSettings
from shipper.stages import CountingFates


def http(name="h", **kw):
    return HttpSinkSettings(name=name, url="http://127.0.0.1:9/in", **kw)


@pytest.fixture
def metrics():
    return Metrics(CollectorRegistry(), collectors=False)


# -- what changes live ----------------------------------------------------------------------

def test_keys_outside_filters_redact_templates_and_sinks_need_a_restart():
    old = Settings(paths=["/a/*.log"], server={"listen": "127.0.0.1:1"})
    new = Settings(paths=["/b/*.log"], server={"listen": "127.0.0.1:2"},
                   filters={"min_level": "warning"}, sinks=[http()])
    keys = restart_keys(old, new)
    assert keys == ["paths", "server.listen"]
    applied = effective(old, new, keys)
    assert applied.paths == ["/a/*.log"] and applied.server.listen == "127.0.0.1:1"
    assert applied.filters.min_level == "warning" and applied.sinks[0].name == "h"


def test_a_sink_keeps_its_worker_when_only_its_match_changed():
    assert same_sink(http(), http(match={"min_level": "error"}))
    assert not same_sink(http(), http(batch={"max_records": 5}))
    assert not same_sink(http(password="a"), http(password="b"))  # secrets compared too
    assert not same_sink(StdoutSinkSettings(name="h"), http())
    assert not same_sink(None, http())


# -- the reloader ---------------------------------------------------------------------------

class Target:
    def __init__(self, settings, fail=None):
        self.settings = settings
        self.applied = []
        self.fail = fail

    async def reconfigure(self, settings):
        if self.fail:
            raise self.fail
        self.applied.append(settings)
        self.settings = settings


async def test_a_bad_config_changes_nothing_and_is_counted(metrics):
    def load():
        raise ConfigError("invalid regex", key="sinks.h.match.message")

    target = Target(Settings())
    outcome = await Reloader(load, target, metrics, clock=lambda: 5.0).reload("test")
    assert outcome == Outcome(False, "sinks.h.match.message: invalid regex")
    assert target.applied == []
    assert metrics.value("shipper_config_reloads_total", result="failure") == 1
    assert metrics.value("shipper_config_last_reload_successful") == 0


async def test_a_config_that_only_compiles_badly_is_refused_too(metrics):
    # valid settings, but the disk buffer needs state_dir: found by building the worker
    bad = Settings(sinks=[http(buffer={"type": "disk"})])
    outcome = await Reloader(lambda: bad, Target(Settings()), metrics).reload("test")
    assert not outcome.ok and outcome.error.startswith("sinks.h.buffer.type:")


async def test_a_good_config_is_applied_and_counted(metrics):
    new = Settings(filters={"min_level": "warning"}, server={"listen": "127.0.0.1:7"})
    target = Target(Settings())
    outcome = await Reloader(lambda: new, target, metrics, clock=lambda: 42.0).reload("test")
    assert outcome.ok and outcome.changed == ("filters",)
    assert outcome.restart_required == ("server.listen",)
    assert target.settings.server.listen == Settings().server.listen  # kept running value
    assert metrics.value("shipper_config_last_reload_successful") == 1
    assert metrics.value("shipper_config_last_reload_success_timestamp_seconds") == 42.0
    assert metrics.value("shipper_config_reloads_total", result="success") == 1


async def test_nothing_to_apply_still_succeeds_without_touching_the_pipeline(metrics):
    target = Target(Settings())
    outcome = await Reloader(lambda: Settings(), target, metrics).reload("test")
    assert outcome.ok and outcome.changed == () and target.applied == []


async def test_a_refusal_while_applying_is_a_failure(metrics):
    target = Target(Settings(), fail=ConfigError("cannot start", key="sinks.h"))
    outcome = await Reloader(lambda: Settings(sinks=[http()]), target, metrics).reload("t")
    assert not outcome.ok and outcome.error == "sinks.h: cannot start"


async def test_a_bug_is_logged_and_counted_never_raised(metrics, caplog):
    def load():
        raise KeyError("boom")

    outcome = await Reloader(load, Target(Settings()), metrics).reload("test")
    assert not outcome.ok and outcome.error == "unexpected KeyError"
    assert "reload failed unexpectedly" in caplog.text


# -- the swap -------------------------------------------------------------------------------

class Worker:
    def __init__(self, settings, *, deliver=True, start_error=None):
        self.name = settings.name
        self.settings = settings
        self.deliver, self.start_error = deliver, start_error
        self.started = self.closed = False
        self.held: list[AckToken] = []

    async def start(self):
        if self.start_error:
            raise self.start_error
        self.started = True

    async def put(self, records, token):
        self.held.append(token)

    async def close(self, deadline):
        self.closed = True
        if self.deliver:
            for token in self.held:
                token.done()

    def undelivered(self):
        return [] if self.deliver else [([{"message": "held"}], t) for t in self.held]


class Processor:
    clock = staticmethod(lambda: 0.0)

    def __init__(self):
        self.stages = ["old-stage"]
        self.reconfigured = None

    def reconfigure(self, settings, stages):
        self.reconfigured = (settings, stages)


class Pipe:
    def __init__(self, workers):
        self.sinks = workers
        self.shares = [Shares() for _ in workers]
        self.processor = Processor()
        self.router = None
        self.drained = 0

    async def drain_stages(self):
        self.drained += 1

    def replace_sinks(self, sinks, router, shares):
        self.sinks[:] = sinks
        self.router, self.shares = router, shares


def swap(old, new, pipe, metrics, built):
    def build(settings):
        worker = built.get(settings.name) or Worker(settings)
        built[settings.name] = worker
        return worker

    return Swap(old, new, pipe, build, None, Router([s.match for s in new.sinks],
                                                     CountingFates()), metrics)


async def test_kept_added_replaced_and_removed_sinks(metrics):
    old = Settings(sinks=[http("keep"), http("change"), http("gone")])
    new = Settings(sinks=[http("added"), http("change", batch={"max_records": 7}),
                          http("keep", match={"min_level": "error"})])
    workers = [Worker(s) for s in old.sinks]
    pipe = Pipe(list(workers))
    keep_shares = pipe.shares[0]
    built: dict = {}
    await swap(old, new, pipe, metrics, built).apply()
    assert [w.name for w in pipe.sinks] == ["added", "change", "keep"]
    assert pipe.sinks[2] is workers[0] and not workers[0].closed  # same worker, buffer kept
    assert pipe.shares[2] is keep_shares
    assert workers[1].closed and workers[2].closed               # changed and removed
    assert pipe.sinks[1] is built["change"] and built["change"].started
    assert built["added"].started
    assert pipe.processor.reconfigured == (new, ["old-stage"])   # filters unchanged
    assert pipe.drained == 0


async def test_what_a_retired_sink_cannot_deliver_is_released_and_counted(metrics):
    old = Settings(sinks=[http("a"), http("b")])
    new = Settings(sinks=[http("a")])
    stuck = Worker(old.sinks[1], deliver=False)
    pipe = Pipe([Worker(old.sinks[0]), stuck])
    parent = AckToken("f", 10, pending=1, records=3)
    await stuck.put([], pipe.shares[1].share(parent, 3))
    await swap(old, new, pipe, metrics, {}).apply()
    assert parent.complete  # the checkpoint no longer waits for the removed sink
    assert metrics.value("shipper_records_failed_total", sink="b", reason="retired") == 3


async def test_an_added_sink_that_cannot_start_refuses_the_reload_and_changes_nothing(metrics):
    old = Settings(sinks=[http("a")])
    new = Settings(sinks=[http("a"), http("b"), http("c")])
    first = Worker(old.sinks[0])
    pipe = Pipe([first])
    built = {"c": Worker(new.sinks[2], start_error=OSError("disk full"))}
    with pytest.raises(ConfigError, match="sinks.c: cannot start: OSError: disk full"):
        await swap(old, new, pipe, metrics, built).apply()
    assert pipe.sinks == [first] and not first.closed
    assert built["b"].started and built["b"].closed  # started first, then closed again
    assert pipe.processor.reconfigured is None


async def test_changed_filters_drain_the_old_stages_and_bring_new_ones(metrics):
    old, new = Settings(), Settings(filters={"dedupe": {"enabled": True}})
    pipe = Pipe([Worker(old.sinks[0])])
    s = Swap.of(old, new, pipe=pipe, fates=CountingFates(), metrics=metrics,
                clock=lambda: 0.0)
    await s.apply()
    assert pipe.drained == 1
    _settings, stages = pipe.processor.reconfigured
    assert type(stages[-1]).__name__ == "DedupeStage"


async def test_a_change_asked_of_a_stopped_delivery_is_refused():
    from shipper.components import Observers
    from shipper.delivery import Delivery

    queue: asyncio.Queue = asyncio.Queue(2)
    d = Delivery(queue, processor=None, sinks=[], observers=Observers(), checkpoints=None,
                 flush_at_end=False, on_isolated=lambda *a: None, on_checkpoint=lambda: None,
                 clock=lambda: 0.0, monotonic=lambda: 0.0)
    ran = []

    async def change():
        ran.append(1)

    first = d.between(change)
    await queue.put(None)
    d.processor = type("P", (), {"flush": lambda self, now, force=False, **kw: []})()
    await d.run()
    assert ran == [1] and first.done() and first.exception() is None
    late = d.between(change)
    with pytest.raises(RuntimeError, match="stopping"):
        await late


async def test_a_changed_sink_hands_what_it_holds_to_its_successor(metrics):
    """A sink whose settings change while its backend is down: the records its memory
    buffer still holds go to the successor (none counted retired), and the checkpoint
    waits until the successor has delivered them."""
    old = Settings(sinks=[http("b")])
    new = Settings(sinks=[http("b", batch={"max_records": 7})])
    stuck = Worker(old.sinks[0], deliver=False)
    pipe = Pipe([stuck])
    parent = AckToken("f", 10, pending=1, records=1)
    await stuck.put([], pipe.shares[0].share(parent, 1))
    successor = Worker(new.sinks[0])
    await swap(old, new, pipe, metrics, {"b": successor}).apply()
    assert pipe.sinks == [successor] and stuck.closed
    assert len(successor.held) == 1 and not parent.complete
    assert metrics.value("shipper_records_failed_total", sink="b", reason="retired") == 0
    await successor.close(1.0)
    assert parent.complete  # delivered by the successor: the checkpoint moves on


async def test_real_worker_hands_its_unsent_records_to_the_successor(tmp_path):
    """With real workers: the old one cannot send (its backend hangs) and is closed at its
    deadline; every record it held is delivered by the new one, each envelope's token
    completed once."""
    from tests.unit.sinks.fakes import ScriptedSink, record
    from tests.unit.sinks.fakes import settings as sink_settings

    metrics = Metrics(CollectorRegistry(), collectors=False)
    old_worker = ScriptedSink(sink_settings(name="b", batch={"max_wait": 0}), metrics=metrics)
    old_worker.gate = asyncio.Event()  # never set: every send hangs
    await old_worker.start()
    shares = Shares()
    parents = [AckToken("f", i, pending=1, records=2) for i in range(3)]
    for i, parent in enumerate(parents):
        await old_worker.put([record(2 * i), record(2 * i + 1)], shares.share(parent, 2))
    new_worker = ScriptedSink(sink_settings(name="b", batch={"max_wait": 0}), metrics=metrics)
    pipe = Pipe([old_worker])
    pipe.shares = [shares]
    old = Settings(sinks=[old_worker.settings])
    new = Settings(sinks=[sink_settings(name="b", url="http://127.0.0.1:10")])
    s = swap(old, new, pipe, metrics, {"b": new_worker})
    s.old = old.model_copy(update={"shutdown_deadline": 0.4})
    await s.apply()
    await new_worker.close(5.0)
    sent = [r["message"] for batch in new_worker.delivered for r in batch]
    assert sorted(sent, key=lambda m: int(m.split()[1])) == [f"line {i}" for i in range(6)]
    assert all(p.complete for p in parents) and pipe.shares[0] is shares
