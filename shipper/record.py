"""The common record schema (fields by path: :mod:`shipper.record_fields`).

A record is a ``dict`` (measured faster than dataclasses on the hot path) with these
keys; only ``timestamp``, ``level``, ``message``, ``attributes``, ``k8s`` and
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

What a record was made of travels beside its fields, as attributes of :class:`Record`
that no encoder sees: ``raw`` (the original line) and ``before`` (dedupe summaries).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})
_dict_init = dict.__init__


class Record(dict[str, Any]):
    """One record: its fields (what ships) and, beside them, what it was made of.

    ``raw`` is the original line (raw-line drop rules, the redactor's and the key guard's
    view, ``explain``); ``before`` the dedupe summaries of the repeats folded just before it.
    Neither is a field: sinks encode the dict and never see them, nothing strips them."""

    __slots__ = ("raw", "before")
    #: the original line (raw-line drop rules, the key guard, the redactor, ``explain``);
    #: released when the record is handed to the sinks
    raw: str | None
    #: summaries of the repeats dedupe folded just before this record (shipped before it)
    before: list[Record] | None

    def __init__(self, fields: Mapping[str, Any] = _NO_FIELDS, /) -> None:
        # one positional mapping, no ``super()``: ~0.4 us less per record than
        # ``(*args, **kwargs)`` (every line of every file makes one)
        _dict_init(self, fields)
        self.raw = None
        self.before = None

LEVELS: tuple[str, ...] = ("trace", "debug", "info", "warning", "error", "critical")
LEVEL_RANK: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}
WARNING_RANK = LEVEL_RANK["warning"]

TOP_LEVEL_FIELDS = frozenset(
    {"timestamp", "level", "message", "logger", "job_id", "correlation_id",
     "shard_index", "stream", "trace_id", "span_id", "attributes", "k8s", "file"}
)
