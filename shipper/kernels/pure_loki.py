"""The pure-Python twins of the Loki sink's kernels in ``_compiled.pyx`` (``loki_push``,
``loki_read``, ``loki_stamps``); :mod:`shipper.kernels.pure` re-exports them, with the same
API and results as the compiled ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

# --- Loki's PushRequest in protobuf's wire format ------------------------------------------

class WireEntry(Protocol):
    """What :func:`loki_push` reads of an entry (``shipper.sinks.loki_order.Entry``)."""

    ns: int
    line: str
    meta: list[tuple[str, str]]


_ONE_BYTE = [bytes((n,)) for n in range(128)]
_U64 = (1 << 64) - 1
NS = 1_000_000_000
#: seconds, nanoseconds and metadata pairs remembered while one request is written;
#: beyond this many distinct ones of each, the others are encoded each time they come
SHARED_PARTS = 1024


def varint(n: int) -> bytes:
    """``n`` as a protobuf varint (a negative ``int64`` as its 64-bit two's complement)."""
    if 0 <= n < 0x80:
        return _ONE_BYTE[n]
    if 0 < n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if 0 < n < 0x200000:
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
    if 0 < n < 0x10000000:
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80,
                      ((n >> 14) & 0x7F) | 0x80, n >> 21))
    n &= _U64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, data: bytes) -> bytes:
    """A length-delimited field (``tag``: its number and wire type, one byte)."""
    return tag + varint(len(data)) + data


def _pair(*, name_b: bytes, value_b: bytes) -> bytes:
    """A ``LabelPairAdapter`` field of any size."""
    return _field(b"\x1a", (_field(b"\x0a", name_b) if name_b else b"")
                  + (_field(b"\x12", value_b) if value_b else b""))


def loki_push(streams: Sequence[tuple[str, Sequence[WireEntry]]]) -> bytes:
    """``(labels, entries)`` per stream, in order -> the serialized Loki ``PushRequest``:
    the bytes ``logproto.PushRequest.SerializeToString()`` writes (fields in number order,
    proto3 defaults left out: an empty line, name or value, a zero second or nanosecond;
    the ``timestamp`` message always present). Only the fields the Loki sink sets:
    ``PushRequest.streams``, ``StreamAdapter.labels``/``entries``,
    ``EntryAdapter.timestamp``/``line``/``structuredMetadata``. The parts entries share
    (seconds, metadata pairs such as the level or the pod) are encoded once per request."""
    writer = PushWriter()
    return push_bytes([(labels, [writer.entry(entry) for entry in entries])
                       for labels, entries in streams])


def push_bytes(streams: Sequence[tuple[str, list[bytes]]]) -> bytes:
    """The ``PushRequest`` of ``(labels, its entries as written)`` per stream."""
    out = []
    for labels, entries in streams:
        parts = [_field(b"\x0a", labels.encode())] if labels else []
        parts += entries
        out.append(_field(b"\x0a", b"".join(parts)))
    return b"".join(out)


class PushWriter:
    """Entries of one request; remembers the encoded seconds and metadata pairs."""

    def __init__(self) -> None:
        self.seconds: dict[int, bytes] = {}
        self.nanos: dict[int, bytes] = {}
        self.pairs: dict[tuple[str, str], bytes] = {}
        #: name -> (``%`` template of a pair with a short value, its bytes besides the value)
        self.templates: dict[str, tuple[bytes, int]] = {}

    def entry(self, entry: WireEntry) -> bytes:
        """``entries`` (field 2 of a stream): one ``EntryAdapter``."""
        get, pair = self.pairs.get, self.pair
        return self.entry_of(entry.ns, entry.line,
                             b"".join([get(each) or pair(each) for each in entry.meta]))

    def entry_of(self, ns: int, text: str, meta: bytes) -> bytes:
        """One ``EntryAdapter`` at ``ns`` of line ``text``, its metadata pairs written."""
        seconds, nanos = divmod(ns, NS)
        stamp = self.seconds.get(seconds)
        if stamp is None:
            stamp = self.second(seconds)
        if nanos:
            stamp += self.nanos.get(nanos) or self.nano(nanos)
        line = text.encode()
        if line:  # the timestamp message is at most 11 + 6 bytes long: one length byte
            body = b"\x0a%c%s\x12%s%s%s" % (len(stamp), stamp, varint(len(line)), line, meta)
        else:
            body = b"\x0a%c%s%s" % (len(stamp), stamp, meta)
        return b"\x12" + varint(len(body)) + body

    def second(self, seconds: int) -> bytes:
        stamp = b"\x08" + varint(seconds) if seconds else b""
        if len(self.seconds) < SHARED_PARTS:
            self.seconds[seconds] = stamp
        return stamp

    def nano(self, nanos: int) -> bytes:
        field = b"\x10" + varint(nanos)
        if len(self.nanos) < SHARED_PARTS:
            self.nanos[nanos] = field
        return field

    def pair(self, pair: tuple[str, str]) -> bytes:
        """``structuredMetadata`` (field 3 of an entry): one ``LabelPairAdapter``."""
        name, value = pair
        template = self.templates.get(name)
        if template is None:
            name_b = name.encode()
            head = _field(b"\x0a", name_b) if name_b else b""
            template = self.templates[name] = (b"\x1a%c" + head + b"\x12%c%s", len(head) + 2)
        value_b = value.encode()
        size = template[1] + len(value_b)
        if value_b and size < 0x80:
            got = template[0] % (size, len(value_b), value_b)
        else:
            got = _pair(name_b=name.encode(), value_b=value_b)
        if len(self.pairs) < SHARED_PARTS:
            self.pairs[pair] = got
        return got

    def column(self, name: str, values: Sequence[str | None]) -> list[bytes]:
        """The pair ``(name, value)`` as :meth:`pair` writes it for each of ``values``
        (``b""`` for ``None``), each distinct value written once (a lookup in C for the
        others)."""
        return list(map(_Column(self, name).__getitem__, values))


