"""A Loki push as the sink keeps it until Loki has taken all of it: streams of entries
that point back at their records, and the request body built from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from shipper.kernels import loki_push, loki_push_rows, snappy_compress_into, snappy_max_len
from shipper.record import Record
from shipper.sinks.batch import Payload
from shipper.sinks.loki_order import Entry
from shipper.sinks.loki_rows import Rows
from shipper.sinks.transport import compress

#: the largest snappy output buffer a builder keeps for its next push (bytes): a push
#: whose body may be larger is compressed into a buffer of its own
KEEP_OUT = 2 << 20


class SnappyBlocks:
    """Raw (block) snappy (the kernel ``snappy_compress_into``: snappy's block format, any
    snappy decoder reads it; compiled, it steps faster than the reference encoder through
    bytes that match nothing, see :mod:`shipper.kernels`), written into one output buffer
    kept between pushes (up to :data:`KEEP_OUT`) and copied out: a new buffer a push costs
    zeroing it (~0.6 M instructions for a 660 KB push) and its pages."""

    def __init__(self) -> None:
        self._out: bytearray | None = None

    def __call__(self, raw: bytes) -> bytes:
        need = snappy_max_len(len(raw))
        if need > KEEP_OUT:
            own = bytearray(need)
            return bytes(memoryview(own)[:snappy_compress_into(raw, own)])
        out, self._out = self._out, None  # a call that came in meanwhile makes its own
        if out is None or len(out) < need:
            out = bytearray(min(KEEP_OUT, need + need // 4))
        size = snappy_compress_into(raw, out)
        self._out = out
        return bytes(memoryview(out)[:size])


class LokiStream:
    """A stream of a push: its label string (``key``), labels and entries, given as a
    list or as :class:`~shipper.sinks.loki_rows.Rows` of a batch (``rows``), whose
    entries are made on first use of ``entries`` (then ``rows`` is ``None``: the entries
    may change, and the push is written from them)."""

    __slots__ = ("_entries", "key", "labels", "rows")

    def __init__(self, key: str, labels: dict[str, str], entries: list[Entry] | Rows) -> None:
        self.key, self.labels = key, labels
        self.rows: Rows | None = entries if isinstance(entries, Rows) else None
        self._entries: list[Entry] | None = None if isinstance(entries, Rows) else entries

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            assert self.rows is not None
            self._entries, self.rows = self.rows.entries(), None
        return self._entries

    @entries.setter
    def entries(self, entries: list[Entry]) -> None:
        self._entries, self.rows = entries, None


@dataclass(slots=True, eq=False)
class LokiPayload(Payload):
    """``records``: those still to deliver (entries' ``index`` points into it);
    ``total``: every record this payload answers for (those dropped by
    ``out_of_order_action: drop`` included); ``dropped``: those, counted when the payload
    is first sent (not when an encode is only a trial)."""

    tenant: str | None = None
    streams: list[LokiStream] = field(default_factory=list)
    total: int = 0
    dropped: int = 0


class PushBuilder:
    """Streams -> request body and headers (snappy protobuf or JSON, optionally gzip)."""

    def __init__(self, encoding: str, compression: str) -> None:
        self._protobuf, self._compression = encoding == "protobuf", compression
        self._snappy = SnappyBlocks()

    def payload(self, streams: list[LokiStream], records: list[Record], tenant: str | None,
                total: int) -> LokiPayload:
        out = LokiPayload(b"", records, 0, tenant=tenant, streams=streams, total=total)
        self.rebuild(out)
        return out

    def rebuild(self, payload: LokiPayload) -> None:
        """(Re)build the body from ``payload.streams`` (after some entries left it)."""
        streams = payload.streams
        if self._protobuf:
            raw = _protobuf(streams)
            body, headers = self._snappy(raw), {"Content-Type": "application/x-protobuf"}
        else:
            raw = self._json(streams)
            body, encoding = compress(raw, self._compression)
            headers = {"Content-Type": "application/json", **encoding}
        if payload.tenant is not None:
            headers["X-Scope-OrgID"] = payload.tenant
        payload.body, payload.raw_bytes, payload.headers = body, len(raw), headers

    @staticmethod
    def _json(streams: list[LokiStream]) -> bytes:
        out = [{"stream": s.labels,
                "values": [[str(e.ns), e.line, dict(e.meta)] if e.meta else [str(e.ns), e.line]
                           for e in s.entries]}
               for s in streams]
        return orjson.dumps({"streams": out})


def _protobuf(streams: list[LokiStream]) -> bytes:
    """The serialized ``PushRequest``: from the rows of one batch's columns when every
    stream has them (no entry objects), else from the entries."""
    first = streams[0].rows if streams else None
    if first is not None and all(s.rows is not None and s.rows.batch is first.batch
                                 for s in streams):
        batch = first.batch
        return loki_push_rows([(s.key, s.rows.order) for s in streams if s.rows is not None],
                              batch.nanos, batch.cols, batch.names, batch.spans,
                              batch.overrides)
    return loki_push([(s.key, s.entries) for s in streams])
