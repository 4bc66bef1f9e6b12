"""Trace context of a line: top-level ``trace_id`` / ``span_id`` when the line carries them.

Both are lowercase hex (32 and 16 digits, not all zeros, as W3C Trace Context requires);
a record without a valid trace context gets neither key. Sources, first found wins:

* a field holding the id in hex: ``trace_id``, ``traceId``, ``traceID``, ``trace.id``
  (and ``span_id``, ``spanId``, ``spanID``, ``span.id``), also nested as
  ``{"trace": {"id": …}}`` (ECS): **moved** out of ``attributes``, like ``job_id``;
* ``traceparent`` (``00-<trace id>-<span id>-<flags>``) and Datadog's decimal
  ``dd.trace_id`` / ``dd.span_id`` (flat or ``{"dd": {…}}``): **kept** in ``attributes``
  as written; the ids are derived from them (a 64-bit Datadog id is zero-padded to 128 bits,
  as the OpenTelemetry Collector does);
* otherwise the message: ``traceparent=00-…``, ``trace_id=<hex>``/``span_id=<hex>`` (any of
  the spellings above, ``=`` or ``:``), ``dd.trace_id=<decimal>``.

Cheap on the hot path: a set-disjointness test on the attribute keys and a substring test
(``race``: trace, Trace) on the message come before any regex, in a compiled loop
(``lift_trace``; measured: ~0.5k instructions a record without trace context, against
~2-3k for the same test in Python). Safe to run twice.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.kernels import lift_trace
from shipper.record import Record

HEX_TRACE_KEYS = ("trace_id", "traceId", "traceID", "trace.id")
HEX_SPAN_KEYS = ("span_id", "spanId", "spanID", "span.id")
#: every attribute key that may hold a trace context (most records have none)
GATE_KEYS = frozenset((*HEX_TRACE_KEYS, *HEX_SPAN_KEYS, "traceparent", "dd.trace_id",
                       "dd.span_id", "trace", "dd"))
_TRACEPARENT = re.compile(
    r"\A\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|\s*\Z)")
_TEXT = re.compile(
    r"(?i:\btraceparent)[=:]\s*\"?(?P<tp>[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"
    r"|(?<![\w.])(?P<dd>dd\.)?(?P<kind>(?i:trace|span))[_.]?(?i:id)\"?[=:]\s*\"?"
    r"(?P<id>[0-9a-fA-F]{1,40})\b")
_MAX_U64, _MAX_U128 = 2**64 - 1, 2**128 - 1


def lift_trace_context(records: list[Record], clean: bytearray | None = None) -> None:
    """Set ``trace_id``/``span_id`` on the records whose line carries them (in place): the
    gate per record is the kernel :func:`~shipper.kernels.lift_trace` (compiled, or its
    twin :mod:`shipper.kernels.pure_enrich`), which calls back here for the few that pass
    it. ``clean``: what :meth:`Enricher.enrich_batch
    <shipper.enrich.ids.Enricher.enrich_batch>` of this very list returned, right before
    (the records whose attributes need no gate test)."""
    lift_trace(records, GATE_KEYS, _from_attributes, _from_text, clean)


def lift_one(record: Record) -> Record:
    """:func:`lift_trace_context` for one record (a stage, for per-record fallbacks)."""
    lift_trace_context([record])
    return record


def _from_attributes(record: Record, attrs: dict[str, Any]) -> None:
    trace_src = _hex_field(attrs, HEX_TRACE_KEYS, "trace", 32)
    span_src = _hex_field(attrs, HEX_SPAN_KEYS, "span", 16)
    trace, span = trace_src[0], span_src[0]
    if trace is None:
        trace, span_tp = _traceparent(attrs.get("traceparent"))
        span = span or span_tp
    if trace is None:
        dd_value = attrs.get("dd")
        dd: dict[str, Any] = dd_value if isinstance(dd_value, dict) else {}
        trace = _decimal_id(attrs.get("dd.trace_id", dd.get("trace_id")), 32)
        span = span or _decimal_id(attrs.get("dd.span_id", dd.get("span_id")), 16)
    if trace is None:
        return  # a span id alone is no trace context: the attributes stay as they are
    record["trace_id"] = trace
    if span is not None:
        record["span_id"] = span
    for value, key in (trace_src, span_src):
        if value is not None:
            _remove(attrs, key)


def _from_text(record: Record, message: str) -> None:
    trace = span = None
    for match in _TEXT.finditer(message):
        if match.group("tp"):
            tp_trace, tp_span = _traceparent(match.group("tp"))
            trace, span = trace or tp_trace, span or tp_span
            continue
        is_trace = match.group("kind").lower() == "trace"
        size = 32 if is_trace else 16
        value = match.group("id")
        found = _decimal_id(value, size) if match.group("dd") else _valid_hex(value, size)
        if is_trace:
            trace = trace or found
        else:
            span = span or found
    if trace is not None:
        record["trace_id"] = trace
        if span is not None:
            record["span_id"] = span


def _valid_hex(value: Any, digits: int) -> str | None:
    if value.__class__ is not str or len(value) != digits:
        return None
    lowered: str = value.lower()
    if lowered.strip("0123456789abcdef") or not lowered.strip("0"):
        return None
    return lowered


def _hex_field(attrs: dict[str, Any], keys: tuple[str, ...], nested: str,
               digits: int) -> tuple[str | None, str]:
    """The id in hex and the key holding it (``"<name>.id"`` for ECS's ``{name: {id}}``)."""
    for key in keys:
        value = _valid_hex(attrs.get(key), digits)
        if value is not None:
            return value, key
    inner = attrs.get(nested)
    if isinstance(inner, dict):
        value = _valid_hex(inner.get("id"), digits)
        if value is not None:
            return value, f"{nested}\0id"
    return None, ""


def _remove(attrs: dict[str, Any], key: str) -> None:
    """Move done: the field goes (an ECS object too, once empty)."""
    name, nested, inner_key = key.partition("\0")
    if not nested:
        del attrs[key]
        return
    inner = attrs[name]
    del inner[inner_key]
    if not inner:
        del attrs[name]


def _traceparent(value: Any) -> tuple[str | None, str | None]:
    """``(trace id, span id)`` of a W3C ``traceparent`` (version ``ff`` is invalid)."""
    if value.__class__ is not str:
        return None, None
    match = _TRACEPARENT.match(value.lower())
    if match is None or match.group(1) == "ff":
        return None, None
    return _valid_hex(match.group(2), 32), _valid_hex(match.group(3), 16)


def _decimal_id(value: Any, digits: int) -> str | None:
    """A Datadog decimal id as zero-padded hex (64-bit span ids, 64/128-bit trace ids)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > 39:
        return None
    number = int(text)
    if number == 0 or number > (_MAX_U128 if digits == 32 else _MAX_U64):
        return None
    return format(number, f"0{digits}x")
