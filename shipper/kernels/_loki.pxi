# --- Loki's PushRequest in protobuf's wire format ------------------------------------------

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    Py_UCS4 PyUnicode_READ_CHAR(object text, Py_ssize_t index)
    long long PyLong_AsLongLongAndOverflow(object n, int* overflow) except? -1
    object PyLong_FromLongLong(long long n)

cdef long long _NS = 1000000000
_U64 = (1 << 64) - 1


cdef struct _Buf:
    char* data
    Py_ssize_t size
    Py_ssize_t cap


cdef inline Py_ssize_t _vsize(unsigned long long n) noexcept:
    cdef Py_ssize_t size = 1
    while n > 0x7F:
        n >>= 7
        size += 1
    return size


cdef inline Py_ssize_t _fsize(Py_ssize_t n) noexcept:
    """Bytes of a length-delimited field of ``n`` bytes (left out when empty)."""
    return 1 + _vsize(<unsigned long long>n) + n if n else 0


cdef inline void _varint(_Buf* buf, unsigned long long n) noexcept:
    while n > 0x7F:
        buf.data[buf.size] = <char>((n & 0x7F) | 0x80)
        buf.size += 1
        n >>= 7
    buf.data[buf.size] = <char>n
    buf.size += 1


cdef inline void _field(_Buf* buf, char tag, const char* src, Py_ssize_t n) noexcept:
    """A length-delimited field; nothing when ``n`` is 0 (proto3 leaves defaults out)."""
    if n == 0:
        return
    buf.data[buf.size] = tag
    buf.size += 1
    _varint(buf, <unsigned long long>n)
    memcpy(buf.data + buf.size, src, <size_t>n)
    buf.size += n


cdef extern from "Python.h":
    bint PyUnicode_CheckExact(object text)
    bint PyUnicode_IS_COMPACT_ASCII(object text)
    void* PyUnicode_DATA(object text)
    Py_ssize_t PyUnicode_GET_LENGTH(object text)


cdef inline const char* _utf8(object text, Py_ssize_t* n) except NULL:
    """``PyUnicode_AsUTF8AndSize`` (its errors too), an ASCII ``str`` read in place."""
    if PyUnicode_CheckExact(text) and PyUnicode_IS_COMPACT_ASCII(text):
        n[0] = PyUnicode_GET_LENGTH(text)
        return <const char*>PyUnicode_DATA(text)
    return PyUnicode_AsUTF8AndSize(text, n)


cdef Py_ssize_t _pair_size(object pair) except -1:
    cdef tuple both = <tuple?>pair
    if len(both) != 2:
        raise ValueError("loki_push: a metadata pair is (name, value)")
    return _pair_parts_size(both[0], both[1])


cdef Py_ssize_t _pair_parts_size(object name, object value) except -1:
    """Bytes of the pair ``name``, ``value`` with its tag and length."""
    cdef Py_ssize_t name_n, value_n
    _utf8(name, &name_n)
    _utf8(value, &value_n)
    value_n = _fsize(name_n) + _fsize(value_n)  # the pair is written even when empty
    return 1 + _vsize(<unsigned long long>value_n) + value_n


cdef void _pair(_Buf* buf, tuple both) noexcept:
    """A pair :func:`_pair_size` has measured (its texts' UTF-8 are cached, or ASCII)."""
    _pair_parts(buf, both[0], both[1])


cdef void _pair_parts(_Buf* buf, object name_o, object value_o) noexcept:
    cdef Py_ssize_t name_n, value_n
    cdef const char* name = _utf8(name_o, &name_n)
    cdef const char* value = _utf8(value_o, &value_n)
    buf.data[buf.size] = 0x1a
    buf.size += 1
    _varint(buf, <unsigned long long>(_fsize(name_n) + _fsize(value_n)))
    _field(buf, 0x0a, name, name_n)
    _field(buf, 0x12, value, value_n)


cdef struct _Ent:  # one entry as measured, written by _write_entry
    unsigned long long seconds
    long long nanos
    const char* line
    Py_ssize_t line_n
    Py_ssize_t stamp_n
    Py_ssize_t body_n
    void* meta  # the entry's metadata list (kept alive in ``loki_push``'s ``keep``)
    Py_ssize_t row  # ``loki_push_rows``: the entry's row in the batch's columns


cdef Py_ssize_t _measure(_Ent* ent, object entry, list keep) except -1:
    """Read one ``EntryAdapter`` (``entries``, field 2 of a stream) into ``ent``; its
    bytes with its tag and length."""
    cdef Py_ssize_t meta_n = 0
    cdef list meta = <list?>entry.meta
    _stamp_into(ent, entry.ns)
    line = entry.line
    ent.line = _utf8(line, &ent.line_n)
    for pair in meta:
        meta_n += _pair_size(pair)
    keep.append(line)
    keep.append(meta)
    ent.meta = <void*>meta
    ent.body_n = 2 + ent.stamp_n + _fsize(ent.line_n) + meta_n
    return 1 + _vsize(<unsigned long long>ent.body_n) + ent.body_n


