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
from shipper.stages import RecordingFates

BATCH_LINES = 1000


def run_explain(settings: Settings, source: str, *, as_json: bool) -> int:
    """Explain every line of ``source`` (a file, or ``-`` for stdin) on stdout."""
    podinfo = PodInfo(os.environ, settings.downward_api, settings.podinfo_dir)
    asyncio.run(podinfo.refresh())
    fates = RecordingFates()
    processor = Processor(settings, podinfo=podinfo, fates=fates, clock=time.time)
    path = "<stdin>" if source == "-" else os.path.abspath(source)
    render = render_json if as_json else render_table
    with _open(source) as stream:
        rows = explain_lines(processor, fates, path, _batches(stream))
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


def explain_lines(processor: Processor, fates: RecordingFates, path: str,
                  batches: Iterator[list[tuple[int, bytes]]]) -> Iterator[Row]:
    """Rows in input order; a held multi-line record is resolved before its lines show."""
    parser = processor.parser_for(path, path)
    waiting: list[tuple[int, bytes]] = []
    for batch in batches:
        waiting.extend(batch)
        records = parser.feed(batch)
        yield from _rows(processor, fates, path, records, waiting, parser.pending_offset)
    records = parser.flush(force=True)
    yield from _rows(processor, fates, path, records, waiting, None)
    for summary in processor.drain(force=True):
        yield "", summary, []


def _rows(processor: Processor, fates: RecordingFates, path: str, records: list[Record],
          waiting: list[tuple[int, bytes]], held_from: int | None) -> Iterator[Row]:
    """Rows for the lines that are settled (before ``held_from``), consuming ``waiting``."""
    by_offset = {record["file"]["offset"]: record for record in records}
    while waiting and (held_from is None or waiting[0][0] < held_from):
        offset, raw = waiting.pop(0)
        record = by_offset.get(offset)
        line = raw.decode("utf-8", "replace")
        if record is None:
            yield line, None, []
            continue
        fates.reset()
        out = processor.process([record], path)
        events = fates.reset()
        if out and len(out) > 1:
            out[-1]["_before"] = out[:-1]
        yield line, (out[-1] if out else record), events
