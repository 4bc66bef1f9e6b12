"""Noise decided from the raw line: health probes of known layouts dropped unparsed.

Most of the noise of a busy pod is probe traffic in two layouts, each a single-line
``access`` record when parsed: the combined log line of a ``kube-probe`` request and
uvicorn's ``INFO:     ip:port - "GET /path HTTP/1.1" 200 OK``. :class:`RawNoise` finds the
lines of a chunk that match one of them exactly (``probe_lines``, the pattern
``pure_noise.PROBE``: a ``GET`` or ``HEAD`` of a plain path answered ``2xx``, nothing else
on the line: no key, no JSON, no level but ``INFO``) and that the noise stage would drop
(its own ``route_preset`` decides, from the method, path and agent the parser would read),
and the parser skips them (:meth:`~shipper.parse.file_parser.FileParser.feed_skipping`)
where that leaves it as parsing them would. The lines are a plain file's, or the inner
lines of a CRI or docker json-file one, once its wrapper is taken off (``FileParser.
unwrapped``): only a whole line unwrapped with no partial piece held (never a piece, a
line joined from pieces, or one read while a piece is held). Everything a parsed line
would leave behind is kept:

* its drop, ``noise``/its preset, reported by the noise stage among the others of the
  batch at the line's place (:meth:`~shipper.filters.presets.NoiseStage.process_batch`),
  so metrics and job summaries count them in the same order, to a stand-in record holding
  the file's ``job_id`` (the line carries no id: enrichment gives it the file's); only
  when every drop listener reads nothing else (:class:`JobIdListener`). Without a job id
  and with the key counted already, the order shows nowhere: counted at once. Its
  wrapper's stream is on no record, so it shows nowhere either;
* its ``access`` count (``records_parsed_total``), its time (a bracketed time is read by
  the file's normaliser, else the wrapper's time, else the read time is taken; an
  impossible one, counted as ``bad_timestamp`` when parsed, makes it parsed);
* the safe offset: a skipped line is never held, so it moves past as a parsed one does.

:meth:`RawNoise.read` reads a chunk so, :meth:`RawNoise.reporting` has the noise stage
report its drops while the records are processed: ``Processor.feed`` does both for one
chunk, ``Processor.feed_many`` reads many and processes their records as one batch (the
drops placed among them). Anything else takes today's path: a file with a start pattern
or path template fields, a truncated line, a fates object that is not
:class:`CountingFates`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from shipper.enrich.ids import Enricher
from shipper.filters.presets import NoiseStage
from shipper.kernels import probe_lines
from shipper.record import Record
from shipper.sources.files import Chunk
from shipper.stages import CountingFates, Fates, Stage
from shipper.stream import FileStream

#: path words that might name an id (never in a skipped line, to be safe)
_ID_WORDS = ("job", "correlation", "shard", "trace", "span", "request")
_UNKNOWN = "?"  # not a preset name: the verdict is not remembered
#: verdicts remembered per ``(method, path, agent)``
VERDICTS_MAX = 256


class JobIdListener:
    """A drop listener that reads nothing of a dropped record but its ``job_id`` and does
    nothing for a record without one (the job summaries' drop counts): raw noise hands it
    a stand-in record holding just that, or does not call it for a record without one."""

    __slots__ = ("_on_drop",)  # a subclass may be the listener itself (one call less)

    def __init__(self, on_drop: Callable[[Record, str, str], None]) -> None:
        self._on_drop = on_drop

    def __call__(self, record: Record, reason: str, rule: str) -> None:
        self._on_drop(record, reason, rule)


class Feeding(Protocol):
    """What :class:`RawNoise` needs of the processor."""

    flush_at_eof: bool

    def enricher_for(self, path: str) -> Enricher: ...


#: ``(records before it, preset)`` of each line dropped unparsed, in order
Drops = list[tuple[int, str]]
_T = TypeVar("_T")


class RawNoise:
    """The probe lines of a chunk, dropped unparsed (see the module docstring)."""

    def __init__(self, noise: NoiseStage, fates: CountingFates) -> None:
        self._noise = noise
        self._fates = fates
        self._verdicts: dict[tuple[str, str, str], str | None] = {}

    @classmethod
    def of(cls, stages: list[Stage], fates: Fates) -> RawNoise | None:
        """For an active noise stage with a request preset first among ``stages``."""
        if type(fates) is not CountingFates or not stages:
            return None
        noise = stages[0]
        if not isinstance(noise, NoiseStage) or not noise.requests:
            return None
        return cls(noise, fates)

    def read(self, processor: Feeding, stream: FileStream,
             chunk: Chunk) -> tuple[list[Record], Drops] | None:
        """``stream.read`` of this chunk with its probe lines skipped, and their drops
        (for :meth:`reporting`); ``None`` (the caller reads it) when this file or these
        listeners do not allow it."""
        parser = stream.parser
        if not all(isinstance(listener, JobIdListener) for listener in self._fates.listeners) \
                or processor.enricher_for(chunk.path).ctx.path_fields:
            return None
        lines = parser.unwrapped(chunk.lines)
        if lines is None:
            return None
        skips, presets = self.find(lines, chunk.truncated)
        stream.path, stream.end = chunk.path, chunk.end_offset
        records, marks = parser.feed_skipping(lines, chunk.truncated, skips)
        if chunk.eof and processor.flush_at_eof:
            records.extend(parser.flush(force=True))
        return records, [(at, preset) for at, preset in zip(marks, presets, strict=True)
                         if at >= 0]

    def reporting(self, processor: Feeding, path: str, drops: Drops,
                  work: Callable[[], _T]) -> _T:
        """``work()`` (the processing of the records the drops are among, as one batch of
        the enrichment of ``path``) with the noise stage reporting ``drops`` in their
        places (or before it ends, if the batch never reaches it)."""
        job = processor.enricher_for(path).ctx.job_id
        noise = self._noise
        noise.raw_record = Record({"job_id": job} if job is not None else {})
        noise.raw_drops = drops if job is not None or not self._counted(drops) else []
        try:
            return work()
        finally:
            noise.report_raw()

    def _counted(self, drops: list[tuple[int, str]]) -> bool:
        """Count ``drops`` (of a stand-in without a job id) at once when their place among
        the batch's other drops shows nowhere: their keys are counted already (so their
        order stays), and no listener does anything with a record without a job id."""
        counts = self._fates.drops
        if not all(("noise", preset) in counts for _at, preset in drops):
            return False
        for _at, preset in drops:
            counts["noise", preset] += 1
        return True

    def find(self, lines: list[Any], truncated: frozenset[int],
             ) -> tuple[list[tuple[int, str | None]], list[str]]:
        """The probe lines (``probe_lines``) the noise stage drops: ``(index, bracketed
        time or None)`` of each, in order, and the preset of each."""
        skips: list[tuple[int, str | None]] = []
        presets: list[str] = []
        verdicts = self._verdicts
        for i, when, method, path, agent in probe_lines(lines):
            key = (method, path, agent)
            preset = verdicts.get(key, _UNKNOWN)
            if preset is _UNKNOWN:
                preset = self._verdict(key)
            if preset is not None and not (truncated and lines[i][0] in truncated):
                skips.append((i, when))
                presets.append(preset)
        return skips, presets

    def _verdict(self, key: tuple[str, str, str]) -> str | None:
        """The noise stage's preset for a probe (``route_preset``), ``None`` when it keeps
        it or its path might name an id; remembered."""
        method, path, agent = key
        lowered = path.lower()
        preset = None if any(word in lowered for word in _ID_WORDS) else \
            self._noise.route_preset(method, path, agent)
        if len(self._verdicts) >= VERDICTS_MAX:
            self._verdicts.clear()
        self._verdicts[key] = preset
        return preset
