"""Rendering of ``shipper explain``: for each input line, its record and its fate.

A row is ``(line, record | None, events)`` where ``events`` come from
:class:`~shipper.stages.RecordingFates` (``("dropped", reason, rule)`` /
``("changed", "redacted", rule)``). ``record`` is ``None`` when the line produced no record
of its own (a continuation line of a multi-line record) or was dropped before one was
built.

What is shown is derived from the record the sinks get, after every stage: a kept record
is shown exactly as shipped, with the rules that redacted it and the fields that hold a
redaction (``redacted_fields``). The shown record is checked once more by the redactor:
should it still find a secret (a defect), the secret is not printed and the row says
``leaked`` with the rules. A dropped record never ships; it is shown redacted. The input
line is shown as the record's redacted raw line, and a continuation line only when its
text survives in the shown record, so no secret is ever printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from copy import deepcopy
from typing import Any, TextIO

import orjson

from shipper.filters.redact import Redactor
from shipper.filters.secrets import REDACTED_PREFIX
from shipper.filters.settings import RedactSettings
from shipper.record import Record

Row = tuple[str, "Record | None", list[tuple[str, str, str]]]
_DROP_FATES = {"sampled": "sampled", "throttled": "throttled", "deduped": "deduped"}
_SHIPPED = frozenset({"kept", "redacted", "summary"})
_HEADER = ("FATE", "LEVEL", "RULES", "MESSAGE")
_CRI = re.compile(r"\S+ (?:stdout|stderr) [PF] ?")
#: a continuation line whose text did not survive redaction of its record
HIDDEN_LINE = "[REDACTED]"


def fate_of(record: Record | None, events: list[tuple[str, str, str]]) -> dict[str, Any]:
    """``{"fate", "reason", "rule", "redacted"}`` of one row."""
    redacted = sorted({rule for kind, what, rule in events
                       if kind == "changed" and what == "redacted"})
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
    if fate.get("leaked"):
        parts.append("LEAKED:" + ",".join(fate["leaked"]))
    return " ".join(parts) or "-"


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(1, width - 1)] + "…"


def redacted_fields(record: Record | None) -> list[str]:
    """Dotted paths of the keys and values of ``record`` that hold a redaction."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", record or {})]
    while stack:
        path, value = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            where = f"{path}{key}"
            if isinstance(key, str) and key.startswith(REDACTED_PREFIX):
                found.append(where)
            if isinstance(item, str) and REDACTED_PREFIX in item:
                found.append(where)
            elif isinstance(item, (dict, list)):
                stack.append((where + ".", item))
    return sorted(set(found))


def _shown(record: Record, fate: dict[str, Any], redactor: Redactor) -> tuple[Record, bool]:
    """The record to show and whether it differs from the record the line gave: the
    shipped record as it is, unless the redactor still finds a secret in it (then
    scrubbed, and ``fate["leaked"]`` names the rules); a record that was not shipped is
    scrubbed for display."""
    copy = deepcopy(record)
    again = redactor.redact_record(copy)
    if fate["fate"] in _SHIPPED:
        fate["leaked"] = sorted(again)
    return (copy if again else record), bool(again or fate["redacted"])


def _line_of(line: str, record: Record | None, fate: dict[str, Any], redactor: Redactor) -> str:
    """The input line as shown: the record's redacted raw line when a stage redacted it
    (the stage may know what the line alone does not tell, e.g. a PEM block)."""
    raw = record.raw if record is not None else None
    if fate["redacted"] and isinstance(raw, str):
        return redactor.redact_text(raw)
    return redactor.redact_text(line)


def _content(line: str) -> str:
    """A physical line without its container-runtime wrapper (CRI prefix, docker JSON)."""
    if line.startswith('{"log":'):
        try:
            log = orjson.loads(line).get("log")
        except (orjson.JSONDecodeError, AttributeError):
            return line
        return log.rstrip("\n") if isinstance(log, str) else line
    match = _CRI.match(line)
    return line[match.end():] if match else line


def _merged_line(line: str, owner: Record | None, owner_changed: bool, redactor: Redactor) -> str:
    """A continuation line as shown: as it is (redacted) when its text survives in the
    shown record it belongs to, else hidden."""
    shown = redactor.redact_text(line)
    if not owner_changed:
        return shown
    message = owner.get("message") if owner is not None else None
    content = redactor.redact_text(_content(line)).strip()
    if isinstance(message, str) and content and content in message:
        return shown
    return HIDDEN_LINE


def _expand(rows: Iterable[Row], redactor: Redactor,
            ) -> Iterable[tuple[str, Record | None, dict[str, Any]]]:
    """Rows as shown, with dedupe summaries (``before``) just before their record."""
    owner: Record | None = None
    owner_changed = False
    for line, record, events in rows:
        for summary in (record.before or ()) if record is not None else ():
            fate: dict[str, Any] = {"fate": "summary", "reason": None, "rule": None,
                                    "redacted": []}
            shown, _ = _shown(summary, fate, redactor)
            yield "", shown, {**fate, "redacted_fields": redacted_fields(shown)}
        fate = fate_of(record, events)
        if record is None:
            yield _merged_line(line, owner, owner_changed, redactor), None, {
                **fate, "redacted_fields": []}
            continue
        owner, owner_changed = _shown(record, fate, redactor)
        line = _line_of(line, record, fate, redactor)
        yield line, owner, {**fate, "redacted_fields": redacted_fields(owner)}


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
    ``redacted`` (rule names), ``redacted_fields``, ``leaked`` (rules that still found a
    secret in a shipped record: always empty unless something is wrong) and ``record``
    (as the sinks get it, or null)."""
    redactor = redactor or Redactor(RedactSettings())
    for line, record, fate in _expand(rows, redactor):
        doc = {"line": line, "leaked": [], **fate, "record": record}
        out.write(orjson.dumps(doc, default=str).decode() + "\n")
