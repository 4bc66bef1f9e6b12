"""The pure-Python twins of ``_compiled.enrich_records`` and ``_compiled.lift_trace``: the
per-record loops of :meth:`Enricher.enrich_batch <shipper.enrich.ids.Enricher.enrich_batch>`
and :func:`~shipper.enrich.trace.lift_trace_context` (the references; the compiled twins
do exactly this, and the tests compare the two on generated batches).

``enrich_records`` takes the common cases inline (an ``attributes`` dict with a string
``job_id`` and ``correlation_id`` in a file without path fields or shard index; a dict with
no id key at all; in such a file, a dict with only one of the two: :func:`one_id`) and
hands any other record to ``one`` (the enricher's whole rule set,
run once on that record). A record that raises stops the batch with
:class:`~shipper.errors.BatchStopped` at its index (those before it are enriched, those
after it untouched).

``lift_trace`` is the trace-context gate: ``from_attributes`` for a record with an attribute
key of ``gate``, then ``from_text`` for one whose message holds ``"race"`` (trace, Trace)
and that has no ``trace_id`` yet.

The hint: given the trace gate, ``enrich_records`` may return a ``bytearray`` (one byte a
record, ``None`` for none) whose non-zero bytes flag records it enriched itself and whose
``attributes`` then held no key of ``gate``; ``lift_trace`` given it skips the gate test
of the flagged records (never their message test). It holds while nothing between the two
adds a gate key to an ``attributes`` (enrichment adds only the file's fields, and no hint
is made when one of them is a gate key; ``one`` adds no gate key to another record's
``attributes`` and leaves the list as it is) and the list is the same. This twin makes
no hint (its gate test is one C call: a flag a record would cost more than it saves); its
``lift_trace`` honours one.

Nothing of :mod:`shipper.enrich` is imported here (it imports ``shipper.kernels``): the
callers hand their constants and per-record functions over.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from shipper.errors import BatchStopped


def enrich_records(records: list[Any], k8s: dict[str, object], fields: dict[str, str],
                   defaults: tuple[tuple[str, object], ...], plain: bool,
                   id_keys: frozenset[str], one: Callable[[Any], object],
                   gate: frozenset[str] | None = None) -> bytearray | None:
    """Enrich ``records`` in place (see the module docstring); ``plain``: the file has no
    path fields and no shard index; ``defaults``: the file's ids, in the order set;
    ``gate``: the trace gate, for the hint (none here)."""
    record: Any = None
    try:
        for record in records:
            attrs = record["attributes"]
            if attrs.__class__ is dict:
                job, corr = attrs.get("job_id"), attrs.get("correlation_id")
                if job.__class__ is str and corr.__class__ is str and job and corr:
                    if plain and "shard_index" not in attrs and "shardIndex" not in attrs:
                        del attrs["job_id"], attrs["correlation_id"]
                        record["job_id"], record["correlation_id"], record["k8s"] = \
                            job, corr, k8s
                        continue
                elif not attrs or id_keys.isdisjoint(attrs):
                    if fields:
                        for name, text in fields.items():
                            attrs.setdefault(name, text)
                    for key, value in defaults:
                        record[key] = value
                    record["k8s"] = k8s
                    continue
                elif plain and (own := one_id(attrs, id_keys)) is not None:
                    one_id_moved(record, attrs, own, defaults, k8s)
                    continue
            one(record)
    except Exception as exc:  # noqa: BLE001 - re-raised with the record's place
        raise BatchStopped(position(records, record), exc) from exc
    return None


def one_id(attrs: dict[Any, Any], id_keys: frozenset[str]) -> str | None:
    """``"job_id"`` or ``"correlation_id"`` when ``attrs`` holds that one with a non-empty
    ``str`` value, not the other, and no other key of ``id_keys`` (a line with only its
    correlation id, say); else ``None``."""
    has_job = "job_id" in attrs
    if has_job == ("correlation_id" in attrs):
        return None
    key = "job_id" if has_job else "correlation_id"
    value = attrs[key]
    if value.__class__ is not str or not value:
        return None
    for other in id_keys:
        if other != "job_id" and other != "correlation_id" and other in attrs:
            return None
    return key


def one_id_moved(record: Any, attrs: dict[Any, Any], key: str,
                 defaults: tuple[tuple[str, object], ...], k8s: object) -> None:
    """What the enricher's rules do with the one id of :func:`one_id` in a file without
    path fields or shard index: lift it out of ``attrs``, the file's id (from
    ``defaults``) for the other, then ``k8s``."""
    value = attrs.pop(key)
    job = value if key == "job_id" else _default(defaults, "job_id")
    corr = value if key == "correlation_id" else _default(defaults, "correlation_id")
    if job is not None:
        record["job_id"] = job
    if corr is not None:
        record["correlation_id"] = corr
    record["k8s"] = k8s


def _default(defaults: tuple[tuple[str, object], ...], name: str) -> object:
    for key, value in defaults:
        if key == name:
            return value
    return None


def position(records: list[Any], record: object) -> int:
    """The index of ``record`` (by identity) in ``records``; 0 when it is not there."""
    return next((i for i, item in enumerate(records) if item is record), 0)


def lift_trace(records: list[Any], gate: frozenset[str],
               from_attributes: Callable[[Any, Any], None],
               from_text: Callable[[Any, str], None],
               clean: bytearray | None = None) -> None:
    """Set ``trace_id``/``span_id`` on the records whose line carries them (in place);
    ``clean``: the hint of ``enrich_records`` (see the module docstring)."""
    flags = repeat(0) if clean is None else chain(clean, repeat(0))  # endless
    for record, flagged in zip(records, flags, strict=False):
        if not flagged:  # a flagged record has no gate key (enrichment's walk saw it)
            attrs = record.get("attributes")
            if attrs and not gate.isdisjoint(attrs):
                from_attributes(record, attrs)
        message = record.get("message")
        # "race": trace, Trace; the costlier key test on the record last (rarely reached)
        if message.__class__ is str and "race" in message and "trace_id" not in record:
            from_text(record, message)


def distinct_values(records: list[Any], key: str) -> set[Any]:
    """``dict.get(record, key)`` of every record, as a set (``None`` for a record without
    ``key``); a record that is no dict raises ``TypeError``, as does a value that cannot
    be hashed (the redaction pre-scan's side check of :data:`SIDE_FIELDS
    <shipper.filters.redact_stage.SIDE_FIELDS>` values)."""
    return set(map(dict.get, records, repeat(key)))


def distinct_objects(records: list[Any], key: str, subkey: str | None = None) -> list[Any]:
    """``record[key]`` (then ``[subkey]``) of every record, each object once by identity,
    in first-seen order: the redaction pre-scan's per-file values (``file.path``,
    ``k8s``) of a batch that may group several files' chunks, in any order. A missing key
    raises ``KeyError``, a record or value that cannot be indexed ``TypeError``."""
    found = map(itemgetter(key), records)  # lazily: a record's key, then its subkey
    if subkey is not None:
        found = map(itemgetter(subkey), found)
    values = list(found)
    return list(dict(zip(map(id, values), values, strict=True)).values())