class _Column(dict[str | None, bytes]):
    """A metadata name's values -> their pairs as written (``SHARED_PARTS`` of them kept)."""

    def __init__(self, writer: PushWriter, name: str) -> None:
        super().__init__({None: b""})
        self.writer, self.name = writer, name

    def __missing__(self, value: str) -> bytes:
        got = self.writer.pair((self.name, value))
        if len(self) <= SHARED_PARTS:
            self[value] = got
        return got


# --- the Loki sink's fields of a record ---------------------------------------------------

#: how a field path is read (``shipper.sinks.loki_fields.step_of``): the record's own key,
#: else ``attributes.<key>`` (``READ_BARE``); ``k8s.<key>`` (``READ_K8S``);
#: ``k8s.<key>.<sub>`` for ``labels``/``annotations`` (``READ_SECTION``)
READ_BARE, READ_K8S, READ_SECTION = 0, 1, 2
#: (kind, key, sub, the compiled getter of the path)
ReadStep = tuple[int, str, str, Callable[[Any], Any]]
#: a record's label values (a tuple) and its structured metadata pairs
ReadOut = tuple[tuple[Any, ...], list[tuple[str, str]]]


def _no_value(_key: str, _default: Any = None) -> Any:
    return None


def loki_read(records: Sequence[Any], steps: Sequence[ReadStep] | None,
              getters: Sequence[Callable[[Any], Any]], split: int,
              names: Sequence[str]) -> list[ReadOut]:
    """For each record, the value of every path (``steps``, else ``getters``: the same
    paths) cut in two: the first ``split`` values as a tuple (the stream's label values),
    the others paired with ``names`` (structured metadata), those ``None`` or ``""`` left
    out and the others as strings. A record whose ``k8s`` or ``attributes`` is neither a
    dict nor missing, or that is not a dict, is read by the getters. The ``k8s`` paths are
    read once for consecutive records sharing one ``k8s`` object (a file's records do),
    and when every label is such a path, those records share one label tuple."""
    out = []
    bare = [i for i, step in enumerate(steps or ()) if step[0] == READ_BARE]
    labels_k8s = steps is not None and all(step[0] != READ_BARE for step in steps[:split])
    seen: Any = _UNSEEN
    from_k8s: list[Any] = []
    k8s_labels: tuple[Any, ...] | None = None
    for record in records:
        k8s, attrs = record.get("k8s"), record.get("attributes")
        if (steps is None or (type(k8s) is not dict and k8s is not None)
                or (type(attrs) is not dict and attrs is not None)
                or not isinstance(record, dict)):
            values = [get(record) for get in getters]
            seen, labels = _UNSEEN, tuple(values[:split])
        else:
            if k8s is not seen:
                seen, from_k8s = k8s, _from_k8s(record, k8s, steps)
                k8s_labels = tuple(from_k8s[:split]) if labels_k8s else None
            values = from_k8s.copy()
            get = record.get
            attrs_get = _no_value if attrs is None else attrs.get
            for i in bare:
                key = steps[i][1]
                values[i] = get(key, attrs_get(key))
            labels = k8s_labels if k8s_labels is not None else tuple(values[:split])
        meta = [(name, value if type(value) is str else str(value))
                for name, value in zip(names, values[split:], strict=True)
                if value is not None and value != ""]
        out.append((labels, meta))
    return out


_UNSEEN = object()


def _from_k8s(record: Any, k8s: dict[str, Any] | None, steps: Sequence[ReadStep]) -> list[Any]:
    """The values of the ``k8s`` paths (``None`` for the others)."""
    k8s_get = _no_value if k8s is None else k8s.get
    return [None if kind == READ_BARE
            else k8s_get(key) if kind == READ_K8S
            else inner.get(sub) if type(inner := k8s_get(key)) is dict
            else None if inner is None else getter(record)
            for kind, key, sub, getter in steps]


def loki_stamps(records: Sequence[Any], key: str, seconds: dict[str, int], limit: int,
                parse: Callable[[Any], int | None]) -> list[int | None]:
    """Each record's ``key`` as nanoseconds, what ``parse`` (``rfc3339_to_ns``) gives, with
    the seconds of ``YYYY-MM-DDTHH:MM:SS[.digits]Z`` parsed once per distinct second:
    remembered in ``seconds`` (cleared when it holds ``limit``); any other form is read by
    ``parse`` itself."""
    out = []
    for record in records:
        value = record.get(key)
        if type(value) is not str or len(value) < 20 or value[-1] != "Z":
            out.append(parse(value))
            continue
        frac = value[20:-1]
        if len(value) > 20 and not (value[19] == "." and frac.isdigit() and frac.isascii()):
            out.append(parse(value))  # not ".digits" between the seconds and the "Z"
            continue
        head = value[:19]
        base = seconds.get(head)
        if base is None:
            base = parse(head + "Z")
            if base is None:
                out.append(None)
                continue
            if len(seconds) >= limit:
                seconds.clear()
            seconds[head] = base
        out.append(base + int((frac + "000000000")[:9]) if frac else base)
    return out
