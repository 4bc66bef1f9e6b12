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
:class:`FileContext`, so the per-record work is a few dict operations.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipper.enrich.podinfo import PodFacts
from shipper.enrich.templates import PathTemplates
from shipper.record import Record

JOB_KEYS = ("job_id", "jobId")
CORRELATION_KEYS = ("correlation_id", "correlationId", "request_id", "requestId")
SHARD_KEYS = ("shard_index", "shardIndex")
JOB_LABELS = ("batch.kubernetes.io/job-name", "job-name")
#: every attribute key an id is lifted from (most records have none of them)
ID_KEYS = frozenset((*JOB_KEYS, *CORRELATION_KEYS, *SHARD_KEYS))


def to_shard_index(value: object) -> int | None:
    """An int shard index from an int or a digit string, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


@dataclass(slots=True, frozen=True)
class FileContext:
    """The line-independent part of enrichment for one file."""

    k8s: dict[str, object]
    path_fields: dict[str, str]
    job_id: str | None
    correlation_id: str | None
    shard_index: int | None


def file_context(path: str, facts: PodFacts, templates: PathTemplates,
                 extra_k8s: dict[str, object] | None = None) -> FileContext:
    """Pre-compute what every record of ``path`` shares."""
    fields = dict(templates.fields(path))
    job_id = fields.pop("job_id", None) or _first(facts.labels, JOB_LABELS) \
        or facts.annotations.get("shipper/job-id")
    shard = to_shard_index(facts.completion_index)
    if shard is None:
        shard = to_shard_index(facts.annotations.get("batch.kubernetes.io/job-completion-index"))
    k8s = facts.k8s if not extra_k8s else {**extra_k8s, **facts.k8s}
    return FileContext(k8s=k8s, path_fields=fields, job_id=job_id or None,
                       correlation_id=facts.annotations.get("shipper/correlation-id") or None,
                       shard_index=shard)


def _first(mapping: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if value:
            return value
    return None


def _lift(attrs: dict, keys: tuple[str, ...]) -> object | None:
    for key in keys:
        if key in attrs:
            value = attrs[key]
            if value is not None and value != "":
                del attrs[key]
                return value
    return None


def _lift_shard(attrs: dict) -> int | None:
    for key in SHARD_KEYS:
        if key in attrs:
            shard = to_shard_index(attrs[key])
            if shard is not None:
                del attrs[key]
                return shard
    return None


class Enricher:
    """A stage bound to one file's :class:`FileContext`: ``enricher(record)`` for one
    record, :meth:`enrich_batch` for many (same result, less work per record)."""

    __slots__ = ("ctx", "_tail")

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        # what a record without ids of its own gets, in the order the keys are set
        ids = (("job_id", ctx.job_id), ("correlation_id", ctx.correlation_id),
               ("shard_index", ctx.shard_index))
        self._tail = [(key, value) for key, value in ids if value is not None]
        self._tail.append(("k8s", ctx.k8s))

    def __call__(self, record: Record) -> Record:
        self.enrich_batch([record])
        return record

    def enrich_batch(self, records: list[Record]) -> None:
        """Enrich ``records`` in place."""
        fields, tail, keys = self.ctx.path_fields, self._tail, ID_KEYS
        for record in records:
            attrs = record["attributes"]
            if attrs and not keys.isdisjoint(attrs):
                self._lift_ids(record, attrs)
            else:
                if fields:
                    _add_fields(attrs, fields)
                record.update(tail)

    def _lift_ids(self, record: Record, attrs: dict) -> None:
        """The ids the line carries win over the file's; lifted keys leave ``attributes``."""
        ctx = self.ctx
        job = _lift(attrs, JOB_KEYS)
        corr = _lift(attrs, CORRELATION_KEYS)
        shard = _lift_shard(attrs)
        if ctx.path_fields:
            _add_fields(attrs, ctx.path_fields)
        job = job if job is not None else ctx.job_id
        if job is not None:
            record["job_id"] = str(job)
        corr = corr if corr is not None else ctx.correlation_id
        if corr is not None:
            record["correlation_id"] = str(corr)
        shard = shard if shard is not None else ctx.shard_index
        if shard is not None:
            record["shard_index"] = shard
        record["k8s"] = ctx.k8s


def _add_fields(attrs: dict, fields: dict[str, str]) -> None:
    for key, value in fields.items():
        attrs.setdefault(key, value)
