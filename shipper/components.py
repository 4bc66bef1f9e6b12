"""Builders of the optional pieces the pipeline runs with: observers (live tail, job
summaries, health) and the HTTP app that serves them (and :func:`serve` to start it), the
checkpoint store, the Kubernetes API reader, the cycle collector's tuning. Construction
only: ``pipeline.py`` runs them.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from shipper.config import Settings
from shipper.filters.raw_noise import JobIdListener
from shipper.metrics import Metrics
from shipper.record import Record
from shipper.stages import JobIdOnly

if TYPE_CHECKING:
    from shipper.sinks.encoding import Encoded

log = logging.getLogger("shipper.pipeline")

#: allocations between young-generation cycle collections (CPython's default is 700)
GC_THRESHOLD = 50_000


@runtime_checkable
class LagSource(Protocol):
    """A tailer that knows the bytes waiting in its files (``Tailer.lag_bytes``)."""

    @property
    def lag_bytes(self) -> int: ...


class Buffered(Protocol):
    """What a sink's buffer tells: the bytes it holds (``SinkBuffer.bytes``)."""

    @property
    def bytes(self) -> int: ...


@runtime_checkable
class Buffering(Protocol):
    """A sink with a buffer (every built sink; a test's fake may have none)."""

    @property
    def queue(self) -> Buffered: ...


def most_buffered(sinks: list[Any]) -> int:
    """The most bytes any of ``sinks`` holds in its buffer (0 without buffers). Read before
    each read hop of the tailer (:func:`~shipper.sources.reads.hop_chunks`); the list is
    the pipeline's own, changed in place by a reload."""
    return max((sink.queue.bytes for sink in sinks if isinstance(sink, Buffering)), default=0)


class Periodic(Protocol):
    """A process-wide look run every ``interval`` seconds in a worker thread."""

    @property
    def interval(self) -> float: ...

    def check(self) -> object: ...


class PublishEncoded(Protocol):
    """An observer that keeps the records' NDJSON (the live tail's ring), given
    ``encode_records(records, levels=False)`` when a sink takes the same records (``None``:
    it encodes them itself)."""

    def __call__(self, records: list[Record], encoded: Encoded | None = None) -> None: ...


@dataclass
class Observers:
    """Optional consumers of shipped records (live tail, job summaries, health). They
    read records and never change them: the sinks' bytes may be encoded before they run."""

    publish: list[Callable[[list[Record]], None]] = field(default_factory=list)
    #: called before ``publish``, with the sinks' encoding of the records when shared
    publish_encoded: list[PublishEncoded] = field(default_factory=list)
    on_drop: list[Callable[[Record, str, str], None]] = field(default_factory=list)
    progress: Any = None


def k8s_api_enricher(settings: Settings, env: Mapping[str, str] | None) -> Any:
    """The optional Kubernetes API reader for this pod (``k8s_api: true``)."""
    from shipper.enrich.k8s_api import K8sApiEnricher

    env = os.environ if env is None else env
    names = settings.downward_api
    namespace, pod = env.get(names.namespace), env.get(names.pod_name)
    if not namespace or not pod:
        log.warning("k8s_api is on but the pod name/namespace env vars are not set",
                    extra={"namespace_var": names.namespace, "pod_var": names.pod_name})
        return None
    return K8sApiEnricher(namespace, pod, clock=time.monotonic)


def build_observers(settings: Settings, metrics: Metrics,
                    reload: Any = None) -> tuple[Observers, Any]:
    """Progress, live tail and job summaries, and the HTTP server that serves them (with
    ``POST /-/reload`` calling ``reload(source)`` when given): probes and metrics without
    aiohttp, which is loaded for the first other request (:mod:`shipper.server.light`)."""
    from shipper.jobs import JobTracker
    from shipper.server.health import Progress
    from shipper.server.light import LightServer
    from shipper.server.tail import TailHub
    from shipper.server.tokens import TokenSource

    server = settings.server
    progress = Progress(time.monotonic, server.stall_after)
    tail = TailHub.from_settings(server)
    jobs = JobTracker.from_settings(metrics, time.time, server)
    observers = Observers(publish=[jobs.observe], publish_encoded=[tail.publish],
                          progress=progress, on_drop=[_drop_observer(jobs, settings)])

    async def full_app(token: Any) -> Any:
        """The aiohttp app, imported (in a thread) and set up on first use."""
        app = await asyncio.to_thread(importlib.import_module, "shipper.server.app")
        built = app.build_app(metrics=metrics, progress=progress, tail=tail, jobs=jobs,
                              settings=server, reload=reload, token=token)
        return await app.prepared_runner(built)

    return observers, LightServer(metrics=metrics, progress=progress, settings=server,
                                  token=TokenSource(server), full=full_app)


def _drop_observer(jobs: Any, settings: Settings) -> Callable[[Record, str, str], None]:
    """Counts a dropped record in its job's summary. Drops happen before the redact stage,
    so the job id is redacted here: ``/v1/jobs`` never shows what no sink would get."""
    redact: Callable[[str], str] = lambda text: text  # noqa: E731
    if settings.redact.enabled:
        from shipper.filters.redact import Redactor

        redact = Redactor(settings.redact).redact_text

    return _JobDrops(jobs, redact)


class _JobDrops(JobIdListener, JobIdOnly):
    """``_drop_observer``'s listener: it reads only ``job_id`` (raw noise relies on it) and
    does nothing for a record without one (so the fates do not call it for one)."""

    __slots__ = ("_jobs", "_redact")

    def __init__(self, jobs: Any, redact: Callable[[str], str]) -> None:
        self._jobs, self._redact = jobs, redact

    def __call__(self, record: Record, reason: str, rule: str) -> None:
        job_id = record.get("job_id")
        if isinstance(job_id, str):
            self._jobs.observe_drop({"job_id": self._redact(job_id)}, reason)
        elif job_id is not None:
            self._jobs.observe_drop({"job_id": job_id}, reason)


async def open_checkpoints(settings: Settings, metrics: Metrics | None = None) -> Any:
    """The checkpoint store in ``state_dir`` (none without one, as in ``--once`` runs);
    ``metrics`` counts a damaged checkpoint file set aside at load."""
    if settings.state_dir is None:
        return None
    from shipper.sources.checkpoints import CheckpointStore

    store = CheckpointStore(settings.state_dir, time.time, metrics=metrics)
    await store.load()
    return store


def tune_gc() -> None:
    """Start-up tuning of memory management, once per process.

    Records are acyclic dicts freed by reference counting, so the cycle collector only
    costs time on the hot path: move what start-up built (config models, compiled
    patterns, modules) out of its sight and run it less often (-5% CPU measured). And make
    malloc return big freed blocks to the system, which the sinks' byte accounting relies
    on (:mod:`shipper.sinks.allocator`)."""
    from shipper.sinks.allocator import return_big_blocks

    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 100)
    return_big_blocks()


async def serve(server: Any, listen: str) -> Any:
    """Start the HTTP server on ``listen`` (returned: ``cleanup()`` it at exit)."""
    await server.start(listen)
    return server
