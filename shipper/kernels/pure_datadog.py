"""The pure-Python twin of the Datadog sink's kernel in ``_compiled.pyx``
(``datadog_side``): an envelope's side data, taken at ``put`` while its records are dicts
(:mod:`shipper.sinks.datadog_side` says what it is for). :func:`plain` is the reference
test of a record whose buffered JSON, with the reserved attributes appended, is its
entry; the compiled twin gives the same answers (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


#: ``(data, start, end, stamp) -> (too old, too far ahead)``: the sink's bound check of a
#: record whose stamp is not of the fast shape (``data[start:end]``: its buffered JSON line)
SlowStamp = Callable[[bytes, int, int, Any], tuple[bool, bool]]
#: ``(data, start, end) -> entry``: the reference entry of the record ``data[start:end]``
DumpsAt = Callable[[bytes, int, int], bytes]
#: (array bodies, entries in each, batch indices of the entries sent, of those too old)
Bodies = tuple[list[bytes], list[int], list[int], list[int]]


@dataclass(frozen=True, slots=True)
class BodyRules:
    """What :func:`datadog_bodies` needs of the sink: the batch's bounds as seconds
    (``first``: ``""`` for none; ``last``: ``"~"`` for none), the entry of a record by the
    reference (``dumps_at``) and ``suffix_of(level, facts)`` (the reserved attributes that
    end a plain record's entry), and the intake's limits (bytes an entry, entries and
    bytes an array)."""

    first: str
    last: str
    slow_stamp: SlowStamp
    suffix_of: Callable[[Any, Any], bytes]
    dumps_at: DumpsAt
    max_entry: int
    most: int
    max_bytes: int


def datadog_bodies(spans: Sequence[Any], sides: Sequence[Any], rules: BodyRules) -> Bodies:
    """A batch's entries the intake takes, packed into ``[...]`` arrays of at most
    ``rules.most`` entries and ``rules.max_bytes`` bytes (an entry alone may be more): a
    plain record's entry is its buffered JSON with its suffix appended (one suffix per
    level and pod facts object a batch), any other record's (or one too big, or too far
    ahead) ``rules.dumps_at``'s; records stamped before ``rules.first`` are set aside."""
    entries: list[bytes] = []
    fresh: list[int] = []
    old: list[int] = []
    suffixes: dict[tuple[Any, int], bytes] = {}
    index = 0
    for span, side in zip(spans, sides, strict=True):
        data, start, j = span.data, span.lo, span.first
        for end in span.ends:
            stamp = side.stamps[j]
            second = fast_second(stamp) if type(stamp) is str else None
            if second is not None:
                is_old, ahead = second < rules.first, second > rules.last
            else:
                is_old, ahead = rules.slow_stamp(data, start, end, stamp)
            if is_old:
                old.append(index)
            else:
                raw = None
                if side.plain[j] and not ahead:
                    key = (side.levels[j], id(side.facts[j]))
                    suffix = suffixes.get(key)
                    if suffix is None:
                        suffix = suffixes[key] = rules.suffix_of(side.levels[j], side.facts[j])
                    raw = data[start:end - 2] + suffix  # the record's "}\n" left out
                if raw is None or len(raw) > rules.max_entry:
                    raw = rules.dumps_at(data, start, end)
                entries.append(raw)
                fresh.append(index)
            start, j, index = end, j + 1, index + 1
    bodies, counts = pack_arrays(entries, rules.most, rules.max_bytes)
    return bodies, counts, fresh, old


def pack_arrays(raws: list[bytes], most: int, limit: int) -> tuple[list[bytes], list[int]]:
    """Entries packed into ``[...]`` arrays of at most ``most`` entries and ``limit`` bytes
    (an entry alone may be more), with the number of entries in each."""
    bodies: list[bytes] = []
    counts: list[int] = []
    start, size = 0, 2
    for i, raw in enumerate(raws):
        if i > start and (i - start >= most or size + len(raw) + 1 > limit):
            bodies.append(b"[" + b",".join(raws[start:i]) + b"]")
            counts.append(i - start)
            start, size = i, 2
        size += len(raw) + 1
    if start < len(raws):
        bodies.append(b"[" + b",".join(raws[start:]) + b"]")
        counts.append(len(raws) - start)
    return bodies, counts
