"""Rendering of ``shipper explain``: for each input line, its record and its fate.

A row is ``(line, record | None, events)`` where ``events`` come from
:class:`~shipper.stages.RecordingFates` (``("dropped", reason, rule)`` /
``("changed", "redacted", rule)``). ``record`` is ``None`` when the line produced no record
of its own (a continuation line of a multi-line record) or was dropped before one was
built. The input line is shown only after redaction, so no secret is ever printed.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, Iterable, TextIO

import orjson

from shipper.filters.redact import Redactor
from shipper.filters.settings import RedactSettings
from shipper.record import Record, public_view

Row = tuple[str, "Record | None", list[tuple[str, str, str]]]
_DROP_FATES = {"sampled": "sampled", "throttled": "throttled", "deduped": "deduped"}
_HEADER = ("FATE", "LEVEL", "RULES", "MESSAGE")


def fate_of(record: Record | None, events: list[tuple[str, str, str]]) -> dict[str, Any]:
    """``{"fate", "reason", "rule", "redacted"}`` of one row."""
    redacted = sorted({rule for kind, what, rule in events if kind == "changed" and what == "redacted"})
    for kind, reason, rule in events:
        if kind == "dropped":
            return {"fate": _DROP_FATES.get(reason, "dropped"), "reason": reason, "rule": rule,
                    "redacted": redacted}
    if record is None:
        return {"fate": "merged", "reason": None, "rule": None, "redacted": redacted}
    return {"fate": "redacted" if redacted else "kept", "reason": None, "rule": None,
            "redacted": redacted}


def _rules_text(fate: dict[str, Any]) -> str:
    parts = []
    if fate["reason"]:
        parts.append(f"{fate['reason']}:{fate['rule']}")
    if fate["redacted"]:
        parts.append("redacted:" + ",".join(fate["redacted"]))
    return " ".join(parts) or "-"


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(1, width - 1)] + "…"


def _scrubbed(record: Record | None, redactor: Redactor) -> Record | None:
    """A redacted copy (a record dropped before the redact stage still holds its secrets)."""
    if record is None:
        return None
    copy = deepcopy(public_view(record))
    redactor.redact_record(copy)
    return copy


def _expand(rows: Iterable[Row], redactor: Redactor) -> Iterable[tuple[str, Record | None, dict[str, Any]]]:
    """Redacted rows, with dedupe summaries (``_before``) shown just before their record."""
    for line, record, events in rows:
        for summary in (record or {}).get("_before", ()):
            yield "", _scrubbed(summary, redactor), {
                "fate": "summary", "reason": None, "rule": None, "redacted": []}
        yield redactor.redact_text(line), _scrubbed(record, redactor), fate_of(record, events)


def render_table(rows: Iterable[Row], out: TextIO, *, redactor: Redactor | None = None,
                 width: int = 100) -> None:
    """A readable table: fate, level, rules, message (or the redacted line) truncated."""
    redactor = redactor or Redactor(RedactSettings())
    table = [_HEADER]
    for line, record, fate in _expand(rows, redactor):
        text = record.get("message", "") if record is not None else line
        level = str(record.get("level", "")) if record is not None else ""
        table.append((fate["fate"], level or "-", _rules_text(fate), str(text)))
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    room = max(20, width - sum(widths) - 6)
    for row in table:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        out.write("  ".join(cells) + "  " + _one_line(row[3], room) + "\n")


def render_json(rows: Iterable[Row], out: TextIO, *, redactor: Redactor | None = None) -> None:
    """One JSON object per row: ``line`` (redacted), ``fate``, ``reason``, ``rule``,
    ``redacted`` (rule names) and ``record`` (as sinks would see it, or null)."""
    redactor = redactor or Redactor(RedactSettings())
    for line, record, fate in _expand(rows, redactor):
        doc = {"line": line, **fate, "record": record}
        out.write(orjson.dumps(doc, default=str).decode() + "\n")
