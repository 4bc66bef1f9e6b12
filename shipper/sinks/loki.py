"""Grafana Loki sink: ``POST /loki/api/v1/push``.

Protobuf ``PushRequest`` compressed with raw (block) snappy by default, or JSON (optionally
gzip). Streams carry only low-cardinality labels (``namespace``, ``app``, ``container`` by
default; :mod:`shipper.sinks.loki_labels`); ``level``, ``job_id``, ``correlation_id``,
``shard_index``, ``pod``, ``node``, ``trace_id`` and ``span_id`` travel as structured
metadata, so ``{namespace="video"} | job_id="job-abc123"`` finds one job. Unbounded labels
are refused at config time or, with ``unbounded_labels: demote``, moved to structured
metadata (counted). Entries are sorted by timestamp within each stream; an over-size line
is truncated (counted).

Loki's rules on timestamps are met before sending (:mod:`shipper.sinks.loki_order`), one
request per tenant (:mod:`shipper.sinks.loki_tenants`), and a ``400`` for part of a push
is read (:mod:`shipper.sinks.loki_refusals`): what Loki took is delivered, what it refused
for its timestamp is sent again, what it refused for good is dead-lettered
(:mod:`shipper.sinks.loki_settle`). Status codes otherwise as every HTTP sink: 2xx
delivered; 408, 429, 5xx retried; 413 split; other 4xx dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from shipper.errors import FatalSinkError
from shipper.record import Record
from shipper.sinks.auth import auth_headers
from shipper.sinks.base import Payload
from shipper.sinks.batch import Lines
from shipper.sinks.http import HttpPostSink
from shipper.sinks.loki_encode import LokiEncoder, Streams
from shipper.sinks.loki_labels import FALLBACK_LABELS, label_string
from shipper.sinks.loki_order import Entry, OrderPolicy, StreamClock
from shipper.sinks.loki_push import LokiPayload, LokiStream, PushBuilder
from shipper.sinks.loki_refusals import parse_refusal
from shipper.sinks.loki_rows import Rows
from shipper.sinks.loki_send import LokiDelivery, LokiTransport
from shipper.sinks.loki_settle import Settlement, settle
from shipper.sinks.loki_side import LokiSide
from shipper.sinks.settings import LokiSinkSettings

log = logging.getLogger("shipper.sinks")

PUSH_PATH = "/loki/api/v1/push"

__all__ = ["FALLBACK_LABELS", "LokiEncoder", "LokiSink", "label_string", "push_url"]

#: a payload's streams: (tenant, ``None`` or the one stream at risk of being behind)
Group = tuple[str | None, str | None]
#: seconds of clock difference with Loki allowed for when deciding a stream is recent
SKEW_MARGIN = 300.0


def push_url(url: str) -> str:
    """A bare Loki address gets the push path; a URL with a path is used as given."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=PUSH_PATH))
    return url


