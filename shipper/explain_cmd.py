"""``shipper explain``: run lines through exactly the ``run`` code path and show fates.

Each physical line becomes a row: the record it starts (kept, dropped with reason and
rule, sampled, throttled, deduped, redacted with rule names) or ``merged`` when it
continued the record above it. Rendering (and redaction of what is shown) is
:mod:`shipper.explain`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO

from shipper.config import Settings
from shipper.enrich.podinfo import PodInfo
from shipper.explain import Row, render_json, render_table
from shipper.filters import Redactor
from shipper.processor import Processor
from shipper.record import Record
from shipper.sources.files import Chunk
from shipper.stages import RecordingFates

#: per record (by offset): the record parsed, what it became (dedupe summaries first),
#: the fates reported while it went through the stages
Explained = tuple[Record, list[Record], list[tuple[str, str, str]]]

BATCH_LINES = 1000


def run_explain(settings: Settings, source: str, *, as_json: bool) -> int:
    """Explain every line of ``source`` (a file, or ``-`` for stdin) on stdout."""
    podinfo = PodInfo(os.environ, settings.downward_api, settings.podinfo_dir)
    asyncio.run(podinfo.refresh())
    processor = ExplainProcessor(settings, podinfo=podinfo, fates=RecordingFates())
    path = "<stdin>" if source == "-" else os.path.abspath(source)
    render = render_json if as_json else render_table
    with _open(source) as stream:
        rows = explain_lines(processor, path, _batches(stream))
        render(rows, sys.stdout, redactor=Redactor(settings.redact))
    return 0


def _open(source: str) -> BinaryIO:
    if source == "-":
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    return open(source, "rb")


def _batches(stream: BinaryIO) -> Iterator[list[tuple[int, bytes]]]:
    """``(offset, line)`` batches, newline removed."""
    offset, batch = 0, []
    for raw in stream:
        batch.append((offset, raw.rstrip(b"\n")))
        offset += len(raw)
        if len(batch) >= BATCH_LINES:
            yield batch
            batch = []
    if batch:
        yield batch


class ExplainProcessor(Processor):
    """The ``run`` processor, but each record goes through the stages on its own, so the
    fates reported meanwhile are that record's; :attr:`explained` gathers, per record,
    what it became and its fates."""

    def __init__(self, settings: Settings, *, podinfo: PodInfo, fates: RecordingFates) -> None:
        super().__init__(settings, podinfo=podinfo, fates=fates, clock=time.time)
        self.fates = fates
        self.explained: dict[int, Explained] = {}

    def process(self, records: list[Record], path: str) -> list[Record]:
        shipped: list[Record] = []
        for record in records:
            self.fates.reset()
            out = super().process([record], path)
            self.explained[record["file"]["offset"]] = (record, out, self.fates.reset())
            shipped.extend(out)
        return shipped


def explain_lines(processor: ExplainProcessor, path: str,
                  batches: Iterator[list[tuple[int, bytes]]]) -> Iterator[Row]:
    """Rows in input order; a held multi-line record is resolved before its lines show.
    The lines go through :meth:`Processor.feed` as chunks of the file ``path``."""
    waiting: list[tuple[int, bytes]] = []
    end = 0
    for batch in batches:
        waiting.extend(batch)
        end = batch[-1][0] + len(batch[-1][1]) + 1
        held = processor.feed(Chunk(path, path, batch, frozenset(), end, False)).safe_offset
        yield from _rows(processor.explained, waiting, held)
    processor.close(path)
    yield from _rows(processor.explained, waiting, None)
    for shipped in processor.flush(time.time(), force=True, drain=True):
        for summary in shipped.records:
            yield "", summary, []


def _rows(explained: dict[int, Explained], waiting: list[tuple[int, bytes]],
          held_from: int | None) -> Iterator[Row]:
    """Rows for the lines that are settled (before ``held_from``), consuming ``waiting``."""
    while waiting and (held_from is None or waiting[0][0] < held_from):
        offset, raw = waiting.pop(0)
        line = raw.decode("utf-8", "replace")
        found = explained.pop(offset, None)
        if found is None:
            yield line, None, []
            continue
        record, out, events = found
        if out and len(out) > 1:
            out[-1].before = out[:-1]
        yield line, (out[-1] if out else record), events
