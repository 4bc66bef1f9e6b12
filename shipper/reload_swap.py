"""Applying a reloaded configuration: :class:`Swap`, run in the processor task between
two items (the steps are in :mod:`shipper.reload`'s docstring): it hands over what the
stateful stages hold, starts the added sinks, closes the removed and changed ones (what
a changed one still holds goes to its successor, what a removed one could not deliver is
released and counted) and gives the processor and the delivery the new stages, sinks and
routes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from shipper.acks import Shares
from shipper.config import Settings
from shipper.errors import ConfigError
from shipper.metrics import Metrics

log = logging.getLogger("shipper.reload")  # one logger for all of a reload

#: of ``shutdown_deadline``, the time a removed or replaced sink gets to deliver what it holds
RETIRE_SHARE = 0.75


def same_sink(old: BaseModel | None, new: BaseModel) -> bool:
    """Whether a sink's worker can stay: equal settings but (maybe) its ``match``."""
    if old is None or type(old) is not type(new):
        return False
    return old.model_copy(update={"match": None}) == new.model_copy(update={"match": None})


class Pipe(Protocol):
    """What :class:`Swap` needs of the delivery (:class:`shipper.delivery.Delivery`)."""

    sinks: list[Any]
    shares: list[Shares]
    processor: Any

    async def drain_stages(self) -> None: ...

    def replace_sinks(self, sinks: list[Any], router: Any, shares: list[Shares]) -> None: ...


@dataclass
class Swap:
    """Applies ``new`` over ``old`` in the processor task (see the module docstring)."""

    old: Settings
    new: Settings
    pipe: Pipe
    build: Callable[[Any], Any]  # sink settings -> an unstarted worker
    stages: list[Any] | None  # None: the filters did not change, the stages stay
    router: Any
    metrics: Metrics

    @classmethod
    def of(cls, old: Settings, new: Settings, *, pipe: Pipe, fates: Any, metrics: Metrics,
           clock: Callable[[], float]) -> Swap:
        """The swap to ``new``: its stages and routes built now, its sinks when applied."""
        from shipper.filters import build_filter_stages
        from shipper.routes import Router
        from shipper.sinks import build_sink

        def build(settings: Any) -> Any:
            return build_sink(settings, metrics=metrics, clock=clock, state_dir=old.state_dir)

        stages = None  # the running stages (and what they hold) stay
        if (old.filters, old.redact) != (new.filters, new.redact):
            stages = build_filter_stages(new.filters, new.redact, fates=fates,
                                         clock=pipe.processor.clock)
        router = Router([sink.match for sink in new.sinks], fates, clock)
        return cls(old, new, pipe, build, stages, router, metrics)

    async def apply(self) -> None:
        if self.stages is not None:
            await self.pipe.drain_stages()
        workers = {w.name: (w, s) for w, s in zip(self.pipe.sinks, self.pipe.shares, strict=True)}
        before = {s.name: s for s in self.old.sinks}
        kept = {s.name for s in self.new.sinks
                if s.name in workers and same_sink(before.get(s.name), s)}
        added = [s for s in self.new.sinks if s.name not in workers]
        fresh = {s.name: w for s, w in zip(added, await self._start_added(added), strict=True)}
        deadline = RETIRE_SHARE * self.old.shutdown_deadline
        renewed = {s.name: s for s in self.new.sinks if s.name in workers and s.name not in kept}
        for name, (worker, held) in workers.items():
            if name in renewed:
                fresh[name] = await self._succeed(worker, renewed[name], deadline)
            elif name not in kept:
                await self._retire(worker, held, deadline)
        carried = {name: workers[name][1] for name in (*kept, *renewed)}
        sinks = [workers[s.name][0] if s.name in kept else fresh[s.name] for s in self.new.sinks]
        shares = [carried.get(s.name) or Shares() for s in self.new.sinks]
        processor = self.pipe.processor
        processor.reconfigure(self.new, processor.stages if self.stages is None else self.stages)
        self.pipe.replace_sinks(sinks, self.router, shares)

    async def _start_added(self, added: list[Any]) -> list[Any]:
        """Start the new sinks; one that cannot refuses the reload (nothing changed)."""
        started: list[Any] = []
        for settings in added:
            worker = self.build(settings)
            try:
                await worker.start()
            except Exception as exc:  # noqa: BLE001 - refuses the reload, said in its error
                for other in started:
                    await self._retire(other, Shares(), 1.0)
                raise ConfigError(f"cannot start: {type(exc).__name__}: {exc}",
                                  key=f"sinks.{settings.name}") from None
            started.append(worker)
        return started

    async def _start(self, settings: Any) -> Any:
        """A changed sink's successor; failing now (its predecessor is closed) is fatal."""
        worker = self.build(settings)
        try:
            await worker.start()
        except Exception as exc:
            raise RuntimeError(f"sink {settings.name} could not start after a reload") from exc
        return worker

    async def _succeed(self, worker: Any, settings: Any, deadline: float) -> Any:
        """Close a changed sink, start its successor and hand it what the old one could
        not deliver in ``deadline`` (memory buffer; a disk buffer is reopened by the
        successor): those records are not lost, and their tokens (the sink's shares,
        which the successor keeps) still hold the checkpoint until it delivers them."""
        await self._close(worker, deadline)
        successor = await self._start(settings)
        left = worker.undelivered()
        for records, token in left:
            await successor.put(records, token)
        if left:
            log.info("records a changed sink held are handed to its successor",
                     extra={"sink": worker.name, "records": sum(len(r) for r, _ in left)})
        return successor

    async def _close(self, worker: Any, deadline: float) -> None:
        try:
            await worker.close(deadline)
        except Exception as exc:  # noqa: BLE001 - a worker that died: its records go on below
            log.warning("sink failed while closing for a reload",
                        extra={"sink": worker.name, "error": type(exc).__name__})

    async def _retire(self, worker: Any, shares: Shares, deadline: float) -> None:
        await self._close(worker, deadline)
        released = shares.release()
        if released:
            failed: Any = self.metrics
            failed.records_failed_total.labels(sink=worker.name, reason="retired").inc(released)
            log.warning("sink removed or replaced by a reload could not deliver everything "
                        "in time; those records are not sent to it",
                        extra={"sink": worker.name, "records": released})

