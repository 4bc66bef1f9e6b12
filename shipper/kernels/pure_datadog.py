"""The pure-Python twin of the Datadog sink's kernel in ``_compiled.pyx``
(``datadog_side``): an envelope's side data, taken at ``put`` while its records are dicts
(:mod:`shipper.sinks.datadog_side` says what it is for). :func:`plain` is the reference
test of a record whose buffered JSON, with the reserved attributes appended, is its
entry; the compiled twin gives the same answers (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import methodcaller
from typing import Any

#: the reserved attributes a record's own value of is replaced (``message`` is kept)
OTHER_RESERVED = frozenset({"status", "hostname", "service", "ddsource", "ddtags"})
#: the top-level value types whose JSON is what the reference reads back (anything else,
#: e.g. an object orjson writes as its ``str()``, which may be ``""``, goes its way)
_NATIVE = frozenset({str, int, float, bool, type(None), dict, list})
_STAMP_TYPES = frozenset({str, type(None)})
_FACTS, _STAMP = methodcaller("get", "k8s"), methodcaller("get", "timestamp")
_LEVEL = methodcaller("get", "level", "info")
#: (plain flags, levels, pod facts, timestamps), one slot per record
SideLists = tuple[list[bool], list[Any], list[Any], list[Any]]


def plain(record: Any) -> bool:
    """Whether the record's buffered JSON with the reserved attributes appended is its
    entry (see :mod:`shipper.sinks.datadog_side`)."""
    values = record.values()
    return ("message" in record and record.keys().isdisjoint(OTHER_RESERVED)
            and type(record.get("level", "")) is str and type(record.get("k8s") or {}) is dict
            and type(record.get("timestamp")) in _STAMP_TYPES
            and _NATIVE.issuperset(map(type, values))  # no str() of an object: "" or not
            and ("" not in values
                 or (record["message"] == "" and list(values).count("") == 1)))


def fast_second(stamp: str) -> str | None:
    """The second (``YYYY-MM-DDTHH:MM:SS``, compared as text) of a stamp of the fast shape
    ``YYYY-MM-DDTHH:MM:SS[.f]Z`` (20 characters or more, ``T`` at 10, ``Z`` last); ``None``
    for any other shape. The one check of the sink's bound (``Bound``) and of
    :func:`old_at`; the compiled kernel spells it out."""
    if len(stamp) >= 20 and stamp[-1] == "Z" and stamp[10] == "T":
        return stamp[:19]
    return None


def old_at(stamp: Any, first: str) -> bool:
    """Whether ``stamp`` (``YYYY-MM-DDTHH:MM:SS[.f]Z``) is before the second ``first``
    (``YYYY-MM-DDTHH:MM:SS``), compared as the sink's bound compares it; a stamp of any
    other form is never old here."""
    if type(stamp) is not str:
        return False
    second = fast_second(stamp)
    return second is not None and second < first


def datadog_side(records: Sequence[Any], first: str | None) -> SideLists:
    """Each record's :func:`plain` flag, level (``"info"`` when missing), pod facts
    (``k8s``) and ``timestamp``. With ``first`` (the oldest second the intake takes, as at
    ``put``), a record stamped before it is not plain and its check is skipped: it is too
    old at ``put``, so at encode time (a later clock) it is dead-lettered unsent; were the
    clock to go back, it is encoded the reference's way, which gives the same entry."""
    stamps = list(map(_STAMP, records))
    if first is None:
        flags = list(map(plain, records))
    else:
        flags = [not old_at(stamp, first) and plain(record)
                 for record, stamp in zip(records, stamps, strict=True)]
    return flags, list(map(_LEVEL, records)), list(map(_FACTS, records)), stamps
