"""Records -> one NDJSON blob per envelope; a record JSON cannot hold is shipped as text.

``orjson.dumps`` refuses some records ``orjson.loads`` accepted (nesting deeper than 254
levels, integers past 64 bits, strings with lone surrogates, a ``default`` that raises).
The envelope is encoded in one pass; if that fails, record by record, and each record
that still fails is replaced by a text record: its string fields, its ``message`` (or a
bounded ``repr`` of the record), ``attributes.unencodable: true``. The sink counts those
in ``shipper_records_failed_total{reason="unencodable"}`` (delivered, but changed).

An envelope is the same bytes for every sink type (their payloads are made from it later),
and each line is what ``orjson.dumps(record, default=str)`` gives the live tail's ring
(:mod:`shipper.server.tail`): so when several take the very same records, the processor
task encodes them once (``levels=False``) and hands the result to each
(:class:`TakesEncoded`, and :meth:`~shipper.server.tail.TailHub.publish`).
"""

from __future__ import annotations

import reprlib
from array import array
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from shipper.acks import AckToken
from shipper.kernels import ndjson_records
from shipper.record import LEVELS, Record

_OPTS = orjson.OPT_APPEND_NEWLINE
#: levels a drop policy sheds last
HIGH_LEVELS = frozenset({"warning", "error", "critical"})
#: the longest text a record that cannot be encoded is shipped with
TEXT_LIMIT = 64 * 1024
_TEXT_FIELDS = ("timestamp", "level", "logger", "job_id", "correlation_id", "stream")
_OPTIONAL_PARTS = ("k8s", "file")

_repr = reprlib.Repr(maxlevel=8, maxdict=50, maxlist=50, maxtuple=50, maxset=20,
                     maxstring=TEXT_LIMIT, maxother=200, maxlong=400)


@dataclass(slots=True)
class Encoded:
    data: bytes
    ends: array[int]
    high: bytes | None
    #: records replaced by their text form
    unencodable: int = 0
    #: the type of the first error (for the log line; never record content)
    error: str = ""


@runtime_checkable
class TakesEncoded(Protocol):
    """A sink worker that takes an envelope already encoded (optional capability)."""

    async def put_encoded(self, records: list[Record], encoded: Encoded,
                          token: AckToken) -> None:
        """``put`` of ``records``, given ``encode_records(records, levels=False)``."""


def encode_records(records: list[Record], *, levels: bool) -> Encoded:
    """The records as NDJSON with each record's end offset (and level flags if asked)."""
    try:
        data, ends = ndjson(records)
        bad, error = 0, ""
    except Exception:  # noqa: BLE001 - accounted: the per-record pass counts each failure
        buf, ends, bad, error = _one_by_one(records)
        data = bytes(buf)
    return Encoded(data, ends, levels_of(records) if levels else None, bad, error)


def ndjson(records: list[Record]) -> tuple[bytes, array[int]]:
    """The records as NDJSON (``orjson.dumps(record, default=str)`` and ``\\n`` each) and
    each one's end offset; raises what ``orjson.dumps`` raises (the kernel
    :func:`~shipper.kernels.ndjson_records`: compiled, one ``orjson.dumps`` of the list
    split at its records; pure, one call per record, see :mod:`shipper.kernels.pure_encode`;
    either is a copy of its exact size)."""
    return ndjson_records(records, str)


def levels_of(records: list[Record]) -> bytes:
    """One byte per record: 1 when its level is ``warning`` or above."""
    return bytes([r.get("level") in HIGH_LEVELS for r in records])


def _one_by_one(records: list[Record]) -> tuple[bytearray, array[int], int, str]:
    buf = bytearray()
    ends = array("I")
    bad, error = 0, ""
    for record in records:
        try:
            buf += orjson.dumps(record, option=_OPTS, default=str)
        except Exception as exc:  # noqa: BLE001 - counted and shipped as text below
            bad += 1
            error = error or type(exc).__name__
            buf += as_text(record, type(exc).__name__)
        ends.append(len(buf))
    return buf, ends, bad, error


def as_text(record: Record, error: str) -> bytes:
    """A record JSON can hold: the string fields, the message (or a bounded ``repr``)."""
    out: dict[str, Any] = {key: record[key] for key in _TEXT_FIELDS
                           if isinstance(record.get(key), str) and _encodable(record[key])}
    if out.get("level") not in LEVELS:
        out.pop("level", None)
    message = record.get("message")
    if isinstance(message, str):
        out["message"] = message if _encodable(message) else _clean(message)
    else:
        out["message"] = _clean(_safe_repr(record))[:TEXT_LIMIT]
    out["attributes"] = {"unencodable": True, "unencodable_error": error}
    for key in _OPTIONAL_PARTS:
        if isinstance(record.get(key), dict) and _encodable(record[key]):
            out[key] = record[key]
    try:
        return orjson.dumps(out, option=_OPTS)
    except TypeError:  # cannot happen with the checks above; keep the bare minimum
        return orjson.dumps({"message": ascii(message)[:TEXT_LIMIT],
                             "attributes": {"unencodable": True}}, option=_OPTS)


def _encodable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def _clean(text: str) -> str:
    """The text with anything UTF-8 cannot carry (lone surrogates) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _safe_repr(value: Any) -> str:
    try:
        return _repr.repr(value)
    except Exception as exc:  # noqa: BLE001 - a __repr__ that raises: say so instead
        return f"<record that cannot be represented: {type(exc).__name__}>"
