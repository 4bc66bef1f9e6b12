"""Loki's ``PushRequest`` written straight in protobuf's wire format.

The bytes are those ``logproto.PushRequest.SerializeToString()`` writes for the same
streams (:mod:`shipper.sinks.proto`; ``tests/unit/sinks/test_loki_wire.py`` compares
them): fields in number order, proto3 defaults left out (an empty line, name or value, a
zero second or nanosecond), the ``timestamp`` message always present. Only the fields the
sink sets are written: ``PushRequest.streams``, ``StreamAdapter.labels``/``entries``,
``EntryAdapter.timestamp``/``line``/``structuredMetadata``. Building the message through
the protobuf runtime cost more per entry than the rest of the encoder; here the parts
entries share (seconds, metadata pairs such as the level or the pod) are encoded once
per request.
"""

from __future__ import annotations

from collections.abc import Iterable

from shipper.sinks.loki_order import NS, Entry

_ONE_BYTE = [bytes((n,)) for n in range(128)]
_U64 = (1 << 64) - 1
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


def push_request(streams: Iterable[tuple[str, list[Entry]]]) -> bytes:
    """``(labels, entries)`` per stream, in order -> the serialized ``PushRequest``."""
    writer = _Writer()
    out = []
    for labels, entries in streams:
        parts = [_field(b"\x0a", labels.encode())] if labels else []
        parts += [writer.entry(entry) for entry in entries]
        out.append(_field(b"\x0a", b"".join(parts)))
    return b"".join(out)


class _Writer:
    """Entries of one request; remembers the encoded seconds and metadata pairs."""

    def __init__(self) -> None:
        self.seconds: dict[int, bytes] = {}
        self.nanos: dict[int, bytes] = {}
        self.pairs: dict[tuple[str, str], bytes] = {}
        #: name -> (``%`` template of a pair with a short value, its bytes besides the value)
        self.templates: dict[str, tuple[bytes, int]] = {}

    def entry(self, entry: Entry) -> bytes:
        """``entries`` (field 2 of a stream): one ``EntryAdapter``."""
        seconds, nanos = divmod(entry.ns, NS)
        stamp = self.seconds.get(seconds)
        if stamp is None:
            stamp = self.second(seconds)
        if nanos:
            stamp += self.nanos.get(nanos) or self.nano(nanos)
        line = entry.line.encode()
        get, pair = self.pairs.get, self.pair
        meta = b"".join([get(each) or pair(each) for each in entry.meta])
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
