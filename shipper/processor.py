"""The per-record path shared by ``shipper run`` and ``shipper explain``.

Lines of one file become records (:mod:`shipper.parse`), get the file's enrichment
(:mod:`shipper.enrich`) and pass the filter stages (:mod:`shipper.filters`). No tasks,
no queues, no I/O: ``pipeline.py`` drives it, ``explain`` calls it line by line.
"""

from __future__ import annotations

import time
from typing import Callable

from shipper.config import Settings
from shipper.enrich.ids import Enricher, file_context
from shipper.enrich.podinfo import PodInfo
from shipper.enrich.templates import PathTemplates
from shipper.filters import build_filter_stages
from shipper.filters.prescan import BatchTexts
from shipper.parse import FileParser, ParseCounts, runtime_format_for
from shipper.record import Record
from shipper.stages import Fates, Stage


class Processor:
    """Parsers per file, enrichment per file, one list of filter stages."""

    def __init__(self, settings: Settings, *, podinfo: PodInfo, fates: Fates,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.podinfo = podinfo
        self.counts = ParseCounts()
        self.clock = clock
        self.templates = PathTemplates(settings.path_templates)
        self.stages: list[Stage] = build_filter_stages(
            settings.filters, settings.redact, fates=fates, clock=clock)
        self.draining = [s for s in self.stages if hasattr(s, "drain")]
        self.preparing = [s for s in self.stages if hasattr(s, "prepare")]
        # per stage: its batch form, else one call per record
        self._batched = [getattr(s, "process_batch", None) for s in self.stages]
        self.parsers: dict[str, FileParser] = {}
        self._enrichers: dict[str, Enricher] = {}
        self.extra_k8s: dict[str, object] = {}

    def parser_for(self, file_key: str, path: str) -> FileParser:
        parser = self.parsers.get(file_key)
        if parser is None:
            parser = FileParser(path, self.settings.parse, self.counts, clock=self.clock,
                                runtime_format=runtime_format_for(path, self.settings.parse.formats))
            self.parsers[file_key] = parser
        return parser

    def enricher_for(self, path: str) -> Enricher:
        enricher = self._enrichers.get(path)
        if enricher is None:
            ctx = file_context(path, self.podinfo.facts, self.templates, self.extra_k8s)
            enricher = self._enrichers[path] = Enricher(ctx)
            if len(self._enrichers) > 4096:
                self._enrichers.clear()
        return enricher

    def facts_changed(self) -> None:
        """Pod facts changed: rebuild every file's enrichment lazily."""
        self._enrichers.clear()

    def process(self, records: list[Record], path: str) -> list[Record]:
        """Enrich and filter parsed records of one file; returns what survives, in order.

        Stages with ``prepare(records, extra, texts)`` pre-scan the whole batch first (one
        pass over its raw lines, joined once for all of them, instead of one check per
        record) and ``release()`` it at the end. Then the batch goes through the stages
        one stage at a time: ``process_batch(records, dropped)`` when a stage has it (it
        adds the indices it drops to ``dropped``), else one call per record. ``records``
        is enriched in place and comes back as it is when nothing was dropped.
        """
        enrich = self.enricher_for(path)
        enrich.enrich_batch(records)
        if self.preparing:
            texts = BatchTexts.of_records(records)
            for stage in self.preparing:
                stage.prepare(records, enrich.ctx.path_fields, texts)  # type: ignore[attr-defined]
        try:
            return self._filter(records)
        finally:
            for stage in self.preparing:
                stage.release()  # type: ignore[attr-defined]

    def _filter(self, records: list[Record]) -> list[Record]:
        """The batch through every stage, one stage at a time. ``records`` stays the
        batch; the indices of dropped records gather in ``dropped``."""
        dropped: set[int] = set()
        for stage, batched in zip(self.stages, self._batched):
            if len(dropped) == len(records):
                break
            if batched is not None:
                batched(records, dropped)
            elif _one_by_one(stage, records, dropped):
                for later in self.preparing:  # a new record: its pre-scan is stale
                    later.release()  # type: ignore[attr-defined]
        survivors = _without(records, dropped)
        return self._with_summaries(survivors) if self.draining else survivors

    @staticmethod
    def _with_summaries(records: list[Record]) -> list[Record]:
        """Records with the dedupe summaries they carry (``_before``) just before them."""
        out: list[Record] = []
        for record in records:
            before = record.pop("_before", None)
            if before:
                out.extend(before)
            out.append(record)
        return out

    def drain(self, force: bool = False) -> list[Record]:
        """Records held by stateful stages (dedupe summaries) that are due."""
        out: list[Record] = []
        for index, stage in enumerate(self.stages):
            if stage in self.draining:
                for record in stage.drain(force):  # type: ignore[attr-defined]
                    survivor = self._after(index, record)
                    if survivor is not None:
                        out.append(survivor)
        return out

    def _after(self, index: int, record: Record) -> Record | None:
        for stage in self.stages[index + 1:]:
            record = stage(record)
            if record is None:
                return None
        return record


def _one_by_one(stage: Stage, records: list[Record], dropped: set[int]) -> bool:
    """A stage without a batch form: called once per record still in the batch. ``True``
    when the stage returned a new record in place of one (it takes that place)."""
    replaced = False
    for i, record in enumerate(records):
        if i in dropped:
            continue
        out = stage(record)
        if out is None:
            dropped.add(i)
        elif out is not record:
            records[i], replaced = out, True
    return replaced


def _without(records: list[Record], dropped: set[int]) -> list[Record]:
    """``records`` but those at the ``dropped`` indices, in order (slices, not a test per
    record)."""
    if not dropped:
        return records
    out: list[Record] = []
    start = 0
    for i in sorted(dropped):
        out += records[start:i]
        start = i + 1
    out += records[start:]
    return out