cdef int _stamp_into(_Ent* ent, object ns_o) except -1:
    """An entry's timestamp (nanoseconds) as its seconds and nanoseconds, measured."""
    cdef int overflow = 0
    cdef long long ns = PyLong_AsLongLongAndOverflow(ns_o, &overflow)
    cdef long long nanos, whole
    if overflow:  # beyond int64 nanoseconds: Python's divmod, seconds as 64-bit
        big_seconds, big_nanos = divmod(ns_o, _NS)
        ent.seconds, nanos = <unsigned long long>(big_seconds & _U64), big_nanos
    else:
        whole, nanos = ns / _NS, ns % _NS  # C division: floor it, as divmod does
        if nanos < 0:
            whole, nanos = whole - 1, nanos + _NS
        ent.seconds = <unsigned long long>whole
    ent.nanos = nanos
    ent.stamp_n = ((1 + _vsize(ent.seconds) if ent.seconds else 0)
                   + (1 + _vsize(<unsigned long long>nanos) if nanos else 0))
    return 0


cdef void _write_entry(_Buf* buf, _Ent* ent) noexcept:
    _write_head(buf, ent)
    for pair in <list>ent.meta:
        _pair(buf, <tuple>pair)


cdef void _write_head(_Buf* buf, _Ent* ent) noexcept:
    """An entry's tag, length, timestamp and line (its metadata follows)."""
    buf.data[buf.size] = 0x12
    buf.size += 1
    _varint(buf, <unsigned long long>ent.body_n)
    buf.data[buf.size] = 0x0a
    buf.data[buf.size + 1] = <char>ent.stamp_n
    buf.size += 2
    if ent.seconds:
        buf.data[buf.size] = 0x08
        buf.size += 1
        _varint(buf, ent.seconds)
    if ent.nanos:
        buf.data[buf.size] = 0x10
        buf.size += 1
        _varint(buf, <unsigned long long>ent.nanos)
    _field(buf, 0x12, ent.line, ent.line_n)


def loki_push(streams):
    """Two passes: every entry measured (and its texts' UTF-8 read once), then the
    request written into one bytes object of its exact size."""
    cdef _Ent* ents = NULL
    cdef _Ent* grown
    cdef Py_ssize_t count = 0, cap = 0, total = 0, labels_n, stream_n, first, i
    cdef list plan = [], keep = []
    cdef _Buf out
    cdef const char* labels_b
    try:
        for labels, entries in streams:
            _utf8(labels, &labels_n)
            stream_n = _fsize(labels_n)
            keep.append(labels)
            first = count
            for entry in entries:
                if count == cap:
                    cap = cap * 2 + 64
                    grown = <_Ent*>PyMem_Realloc(ents, <size_t>cap * sizeof(_Ent))
                    if grown == NULL:
                        raise MemoryError()
                    ents = grown
                stream_n += _measure(&ents[count], entry, keep)
                count += 1
            total += 1 + _vsize(<unsigned long long>stream_n) + stream_n
            plan.append((labels, first, count, stream_n))
        if total == 0:
            return b""
        body = PyBytes_FromStringAndSize(NULL, total)
        out.data, out.size, out.cap = PyBytes_AS_STRING(body), 0, total
        for labels, first, stop, stream_n in plan:
            out.data[out.size] = 0x0a
            out.size += 1
            _varint(&out, <unsigned long long>stream_n)
            labels_b = _utf8(labels, &labels_n)
            _field(&out, 0x0a, labels_b, labels_n)
            for i in range(first, <Py_ssize_t>stop):
                _write_entry(&out, &ents[i])
        return body
    finally:
        PyMem_Free(ents)


# --- the Loki sink's fields of a record ---------------------------------------------------

cdef object _MISSING = object()


cdef list _from_k8s(object record, object k8s, list steps):
    """The values of the ``k8s`` paths (``None`` for the others), as ``pure._from_k8s``."""
    cdef list values = []
    cdef tuple step
    cdef long kind
    for step in steps:
        kind = step[0]
        if kind == 0:  # READ_BARE: read per record
            value = None
        elif kind == 1:  # READ_K8S
            value = None if k8s is None else (<dict>k8s).get(step[1])
        else:  # READ_SECTION: k8s.<key>.<sub>
            inner = None if k8s is None else (<dict>k8s).get(step[1])
            if type(inner) is dict:
                value = (<dict>inner).get(step[2])
            elif inner is None:
                value = None
            else:
                value = step[3](record)
        values.append(value)
    return values


from cpython.ref cimport PyObject


cdef extern from "Python.h":
    PyObject* PyTuple_GET_ITEM(object t, Py_ssize_t i)
    PyObject* PyDict_GetItemWithError(object d, object key) except? NULL
    PyObject* PyList_GET_ITEM(object l, Py_ssize_t i)


