"""Recognise job lifecycle events in records.

Two shapes are understood:

* JSON events (message or ``attributes.event``): ``pipeline_start``, ``pipeline_complete``
  (``status``), ``layer_start``, ``layer_complete`` / ``layer_error`` with ``layer_name``,
  ``duration_ms``, ``status`` and ``error``;
* text stage lines: ``Stage demux started``, ``Stage demux completed duration_seconds=82.9``,
  ``Stage demux failed ...``.

The tracker calls :func:`detect` only for records that pass a cheap gate (their message or
``attributes.event`` is one of :data:`EVENT_NAMES`, or their message holds ``"Stage "``;
:func:`may_carry_event` is that gate as a function), so ordinary lines cost it nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from shipper.record import Record

START, END = "start", "end"
PIPELINE, LAYER, STAGE = "pipeline", "layer", "stage"

_JSON_EVENTS: dict[str, tuple[str, str]] = {
    "pipeline_start": (PIPELINE, START),
    "pipeline_complete": (PIPELINE, END),
    "layer_start": (LAYER, START),
    "layer_complete": (LAYER, END),
    "layer_error": (LAYER, END),
}
#: the JSON event names (a record whose message and ``attributes.event`` are none of these
#: and whose message has no ``"Stage "`` carries no event)
EVENT_NAMES = frozenset(_JSON_EVENTS)
_STAGE_LINE = re.compile(
    r"\bStage\s+(?P<stage>[\w.\-]+)\s+(?P<verb>started|completed|failed)\b"
    r"(?:.*?\bduration_seconds=(?P<dur>\d+(?:\.\d+)?))?"
)
_STAGE_EVENTS = {"started": "stage_start", "completed": "stage_complete", "failed": "stage_failed"}
_SUCCESS = frozenset({"success", "succeeded", "ok", "completed", "complete", "done", "passed"})
_ERROR = frozenset({"error", "failed", "failure", "fatal", "errored", "crashed"})
_CANCELLED = frozenset({"cancelled", "canceled", "aborted", "killed", "timeout"})
_ERROR_FIELDS = ("error", "error_message", "exception")
#: longest error text kept (longer is cut and ends with "…"); names and statuses: 100
MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One lifecycle event: ``event``/``outcome`` are the metric labels."""

    event: str
    scope: str            # pipeline, layer, stage
    phase: str            # start, end
    outcome: str          # started, success, error, cancelled, other
    status: str | None    # the status as logged (truncated), for summaries
    name: str | None      # layer/stage name
    duration: float | None
    error: str | None


def outcome_of(status: str | None, default: str) -> str:
    """Map a logged status onto a small fixed label set."""
    if not status:
        return default
    value = status.strip().lower()
    if value in _SUCCESS:
        return "success"
    if value in _ERROR:
        return "error"
    return "cancelled" if value in _CANCELLED else "other"


def may_carry_event(record: Record) -> bool:
    """Whether :func:`detect` could find an event in ``record`` (cheap; ``False`` for nearly
    every record): its message or ``attributes.event`` names a JSON event, or its message
    holds ``"Stage "``."""
    message = record.get("message")
    if isinstance(message, str) and (message in _JSON_EVENTS or "Stage " in message):
        return True
    attrs = record.get("attributes")
    if not attrs:
        return False
    name = attrs.get("event")
    return isinstance(name, str) and name in _JSON_EVENTS


def detect(record: Record) -> JobEvent | None:
    """The lifecycle event a record carries, else ``None``."""
    attrs = record.get("attributes") or {}
    message = record.get("message")
    name = attrs.get("event")
    if not isinstance(name, str) or name not in _JSON_EVENTS:
        name = message if isinstance(message, str) and message in _JSON_EVENTS else None
    if name is not None:
        return _json_event(name, attrs)
    if isinstance(message, str) and "Stage " in message:
        return _stage_line(message, attrs)
    return None


def _json_event(name: str, attrs: dict[str, Any]) -> JobEvent:
    scope, phase = _JSON_EVENTS[name]
    status = shorten(attrs.get("status"))
    default = "started" if phase == START else ("error" if name.endswith("error") else "success")
    outcome = "started" if phase == START else outcome_of(status, default)
    label = attrs.get("layer_name") if scope == LAYER else None
    if scope == LAYER and not label and attrs.get("layer") is not None:
        label = f"layer_{attrs['layer']}"
    error = _error_text(attrs)
    if error is None and name == "layer_error":
        error = f"layer {label or '?'} failed"
    return JobEvent(name, scope, phase, outcome, status, shorten(label), _millis(attrs), error)


def _stage_line(message: str, attrs: dict[str, Any]) -> JobEvent | None:
    match = _STAGE_LINE.search(message)
    if match is None:
        return None
    verb = match["verb"]
    duration = _number(match["dur"]) if match["dur"] else _number(attrs.get("duration_seconds"))
    phase = START if verb == "started" else END
    outcome = {"started": "started", "completed": "success", "failed": "error"}[verb]
    error = (_error_text(attrs) or shorten(message.strip(), MAX_TEXT)) if verb == "failed" else None
    status = None if phase == START else outcome
    return JobEvent(_STAGE_EVENTS[verb], STAGE, phase, outcome, status, shorten(match["stage"]),
                    duration, error)


def _millis(attrs: dict[str, Any]) -> float | None:
    if "duration_ms" in attrs:
        value = _number(attrs["duration_ms"])
        return None if value is None else value / 1000.0
    return _number(attrs.get("duration_seconds"))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and math.isfinite(number) else None


def _error_text(attrs: dict[str, Any]) -> str | None:
    for key in _ERROR_FIELDS:
        value = attrs.get(key)
        if value:
            return shorten(value, MAX_TEXT)
    return None


def shorten(value: object, limit: int = 100) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
