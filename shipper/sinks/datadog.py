"""Datadog logs sink: ``POST /api/v2/logs`` with ``DD-API-KEY``, a gzip JSON array.

Limits of the intake are enforced before sending: at most ``max_entries`` (1,000) entries
and ``max_payload_bytes`` (5 MB, uncompressed) per request, ``max_entry_bytes`` (1 MB) per
entry (the message is truncated to fit; counted in :attr:`DatadogSink.counts`).
The intake accepts, then silently ignores, entries stamped more than 18 h in the past or
2 h in the future: a record older than ``max_age`` is never sent but dead-lettered (counted
in ``shipper_records_failed_total{reason="dead-letter"}``, its file line says why); one
ahead by more than ``max_future`` is sent stamped now, its own time in
``original_timestamp`` (counted as ``timestamp-clamped``).
Reserved attributes: ``message``, ``status`` (level), ``hostname`` (node), ``service``
(config, else the ``tags.datadoghq.com/service`` label, else the app label), ``ddsource``,
``ddtags`` (:mod:`shipper.sinks.datadog_tags`); ``job_id`` and ``correlation_id`` stay
top-level attributes so ``@job_id:job-abc123`` finds one job.
Responses (:func:`classify_datadog`): 2xx delivered; 408, 425, 429, 5xx retried
(``Retry-After`` honoured); 413 split; 400, 401, 403 and every other status final.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import orjson

from shipper.errors import ConfigError
from shipper.kernels.pure_datadog import pack_arrays
from shipper.record import Record
from shipper.record_fields import first_of
from shipper.sinks.auth import resolve_secret
from shipper.sinks.base import Payload
from shipper.sinks.batch import Lines
from shipper.sinks.datadog_side import (
    Bound,
    DatadogSide,
    bodies_from_side,
    bound,
    second_text,
    side_of,
)
from shipper.sinks.datadog_tags import pod_tags
from shipper.sinks.fields import shorten_text, truncate_utf8
from shipper.sinks.http import HttpPostSink
from shipper.sinks.settings import DatadogSinkSettings
from shipper.sinks.transport import classify_http, compress

STATUS = {"trace": "debug", "debug": "debug", "info": "info", "warning": "warning",
          "error": "error", "critical": "critical"}
INTAKE_PATH = "/api/v2/logs"
_RESERVED = ("message", "status", "hostname", "service", "ddsource", "ddtags")
#: statuses the intake documents as "retry after some time" (425: too early, a replay guard)
RETRYABLE = frozenset({408, 425, 429})


def classify_datadog(status: int, headers: Mapping[str, str] | None, *, sink: str, now: float,
                     detail: str = "") -> None:
    """The intake's answer -> delivered (return), retry, split (413) or final (dead letter);
    the generic HTTP rules with 425 retried too, and a refused key said so."""
    if status in (401, 403):
        hint = "the intake refused the API key: check api_key, api_key_file or the env var"
        detail = f"{detail} ({hint})" if detail else hint
    classify_http(status, headers, sink=sink, now=now, detail=detail, retryable_4xx=RETRYABLE)


def intake_url(url: str) -> str:
    """A bare intake address gets ``/api/v2/logs``; a URL with a path is used as given."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=INTAKE_PATH))
    return url


_TAG_CACHE_MAX = 256


