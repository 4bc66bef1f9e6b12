"""The common record schema (fields by path: :mod:`shipper.record_fields`).

A record is a plain ``dict`` (measured faster than dataclasses on the hot path) with
these keys; only ``timestamp``, ``level``, ``message``, ``attributes``, ``k8s`` and
``file`` are always present:

=================  ==========================================================
``timestamp``      RFC 3339 UTC string ending in ``Z`` (millisecond precision or finer)
``level``          one of :data:`LEVELS`
``message``        the human message (multi-line records joined with ``\\n``)
``logger``         logger or module name, when known
``job_id``         str, when known
``correlation_id`` str, when known
``shard_index``    int, when known
``stream``         ``stdout`` / ``stderr`` when the container runtime says
``trace_id``       32 lowercase hex digits, when the line carries a trace context
``span_id``        16 lowercase hex digits, with ``trace_id`` when the line names a span
``attributes``     every other field of the line (dict, nested kept)
``k8s``            namespace, pod, pod_uid, node, container, pod_ip, labels
``file``           ``{"path": str, "offset": int}``
=================  ==========================================================

Internal keys start with ``_`` and never leave the pipeline: ``_raw`` holds the
original line text (for raw-line drop rules and ``explain``).
"""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]

LEVELS: tuple[str, ...] = ("trace", "debug", "info", "warning", "error", "critical")
LEVEL_RANK: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}
WARNING_RANK = LEVEL_RANK["warning"]

TOP_LEVEL_FIELDS = frozenset(
    {"timestamp", "level", "message", "logger", "job_id", "correlation_id",
     "shard_index", "stream", "trace_id", "span_id", "attributes", "k8s", "file"}
)
INTERNAL_PREFIX = "_"


def public_view(record: Record) -> Record:
    """The record without internal ``_`` keys (what sinks and the tail see)."""
    return {k: v for k, v in record.items() if not k.startswith(INTERNAL_PREFIX)}
