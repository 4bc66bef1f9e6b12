"""The Datadog sink's side data, and entries made from the buffered JSON without decoding it.

An entry is the record with the reserved attributes set by the sink
(:meth:`~shipper.sinks.datadog.DatadogEncoder.entry`). For most records the buffered JSON
already is that object but for them: a record with a ``message``, no reserved attribute of
its own besides ``message``, a string level (or none), pod facts that are a dict (or none),
no top-level value ``""`` (the reference leaves those out) and a timestamp the intake takes
as it is. Its entry is then its buffered JSON with ``status``, ``hostname``, ``service``,
``ddsource`` and ``ddtags`` appended (computed once per level and pod facts a batch): the
same JSON object the reference encodes, with ``message`` where the record has it (JSON
objects are unordered), for about a tenth of the reference's cost, which decodes the
record, copies it into a new dict and encodes that again.

:class:`DatadogSide` keeps, per record of an envelope, whether it is such a record, its
level, its pod facts (the file's own dict, shared by the records of a file) and its
timestamp, computed at ``put`` while the records are dicts (the kernel ``datadog_side``,
:mod:`shipper.kernels`; :func:`plain` is its reference test). A record already stamped
before ``max_age`` at ``put`` is not checked: it is dead-lettered unsent at encode time
(its flag says not plain, so even a clock set back would encode it the reference's way).
Any other record of a batch,
and a batch without side data (a disk buffer), goes the reference's way; so does a record
with a value the side path does not assume: a timestamp not a ``str`` (or none; its old/
ahead check then reads the buffered JSON's) or a top-level value not a JSON type
(an object written as its ``str()``, which may be ``""``).

The rule this relies on: pod facts are replaced, never changed in place (``PodInfo``
replaces its facts on change; redaction scrubs into a copy). The suffix is built from the
facts dict at encode time, so a dict mutated after ``put`` would tag the buffered records
with its new values where the reference (which reads the buffered JSON) keeps the old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from shipper.kernels import datadog_bodies, datadog_side
from shipper.kernels.pure_datadog import OTHER_RESERVED as OTHER_RESERVED
from shipper.kernels.pure_datadog import Bodies, BodyRules, fast_second
from shipper.kernels.pure_datadog import plain as plain
from shipper.record import Record
from shipper.sinks.batch import Lines
from shipper.sinks.fields import rfc3339_to_ns

if TYPE_CHECKING:
    from shipper.sinks.datadog import DatadogEncoder

#: bytes a record's side data adds to its buffered JSON: list slots, its flag and its own
#: timestamp string (~75 bytes). Its pod facts are not charged: they are the file's dict,
#: shared by every record of the file and alive while the file is tailed, and their JSON is
#: already counted in each record's buffered JSON (charging them per envelope counted 3.6x
#: the http sink's bytes with 1-record envelopes, for 1.3x the real use)
RECORD_BYTES = 112


@dataclass(frozen=True, slots=True)
class Bound:
    """An instant to compare record timestamps with: records carry RFC 3339 UTC
    (``YYYY-MM-DDTHH:MM:SS[.f]Z``), whose first 19 characters order like the instant, so
    the common case is a string comparison (second precision); anything else is parsed."""

    ns: int
    text: str  # YYYY-MM-DDTHH:MM:SS

    def later_than(self, stamp: Any) -> bool:
        """``stamp`` is before this bound (an unreadable one never is)."""
        second = fast_second(stamp) if isinstance(stamp, str) else None
        if second is not None:
            return second < self.text
        ns = rfc3339_to_ns(stamp)
        return ns is not None and ns < self.ns

    def earlier_than(self, stamp: Any) -> bool:
        """``stamp`` is past this bound by a second or more (an unreadable one never is)."""
        second = fast_second(stamp) if isinstance(stamp, str) else None
        if second is not None:
            return second > self.text
        ns = rfc3339_to_ns(stamp)
        return ns is not None and ns > self.ns + 999_999_999


def bound(at: float | None) -> Bound | None:
    if at is None:
        return None
    return Bound(int(at * 1e9), second_text(at))


def second_text(at: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` (UTC) of the instant ``at`` (seconds)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(slots=True, eq=False)
class DatadogSide:
    """An envelope's side data, one slot per record in each list: whether its buffered
    JSON suits as its entry (:func:`plain`), its level, its pod facts (the file's shared
    dict) and its timestamp as put; ``nbytes`` is what the memory buffer charges for it
    (``RECORD_BYTES`` a record)."""

    plain: list[bool]
    levels: list[Any]
    facts: list[Any]
    stamps: list[Any]
    nbytes: int = 0

    def keep(self, indices: list[int]) -> DatadogSide:
        """The side data of records ``indices`` only."""
        return DatadogSide([self.plain[i] for i in indices], [self.levels[i] for i in indices],
                           [self.facts[i] for i in indices], [self.stamps[i] for i in indices],
                           RECORD_BYTES * len(indices))


def side_of(records: list[Record], first: str | None = None) -> DatadogSide:
    """The side data of an envelope's records, taken at ``put`` while they are dicts
    (the kernel ``datadog_side``). ``first``: the oldest second the intake takes now
    (``YYYY-MM-DDTHH:MM:SS``, ``None``: no ``max_age``); a record stamped before it is too
    old already and is not checked for the side path (it is dead-lettered unsent)."""
    flags, levels, facts, stamps = datadog_side(records, first)
    return DatadogSide(flags, levels, facts, stamps, RECORD_BYTES * len(records))


def bodies_from_side(encoder: DatadogEncoder, lines: Lines, sides: list[DatadogSide]) -> Bodies:
    """The batch's records the intake takes as ``[...]`` arrays within the intake's limits
    (each entry made from its buffered JSON where it suits, see the module docstring; else
    as ``encoder.dumps`` makes it), the number of entries in each, the batch indices of
    the entries sent, and those ``encoder.split`` would set aside (too old): the kernel
    ``datadog_bodies`` (:mod:`shipper.kernels`), one pass, no entry built on its own."""
    (oldest, newest), settings = encoder.bounds(), encoder.settings

    def slow_stamp(data: bytes, start: int, end: int, stamp: Any) -> tuple[bool, bool]:
        if stamp is not None and type(stamp) is not str:  # what the JSON holds
            stamp = orjson.loads(data[start:end - 1]).get("timestamp")
        return (oldest is not None and oldest.later_than(stamp),
                newest is not None and newest.earlier_than(stamp))

    def dumps_at(data: bytes, start: int, end: int) -> bytes:
        return encoder.dumps(orjson.loads(data[start:end - 1]))

    rules = BodyRules(oldest.text if oldest is not None else "",
                      newest.text if newest is not None else "~", slow_stamp, encoder.suffix,
                      dumps_at, settings.max_entry_bytes, settings.max_entries,
                      settings.max_payload_bytes)
    return datadog_bodies(lines.spans, sides, rules)
