"""Records -> Loki entries grouped by (tenant, stream): what :class:`LokiEncoder` computes
for each record of a batch (its stream labels, tenant, timestamp, structured metadata and
line).

This is the Loki sink's per-record cost, so the loop keeps to the few lookups each record
needs: a record's stream is found by its label values (:meth:`StreamLabeler.stream`,
remembered), the second of its timestamp is parsed once per distinct second
(:class:`StampReader`), and the buffered JSON is the line (``line: record``).

A batch buffered with side data (:meth:`LokiEncoder.side` at ``put``) is encoded
column-wise (:meth:`LokiEncoder.from_side`): its metadata stay one column per name, each
stream is rows of the batch (:mod:`shipper.sinks.loki_rows`), and no entry object is made
unless a stream must be settled, split or is refused.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import accumulate, pairwise
from operator import attrgetter, sub
from typing import Any, cast

import orjson

from shipper.kernels import loki_sort_rows, loki_stamps
from shipper.record import Record
from shipper.sinks.batch import Lines, Span
from shipper.sinks.fields import rfc3339_to_ns, shorten_text, truncate_utf8
from shipper.sinks.loki_fields import FieldReader
from shipper.sinks.loki_labels import StreamLabeler
from shipper.sinks.loki_order import Entry
from shipper.sinks.loki_rows import BatchColumns, Rows
from shipper.sinks.loki_side import LokiSide, Stream
from shipper.sinks.loki_tenants import TenantOf
from shipper.sinks.settings import LokiSinkSettings

Meta = tuple[str, str]
#: entries by (tenant, stream): a list (from records) or a batch's rows (from side data)
Streams = dict[tuple[str | None, str], tuple[dict[str, str], list[Entry] | Rows]]
#: distinct seconds :class:`StampReader` remembers (then it starts again)
STAMP_CACHE = 4096
_BY_NS = attrgetter("ns")


class StampReader:
    """:func:`~shipper.sinks.fields.rfc3339_to_ns`, the same answers, with the seconds of
    ``YYYY-MM-DDTHH:MM:SS[.digits]Z`` parsed once per distinct second (records of a batch
    share a few); any other form is read by ``rfc3339_to_ns`` itself. The loop is the
    kernel ``loki_stamps`` (:mod:`shipper.kernels`)."""

    def __init__(self, limit: int = STAMP_CACHE) -> None:
        self._seconds: dict[str, int] = {}
        self._limit = limit

    def __call__(self, value: Any) -> int | None:
        return self.of([{"timestamp": value}])[0]

    def of(self, records: Sequence[Mapping[str, Any]]) -> list[int | None]:
        """Each record's ``timestamp``."""
        return loki_stamps(records, "timestamp", self._seconds, self._limit, rfc3339_to_ns)


def _one_stream(labels: list[tuple[Any, ...]]) -> bool:
    """Whether the records are of one stream for certain: their label values are one
    tuple, or tuples equal to it of strings or ``None`` (the labeler remembers those by
    value: the same stream). Counted in C (identical tuples compare without looking
    inside)."""
    first = labels[0]
    if labels.count(first) != len(labels):
        return False
    if all(value is None or type(value) is str for value in first):
        return True
    return len(set(map(id, labels))) == 1


def _first(values: Sequence[Any]) -> Any:
    """The first value neither ``None`` nor ``""`` (as :func:`first_of` reads)."""
    for value in values:
        if value is not None and value != "":
            return value
    return None


