"""The per-record path shared by ``shipper run`` and ``shipper explain``.

Lines of one file become records (:mod:`shipper.parse`), get the file's enrichment
(:mod:`shipper.enrich`) and pass the filter stages (:mod:`shipper.filters`). No tasks,
no queues, no I/O: ``pipeline.py`` drives it, ``explain`` calls it line by line.

A stage that raises never takes the batch down with it: a batch-form stage that fails is
re-run on that batch one record at a time, a per-record stage already runs that way, and a
record that still makes a stage raise is shipped as a placeholder without its content
(:func:`shipper.stages.placeholder`), counted as ``shipper_parse_errors_total{kind=
"unprocessable"}``. Stages with a batch form must therefore be safe to re-run on a record
(the redaction and noise stages are: they keep no state across records).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shipper.config import Settings
from shipper.enrich.ids import Enricher, file_context
from shipper.enrich.podinfo import PodInfo
from shipper.enrich.templates import PathTemplates
from shipper.enrich.trace import lift_one, lift_trace_context
from shipper.filters import build_filter_stages
from shipper.filters.prescan import BatchTexts
from shipper.parse import FileParser, ParseCounts, runtime_format_for
from shipper.record import Record
from shipper.stages import (
    BatchStage,
    DrainingStage,
    Fates,
    PreparingStage,
    Stage,
    StageFailures,
)


class Processor:
    """Parsers per file, enrichment per file, one list of filter stages."""

    def __init__(self, settings: Settings, *, podinfo: PodInfo, fates: Fates,
                 clock: Callable[[], float] = time.time,
                 stages: list[Stage] | None = None) -> None:
        self.podinfo = podinfo
        self.counts = ParseCounts()
        self.clock = clock
        self.failures = StageFailures(self.counts, clock)
        self.parsers: dict[str, FileParser] = {}
        self._enrichers: dict[str, Enricher] = {}
        self.reconfigure(settings, stages if stages is not None else build_filter_stages(
            settings.filters, settings.redact, fates=fates, clock=clock))

    def reconfigure(self, settings: Settings, stages: list[Stage]) -> None:
        """Use these settings' path templates and these stages from the next batch on (a
        reload; the caller drained the old stages first). Parsers, and so the records
        they hold, are kept: ``parse`` settings only change with a restart."""
        self.settings = settings
        self.templates = PathTemplates(settings.path_templates)
        self.stages = stages
        self.draining = [s for s in self.stages if isinstance(s, DrainingStage)]
        self.preparing = [s for s in self.stages if isinstance(s, PreparingStage)]
        # per stage: its batch form, else one call per record
        self._batched = [s.process_batch if isinstance(s, BatchStage) else None
                         for s in self.stages]
        self._enrichers.clear()

    def parser_for(self, file_key: str, path: str) -> FileParser:
        parser = self.parsers.get(file_key)
        if parser is None:
            runtime = runtime_format_for(path, self.settings.parse.formats)
            parser = FileParser(path, self.settings.parse, self.counts, clock=self.clock,
                                runtime_format=runtime)
            self.parsers[file_key] = parser
        return parser

    def enricher_for(self, path: str) -> Enricher:
        enricher = self._enrichers.get(path)
        if enricher is None:
            ctx = file_context(path, self.podinfo.facts, self.templates)
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
        is enriched in place and comes back as it is when nothing was dropped. Records a
        stage failed on are replaced by placeholders (see the module docstring); their
        indices are in ``failed`` and in ``dropped`` (so later stages skip them).
        """
        dropped: set[int] = set()
        failed: set[int] = set()
        try:
            enrich = self.enricher_for(path)
            try:
                enrich.enrich_batch(records)
            except Exception as exc:  # noqa: BLE001 - isolated: per record, as the stages below
                self.failures.failed(enrich, exc)
                self._per_record(enrich, records, dropped, failed)
            self._trace_context(records, dropped, failed)
            if self.preparing:
                self._prepare(records, enrich.ctx.path_fields)
            try:
                self._filter(records, dropped, failed)
            finally:
                self._release()
        except Exception as exc:  # noqa: BLE001 - outside any one stage: no record of it can be trusted
            self.failures.failed(self, exc)
            for i in range(len(records)):
                if i not in dropped:
                    self._fail(records, i, self, exc, dropped, failed)
        survivors = _without(records, dropped - failed if failed else dropped)
        return self._with_summaries(survivors) if self.draining else survivors

    def _trace_context(self, records: list[Record], dropped: set[int], failed: set[int]) -> None:
        """Top-level ``trace_id``/``span_id`` from the lines (:mod:`shipper.enrich.trace`)."""
        try:
            lift_trace_context(records)
        except Exception as exc:  # noqa: BLE001 - isolated per record, as enrichment
            self.failures.failed(lift_one, exc)
            self._per_record(lift_one, records, dropped, failed)

    def _prepare(self, records: list[Record], extra: dict[str, Any]) -> None:
        try:
            texts = BatchTexts.of_records(records)
            for stage in self.preparing:
                stage.prepare(records, extra, texts)
        except Exception as exc:  # noqa: BLE001 - without pre-scans every stage checks every record
            self.failures.failed(self, exc)
            self._release()

    def _release(self) -> None:
        for stage in self.preparing:
            stage.release()

    def _filter(self, records: list[Record], dropped: set[int], failed: set[int]) -> None:
        """The batch through every stage, one stage at a time. ``records`` stays the
        batch; the indices of dropped records gather in ``dropped``."""
        for stage, batched in zip(self.stages, self._batched, strict=True):
            if len(dropped) == len(records):
                break
            if batched is not None:
                try:
                    batched(records, dropped)
                except Exception as exc:  # noqa: BLE001 - re-run per record below
                    self.failures.failed(stage, exc)
                    self._release()  # the pre-scan may be what failed
                    self._per_record(stage, records, dropped, failed)
            else:
                self._per_record(stage, records, dropped, failed)

    def _per_record(self, stage: Any, records: list[Record], dropped: set[int],
                    failed: set[int]) -> None:
        """``stage`` one record at a time (a stage without a batch form, or one that
        failed on the whole batch); a new record in the batch makes pre-scans stale."""
        if _one_by_one(stage, records, dropped,
                       lambda i, exc: self._fail(records, i, stage, exc, dropped, failed)):
            self._release()

    def _fail(self, records: list[Record], i: int, stage: Any, exc: Exception,
              dropped: set[int], failed: set[int]) -> None:
        self.failures.replace(records, i, stage, exc)
        dropped.add(i)
        failed.add(i)

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
            if not isinstance(stage, DrainingStage):
                continue
            try:
                due = stage.drain(force)
            except Exception as exc:  # noqa: BLE001 - what it held is lost: counted and logged
                self.failures.failed(stage, exc)
                continue
            for record in due:
                survivor = self._after(index, record)
                if survivor is not None:
                    out.append(survivor)
        return out

    def _after(self, index: int, record: Record) -> Record | None:
        for stage in self.stages[index + 1:]:
            try:
                out = stage(record)
            except Exception as exc:  # noqa: BLE001 - shipped as a placeholder
                batch = [record]
                self.failures.replace(batch, 0, stage, exc)
                return batch[0]
            if out is None:
                return None
            record = out
        return record


OnError = Callable[[int, Exception], None]


def _one_by_one(stage: Stage, records: list[Record], dropped: set[int],
                on_error: OnError | None = None) -> bool:
    """A stage without a batch form: called once per record still in the batch. ``True``
    when the stage returned a new record in place of one (it takes that place), or a
    record it raised on was replaced (by ``on_error``, which must add it to ``dropped``;
    without ``on_error`` the exception propagates)."""
    replaced = False
    for i, record in enumerate(records):
        if i in dropped:
            continue
        try:
            out = stage(record)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(i, exc)
            replaced = True
            continue
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
