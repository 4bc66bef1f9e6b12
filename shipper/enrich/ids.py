"""Per-file enrichment: pod facts, path-template fields and the job/correlation/shard ids.

Rules (first that applies wins):

* ``job_id``: the line's own ``job_id``/``jobId``, else the path template's ``job_id``,
  else the pod label ``batch.kubernetes.io/job-name``, else ``job-name``, else the
  annotation ``shipper/job-id``.
* ``correlation_id``: the line's ``correlation_id``/``correlationId``/``request_id``/
  ``requestId``, else the annotation ``shipper/correlation-id``.
* ``shard_index``: the line's ``shard_index``, else ``JOB_COMPLETION_INDEX``, else the
  annotation ``batch.kubernetes.io/job-completion-index``.

Everything that does not depend on the line is computed once per file into a
:class:`FileContext`, so the per-record work is a few dict operations (in the kernel
:func:`~shipper.kernels.enrich_records` for the common cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipper.enrich.podinfo import PodFacts
from shipper.enrich.templates import PathTemplates
from shipper.enrich.trace import GATE_KEYS
from shipper.errors import BatchStopped
from shipper.kernels import enrich_records
from shipper.record import Record

JOB_KEYS = ("job_id", "jobId")
CORRELATION_KEYS = ("correlation_id", "correlationId", "request_id", "requestId")
SHARD_KEYS = ("shard_index", "shardIndex")
JOB_LABELS = ("batch.kubernetes.io/job-name", "job-name")
#: every attribute key an id is lifted from (most records have none of them)
ID_KEYS = frozenset((*JOB_KEYS, *CORRELATION_KEYS, *SHARD_KEYS))
_SHARD, _SHARD_CAMEL = SHARD_KEYS


def to_shard_index(value: object) -> int | None:
    """An int shard index from an int or an ASCII digit string, else ``None`` (``"¹"`` is
    a digit to ``str.isdigit`` but not to ``int``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] == "-" else text
        if digits.isascii() and digits.isdigit():
            return int(text)
    return None


@dataclass(slots=True, frozen=True)
class FileContext:
    """The line-independent part of enrichment for one file."""

    k8s: dict[str, object]
    path_fields: dict[str, str]
    job_id: str | None
    correlation_id: str | None
    shard_index: int | None


def file_context(path: str, facts: PodFacts, templates: PathTemplates) -> FileContext:
    """Pre-compute what every record of ``path`` shares."""
    fields = dict(templates.fields(path))
    job_id = fields.pop("job_id", None) or _first(facts.labels, JOB_LABELS) \
        or facts.annotations.get("shipper/job-id")
    shard = to_shard_index(facts.completion_index)
    if shard is None:
        shard = to_shard_index(facts.annotations.get("batch.kubernetes.io/job-completion-index"))
    return FileContext(k8s=facts.k8s, path_fields=fields, job_id=job_id or None,
                       correlation_id=facts.annotations.get("shipper/correlation-id") or None,
                       shard_index=shard)


