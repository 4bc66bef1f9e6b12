"""The per-record path shared by ``shipper run`` and ``shipper explain``.

A chunk of one file (:meth:`Processor.feed`) becomes records (:mod:`shipper.parse`, the
file's :class:`~shipper.stream.FileStream`), which get the file's enrichment
(:mod:`shipper.enrich`) and pass the filter stages (:mod:`shipper.filters`); out comes a
:class:`~shipper.stream.Batch`: the survivors and the offset the file is safe at once they
are delivered. :meth:`Processor.flush` (records gone quiet, dedupe summaries) and
:meth:`Processor.close` (a file let go: its held record, its state freed) give batches
too. No tasks, no queues, no I/O: :mod:`shipper.delivery` drives it for ``run``,
``explain`` feeds it a file's lines.

A stage that raises never takes the batch down with it: a batch-form stage that fails is
re-run on that batch one record at a time, a per-record stage already runs that way, and a
record that still makes a stage raise is shipped as a placeholder without its content
(:func:`shipper.stages.placeholder`), counted as ``shipper_parse_errors_total{kind=
"unprocessable"}``. Stages with a batch form must therefore be safe to re-run on a record
(the redaction and noise stages are: they keep no state across records), or say where
they stopped: enrichment raises :class:`~shipper.errors.BatchStopped` and is re-run one
record at a time from the record it stopped on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container
from typing import Any, TypeVar

from shipper.batch_ops import one_by_one as _one_by_one
from shipper.batch_ops import without as _without
from shipper.config import Settings
from shipper.draining import drained, with_summaries
from shipper.enrich.ids import Enricher, FileContext, file_context
from shipper.enrich.podinfo import PodInfo
from shipper.enrich.templates import PathTemplates
from shipper.enrich.trace import lift_one, lift_trace_context
from shipper.errors import BatchStopped
from shipper.filters import build_filter_stages
from shipper.filters.joint_scan import JointScan
from shipper.filters.prescan import BatchTexts
from shipper.filters.raw_noise import Drops, RawNoise
from shipper.grouped import read_group, regroup
from shipper.parse import FileParser, ParseCounts
from shipper.parse.runtime import RuntimeFormat
from shipper.parse.spares import SpareParsers
from shipper.parse.timestamps import TimestampNormalizer
from shipper.record import Record
from shipper.sources.files import Chunk
from shipper.stages import BatchStage, DrainingStage, Fates, PreparingStage, Stage, StageFailures
from shipper.stream import Batch, FileStreams

_T = TypeVar("_T")


class Processor:
    """A stream per file (:mod:`shipper.stream`), enrichment per path, one list of filter
    stages. With ``flush_at_eof`` (``--once``) a chunk that ends its file also ships the
    record it leaves pending."""

    def __init__(self, settings: Settings, *, podinfo: PodInfo, fates: Fates,
                 clock: Callable[[], float] = time.time,
                 stages: list[Stage] | None = None, flush_at_eof: bool = False) -> None:
        self.podinfo = podinfo
        self.counts = ParseCounts()
        self.clock = clock
        self.failures = StageFailures(self.counts, clock)
        self.flush_at_eof = flush_at_eof
        self._fates = fates
        #: one timestamp normalizer for every file (its caches stay warm from file to file)
        self._stamps = TimestampNormalizer(settings.parse.default_timezone, clock)
        #: a new file's parser: an idle one of a file let go (``_closing``), restarted
        self._parsers = SpareParsers(self._new_parser, settings.parse.formats)
        self.streams = FileStreams(self._parsers.parser)
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
        self._joint = JointScan.of_stages(self.preparing)  # their pre-scans in one pass
        self._raw_noise = RawNoise.of(stages, self._fates)
        # per stage: its batch form, else one call per record
        self._batched = [s.process_batch if isinstance(s, BatchStage) else None
                         for s in self.stages]
        self._enrichers.clear()

    def feed(self, chunk: Chunk) -> Batch:
        """A chunk of one file: the records it completes, enriched and filtered, and the
        offset the file is safe at once they are delivered (a stream for a new file)."""
        batch, drops = self._read(chunk)
        records, path = batch.records, chunk.path
        if records or drops:
            batch.records = self._reported(
                path, drops, lambda: self.process(records, path) if records else records)
        return batch

    def feed_many(self, items: list[Chunk | str], *, flush: bool = True) -> list[Batch]:
        """What :meth:`feed` gives for each chunk and :meth:`close` for each file key (a
        file let go; ``flush`` as there), in order. Without path templates every file has
        the same enrichment, so unless a stage holds records (dedupe) the records of all
        of them are enriched and filtered as one batch: each stage sees them in the same
        order, and the pre-scan and the calls per batch are paid once."""
        if len(items) < 2 or self.draining or self.settings.path_templates:
            return [b for b in (self.feed(item) if isinstance(item, Chunk)
                                else self.close(item, flush=flush) for item in items)
                    if b is not None]
        batches, drops = read_group(items, self._read, lambda key: self._closing(key, flush))
        records: list[Record] = []
        for batch in batches:
            records += batch.records
        regroup(batches, records, self._reported(
            "", drops, lambda: self._removed(records, "") if records else None))
        return batches

    def _read(self, chunk: Chunk) -> tuple[Batch, Drops]:
        """:meth:`feed` but for the processing: the batch, the drops of the lines it
        skipped (:class:`~shipper.filters.raw_noise.RawNoise`)."""
        stream = self.streams.get(chunk.file_key, chunk.path)
        read = None if self._raw_noise is None else self._raw_noise.read(self, stream, chunk)
        if read is None:
            read = stream.read(chunk, final=chunk.eof and self.flush_at_eof), []
        return Batch(read[0], stream.key, stream.safe_offset, stream), read[1]

    def _reported(self, path: str, drops: Drops, work: Callable[[], _T]) -> _T:
        """``work()`` (processing records of ``path``), the noise stage reporting the
        ``drops`` of lines read unparsed in their places among them."""
        raw = self._raw_noise
        return raw.reporting(self, path, drops, work) if drops and raw is not None else work()

    def flush(self, now: float, force: bool = False, *, drain: bool = False,
              busy: Container[str] = ()) -> list[Batch]:
        """Pending multi-line records gone quiet by ``now`` (every one with ``force``) of
        the files not in ``busy`` (ignored with ``force``), each file's in a batch, then
        the dedupe summaries due (all of them with ``drain``) in a batch of no file."""
        batches: list[Batch] = []
        for stream in self.streams.held(() if force else busy):
            records = stream.parser.flush(now=now, force=force)
            if records:
                batches.append(Batch(self.process(records, stream.path), stream.key,
                                     stream.safe_offset, stream))
        summaries = self.drain(drain)
        if summaries:
            batches.append(Batch(summaries, None, 0))
        self.streams.prune()
        return batches

    def close(self, file_key: str, *, flush: bool = True) -> Batch | None:
        """The file was let go: its stream is freed (see :class:`FileStreams`); the
        record it held, unless ``flush`` is false (it is read again after a restart).
        ``None`` when there is nothing to ship."""
        batch = self._closing(file_key, flush)
        if batch is not None and batch.stream is not None:
            batch.records = self.process(batch.records, batch.stream.path)
        return batch

    def _closing(self, file_key: str, flush: bool) -> Batch | None:
        """:meth:`close` but for the processing; the parser is spared for a new file
        (a stream kept for its acks gets another if its file comes back)."""
        stream = self.streams.close(file_key)
        if stream is None:
            return None
        parser, batch = stream.parser, None
        if flush and parser.pending:
            batch = Batch(parser.flush(force=True), file_key, stream.end, stream)
        self._parsers.spare(parser)
        return batch

    def _new_parser(self, path: str, runtime: RuntimeFormat) -> FileParser:
        return FileParser(path, self.settings.parse, self.counts, clock=self.clock,
                          runtime_format=runtime, stamps=self._stamps)

    def enricher_for(self, path: str) -> Enricher:
        """The file's enrichment; without path templates one for every file."""
        if not self.settings.path_templates:
            path = ""  # no part of it depends on the path
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
        survivors = _without(records, self._removed(records, path))
        return with_summaries(survivors) if self.draining else survivors

    def _removed(self, records: list[Record], path: str) -> set[int]:
        """:meth:`process` but for its end: the indices of the records it leaves out."""
        dropped: set[int] = set()
        failed: set[int] = set()
        try:
            enrich, clean = self._enrich(records, path, dropped, failed)
            self._trace_context(records, dropped, failed, clean)
            if self.preparing:
                self._prepare(records, enrich.ctx)
            try:
                self._filter(records, dropped, failed)
            finally:
                self._release()
        except Exception as exc:  # noqa: BLE001 - outside any one stage: no record of it can be trusted
            self.failures.failed(self, exc)
            for i in range(len(records)):
                if i not in dropped:
                    self._fail(records, i, self, exc, dropped, failed)
        return dropped - failed if failed else dropped

    def _enrich(self, records: list[Record], path: str, dropped: set[int],
                failed: set[int]) -> tuple[Enricher, bytearray | None]:
        """The file's enrichment of ``records``, a failure isolated per record; with the
        trace gate's hint when the batch form enriched every record."""
        enrich = self.enricher_for(path)
        clean = None
        try:
            clean = enrich.enrich_batch(records)
        except BatchStopped as stopped:  # per record from where it stopped
            self.failures.failed(enrich, stopped.error)
            self._per_record(enrich, records, dropped, failed, start=stopped.index)
        except Exception as exc:  # noqa: BLE001 - before any record: per record, all
            self.failures.failed(enrich, exc)
            self._per_record(enrich, records, dropped, failed)
        return enrich, clean

    def _trace_context(self, records: list[Record], dropped: set[int], failed: set[int],
                       clean: bytearray | None = None) -> None:
        """Top-level ``trace_id``/``span_id`` from the lines (:mod:`shipper.enrich.trace`)."""
        try:
            lift_trace_context(records, clean)
        except Exception as exc:  # noqa: BLE001 - isolated per record, as enrichment
            self.failures.failed(lift_one, exc)
            self._per_record(lift_one, records, dropped, failed)

    def _prepare(self, records: list[Record], ctx: FileContext) -> None:
        """The pre-scans, given the file's enrichment (its path-template fields are
        ``extra``; its ids and ``k8s`` are checked once per file by the redaction scan)."""
        try:
            texts = BatchTexts.of_records(records, self._joint)
            for stage in self.preparing:
                stage.prepare(records, ctx.path_fields, texts, facts=ctx)
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
                    failed: set[int], start: int = 0) -> None:
        """``stage`` one record at a time (a stage without a batch form, or one that
        failed on the whole batch), from ``records[start]`` on (enrichment, which must
        not run twice on a record, resumes where its batch form stopped); a new record
        in the batch makes pre-scans stale."""
        if _one_by_one(stage, records, dropped,
                       lambda i, exc: self._fail(records, i, stage, exc, dropped, failed),
                       start):
            self._release()

    def _fail(self, records: list[Record], i: int, stage: Any, exc: Exception,
              dropped: set[int], failed: set[int]) -> None:
        self.failures.replace(records, i, stage, exc)
        dropped.add(i)
        failed.add(i)

    def drain(self, force: bool = False) -> list[Record]:
        """Records held by stateful stages (dedupe summaries) that are due."""
        return drained(self.stages, self.failures, force)
