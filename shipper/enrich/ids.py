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
    """A stage bound to one file's :class:`FileContext`."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx

    def __call__(self, record: Record) -> Record:
        ctx = self.ctx
        attrs = record["attributes"]
        job = _lift(attrs, JOB_KEYS) if attrs else None
        corr = _lift(attrs, CORRELATION_KEYS) if attrs else None
        shard = _lift_shard(attrs) if attrs else None
        if ctx.path_fields:
            for key, value in ctx.path_fields.items():
                attrs.setdefault(key, value)
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
        return record
