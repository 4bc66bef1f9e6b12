"""The data a sink worker moves around: envelopes of encoded records, batches, payloads.

Records are held **encoded**: an envelope is one NDJSON blob (every record ends in ``\\n``)
with the end offset of each record, so what the buffer holds is what it counts (a dict
costs about 5x its JSON size in memory; one ``orjson.dumps`` result kept on its own about
10x, since its allocation keeps the encoder's spare capacity). A batch (:class:`Lines`) is a
list of :class:`Span`, runs of consecutive records of one envelope.

A sink may keep **side data** with an envelope (:class:`Side`, from ``BaseSink.side`` at
``put``): what it computes from the records while they are still dicts (the Loki sink: each
record's stream, timestamp and metadata), so that its encoder need not decode them again.
It is counted with the records (``Envelope.overhead``), follows them into spans and halves,
and is cut with them when a drop policy sheds some; a buffer that cannot keep it (disk)
leaves it out, and the encoder then decodes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.record import Record

#: bytes an envelope costs besides its records (objects, token, arrays' headers), measured
ENVELOPE_OVERHEAD = 512
#: bytes a record costs besides its JSON (its end offset and level flag)
RECORD_OVERHEAD = 5


def cost(nbytes: int, nrecords: int, overhead: int = RECORD_OVERHEAD) -> int:
    """What records take in memory, as the buffer's ``max_bytes`` counts it (``overhead``:
    each record's besides its JSON, side data included)."""
    return nbytes + overhead * nrecords


class Side(Protocol):
    """A sink's side data for the records of one envelope, by record index."""

    #: bytes it takes in memory, about (counted with the records)
    @property
    def nbytes(self) -> int: ...

    def keep(self, indices: list[int]) -> Side:
        """The side data of records ``indices`` only (in that order, from 0)."""
        ...


@dataclass(slots=True, eq=False)
class Envelope:
    """One ``put``: its records encoded, and what is left of them to send and to settle."""

    data: bytes
    #: ``ends[i]``: offset in ``data`` just after record ``i`` (its newline included)
    ends: array[int]
    #: one byte per record, 1 = level warning or above (``None``: levels not tracked)
    high: bytes | None
    token: AckToken
    enqueued_at: float
    #: index of the first record not yet taken into a batch (or shed)
    first: int = 0
    #: records not yet accounted for (queued or in flight)
    remaining: int = 0
    #: the sink's side data for these records (``None``: none)
    side: Side | None = None
    #: bytes each record costs besides its JSON (side data included)
    overhead: int = RECORD_OVERHEAD

    @property
    def count(self) -> int:
        return len(self.ends)

    def start(self, index: int) -> int:
        """Offset of record ``index`` in ``data``."""
        return self.ends[index - 1] if index > 0 else 0

    @property
    def queued(self) -> int:
        """Records not yet taken into a batch."""
        return len(self.ends) - self.first

    @property
    def queued_bytes(self) -> int:
        return len(self.data) - self.start(self.first)


@dataclass(slots=True)
class Span:
    """Records ``[lo, hi)`` (byte offsets into ``data``) of one envelope, in a batch."""

    env: Envelope
    data: bytes
    ends: array[int]
    lo: int
    #: the envelope's side data when the span was taken, and the index there of the
    #: span's first record (a shed rebuilds the envelope, not the spans in flight)
    side: Side | None = None
    first: int = 0

    @property
    def count(self) -> int:
        return len(self.ends)

    @property
    def nbytes(self) -> int:
        return self.ends[-1] - self.lo if self.ends else 0

    def lines(self) -> Iterator[memoryview]:
        """Each record's JSON (without its newline)."""
        view = memoryview(self.data)
        start = self.lo
        for end in self.ends:
            yield view[start:end - 1]
            start = end


@dataclass(slots=True)
class Lines:
    """A batch of encoded records (spans of envelopes, in order)."""

    spans: list[Span] = field(default_factory=list)
    count: int = 0
    nbytes: int = 0
    #: the buffer's id of this batch, to commit it once settled (disk buffer)
    commit_id: int | None = None

    def add(self, span: Span) -> None:
        self.spans.append(span)
        self.count += span.count
        self.nbytes += span.nbytes

    def ndjson(self) -> bytes:
        """The batch as NDJSON (one record per line, each ending in ``\\n``)."""
        if len(self.spans) == 1:
            span = self.spans[0]
            if span.lo == 0 and span.nbytes == len(span.data):
                return span.data
        return b"".join([memoryview(s.data)[s.lo:s.lo + s.nbytes] for s in self.spans])

    def lines(self) -> Iterator[memoryview]:
        for span in self.spans:
            yield from span.lines()

    def records(self) -> list[Record]:
        """The records decoded (for encoders that need dicts, and the dead letter)."""
        loads = orjson.loads
        return [loads(line) for line in self.lines()]

    def halves(self) -> tuple[Lines, Lines]:
        """The batch cut in two by record count (for a 413 split)."""
        first, second = Lines(), Lines()
        half = self.count // 2
        for span in self.spans:
            taken = first.count
            if taken >= half:
                second.add(span)
            elif taken + span.count <= half:
                first.add(span)
            else:
                cut = half - taken
                first.add(Span(span.env, span.data, span.ends[:cut], span.lo, span.side,
                               span.first))
                second.add(Span(span.env, span.data, span.ends[cut:], span.ends[cut - 1],
                                span.side, span.first + cut))
        return first, second


@dataclass(slots=True)
class Payload:
    """One request body and what it carries: ``records`` (dicts) or ``lines`` (encoded)."""

    body: bytes
    records: list[Record]
    raw_bytes: int
    headers: dict[str, str] = field(default_factory=dict)
    batch_id: str = ""
    lines: Lines | None = None
    #: records of an accepted request the backend said it refused (OTLP
    #: ``partial_success``): set by ``send``, counted by the sink under their own reason
    #: and left out of ``records_forwarded_total``
    refused: int = 0
    #: why these records must not be sent at all (e.g. older than the backend accepts):
    #: the delivery dead-letters them with this reason and makes no request
    withheld: str = ""

    @property
    def count(self) -> int:
        return self.lines.count if self.lines is not None else len(self.records)


class SinkMetrics:
    """The sink's metric children, bound once (labels looked up per sink, not per record)."""

    def __init__(self, registry: Metrics, sink: str) -> None:
        metrics: Any = registry  # its metrics are attributes made from METRIC_SPECS
        self._metrics, self._sink = metrics, sink
        self.forwarded = metrics.records_forwarded_total.labels(sink=sink)
        self.bytes = metrics.bytes_forwarded_total.labels(sink=sink)
        self.retries = metrics.sink_retries_total.labels(sink=sink)
        self.duration = metrics.sink_request_duration_seconds.labels(sink=sink)
        self.buffer_records = metrics.buffer_records.labels(sink=sink)
        self.buffer_bytes = metrics.buffer_bytes.labels(sink=sink)
        self.lag = metrics.delivery_lag_seconds.labels(sink=sink)

    def requests(self, outcome: str) -> Any:
        return self._metrics.sink_requests_total.labels(sink=self._sink, outcome=outcome)

    def failed(self, reason: str) -> Any:
        return self._metrics.records_failed_total.labels(sink=self._sink, reason=reason)
