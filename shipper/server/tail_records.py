"""What a live-tail client sees of a record: the filter it asked for and the record's JSON.

Shared by the ring (:mod:`shipper.server.tail`) and its replays: a record JSON cannot hold
(nesting deeper than the encoders allow) becomes its plain fields and a note, so neither
the ring nor a client ever fails on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from shipper.record import LEVEL_RANK, Record
from shipper.record_fields import compile_getter, record_rank

#: the fields a record that cannot be encoded keeps in the ring and on the wire
_PLAIN_FIELDS = ("timestamp", "level", "message", "logger", "job_id", "correlation_id",
                 "shard_index", "stream", "k8s", "file")
#: the tail filter's fields: the record's own, else the attribute of that name
_JOB_ID = compile_getter("job_id")
_CORRELATION_ID = compile_getter("correlation_id")


@dataclass(frozen=True, slots=True)
class TailFilter:
    """Which records a tail client wants; empty fields match everything."""

    job_id: str | None = None
    min_rank: int = 0
    correlation_id: str | None = None
    logger: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> TailFilter:
        """Build from ``job_id``, ``level`` (minimum), ``correlation_id``, ``logger``."""
        level = (query.get("level") or "").strip().lower()
        if level and level not in LEVEL_RANK:
            raise ValueError(f"unknown level {level!r} (use one of {', '.join(LEVEL_RANK)})")
        return cls(
            job_id=query.get("job_id") or None,
            min_rank=LEVEL_RANK[level] if level else 0,
            correlation_id=query.get("correlation_id") or None,
            logger=query.get("logger") or None,
        )

    def matches(self, record: Record) -> bool:
        if self.min_rank and record_rank(record) < self.min_rank:
            return False
        if self.job_id is not None and _text(_JOB_ID(record)) != self.job_id:
            return False
        if (self.correlation_id is not None
                and _text(_CORRELATION_ID(record)) != self.correlation_id):
            return False
        return self.logger is None or _logger_matches(record.get("logger"), self.logger)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _logger_matches(logger: object, wanted: str) -> bool:
    """Exact name, or a dotted child of it (``stages`` matches ``stages.asr``)."""
    if not isinstance(logger, str):
        return False
    return logger == wanted or logger.startswith(wanted + ".")


def encode(record: Record) -> bytes:
    """The JSON of a record (see :func:`encodable`)."""
    try:
        return orjson.dumps(record, default=str)
    except orjson.JSONEncodeError:
        return orjson.dumps(encodable(record), default=str)


def encodable(record: Record) -> Record:
    """``record`` if it encodes as JSON, else its plain fields and a note (e.g. nesting
    deeper than JSON encoders allow), so neither the ring nor a client ever fails on it."""
    try:
        orjson.dumps(record, default=str)
    except orjson.JSONEncodeError as exc:
        plain = Record({k: record[k] for k in _PLAIN_FIELDS if k in record})
        plain["attributes"] = {"tail_note": f"record not encodable as JSON: {exc}"}
        return plain
    return record
