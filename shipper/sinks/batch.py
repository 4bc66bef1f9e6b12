"""The data the sink worker moves around: payloads, envelopes, batches, metric handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipper.acks import AckToken
from shipper.metrics import Metrics
from shipper.record import Record


@dataclass(slots=True)
class Payload:
    """One request body and the records it carries (for 413 split and dead letter)."""

    body: bytes
    records: list[Record]
    raw_bytes: int
    headers: dict[str, str] = field(default_factory=dict)
    batch_id: str = ""


@dataclass(slots=True, eq=False)
class Envelope:
    records: list[Record]
    sizes: list[int]
    token: AckToken
    enqueued_at: float
    remaining: int
    nbytes: int
    cursor: int = 0


@dataclass(slots=True)
class Batch:
    records: list[Record] = field(default_factory=list)
    owners: list[Envelope] = field(default_factory=list)
    nbytes: int = 0


class Owners:
    """Which envelope each record of a batch belongs to (by identity, duplicates allowed)."""

    def __init__(self, batch: Batch) -> None:
        self._by_id: dict[int, list[Envelope]] = {}
        for record, owner in zip(batch.records, batch.owners):
            self._by_id.setdefault(id(record), []).append(owner)

    def take(self, records: list[Record]) -> list[Envelope]:
        taken = []
        for record in records:
            owners = self._by_id.get(id(record))
            if owners:
                taken.append(owners.pop())
        return taken

    def rest(self) -> list[Envelope]:
        return [owner for owners in self._by_id.values() for owner in owners]


class SinkMetrics:
    """The sink's metric children, bound once (labels looked up per sink, not per record)."""

    def __init__(self, metrics: Metrics, sink: str) -> None:
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
