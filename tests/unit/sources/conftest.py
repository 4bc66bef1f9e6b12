"""Helpers to run a Tailer in follow mode and collect what it emits."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

import pytest

from shipper.metrics import Metrics
from shipper.sources.settings import SourcesSettings
from shipper.sources.tailer import Chunk, Tailer, TailSettings

SOURCES_KEYS = tuple(SourcesSettings.model_fields)  # the ``sources:`` section's keys


@dataclass
class Collector:
    chunks: list[Chunk] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    async def emit(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)

    async def on_closed(self, key: str) -> None:
        self.closed.append(key)

    def lines(self, path: str | None = None) -> list[bytes]:
        return [line for c in self.chunks if path is None or c.path == path for _, line in c.lines]

    async def wait_lines(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """Wait until at least ``count`` lines arrived (fails the test on timeout)."""
        async with asyncio.timeout(timeout):
            while len(self.lines()) < count:
                await asyncio.sleep(0.01)
        return self.lines()


class Running:
    """A follow-mode tailer running in the background of a test."""

    def __init__(self, tailer: Tailer, collector: Collector) -> None:
        self.tailer = tailer
        self.out = collector
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Running":
        self.task = asyncio.create_task(self.tailer.run(self.out.emit, self.stop, self.out.on_closed))
        await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)


def make_tailer(paths: list[str], **kw: object) -> tuple[Tailer, Metrics]:
    metrics = Metrics(collectors=False)
    checkpoints = kw.pop("checkpoints", None)
    buffered = kw.pop("sinks_buffered", lambda: 0)
    sources = {"rotate_grace": 0.1, **{k: kw.pop(k) for k in SOURCES_KEYS if k in kw}}
    settings = TailSettings(paths=paths, **{"poll_interval": 0.05, "sources": sources, **kw})
    tailer = Tailer(settings, metrics=metrics, checkpoints=checkpoints, sinks_buffered=buffered)
    return tailer, metrics


@pytest.fixture
def follow(tmp_path):
    """Factory: ``async with follow(paths, **settings) as run: ...``."""

    def start(paths: list[str] | None = None, **kw: object) -> Running:
        tailer, metrics = make_tailer(paths or [str(tmp_path / "**" / "*.log")], **kw)
        running = Running(tailer, Collector())
        running.metrics = metrics  # type: ignore[attr-defined]
        return running

    return start


def append(path: os.PathLike[str] | str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