class LokiEncoder:
    """Records -> entries grouped by (tenant, stream); pure apart from ``counts``."""

    def __init__(self, settings: LokiSinkSettings, wall_clock: Any) -> None:
        self.settings = settings
        self.counts: Counter[str] = Counter()
        self._wall_clock = wall_clock
        self.labeler = StreamLabeler(settings)
        self.tenant_of = TenantOf(settings)
        self.demoted = self.labeler.demoted
        meta = [(n, [p]) for n, p in settings.structured_metadata.items()]
        meta += [(n, settings.labels[n]) for n in self.demoted
                 if n not in settings.structured_metadata]
        self._meta_names = [name for name, _ in meta]
        self._names = tuple(self._meta_names)
        #: (start, end) of each metadata's candidate paths among the values read, when a
        #: demoted label has several (else ``None``: one path per metadata)
        self._slots: list[tuple[int, int]] | None = None
        if any(len(paths) > 1 for _, paths in meta):
            ends = list(accumulate((len(paths) for _, paths in meta), initial=0))
            self._slots = list(pairwise(ends))
        self._labels = len(self.labeler.paths)
        self._reader = FieldReader(self.labeler.paths + [p for _, paths in meta for p in paths])
        self._stamp = StampReader()

    def streams(self, records: list[Record], raws: list[memoryview] | None = None) -> Streams:
        """Entries by (tenant, stream), sorted by timestamp; ``raws``: each record's JSON as
        buffered (then reused as the line instead of encoding the record again)."""
        streams: dict[tuple[str | None, str], tuple[dict[str, str], list[Entry]]] = {}
        stream_of, tenant_of = self.labeler.stream, self.tenant_of
        tenant, per_record = tenant_of.default, tenant_of.per_record
        entry = self._entry
        settings = self.settings
        raws = raws if raws is not None and settings.line == "record" else None
        limit = settings.max_line_bytes
        stamps = self._stamp.of(records)
        for i, (values, meta) in enumerate(self.read(records)):
            record = records[i]
            labels, key = stream_of(record, values)
            if per_record:
                tenant = tenant_of(record)
            raw = raws[i] if raws is not None else None
            line = str(raw, "utf-8") if raw is not None and len(raw) <= limit else None
            got = streams.get((tenant, key))
            if got is None:
                got = streams[tenant, key] = (dict(labels), [])
            got[1].append(entry(record, i, line, meta, stamps[i]))
        self._close(cast(Streams, streams), len(records))
        return cast(Streams, streams)

    def _close(self, streams: Streams, count: int) -> None:
        """Entries sorted by timestamp in each stream; the batch's changes counted."""
        for _, entries in streams.values():
            if isinstance(entries, list):  # rows come sorted
                entries.sort(key=_BY_NS)  # stable: equal timestamps keep order
        if self.demoted:
            self.counts["label-demoted"] += count
        self.counts.update(self.tenant_of.counts)
        self.tenant_of.counts.clear()

    def side(self, records: list[Record]) -> LokiSide:
        """What :meth:`from_side` needs of ``records`` to encode them later undecoded."""
        stream_of, tenant_of = self.labeler.stream, self.tenant_of
        labels, cols = self.read_cols(records)
        streams: list[Stream]
        one = bool(labels) and _one_stream(labels)
        if one:  # one stream (the usual): found once
            streams = [stream_of(records[0], labels[0])] * len(labels)
        else:
            streams = []
            seen: tuple[Any, ...] | None = None
            for i, values in enumerate(labels):
                if values is not seen:  # records sharing their label values' tuple: one stream
                    seen, stream = values, stream_of(records[i], values)
                streams.append(stream)
        tenants = [tenant_of(record) for record in records] if tenant_of.per_record else None
        return LokiSide(streams, tenants, self._stamp.of(records), cols, self._names, one=one)

    def from_side(self, lines: Lines) -> Streams | None:
        """:meth:`streams` of a batch from its spans' side data, column-wise (each stream's
        entries as :class:`~shipper.sinks.loki_rows.Rows`), the buffered JSON as the lines
        (``None`` if a span has none)."""
        sides = [span.side for span in lines.spans]
        if not all(isinstance(side, LokiSide) and side.names == self._names
                   for side in sides):
            return None
        batch = BatchColumns([], [[] for _ in self._names], self._names, [], {})
        rows: dict[tuple[str | None, str], tuple[dict[str, str], list[int]]] = {}
        index = 0
        for span, side in zip(lines.spans, cast(list[LokiSide], sides), strict=True):
            self._span_rows(batch, rows, span, side, index)
            index += span.count
        sort, nanos = loki_sort_rows, batch.nanos
        streams: Streams = {key: (labels, Rows(batch, sort(nanos, order)))
                            for key, (labels, order) in rows.items()}
        self._close(streams, lines.count)
        return streams

    def _span_rows(self, batch: BatchColumns, rows: dict[tuple[str | None, str],
                   tuple[dict[str, str], list[int]]], span: Span, side: LokiSide,
                   index: int) -> None:
        """The span's records into ``batch`` (from row ``index``) and their rows into
        ``rows`` by (tenant, stream); a span of one stream and tenant (the usual) without a
        loop in Python, and a span of its whole envelope (the usual too) without slicing
        its side data first."""
        lo, hi = span.first, span.first + span.count
        whole = lo == 0 and hi == len(side.stamps)
        stamps = side.stamps if whole else side.stamps[lo:hi]
        batch.nanos += (cast(list[int], stamps) if None not in stamps
                        else [self._now_ns() if ns is None else ns for ns in stamps])
        for col, values in zip(batch.cols, side.cols, strict=True):
            col += values if whole else values[lo:hi]
        batch.spans.append((span.data, span.ends, span.lo, index))
        self._long_lines(batch, span, index)
        if side.one and side.tenants is None:
            self._rows_of(rows, self.tenant_of.default, side.streams[0]).extend(
                range(index, index + span.count))
            return
        keys = side.streams[lo:hi]
        tenants = ([self.tenant_of.default] * span.count if side.tenants is None
                   else side.tenants[lo:hi])
        if keys.count(keys[0]) == len(keys) and tenants.count(tenants[0]) == len(tenants):
            self._rows_of(rows, tenants[0], keys[0]).extend(range(index, index + span.count))
            return
        for i, (tenant, stream) in enumerate(zip(tenants, keys, strict=True)):
            self._rows_of(rows, tenant, stream).append(index + i)

    @staticmethod
    def _rows_of(rows: dict[tuple[str | None, str], tuple[dict[str, str], list[int]]],
                 tenant: str | None, stream: Stream) -> list[int]:
        labels, key = stream
        got = rows.get((tenant, key))
        if got is None:
            got = rows[tenant, key] = (dict(labels), [])
        return got[1]

    def _long_lines(self, batch: BatchColumns, span: Span, index: int) -> None:
        """Lines longer than ``max_line_bytes``: the record's own (shortened) line."""
        limit, ends = self.settings.max_line_bytes, span.ends
        if ends[-1] - span.lo - len(ends) <= limit:  # no record can be longer
            return
        starts = array(ends.typecode, [span.lo]) + ends[:-1]
        if max(map(sub, ends, starts)) - 1 <= limit:
            return
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if end - start - 1 > limit:
                raw = memoryview(span.data)[start:end - 1]
                batch.overrides[index + i] = self._line(orjson.loads(raw))

    def read_cols(self, records: list[Record]) -> tuple[list[tuple[Any, ...]],
                                                        list[list[str | None]]]:
        """Each record's label values, and each structured metadata's column of values."""
        if self._slots is None:
            return self._reader.read_cols(records, self._labels, self._meta_names)
        reads = self.read(records)
        cols: list[list[str | None]] = [[] for _ in self._meta_names]
        for _, meta in reads:
            got = dict(meta)
            for name, col in zip(self._meta_names, cols, strict=True):
                col.append(got.get(name))
        return [values for values, _ in reads], cols

    def read(self, records: list[Record]) -> list[tuple[tuple[Any, ...], list[Meta]]]:
        """Each record's label values and structured metadata pairs."""
        if self._slots is None:
            return self._reader.read(records, self._labels, self._meta_names)
        split, names = self._labels, self._meta_names
        out = []
        for values, _ in self._reader.read(records, len(self._reader.paths), []):
            firsts = [_first(values[split + start:split + end])
                      for start, end in self._slots]
            out.append((values[:split], [(name, v if type(v) is str else str(v))
                                         for name, v in zip(names, firsts, strict=True)
                                         if v is not None and v != ""]))
        return out

    def _entry(self, record: Record, index: int, line: str | None, meta: list[Meta],
               ns: int | None) -> Entry:
        return Entry(self._now_ns() if ns is None else ns,
                     self._line(record) if line is None else line, meta, index)

    def _now_ns(self) -> int:
        """The timestamp of a record without one (counted)."""
        self.counts["timestamp-missing"] += 1
        return int(self._wall_clock() * 1e9)

    def _line(self, record: Record) -> str:
        limit = self.settings.max_line_bytes
        if self.settings.line == "message":
            raw = str(record.get("message", "")).encode("utf-8")
            if len(raw) <= limit:
                return raw.decode("utf-8")
            self.counts["truncated"] += 1
            return shorten_text(raw.decode("utf-8"), len(raw) - limit)
        raw = orjson.dumps(record, default=str)
        if len(raw) <= limit:
            return raw.decode("utf-8")
        self.counts["truncated"] += 1
        message = str(record.get("message", ""))
        shorter = {**record, "message": shorten_text(message, len(raw) - limit)}
        raw = orjson.dumps(shorter, default=str)
        return truncate_utf8(raw, limit).decode("utf-8")
