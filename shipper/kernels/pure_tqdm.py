"""The pure twin of the ``tqdm_progress`` kernel (the reference): a tqdm progress state as
its ``("tqdm", partial record)``, else ``None``.

With a total: ``desc:  45%|bar| n/total [elapsed<remaining, rate(, postfix)]`` (the first
``%|`` decides: ``_TQDM_BAR`` must match from three characters before it, and what is
before that, blanks stripped, must be empty or end with ``:``); without one (no ``%|``
after the first character): ``desc: Nunit [elapsed, rate(, postfix)]``. The record is
``{"timestamp": None, "level": "info", "message": text, "attributes": {"progress":
fields}}``; ``fields`` in this order: ``percent`` (with a total), ``n``, ``elapsed``,
``total`` and ``remaining`` (unless ``?``), ``rate`` (unless ``?``), ``unit``, then
``desc`` and ``postfix`` when not empty. Counts are ints (digits longer than 18 stay a
string), scaled ones (``1.20M``) floats; intervals are seconds; a rate in ``s/unit`` is
inverted (``round(1 / s, 6)``) and takes the denominator as its unit; ``postfix`` is a
dict of its ``k=v`` pairs, or its text when a part is not one.
"""

from __future__ import annotations

import re
from typing import Any

Parsed = tuple[str, dict[str, Any]]

_SCALED = r"\d+(?:\.\d+)?[kMGTPEZY]?"
_INTERVAL = r"(?:\d+d, )?\d+(?::\d{2}){1,2}"
#: ``value unit/s`` or ``value s/unit`` (groups: value or ``?``, numerator, denominator)
_RATE = r"(\?|" + _SCALED + r")([A-Za-z]*)/([A-Za-z]+)"
#: the same with possessive quantifiers (no backtracking into a run that cannot end
#: anywhere else: what follows each is a character the run cannot hold), for the tail
_SCALED_P = r"\d++(?:\.\d++)?+[kMGTPEZY]?+"
_INTERVAL_P = r"(?:\d++d, )?+\d++(?::\d\d){1,2}+"
_RATE_P = r"(\?|" + _SCALED_P + r")([A-Za-z]*+)/([A-Za-z]++)"
#: ``| n/total [elapsed<remaining, rate(, postfix)]`` after ``N%``; the same matches and
#: groups as the plain-quantifier form (``test_tqdm_pattern``), ~2x cheaper
_TQDM_TAIL = re.compile(
    r"\|[^|]*+\| (" + _SCALED_P + r")/(" + _SCALED_P + r"|\?) \[(" + _INTERVAL_P + r")<("
    + _INTERVAL_P + r"|\?), ++" + _RATE_P + r"(?:, ([^\]]*+))?+\]$", re.ASCII)
#: ``N%`` from three characters before the ``%|`` (blanks, then one to three digits: what
#: right-aligned percents are), then the tail: one match for the whole state
_TQDM_BAR = re.compile(r" {0,2}+(\d{1,3}+)%" + _TQDM_TAIL.pattern, re.ASCII)
_TQDM_NO_TOTAL = re.compile(
    r"(?:(.{1,200}?): )?(" + _SCALED + r")([A-Za-z]\w*)? \[(" + _INTERVAL
    + r"), +" + _RATE + r"(?:, ([^\]]*))?\]$")
_SCALE = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21,
          "Y": 1e24}


def tqdm_progress(text: str) -> Parsed | None:
    """A tqdm progress state (with a total: ``N%|bar| n/total [...]``; without one:
    ``Nunit [...]``)."""
    cut = text.find("%|")
    if cut > 0:
        return _with_total(text, cut)
    match = _TQDM_NO_TOTAL.match(text)
    if match is None:
        return None
    desc, n, unit, elapsed, value, numerator, denominator, postfix = match.groups()
    # ``_count``, ``_seconds`` and ``_rate`` inlined for their common cases, as below
    fields: dict[str, Any] = {
        "n": int(n) if n.isdigit() and len(n) <= 18 else _count(n),
        "elapsed": int(elapsed[:2]) * 60 + int(elapsed[3:]) if len(elapsed) == 5
        else _seconds(elapsed)}
    unit = numerator or unit or "it"
    if unit == "s" or value == "?" or value[-1:] in _SCALE:
        _rate(fields, value, unit, denominator)
    else:
        fields["rate"] = float(value)
        fields["unit"] = unit
    return _progress_record(text, fields, desc, postfix)