class LokiSink(HttpPostSink):
    settings: LokiSinkSettings

    def __init__(self, settings: LokiSinkSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.encoder = LokiEncoder(settings, self._wall_clock)
        self.counts = self.encoder.counts
        self.stream_clock = StreamClock(settings.max_tracked_streams, settings.stream_idle_forget,
                                        self._clock)
        self.order = OrderPolicy(settings, self.stream_clock, self._wall_clock)
        self._builder = PushBuilder(settings.encoding, settings.compression)
        self._url = push_url(settings.url)
        self._transport = LokiTransport(settings, sink=self.name)
        self.delivery = LokiDelivery.adopt(self.delivery)
        metrics: Any = kwargs["metrics"]
        self._dropped = metrics.records_dropped_total.labels(reason="out-of-order", rule=self.name)
        self._forgotten: Counter[str] = Counter()

    # --- encoding -------------------------------------------------------------------------
    def encode(self, records: list[Record]) -> list[Payload]:
        return self._payloads(records, self.encoder.streams(records))

    def side(self, records: list[Record]) -> LokiSide | None:
        """Each record's stream, tenant, timestamp and metadata, computed at ``put`` (the
        records are still dicts) and kept with them in a memory buffer."""
        return self.encoder.side(records) if self.settings.line == "record" else None

    def encode_lines(self, lines: Lines) -> list[Payload]:
        """The buffered JSON is the line (``line: record``). From the side data when every
        span has it: a payload that is the whole batch carries it as ``lines`` (its records
        decoded only if it is dead-lettered or partly refused); else the records are
        decoded once, for the labels too."""
        streams = self.encoder.from_side(lines)
        if streams is not None:
            groups, totals, dropped = self._settle(streams)
            if len(groups) == 1 and len(totals) == 1 and not dropped:
                (tenant, _), group_streams = next(iter(groups.items()))
                payload = self._builder.payload(group_streams, [], tenant, lines.count)
                payload.lines = lines
                return [payload]
            return self._build(lines.records(), groups, totals, dropped)
        raws = list(lines.lines())
        loads = orjson.loads
        records = [loads(raw) for raw in raws]
        return self._payloads(records, self.encoder.streams(records, raws))

    def _payloads(self, records: list[Record], streams: Streams) -> list[Payload]:
        """One payload per tenant, timestamps settled per stream (``out_of_order_action``).
        A stream with entries older than ``max_behind - max_ahead`` (less 5 min for clock
        skew) goes in a payload of its own: Loki may have newer entries of it than the sink
        knows (after a restart, or written by another shipper), and it names the refused
        entries of only the last stream of a push. Recent entries are never too far behind
        (Loki takes nothing newer than ``max_ahead`` past its clock)."""
        return self._build(records, *self._settle(streams))

    def _build(self, records: list[Record], groups: dict[Group, list[LokiStream]],
               totals: Counter[Group], dropped: int) -> list[Payload]:
        """The payloads of settled groups; entries point at their own payload's records."""
        payloads: list[LokiPayload] = []
        for group, group_streams in groups.items():
            own = _reindex(group_streams, records)
            payloads.append(self._builder.payload(group_streams, own, group[0], totals.pop(group)))
        if not payloads and totals:  # every entry was dropped
            payloads.append(LokiPayload(b"", [], 0))
        if payloads:
            payloads[0].total += sum(totals.values())  # groups whose every entry was dropped
            payloads[0].dropped = dropped
        return list(payloads)

    def _settle(self, streams: Streams,
                ) -> tuple[dict[Group, list[LokiStream]], Counter[Group], int]:
        """Streams by payload group (tenant, and the stream itself if it is at risk of
        being behind Loki's newest), each group's entry count, and the entries dropped."""
        groups: dict[Group, list[LokiStream]] = {}
        totals: Counter[Group] = Counter()
        dropped = 0
        settings = self.settings
        margin = max(0.0, settings.max_behind - settings.max_ahead - SKEW_MARGIN)
        safe_from = int((self._wall_clock() - margin) * 1e9)
        for (tenant, key), (labels, entries) in streams.items():
            kept, left_out = self._settle_stream((tenant or "", key), entries)
            dropped += len(left_out)
            first = (kept.lowest if isinstance(kept, Rows) else kept[0].ns) if kept else 0
            group = (tenant, key if kept and first < safe_from else None)
            totals[group] += len(entries)
            if kept:
                groups.setdefault(group, []).append(LokiStream(key, labels, kept))
        self.counts.update(self.order.counts)
        self.order.counts.clear()
        self._flush_forgotten()
        return groups, totals, dropped

    def _settle_stream(self, key: tuple[str, str], entries: list[Entry] | Rows,
                       ) -> tuple[list[Entry] | Rows, list[Entry]]:
        """(to send, dropped) of one stream; rows whose timestamps go as they are stay
        rows (no entry objects made)."""
        if isinstance(entries, Rows):
            if self.order.as_is(key, entries.lowest, entries.highest):
                return entries, []
            entries = entries.entries()
        return self.order.settle(key, entries)

    def _flush_forgotten(self) -> None:
        new = self.stream_clock.forgotten - self._forgotten
        if new:
            self._forgotten.update(new)
            log.info("sink %s: forgot the newest timestamp of %s stream(s) (max_tracked_streams "
                     "%d, idle %gs)", self.name, dict(new), self.settings.max_tracked_streams,
                     self.settings.stream_idle_forget)

    # --- sending --------------------------------------------------------------------------
    async def send(self, payload: Payload) -> None:
        """POST; a 400 for part of the push is settled and the rest sent again at once."""
        if not isinstance(payload, LokiPayload):
            await super().send(payload)
            return
        self._dropped.inc(payload.dropped)
        payload.dropped = 0
        while payload.streams:
            status, headers, text = await self._transport.post(
                self._url, payload.body, {**self._headers, **payload.headers})
            if status == 400 and await self._partly_refused(payload, text):
                continue
            self.classify(status, headers, text[:300].strip())
            return

    async def _partly_refused(self, payload: LokiPayload, text: str) -> bool:
        """Settle what Loki took and refused; ``False``: not a refusal of part of this push."""
        if payload.lines is not None:  # the whole batch: its records, in batch order
            payload.records, payload.lines = payload.lines.records(), None
        outcome = settle(payload, parse_refusal(text), self.order)
        if outcome is None:
            return False
        self._m.requests("partial").inc()
        self._m.forwarded.inc(len(outcome.accepted))
        self._count_changes()
        self._dropped.inc(len(outcome.dropped))
        await self._dead_letter(payload, outcome)
        _keep(payload, outcome)
        if payload.streams:
            self._builder.rebuild(payload)
        return True

    def _count_changes(self) -> None:
        for reason, n in self.order.counts.items():
            self._m.failed(reason).inc(n)
        self.order.counts.clear()

    async def _dead_letter(self, payload: LokiPayload, outcome: Settlement) -> None:
        by_reason: dict[str, list[Record]] = {}
        for entry, reason in outcome.dead:
            by_reason.setdefault(reason, []).append(payload.records[entry.index])
        for reason, records in by_reason.items():
            await self.delivery.dead_letter(Payload(b"", records, 0), FatalSinkError(
                f"HTTP 400: {reason}", sink=self.name, status=400))

    async def open(self) -> None:
        if self.encoder.demoted:
            log.warning("sink %s: unbounded label(s) %s demoted to structured metadata",
                        self.name, ", ".join(self.encoder.demoted))
        auth = await asyncio.to_thread(auth_headers, self.settings)
        self._headers = {**self.settings.headers, **auth}
        await self._transport.open()


def _reindex(streams: list[LokiStream], records: list[Record]) -> list[Record]:
    """The streams' records (in stream order) from ``records``, each entry pointing at its
    own in that list."""
    own = []
    for stream in streams:
        for entry in stream.entries:
            own.append(records[entry.index])
            entry.index = len(own) - 1
    return own


def _keep(payload: LokiPayload, outcome: Settlement) -> None:
    """The payload keeps only the entries to send again (and their records)."""
    again = {id(e) for e in outcome.resend}
    streams = []
    for stream in payload.streams:
        entries = sorted((e for e in stream.entries if id(e) in again), key=lambda e: e.ns)
        if entries:
            streams.append(LokiStream(stream.key, stream.labels, entries))
    payload.records = _reindex(streams, payload.records)
    payload.streams = streams