class DatadogEncoder:
    """Records -> Datadog log entries, packed into arrays within the intake limits."""

    def __init__(self, settings: DatadogSinkSettings,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._wall_clock = wall_clock
        self.counts: Counter[str] = Counter()
        self._service = first_of(["k8s.labels.tags.datadoghq.com/service",
                                  "k8s.labels.app.kubernetes.io/name", "k8s.labels.app"])
        self._tags = ",".join(tag.replace(",", "_") for tag in settings.tags)
        self._tag_cache: dict[bytes, str] = {}
        self.now = 0.0  # the wall clock of the batch being encoded (seconds)
        self._oldest: Bound | None = None
        self._newest: Bound | None = None
        self._put_bound: tuple[int | None, str] = (None, "")
        self._start_batch()

    def entry(self, record: Record) -> dict[str, Any]:
        out = {key: value for key, value in record.items() if key not in _RESERVED}
        out["message"] = record.get("message", "")
        out.update(self.reserved(record.get("level", "info"), record.get("k8s")))
        self._clamp_future(out)
        return {k: v for k, v in out.items() if v != "" or k == "message"}

    def reserved(self, level: Any, k8s: Any) -> dict[str, Any]:
        """The reserved attributes but ``message`` of a record of this level and pod facts
        (its ``k8s``)."""
        k8s = k8s or {}
        service = self.settings.service or self._service(cast(Record, {"k8s": k8s}))
        return {"status": STATUS.get(level, "info"), "hostname": k8s.get("node") or "",
                "service": service or "", "ddsource": self.settings.source,
                "ddtags": self._ddtags(k8s)}

    def suffix(self, level: Any, k8s: Any) -> bytes:
        """``,"status":...}``: what ends the entry of a plain record (its JSON without
        its closing brace before it)."""
        attrs = {k: v for k, v in self.reserved(level, k8s).items() if v != ""}
        return b"," + orjson.dumps(attrs, default=str)[1:]

    def bounds(self) -> tuple[Bound | None, Bound | None]:
        """Start a batch (its wall clock); the oldest and newest stamps it sends as they
        are (``max_age`` / ``max_future``; ``None``: no bound)."""
        self._start_batch()
        return self._oldest, self._newest

    def first_at_put(self) -> str | None:
        """The oldest second the intake takes now (``None``: no ``max_age``), for the side
        data of an envelope put now (a batch's bound is later still)."""
        if self.settings.max_age is None:
            return None
        second = int(self._wall_clock() - self.settings.max_age)
        if self._put_bound[0] != second:  # formatted once a second
            self._put_bound = (second, second_text(second))
        return self._put_bound[1]

    def _ddtags(self, k8s: dict[str, Any]) -> str:
        """The record's ``ddtags``, computed once per distinct ``k8s`` per batch (a batch
        is usually one pod's: this halved the encoder's cost)."""
        key = orjson.dumps(k8s, default=str)
        tags = self._tag_cache.get(key)
        if tags is None:
            if len(self._tag_cache) >= _TAG_CACHE_MAX:
                self._tag_cache.clear()
            tags = ",".join(pod_tags(k8s, self.now) + ([self._tags] if self._tags else []))
            self._tag_cache[key] = tags
        return tags

    def _start_batch(self) -> None:
        self.now = self._wall_clock()
        self._tag_cache.clear()  # pod facts may change; the CronJob check depends on now
        max_age, max_future = self.settings.max_age, self.settings.max_future
        self._oldest = bound(None if max_age is None else self.now - max_age)
        self._newest = bound(None if max_future is None else self.now + max_future)

    def split(self, records: list[Record]) -> tuple[list[Record], list[Record]]:
        """``(fresh, old)``: old records are stamped more than ``max_age`` ago, which the
        intake would accept and then drop without a word."""
        self._start_batch()
        oldest = self._oldest
        if oldest is None:
            return records, []
        fresh: list[Record] = []
        old: list[Record] = []
        for record in records:
            (old if oldest.later_than(record.get("timestamp")) else fresh).append(record)
        return fresh, old

    def _clamp_future(self, entry: dict[str, Any]) -> None:
        """Stamped more than ``max_future`` ahead: sent stamped now, its time kept."""
        newest = self._newest
        if newest is None or not newest.earlier_than(entry.get("timestamp")):
            return
        self.counts["timestamp-clamped"] += 1
        entry["original_timestamp"] = entry["timestamp"]
        entry["timestamp"] = datetime.fromtimestamp(self.now, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")

    def dumps(self, record: Record) -> bytes:
        """One entry as JSON, its message truncated if the entry exceeds the entry limit."""
        entry = self.entry(record)
        raw = orjson.dumps(entry, default=str)
        limit = self.settings.max_entry_bytes
        if len(raw) <= limit:
            return raw
        self.counts["truncated"] += 1
        entry["message"] = shorten_text(str(entry["message"]), len(raw) - limit)
        raw = orjson.dumps(entry, default=str)
        if len(raw) > limit:  # the other attributes alone are too big: keep the essentials
            essentials = {k: entry[k] for k in _RESERVED if k in entry}
            essentials["message"] = truncate_utf8(
                str(entry["message"]).encode(), limit // 2).decode("utf-8")
            raw = orjson.dumps(essentials, default=str)
        return raw

    def pack(self, records: list[Record]) -> list[tuple[bytes, list[Record]]]:
        """``[...]`` arrays of at most ``max_entries`` entries and ``max_payload_bytes``
        (the caller sets aside the records :meth:`split` finds too old first)."""
        self._start_batch()
        raws = [self.dumps(record) for record in records]
        return [(body, records[part]) for body, part in self.arrays(raws)]

    def arrays(self, raws: list[bytes]) -> list[tuple[bytes, slice]]:
        """Entries packed into arrays within the limits (:func:`pack_arrays`), each with
        the slice of ``raws`` it holds."""
        bodies, counts = pack_arrays(raws, self.settings.max_entries,
                                     self.settings.max_payload_bytes)
        out: list[tuple[bytes, slice]] = []
        start = 0
        for body, count in zip(bodies, counts, strict=True):
            out.append((body, slice(start, start + count)))
            start += count
        return out


class DatadogSink(HttpPostSink):
    settings: DatadogSinkSettings

    def __init__(self, settings: DatadogSinkSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.encoder = DatadogEncoder(settings, self._wall_clock)
        self.counts = self.encoder.counts
        self._url = intake_url(settings.url)

    def encode(self, records: list[Record]) -> list[Payload]:
        """The arrays to send, and the records too old for the intake as a payload that is
        withheld (dead-lettered and counted, never sent)."""
        fresh, old = self.encoder.split(records)
        payloads = [Payload(b"", old, 0, withheld=self._too_old(len(old)))] if old else []
        for raw, owners in self.encoder.pack(fresh):
            payloads.append(self._payload(raw, owners))
        return payloads

    def side(self, records: list[Record]) -> DatadogSide:
        """Each record's level, pod facts, timestamp and whether its JSON suits as its
        entry, computed at ``put`` (see :mod:`shipper.sinks.datadog_side`)."""
        return side_of(records, self.encoder.first_at_put())

    def encode_lines(self, lines: Lines) -> list[Payload]:
        """:meth:`encode` of the batch, from its side data when every span has it: a
        payload that is the whole batch carries it as ``lines`` (its records decoded only
        if it is dead-lettered or split); else the records are decoded."""
        sides = [span.side for span in lines.spans]
        if not all(isinstance(side, DatadogSide) for side in sides):
            return self.encode(lines.records())
        bodies, counts, fresh, old = bodies_from_side(self.encoder, lines,
                                                      cast(list[DatadogSide], sides))
        if not old and len(bodies) == 1:
            return [self._payload(bodies[0], [], lines)]
        records = lines.records()
        payloads = [Payload(b"", [records[i] for i in old], 0,
                            withheld=self._too_old(len(old)))] if old else []
        start = 0
        for raw, count in zip(bodies, counts, strict=True):
            part = fresh[start:start + count]
            payloads.append(self._payload(raw, [records[i] for i in part]))
            start += count
        return payloads

    def _payload(self, raw: bytes, owners: list[Record], lines: Lines | None = None) -> Payload:
        body, encoding = compress(raw, self.settings.compression)
        headers = {"Content-Type": "application/json", **encoding}
        return Payload(body, owners, len(raw), headers, lines=lines)

    def _too_old(self, count: int) -> str:
        return (f"{count} record(s) stamped more than {(self.settings.max_age or 0) / 3600:g} h "
                "ago (max_age): the Datadog intake ignores logs older than 18 h, so they are "
                "not sent")

    def classify(self, status: int, headers: Any, detail: str = "") -> None:
        classify_datadog(status, headers, sink=self.name, now=self._wall_clock(), detail=detail)

    async def open(self) -> None:
        key = await asyncio.to_thread(resolve_secret, self.settings, "api_key")
        if key is None:
            raise ConfigError("no Datadog API key (set api_key, api_key_file or the "
                              f"{self.settings.api_key_env or 'DD_API_KEY'} env var)",
                              key=f"sinks.{self.name}.api_key")
        self._headers = {**self.settings.headers, "DD-API-KEY": key.get_secret_value()}
        await self._transport.open()