def _with_total(text: str, cut: int) -> Parsed | None:
    # ``cut`` is the first ``%|``: a match from ``cut - 3`` (or 0) has its ``%`` there
    match = _TQDM_BAR.match(text, cut - 3 if cut > 3 else 0)
    if match is None:
        return None
    desc = text[:cut - 3].rstrip(" ") if cut > 3 else ""
    if desc:
        if desc[-1:] != ":":
            return None
        desc = desc[:-1]
    digits, n, total, elapsed, remaining, value, numerator, denominator, postfix = \
        match.groups()
    # ``_count`` and ``_seconds`` inlined for plain counts and ``MM:SS`` (nearly always)
    fields: dict[str, Any] = {
        "percent": int(digits),
        "n": int(n) if n.isdigit() and len(n) <= 18 else _count(n),
        "elapsed": int(elapsed[:2]) * 60 + int(elapsed[3:]) if len(elapsed) == 5
        else _seconds(elapsed)}
    if total != "?":
        fields["total"] = int(total) if total.isdigit() and len(total) <= 18 \
            else _count(total)
    if remaining != "?":
        fields["remaining"] = int(remaining[:2]) * 60 + int(remaining[3:]) \
            if len(remaining) == 5 else _seconds(remaining)
    unit = numerator or "it"
    if unit == "s" or value == "?" or value[-1:] in _SCALE:
        _rate(fields, value, unit, denominator)
    else:  # ``_rate`` inlined for ``10.0it/s`` (nearly always)
        fields["rate"] = float(value)
        fields["unit"] = unit
    if desc or postfix:
        return _progress_record(text, fields, desc, postfix)
    return "tqdm", {"timestamp": None, "level": "info", "message": text,  # no desc, postfix
                    "attributes": {"progress": fields}}


def _rate(fields: dict[str, Any], value: str, numerator: str, denominator: str) -> None:
    """``10.0it/s`` -> rate 10.0, unit it; ``1.23s/it`` (seconds per unit) -> 1/1.23."""
    if numerator == "s" and value != "?":
        fields["rate"] = round(1 / max(_number(value), 1e-9), 6)
        fields["unit"] = denominator
        return
    if value != "?":  # ``_number`` inlined for a value without a scale letter
        fields["rate"] = float(value) if value[-1:] not in _SCALE else _number(value)
    fields["unit"] = numerator


def _progress_record(text: str, fields: dict[str, Any], desc: str | None,
                     postfix: str | None) -> Parsed:
    if desc:
        fields["desc"] = desc
    if postfix:
        fields["postfix"] = postfix_pairs(postfix)
    return "tqdm", {"timestamp": None, "level": "info", "message": text,
                    "attributes": {"progress": fields}}


def _count(value: str) -> int | float | str:
    if value.isdigit():
        return int(value) if len(value) <= 18 else value  # ``small_int``
    return _number(value)


def _number(value: str) -> float:
    scale = _SCALE.get(value[-1:], 1.0)
    return float(value if scale == 1.0 else value[:-1]) * scale


def _seconds(interval: str) -> int:
    if len(interval) == 5:  # MM:SS, nearly always
        return int(interval[:2]) * 60 + int(interval[3:])
    days, _, clock = interval.rpartition("d, ")
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total + (int(days) * 86_400 if days else 0)


def postfix_pairs(text: str) -> dict[str, str] | str:
    """``loss=0.3, acc=0.9`` as its pairs; the text itself when a part is not ``k=v``."""
    pairs: dict[str, str] = {}
    for part in text.split(", "):
        key, sep, value = part.partition("=")
        if not (sep and key):
            return text
        pairs[key] = value
    return pairs