def _first(mapping: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if value:
            return value
    return None


def _lift(attrs: dict[str, Any], keys: tuple[str, ...]) -> object | None:
    for key in keys:
        if key in attrs:
            value: object = attrs[key]
            if value is not None and value != "":
                del attrs[key]
                return value
    return None


def _lift_shard(attrs: dict[str, Any]) -> int | None:
    if _SHARD not in attrs and _SHARD_CAMEL not in attrs:
        return None
    for key in SHARD_KEYS:
        if key in attrs:
            shard = to_shard_index(attrs[key])
            if shard is not None:
                del attrs[key]
                return shard
    return None


class Enricher:
    """A stage bound to one file's :class:`FileContext`: ``enricher(record)`` for one
    record, :meth:`enrich_batch` for many (same result, less work per record).

    The redaction pre-scan relies on this (``RedactStage._facts_hits``): a record's ids
    are the file's (checked once per file) or its line's own (on its raw line, which is
    scanned), and its ``k8s`` is the file's. A stage that sets ids from anywhere else
    before redaction must make the pre-scan check them."""

    __slots__ = ("ctx", "_defaults", "_plain")

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        # the file's ids, for a record without ids of its own, in the order they are set
        ids = (("job_id", ctx.job_id), ("correlation_id", ctx.correlation_id),
               ("shard_index", ctx.shard_index))
        self._defaults = tuple((key, value) for key, value in ids if value is not None)
        # a line's own job and correlation ids are all it adds (no path fields, no shard)
        self._plain = not ctx.path_fields and ctx.shard_index is None

    def __call__(self, record: Record) -> Record:
        try:
            self.enrich_batch([record])
        except BatchStopped as stopped:
            raise stopped.error from None
        return record

    def enrich_batch(self, records: list[Record]) -> bytearray | None:
        """Enrich ``records`` in place; the hint for
        :func:`~shipper.enrich.trace.lift_trace_context` of the same list, next (which
        records' ``attributes`` hold no trace gate key; ``None``: no hint).

        The usual line carries a string ``job_id`` and ``correlation_id`` (they win over
        every other spelling) or no id at all; the kernel
        :func:`~shipper.kernels.enrich_records` (compiled, or its twin
        :mod:`shipper.kernels.pure_enrich`) does both in its loop when the file has no path
        fields or shard index (the first) and hands every other record to :meth:`_one`.

        Not safe to re-run on a record (its own ids have left ``attributes``, so the
        file's would win): a record that raises stops the batch with
        :class:`~shipper.errors.BatchStopped`, whose ``index`` is that record's (those
        before it are enriched, those after it untouched).
        """
        ctx = self.ctx
        return enrich_records(records, ctx.k8s, ctx.path_fields, self._defaults, self._plain,
                              ID_KEYS, self._one, GATE_KEYS)

    def _one(self, record: Record) -> None:
        """One record, every rule (the kernel's loop does its two common cases itself)."""
        attrs = record["attributes"]
        job, corr = attrs.get("job_id"), attrs.get("correlation_id")
        if job.__class__ is str and corr.__class__ is str and job and corr:
            del attrs["job_id"], attrs["correlation_id"]
            if self._plain and _SHARD not in attrs and _SHARD_CAMEL not in attrs:
                record["job_id"], record["correlation_id"], record["k8s"] = \
                    job, corr, self.ctx.k8s
            else:
                self._set_ids(record, attrs, job, corr, _lift_shard(attrs))
        elif attrs and not ID_KEYS.isdisjoint(attrs):
            self._set_ids(record, attrs, _lift(attrs, JOB_KEYS),
                          _lift(attrs, CORRELATION_KEYS), _lift_shard(attrs))
        else:
            if self.ctx.path_fields:
                _add_fields(attrs, self.ctx.path_fields)
            for key, value in self._defaults:
                record[key] = value
            record["k8s"] = self.ctx.k8s

    def _set_ids(self, record: Record, attrs: dict[str, Any], job: object, corr: object,
                 shard: int | None) -> None:
        """Top-level ids: the line's own (lifted out of ``attributes``), else the file's."""
        ctx = self.ctx
        if ctx.path_fields:
            _add_fields(attrs, ctx.path_fields)
        job = job if job is not None else ctx.job_id
        if job is not None:
            record["job_id"] = job if job.__class__ is str else str(job)
        corr = corr if corr is not None else ctx.correlation_id
        if corr is not None:
            record["correlation_id"] = corr if corr.__class__ is str else str(corr)
        shard = shard if shard is not None else ctx.shard_index
        if shard is not None:
            record["shard_index"] = shard
        record["k8s"] = ctx.k8s


def _add_fields(attrs: dict[str, Any], fields: dict[str, str]) -> None:
    for key, value in fields.items():
        attrs.setdefault(key, value)