from shipper.record import Record as _LokiRecord

cdef object _RECORD_TYPE = _LokiRecord  # a C global: no module lookup per record


cdef inline bint _plain_dict(object record):
    """A ``dict`` or a :class:`~shipper.record.Record` (which keeps ``dict``'s lookups):
    read with ``dict``'s own lookup instead of a ``get`` call."""
    return type(record) is dict or type(record) is _RECORD_TYPE


cdef inline object _dict_get(object d, object key):
    """``d.get(key, _MISSING)`` of an exact dict (string keys: never raises)."""
    cdef PyObject* got = PyDict_GetItemWithError(d, key)
    return _MISSING if got == NULL else <object>got


def loki_read(records, steps, getters, Py_ssize_t split, names):
    """As ``pure.loki_read``. An exact-dict record whose labels are all ``k8s`` paths (the
    defaults) is read without a values list: each metadata value straight from the record,
    its ``attributes`` or the shared ``k8s`` values."""
    cdef list out = []
    cdef list values, meta, bare = []
    cdef list from_k8s = []
    cdef list bare_at = []  # per path: its key when read per record (READ_BARE), else None
    cdef Py_ssize_t i, j, count = len(names)
    cdef tuple labels, k8s_labels = None, names_t = tuple(names)
    cdef bint labels_k8s = steps is not None
    cdef object seen = _MISSING
    cdef dict fields
    if steps is not None:
        for i, step in enumerate(<list?>steps):
            bare_at.append(step[1] if step[0] == 0 else None)
            if step[0] == 0:
                bare.append((i, step[1]))
                if i < split:
                    labels_k8s = False
    for record in records:
        if labels_k8s and _plain_dict(record):
            k8s, attrs = _dict_get(record, "k8s"), _dict_get(record, "attributes")
            k8s = None if k8s is _MISSING else k8s
            attrs = None if attrs is _MISSING else attrs
            if ((type(k8s) is dict or k8s is None) and (type(attrs) is dict or attrs is None)
                    and len(bare_at) - split == count):
                if k8s is not seen:
                    seen, from_k8s = k8s, _from_k8s(record, k8s, <list>steps)
                    k8s_labels = tuple(from_k8s[:split])
                out.append((k8s_labels, _k8s_meta(record, attrs, from_k8s, bare_at, split,
                                                  names_t)))
                continue
            k8s, attrs = record.get("k8s"), record.get("attributes")
        else:
            k8s, attrs = record.get("k8s"), record.get("attributes")
        if (steps is None or (type(k8s) is not dict and k8s is not None)
                or (type(attrs) is not dict and attrs is not None)
                or not isinstance(record, dict)):
            values = [get(record) for get in getters]
            seen, labels = _MISSING, tuple(values[:split])
        else:
            if k8s is not seen:
                seen, from_k8s = k8s, _from_k8s(record, k8s, <list>steps)
                k8s_labels = tuple(from_k8s[:split]) if labels_k8s else None
            values = from_k8s[:]
            fields = <dict>record
            for index, key in bare:
                value = fields.get(key, _MISSING)
                if value is _MISSING:
                    value = None if attrs is None else (<dict>attrs).get(key)
                values[index] = value
            labels = k8s_labels if k8s_labels is not None else tuple(values[:split])
        if len(values) - split != count:
            raise ValueError("loki_read: one name for each metadata path")
        out.append((labels, _meta(values, split, names_t)))
    return out


cdef list _k8s_meta(object record, object attrs, list from_k8s, list bare_at,
                    Py_ssize_t split, tuple names):
    """The metadata pairs of an exact-dict record (``attrs``: a dict or ``None``)."""
    cdef list meta = []
    cdef Py_ssize_t j, count = len(names)
    for j in range(count):
        key = <object>PyList_GET_ITEM(bare_at, split + j)
        if key is None:
            value = <object>PyList_GET_ITEM(from_k8s, split + j)
        else:
            value = _dict_get(record, key)
            if value is _MISSING:
                value = None if attrs is None else _dict_get(attrs, key)
                if value is _MISSING:
                    value = None
        if value is None:
            continue
        if type(value) is str:
            if len(<str>value):
                meta.append((<object>PyTuple_GET_ITEM(names, j), value))
        elif value != "":
            meta.append((<object>PyTuple_GET_ITEM(names, j), str(value)))
    return meta


cdef list _meta(list values, Py_ssize_t split, tuple names):
    cdef list meta = []
    cdef Py_ssize_t j
    for j in range(len(names)):
        value = values[split + j]
        if value is None:
            continue
        if type(value) is str:
            if len(<str>value):
                meta.append((names[j], value))
        elif value != "":
            meta.append((names[j], str(value)))
    return meta


# the type of a slot's member descriptor (``_json.pxi`` checks the record's slots are ones)
class _Slotted:
    __slots__ = ("slot",)


cdef object _MEMBER = type(_Slotted.__dict__["slot"])
