# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True
"""Typed loops for the hot kernels; ``pure.py`` is the twin with the same API and results
(read its docstrings: each function here does exactly what its twin does)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport Py_UNICODE_ISALNUM, Py_UNICODE_ISSPACE, PyUnicode_DecodeASCII
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.string cimport memchr, memcmp, memcpy, memset, strlen

KERNEL_API = 40


def split_lines(bytes data, Py_ssize_t start, Py_ssize_t end, long long base,
                Py_ssize_t limit, list lines, set truncated):
    cdef const char* buf = PyBytes_AS_STRING(data)
    cdef Py_ssize_t pos = start, stop, skip, size
    cdef const char* nl
    cdef long long offset
    if start < 0 or end > PyBytes_GET_SIZE(data) or start > end or limit < 1:
        raise ValueError("split_lines: need 0 <= start <= end <= len(data) and limit >= 1")
    while True:
        nl = <const char*>memchr(buf + pos, 10, <size_t>(end - pos))
        stop = end if nl == NULL else nl - buf
        skip = pos
        while skip < stop and buf[skip] == 0:
            skip += 1
        if skip == pos or skip < stop:  # a line of NULs only is dropped
            size = stop - skip
            offset = base + skip
            if size > limit:
                truncated.add(offset)
                size = limit
            lines.append((offset, PyBytes_FromStringAndSize(buf + skip, size)))
        if nl == NULL:
            return
        pos = stop + 1


cdef extern from "Python.h":
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) nogil


cdef inline bint _key_head(Py_UCS4 ch):
    return (ch >= 97 and ch <= 122) or (ch >= 65 and ch <= 90) or ch == 95 or ch == 64


cdef inline bint _key_char(Py_UCS4 ch):
    if ch < 128:
        return ((ch >= 97 and ch <= 122) or (ch >= 65 and ch <= 90) or (ch >= 48 and ch <= 57)
                or ch == 95 or ch == 46 or ch == 45 or ch == 47 or ch == 64)
    return Py_UNICODE_ISALNUM(ch)


cdef inline bint _space(int kind, void* data, Py_ssize_t i):
    cdef Py_UCS4 ch = PyUnicode_READ(kind, data, i)
    if ch < 128:
        return ch == 32 or (ch >= 9 and ch <= 13) or (ch >= 28 and ch <= 31)
    return Py_UNICODE_ISSPACE(ch)


cdef Py_ssize_t _pair_eq(int kind, void* data, Py_ssize_t start, Py_ssize_t stop):
    """Index of the ``=`` ending a valid key in the word ``[start, stop)``, else -1."""
    cdef Py_ssize_t i = start
    cdef Py_UCS4 ch
    while i < stop:
        ch = PyUnicode_READ(kind, data, i)
        if ch == 61:
            return i if i > start else -1
        if not (_key_head(ch) if i == start else _key_char(ch)):
            return -1
        i += 1
    return -1


# ASCII classes for the one-byte loop below: bit 1 space, 2 key head, 4 key character
cdef unsigned char _CLASS[128]


cdef void _fill_classes():
    cdef int ch
    for ch in range(128):
        _CLASS[ch] = ((1 if ch == 32 or (9 <= ch <= 13) or (28 <= ch <= 31) else 0)
                      | (2 if _key_head(ch) else 0) | (4 if _key_char(ch) else 0))


_fill_classes()


cdef inline bint _space1(const unsigned char* data, Py_ssize_t i):
    cdef unsigned char ch = data[i]
    if ch < 128:
        return _CLASS[ch] & 1
    return Py_UNICODE_ISSPACE(ch)


cdef Py_ssize_t _pair_eq1(const unsigned char* data, Py_ssize_t start, Py_ssize_t stop):
    """``_pair_eq`` over one-byte characters (a table lookup per ASCII character)."""
    cdef Py_ssize_t i = start
    cdef unsigned char ch
    while i < stop:
        ch = data[i]
        if ch == 61:
            return i if i > start else -1
        if ch < 128:
            if not (_CLASS[ch] & (2 if i == start else 4)):
                return -1
        elif i == start or not Py_UNICODE_ISALNUM(ch):
            return -1
        i += 1
    return -1


cdef tuple _trailing_pairs1(str message, const unsigned char* data, Py_ssize_t n):
    """``trailing_pairs`` for a one-byte (Latin-1) string: the same two walks, reading
    bytes instead of ``PyUnicode_READ`` (a switch on the kind per character)."""
    cdef Py_ssize_t i = n, word_end, word_start, run_start = -1, head_end = 0, eq
    cdef dict pairs
    while True:
        while i > 0 and _space1(data, i - 1):
            i -= 1
        if i == 0:
            break
        word_end = i
        while i > 0 and not _space1(data, i - 1):
            i -= 1
        word_start = i
        if _pair_eq1(data, word_start, word_end) < 0:
            head_end = word_end
            break
        run_start = word_start
    if run_start < 0:
        return message, None
    pairs = {}
    i = run_start
    while i < n:
        while i < n and _space1(data, i):
            i += 1
        if i == n:
            break
        word_start = i
        while i < n and not _space1(data, i):
            i += 1
        eq = _pair_eq1(data, word_start, i)
        pairs[message[word_start:eq]] = message[eq + 1:i]
    return message[:head_end], pairs


def trailing_pairs(str message):
    cdef Py_ssize_t n = len(message), i = n, word_end, word_start, run_start = -1
    cdef Py_ssize_t head_end = 0, eq
    cdef int kind = PyUnicode_KIND(message)
    cdef void* data = PyUnicode_DATA(message)
    cdef dict pairs
    if kind == 1:
        return _trailing_pairs1(message, <const unsigned char*>data, n)
    while True:
        while i > 0 and _space(kind, data, i - 1):
            i -= 1
        if i == 0:
            break
        word_end = i
        while i > 0 and not _space(kind, data, i - 1):
            i -= 1
        word_start = i
        if _pair_eq(kind, data, word_start, word_end) < 0:
            head_end = word_end
            break
        run_start = word_start
    if run_start < 0:
        return message, None
    pairs = {}
    i = run_start
    while i < n:
        while i < n and _space(kind, data, i):
            i += 1
        if i == n:
            break
        word_start = i
        while i < n and not _space(kind, data, i):
            i += 1
        eq = _pair_eq(kind, data, word_start, i)
        pairs[message[word_start:eq]] = message[eq + 1:i]
    return message[:head_end], pairs


cdef inline bint _digit(Py_UCS4 ch):
    return ch >= 48 and ch <= 57


cdef inline bint _digits(str text, Py_ssize_t at, Py_ssize_t count):
    cdef Py_ssize_t i
    for i in range(at, at + count):
        if not _digit(text[i]):
            return False
    return True


cdef Py_ssize_t _zone_end(str text, Py_ssize_t q, Py_ssize_t n):
    """End of ``Z|z|UTC|GMT|[+-]dd:?dd`` at ``q`` not followed by ``[A-Za-z0-9_:]``, or -1."""
    cdef Py_UCS4 ch
    cdef Py_ssize_t end = -1
    if q >= n:
        return -1
    ch = text[q]
    if ch == 90 or ch == 122:  # Z z
        end = q + 1
    elif q + 3 <= n and (text[q:q + 3] == "UTC" or text[q:q + 3] == "GMT"):
        end = q + 3
    elif (ch == 43 or ch == 45) and q + 5 <= n and _digits(text, q + 1, 2):
        if text[q + 3] == 58:  # +hh:mm (without the colon the next char is no digit)
            if q + 6 <= n and _digits(text, q + 4, 2):
                end = q + 6
        elif _digits(text, q + 3, 2):
            end = q + 5
    if end < 0:
        return -1
    if end < n:
        ch = text[end]
        if ch == 58 or ch == 95 or _digit(ch) or (ch >= 97 and ch <= 122) or (
                ch >= 65 and ch <= 90):
            return -1
    return end


def iso_prefix(str text):
    cdef Py_ssize_t n = len(text), p = 19, q, zend
    cdef Py_UCS4 sep, ch
    if n < 19:
        return None
    sep = text[4]
    if not (sep == 45 or sep == 47) or text[7] != sep or text[13] != 58 or text[16] != 58:
        return None
    ch = text[10]
    if not (ch == 84 or ch == 32):
        return None
    if not (_digits(text, 0, 4) and _digits(text, 5, 2) and _digits(text, 8, 2)
            and _digits(text, 11, 2) and _digits(text, 14, 2) and _digits(text, 17, 2)):
        return None
    frac = None
    if p + 1 < n and (text[p] == 46 or text[p] == 44) and _digit(text[p + 1]):
        q = p + 2
        while q < n and _digit(text[q]):
            q += 1
        frac = text[p + 1:q]
        p = q
    zone = None
    q = p + 1 if p < n and text[p] == 32 else p
    zend = _zone_end(text, q, n)
    if zend >= 0:
        zone = text[q:zend]
        p = zend
    return text[0:10], text[11:19], frac, zone, p


cdef inline bint _byte_digits(const unsigned char* buf, Py_ssize_t at, Py_ssize_t count):
    cdef Py_ssize_t i
    for i in range(at, at + count):
        if buf[i] < 48 or buf[i] > 57:
            return False
    return True


cdef Py_ssize_t _cri_stamp_end(const unsigned char* buf, Py_ssize_t n):
    """End of the CRI time ``YYYY-MM-DDTHH:MM:SS[.d{1,9}](Z|[+-]HH:MM)`` at ``buf[0]``,
    or -1 (the regex's optional fraction never needs backtracking: after it, or after
    its last digit, only a zone can follow)."""
    cdef Py_ssize_t p = 19, q
    if n < 20 or buf[4] != 45 or buf[7] != 45 or buf[10] != 84 or buf[13] != 58 \
            or buf[16] != 58:
        return -1
    if not (_byte_digits(buf, 0, 4) and _byte_digits(buf, 5, 2) and _byte_digits(buf, 8, 2)
            and _byte_digits(buf, 11, 2) and _byte_digits(buf, 14, 2)
            and _byte_digits(buf, 17, 2)):
        return -1
    if buf[p] == 46:  # .
        q = p + 1
        while q < n and q - p <= 9 and buf[q] >= 48 and buf[q] <= 57:
            q += 1
        if q == p + 1:
            return -1
        p = q
    if p < n and buf[p] == 90:  # Z
        return p + 1
    if p + 6 <= n and (buf[p] == 43 or buf[p] == 45) and buf[p + 3] == 58 \
            and _byte_digits(buf, p + 1, 2) and _byte_digits(buf, p + 4, 2):
        return p + 6
    return -1


_STDOUT = "stdout"
_STDERR = "stderr"


def cri_whole_lines(list lines, Py_ssize_t start, list out):
    cdef Py_ssize_t index, count = len(lines), n, p
    cdef const unsigned char* buf
    cdef tuple item
    cdef bytes raw
    cdef object stream
    if start < 0:
        raise ValueError("cri_whole_lines: need start >= 0")
    for index in range(start, count):
        item = <tuple?>lines[index]
        raw = <bytes?>item[1]
        buf = <const unsigned char*>PyBytes_AS_STRING(raw)
        n = PyBytes_GET_SIZE(raw)
        p = _cri_stamp_end(buf, n)
        # then " stdout F" or " stderr F", and a space or the end
        if p < 0 or p + 9 > n or buf[p] != 32 or buf[p + 7] != 32 or buf[p + 8] != 70 \
                or (p + 9 < n and buf[p + 9] != 32):
            return index
        if memcmp(buf + p + 1, b"stdout", 6) == 0:
            stream = _STDOUT
        elif memcmp(buf + p + 1, b"stderr", 6) == 0:
            stream = _STDERR
        else:
            return index
        out.append((item[0], PyBytes_FromStringAndSize(<const char*>buf + p + 10, n - p - 10)
                    if p + 10 < n else b"",
                    stream, PyUnicode_DecodeASCII(<const char*>buf, p, NULL)))
    return count


# --- Loki's PushRequest in protobuf's wire format ------------------------------------------

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    Py_UCS4 PyUnicode_READ_CHAR(object text, Py_ssize_t index)
    long long PyLong_AsLongLongAndOverflow(object n, int* overflow) except? -1

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
    cdef Py_ssize_t name_n, value_n
    if len(both) != 2:
        raise ValueError("loki_push: a metadata pair is (name, value)")
    _utf8(both[0], &name_n)
    _utf8(both[1], &value_n)
    value_n = _fsize(name_n) + _fsize(value_n)  # the pair is written even when empty
    return 1 + _vsize(<unsigned long long>value_n) + value_n


cdef void _pair(_Buf* buf, tuple both) noexcept:
    """A pair :func:`_pair_size` has measured (its texts' UTF-8 are cached, or ASCII)."""
    cdef Py_ssize_t name_n, value_n
    cdef const char* name = _utf8(both[0], &name_n)
    cdef const char* value = _utf8(both[1], &value_n)
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


cdef Py_ssize_t _measure(_Ent* ent, object entry, list keep) except -1:
    """Read one ``EntryAdapter`` (``entries``, field 2 of a stream) into ``ent``; its
    bytes with its tag and length."""
    cdef int overflow = 0
    cdef long long ns = PyLong_AsLongLongAndOverflow(entry.ns, &overflow)
    cdef long long nanos, whole
    cdef Py_ssize_t meta_n = 0
    cdef list meta = <list?>entry.meta
    if overflow:  # beyond int64 nanoseconds: Python's divmod, seconds as 64-bit
        big_seconds, big_nanos = divmod(entry.ns, _NS)
        ent.seconds, nanos = <unsigned long long>(big_seconds & _U64), big_nanos
    else:
        whole, nanos = ns / _NS, ns % _NS  # C division: floor it, as divmod does
        if nanos < 0:
            whole, nanos = whole - 1, nanos + _NS
        ent.seconds = <unsigned long long>whole
    ent.nanos = nanos
    ent.stamp_n = ((1 + _vsize(ent.seconds) if ent.seconds else 0)
                   + (1 + _vsize(<unsigned long long>nanos) if nanos else 0))
    line = entry.line
    ent.line = _utf8(line, &ent.line_n)
    for pair in meta:
        meta_n += _pair_size(pair)
    keep.append(line)
    keep.append(meta)
    ent.meta = <void*>meta
    ent.body_n = 2 + ent.stamp_n + _fsize(ent.line_n) + meta_n
    return 1 + _vsize(<unsigned long long>ent.body_n) + ent.body_n


cdef void _write_entry(_Buf* buf, _Ent* ent) noexcept:
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
    for pair in <list>ent.meta:
        _pair(buf, <tuple>pair)


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


cdef inline bint _plain_dict(object record):
    """A ``dict`` or a :class:`~shipper.record.Record` (which keeps ``dict``'s lookups):
    read with ``dict``'s own lookup instead of a ``get`` call."""
    return type(record) is dict or type(record) is _LokiRecord


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


cdef object _stamp(object value, dict seconds, Py_ssize_t limit, object parse, list last):
    """One value of ``pure.loki_stamps``; ``last``: ``[head, base]`` of the previous value
    whose seconds were read (an ASCII value with the same first 19 characters reuses its
    base without slicing or looking it up: what the lookup would give)."""
    cdef Py_ssize_t n, i
    cdef long long frac = 0
    cdef int digits = 0
    cdef unsigned int ch
    if type(value) is not str:
        return parse(value)
    n = len(<str>value)
    if n < 20 or <unsigned int>PyUnicode_READ_CHAR(value, n - 1) != 90:  # "Z"
        return parse(value)
    if n > 20:
        if <unsigned int>PyUnicode_READ_CHAR(value, 19) != 46 or n == 21:  # "."
            return parse(value)
        for i in range(20, n - 1):
            ch = <unsigned int>PyUnicode_READ_CHAR(value, i)
            if ch < 48 or ch > 57:
                return parse(value)  # not ".digits" between the seconds and the "Z"
            if digits < 9:
                frac = frac * 10 + <long long>(ch - 48)
                digits += 1
        while digits < 9:
            frac *= 10
            digits += 1
    head = last[0]
    if (head is not None and PyUnicode_IS_COMPACT_ASCII(value)
            and memcmp(PyUnicode_DATA(value), PyUnicode_DATA(head), 19) == 0):
        base = last[1]
    else:
        head = (<str>value)[:19]
        base = seconds.get(head)
        if base is None:
            base = parse(head + "Z")
            if base is None:
                return None
            if len(seconds) >= limit:
                seconds.clear()
            seconds[head] = base
        if PyUnicode_IS_COMPACT_ASCII(head):
            last[0], last[1] = head, base
    return base + frac if n > 20 else base


def loki_stamps(records, str key, dict seconds, Py_ssize_t limit, parse):
    cdef list out = []
    cdef list last = [None, None]
    for record in records:
        if _plain_dict(record):
            value = _dict_get(record, key)
            out.append(_stamp(None if value is _MISSING else value, seconds, limit, parse,
                              last))
        else:
            out.append(_stamp(record.get(key), seconds, limit, parse, last))
    return out



cdef extern from *:
    """
    static PyObject* __pyx_loki_new(PyObject* cls, PyObject* args) {
        PyTypeObject* type = (PyTypeObject*)cls;
        return type->tp_new(type, args, NULL);
    }
    static int __pyx_loki_set(PyObject* descr, PyObject* obj, PyObject* value) {
        return Py_TYPE(descr)->tp_descr_set(descr, obj, value);
    }
    """
    object __pyx_loki_new(object cls, object args)
    int __pyx_loki_set(object descr, object obj, object value) except -1


class _Slotted:
    __slots__ = ("slot",)


cdef object _MEMBER = type(_Slotted.__dict__["slot"])
cdef tuple _ENTRY_SLOTS = ("ns", "line", "meta", "index", "resent", "original")


def loki_entries(cls, nanos, texts, metas, Py_ssize_t start):
    """As ``pure.loki_entries``; an ``Entry`` made by its ``tp_new`` and its six slots set
    through their member descriptors (what its dataclass ``__init__`` sets, without a
    Python frame each), when ``cls`` has those slots; else by calling ``cls``."""
    cdef list out = []
    cdef list nanos_l = list(nanos), texts_l = list(texts), metas_l = list(metas)
    cdef Py_ssize_t i, n = len(nanos_l)
    if len(texts_l) != n or len(metas_l) != n:
        raise ValueError("loki_entries: one text and one metadata list for each timestamp")
    slots = ([(<type>cls).__dict__.get(name) for name in _ENTRY_SLOTS]
             if isinstance(cls, type) else [])
    if not slots or not all(type(slot) is _MEMBER for slot in slots):
        return [cls(nanos_l[i], texts_l[i], metas_l[i], start + i) for i in range(n)]
    ns_d, line_d, meta_d, index_d, resent_d, original_d = slots
    zero, empty = 0, ()
    for i in range(n):
        entry = __pyx_loki_new(cls, empty)
        __pyx_loki_set(ns_d, entry, nanos_l[i])
        __pyx_loki_set(line_d, entry, texts_l[i])
        __pyx_loki_set(meta_d, entry, metas_l[i])
        __pyx_loki_set(index_d, entry, start + i)
        __pyx_loki_set(resent_d, entry, zero)
        __pyx_loki_set(original_d, entry, None)
        out.append(entry)
    return out


def loki_side_bytes(metas, Py_ssize_t record_bytes, Py_ssize_t pair_bytes):
    cdef Py_ssize_t total = 0
    cdef list meta
    cdef tuple pair
    for meta_ in metas:
        meta = <list?>meta_
        total += record_bytes + pair_bytes * len(meta)
        for pair_ in meta:
            pair = <tuple?>pair_
            total += len(pair[1])
    return total


# --- the Datadog sink's side data (helper `sinks`, issue 14) ------------------------------
# Twin and reference: ``pure_datadog.py`` (``plain``: the test; ``datadog_side``: the loop).

from shipper.kernels.pure_datadog import OTHER_RESERVED as _DD_OTHER_RESERVED
from shipper.kernels.pure_datadog import plain as _dd_plain_reference
from shipper.record import Record as _DDRecord

cdef tuple _DD_OTHER = tuple(_DD_OTHER_RESERVED)
#: the pipeline's records: a dict subclass that overrides none of dict's methods
cdef object _DD_RECORD = _DDRecord


cdef bint _dd_plain(dict record) except -1:
    """``pure_datadog.plain`` of a dict, its checks in the same order."""
    cdef Py_ssize_t empties = 0
    if "message" not in record:
        return False
    for key in _DD_OTHER:
        if key in record:
            return False
    if type(record.get("level", "")) is not str:
        return False
    k8s = record.get("k8s")
    if k8s is not None and type(k8s) is not dict and k8s:  # ``k8s or {}`` not a dict
        return False
    stamp = record.get("timestamp")
    if stamp is not None and type(stamp) is not str:
        return False
    for value in record.values():
        kind = type(value)
        if kind is str:
            if len(<str>value) == 0:
                empties += 1
        elif not (value is None or kind is int or kind is dict or kind is float
                  or kind is bool or kind is list):
            return False
    if empties == 0:
        return True
    message = record["message"]
    return empties == 1 and type(message) is str and len(<str>message) == 0


cdef bint _dd_old(object stamp, object first) except -1:
    """``pure_datadog.old_at``."""
    cdef Py_ssize_t n
    if type(stamp) is not str:
        return False
    n = len(<str>stamp)
    if (n < 20 or <unsigned int>PyUnicode_READ_CHAR(stamp, n - 1) != 90  # "Z"
            or <unsigned int>PyUnicode_READ_CHAR(stamp, 10) != 84):  # "T"
        return False
    return (<str>stamp)[:19] < first


def datadog_side(records, first):
    cdef list flags = [], levels = [], facts = [], stamps = []
    cdef bint flag
    for record in records:
        stamp = record.get("timestamp")
        if first is not None and _dd_old(stamp, first):
            flag = False
        elif type(record) is dict or type(record) is _DD_RECORD:
            flag = _dd_plain(<dict>record)
        else:
            flag = _dd_plain_reference(record)
        flags.append(flag)
        levels.append(record.get("level", "info"))
        facts.append(record.get("k8s"))
        stamps.append(stamp)
    return flags, levels, facts, stamps

# === JsonLines (helper `json`, issue 14): a plain file's chunk -> records ====================
# Twin and reference: ``pure_json.py`` (read its docstring: the same lines go the same way).
# The common object shape is mapped inline; every other shape through ``mapper.parse``.

import orjson as _orjson

from shipper.record import Record as _Record

from cpython.dict cimport PyDict_DelItem, PyDict_SetItem, PyDict_Update
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memset

from libc.math cimport rint

cdef object _json_loads = _orjson.loads
cdef object _JSONDecodeError = _orjson.JSONDecodeError

# The keys ``_common`` reads, by slot: ``JsonLineParser``'s MESSAGE_KEYS (0-3), LEVEL_KEYS
# (4-10) and TIME_KEYS (11-16) in their order, then the keys that send a line to ``parse``
# or name its logger. One pass over the object (``_json_scan``) finds them all, with the
# object's own key objects (so that each ``del`` finds its key by identity).
_SLOT_KEYS = ("message", "msg", "event", "log",
              "level", "severity", "levelname", "lvl", "loglevel", "log.level", "level_name",
              "timestamp", "time", "ts", "@timestamp", "datetime", "asctime",
              "source", "logger", "logger_name", "name", "label")

cdef enum:
    _WORDS_SEEN = 8
    _S_LEVEL = 4
    _S_TIME = 11
    _S_SOURCE = 17
    _S_LOGGER = 18
    _S_LOGGER_NAME = 19
    _S_NAME = 20
    _S_LABEL = 21
    _S_COUNT = 22

cdef extern from *:
    """
    /* _SLOT_KEYS by length: the keys of length n are __pyx_json_keys[first[n]:first[n+1]] */
    static const char* __pyx_json_keys[22];
    static int __pyx_json_slot[22];
    static Py_ssize_t __pyx_json_first[13];

    static void __pyx_json_table(PyObject* names) {  /* a tuple of 22 ASCII str */
        Py_ssize_t n, i, at = 0;
        for (n = 0; n <= 11; n++) {
            __pyx_json_first[n] = at;
            for (i = 0; i < 22; i++) {
                PyObject* name = PyTuple_GET_ITEM(names, i);
                if (PyUnicode_GET_LENGTH(name) == n) {
                    __pyx_json_keys[at] = (const char*)PyUnicode_DATA(name);
                    __pyx_json_slot[at++] = (int)i;
                }
            }
        }
        __pyx_json_first[12] = at;
    }

    /* keys[s], vals[s]: the object's own key and value for the slot s (borrowed), or NULL */
    static void __pyx_json_scan(PyObject* obj, PyObject** keys, PyObject** vals) {
        Py_ssize_t pos = 0, n, i, stop;
        PyObject *key, *value;
        const char* s;
        while (PyDict_Next(obj, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key) || !PyUnicode_IS_COMPACT_ASCII(key)) continue;
            n = PyUnicode_GET_LENGTH(key);
            if (n < 2 || n > 11) continue;
            s = (const char*)PyUnicode_DATA(key);
            for (i = __pyx_json_first[n], stop = __pyx_json_first[n + 1]; i < stop; i++) {
                if (s[0] == __pyx_json_keys[i][0] && memcmp(s, __pyx_json_keys[i], n) == 0) {
                    keys[__pyx_json_slot[i]] = key;
                    vals[__pyx_json_slot[i]] = value;
                    break;
                }
            }
        }
    }

    /* text[:23] + "Z" for a compact ASCII text of 24 characters or more */
    static PyObject* __pyx_json_millis(PyObject* text) {
        PyObject* out = PyUnicode_New(24, 127);
        if (out == NULL) return NULL;
        memcpy(PyUnicode_DATA(out), PyUnicode_DATA(text), 23);
        ((char*)PyUnicode_DATA(out))[23] = 'Z';
        return out;
    }
    """
    void __pyx_json_table(object names)
    void __pyx_json_scan(object obj, PyObject** keys, PyObject** vals) noexcept
    object __pyx_json_millis(object text)
    bint _json_ascii "PyUnicode_IS_COMPACT_ASCII"(object text)
    const char* _json_data "PyUnicode_DATA"(object text)
    Py_ssize_t _json_len "PyUnicode_GET_LENGTH"(object text)
    PyObject* _json_none "Py_None"
    void* _json_str_type "(&PyUnicode_Type)"
    void* _json_int_type "(&PyLong_Type)"
    void* _json_float_type "(&PyFloat_Type)"
    void* _json_type "Py_TYPE"(PyObject* o)

__pyx_json_table(_SLOT_KEYS)

# a record made as ``Record()`` makes it, without a call: ``dict``'s ``tp_new`` and its two
# slots set through their member descriptors
cdef object _RAW_SLOT = _Record.__dict__["raw"]
cdef object _BEFORE_SLOT = _Record.__dict__["before"]
cdef tuple _NO_ARGS = ()
if type(_RAW_SLOT) is not _MEMBER or type(_BEFORE_SLOT) is not _MEMBER:
    raise ImportError("Record keeps raw and before in __slots__")


cdef inline object _new_record(object text):
    record = __pyx_loki_new(_Record, _NO_ARGS)
    __pyx_loki_set(_RAW_SLOT, record, text)
    __pyx_loki_set(_BEFORE_SLOT, record, None)
    return record


cdef inline bint _may_be_request(str message):
    """False only when ``bare_request`` cannot match: it needs ``METHOD /`` (a method of
    3 to 7 letters) at the start."""
    cdef Py_ssize_t n = len(message), i
    for i in range(3, 8 if n > 8 else n):
        if PyUnicode_READ_CHAR(message, i) == 32:
            return i + 1 < n and PyUnicode_READ_CHAR(message, i + 1) == 47
    return False


cdef class JsonLines:
    cdef object _path, _joiner, _parse, _from_string, _from_epoch, _bare_request
    cdef object _text_line, _plain_line, _fallback_time, _initials, _stamps
    cdef object _normalize_level, _tidy_node
    cdef dict _levels
    cdef tuple _time_keys
    cdef str _impossible
    cdef Py_ssize_t _max_depth, _long
    cdef tuple _millis_tails
    cdef double _number_floor
    cdef object _route, _parse_text, _route_record, _wrapped_line, _formats
    cdef frozenset _single, _block_initials
    cdef list _words  # (word, level): the level words met, at most _WORDS_SEEN
    cdef unsigned long long _initial_bits[2]  # method_initials (ASCII) as bits

    def __init__(self, str path, joiner, mapper, text_line, plain_line, fallback_time,
                 Py_ssize_t max_depth, route=None):
        self._path = path
        self._joiner = joiner
        self._parse = mapper.parse
        self._from_string = mapper.from_string
        self._from_epoch = mapper.from_epoch
        self._stamps = mapper.stamps  # its last seconds, read by _string/_float_time
        from shipper.parse.instants import MILLIS_TAILS, NUMBER_FLOOR  # (a cycle at import)
        self._millis_tails = MILLIS_TAILS
        self._number_floor = NUMBER_FLOOR
        self._bare_request = mapper.bare_request
        self._initials = mapper.method_initials
        self._initial_bits[0] = self._initial_bits[1] = 0
        for initial in self._initials:
            if len(initial) != 1 or ord(initial) > 127:
                raise ValueError("the kernel takes single ASCII method initials")
            self._initial_bits[ord(initial) >> 6] |= 1ULL << (ord(initial) & 63)
        self._words = []
        levels = mapper.text_levels  # shared, not copied: one parser per file
        self._levels = levels if type(levels) is dict else dict(levels)
        self._time_keys = tuple(mapper.time_keys)
        if (tuple(mapper.message_keys) + tuple(mapper.level_keys) + self._time_keys
                != _SLOT_KEYS[:_S_SOURCE]):
            raise ValueError("the kernel reads JsonLineParser's message, level and time keys")
        self._normalize_level = mapper.normalize_level
        self._tidy_node = mapper.tidy_node
        self._impossible = mapper.impossible
        self._text_line = text_line
        self._plain_line = plain_line
        self._fallback_time = fallback_time
        self._max_depth = max_depth
        self._long = 2 * max_depth
        self._route = route
        if route is not None:
            self._parse_text, self._route_record, self._wrapped_line, self._formats = (
                route.parse, route.record, route.wrapped_line, route.formats)
            self._single, self._block_initials = route.single, route.block_initials

    def feed(self, list lines, truncated, list out):
        cdef Py_ssize_t index, size
        cdef long json_lines = 0, text_lines = 0
        cdef int got
        cdef bint settled = False
        cdef const char* buf
        cdef tuple item
        cdef bytes raw
        cdef object text, record, joiner = self._joiner
        for index in range(len(lines)):
            item = <tuple?>lines[index]
            offset, raw = item[0], <bytes?>item[1]
            buf = PyBytes_AS_STRING(raw)
            size = PyBytes_GET_SIZE(raw)
            if (memchr(buf, 0, <size_t>size) != NULL or memchr(buf, 27, <size_t>size) != NULL
                    or memchr(buf, 13, <size_t>size) != NULL):
                json_lines += self._plain_line(offset, raw, truncated, out)
                settled = False
                continue
            try:
                text = PyUnicode_DecodeUTF8(buf, size, NULL)
            except UnicodeDecodeError:
                json_lines += self._plain_line(offset, raw, truncated, out)
                settled = False
                continue
            if size == 0 or buf[0] != 123:  # "{"
                got = self._text(offset, text, None, None, truncated, out)
                if got == 0:
                    self._text_line(offset, text, None, None, truncated, out)
                elif got == 1:
                    if text_lines == 0:
                        self._count_key("text")
                    text_lines += 1
                settled = False
                continue
            record = self._record(offset, raw, buf, size, text, truncated, None, None)
            if record is None:
                json_lines += self._plain_line(offset, raw, truncated, out)
                settled = False
                continue
            if not settled:
                if joiner.pending is not None:
                    out.append(joiner.take())
                if joiner.dangling is not None:  # a key block cut by a flush ends here
                    joiner.dangling = None
                settled = True
            out.append(record)
            json_lines += 1
        if text_lines:
            self._formats["text"] += text_lines
        return json_lines

    def wrapped_lines(self, list inners, truncated, list out):
        """The records of a runtime-wrapped file's inner lines ``(offset, data, stream,
        wrapper time)`` (``RuntimeUnwrapper.unwrap``): CRI bytes as ``feed`` takes a plain
        line's, with their stream and wrapper time; anything else through the route's
        ``wrapped_line`` (``FileParser._wrapped_line``, the reference)."""
        cdef Py_ssize_t index, size
        cdef long json_lines = 0, text_lines = 0
        cdef int got
        cdef bint settled = False
        cdef const char* buf
        cdef object text, record, data, joiner = self._joiner, formats = self._formats
        for index in range(len(inners)):
            offset, data, stream, wrapper_time = inners[index]  # a tuple or an ``Inner``
            if type(data) is not bytes:
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            buf = PyBytes_AS_STRING(data)
            size = PyBytes_GET_SIZE(data)
            if (memchr(buf, 0, <size_t>size) != NULL or memchr(buf, 27, <size_t>size) != NULL
                    or memchr(buf, 13, <size_t>size) != NULL):
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            try:
                text = PyUnicode_DecodeUTF8(buf, size, NULL)
            except UnicodeDecodeError:
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            if size == 0 or buf[0] != 123:  # "{"
                got = self._text(offset, text, stream, wrapper_time, truncated, out)
                if got == 0:
                    self._text_line(offset, text, stream, wrapper_time, truncated, out)
                elif got == 1:
                    if text_lines == 0:
                        self._count_key("text")
                    text_lines += 1
                settled = False
                continue
            record = self._record(offset, data, buf, size, text, truncated, stream,
                                  wrapper_time)
            if record is None:
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            if not settled:
                if joiner.pending is not None:
                    out.append(joiner.take())
                if joiner.dangling is not None:  # a key block cut by a flush ends here
                    joiner.dangling = None
                settled = True
            if json_lines == 0:
                self._count_key("json")
            out.append(record)
            json_lines += 1
        if text_lines:
            formats["text"] += text_lines
        if json_lines:
            formats["json"] += json_lines

    cdef _count_key(self, str key):
        """Put ``key`` in the format counts where the reference would first count it
        (its count is added at the end of the chunk, the keys keep the reference's order)."""
        if key not in self._formats:
            self._formats[key] = 0

    cdef int _text(self, offset, str text, stream, wrapper_time, truncated,
                   list out) except -1:
        """A text line (decoded, not ``{``) finished here as ``FileParser._text_line``
        finishes it: 0 when it is not the common case (nothing done: the caller calls
        ``text_line``), 1 for a held ``text`` record (the caller counts it), 2 for any
        other line done (counted here or by the route's ``record``)."""
        cdef Py_ssize_t n = len(text)
        cdef Py_UCS4 first
        cdef object joiner = self._joiner, pending, fields, fmt, record, stamps
        if n == 0 or self._route is None:
            return 0
        first = PyUnicode_READ_CHAR(text, 0)
        # no key block open or cut by a flush; a line ``accepts`` takes (it says no at once
        # to a digit in state NONE) goes into the pending record as ``takes`` puts it
        if joiner.dangling is not None or joiner._state != 0:
            return 0
        pending = joiner.pending
        if pending is not None and not 48 <= first <= 57 and joiner.accepts(text):
            joiner.takes(text, offset, True, self._formats, out)
            return 2
        stamps = self._stamps
        fields = _stamped_line(text, stamps.good_second, stamps.utc_default, self._levels,
                               self._max_depth, stamps)
        if fields is not None:
            fmt = "text"
        elif Py_UNICODE_ISSPACE(first) and text.isspace():
            return 0  # counted as empty_line by the reference
        else:
            fmt, fields = self._parse_text(text)
        if "-----BEGIN" in text:
            self._route_record(fields, fmt, offset, text, stream, wrapper_time, truncated, out)
            return 2
        if fmt in self._single:  # complete on its line
            self._formats[fmt] += 1
            record = self._fields_record(offset, <dict?>fields, text, truncated, stream,
                                         wrapper_time)
            if pending is not None:
                out.append(pending if joiner._parts is None else joiner.take())
                joiner.pending = None
            out.append(record)
            return 2
        if text[:1] in self._block_initials and (first != 50 or ":  " in text):  # "2"
            self._route_record(fields, fmt, offset, text, stream, wrapper_time, truncated, out)
            return 2
        # held (``MultilineJoiner.start`` in state NONE, no key block)
        record = self._fields_record(offset, <dict?>fields, text, truncated, stream,
                                     wrapper_time)
        if pending is not None and joiner._parts is not None:
            pending = joiner.take()
        joiner.pending = record
        joiner._size = len(record["message"])
        if joiner._header is not None:
            joiner._header = None
        if pending is not None:
            out.append(pending)
        if fmt == "text":
            return 1
        self._formats[fmt] += 1
        return 2

    cdef object _fields_record(self, offset, dict parsed, str text, truncated, stream,
                               wrapper_time):
        """``FileParser._complete``: the parsed fields made a record of this file."""
        cdef dict fields
        record = _new_record(text)  # as ``_complete`` makes it (no ``__init__``), no call
        fields = <dict>record
        PyDict_Update(fields, parsed)
        if not fields["timestamp"]:  # none, or IMPOSSIBLE ("")
            fields["timestamp"] = self._fallback_time(record, wrapper_time)
        if stream is not None:
            PyDict_SetItem(fields, "stream", stream)
        PyDict_SetItem(fields, "file", {"path": self._path, "offset": offset})
        if truncated and offset in truncated:
            fields["attributes"]["truncated"] = True
        return record

    def wrapped(self, offset, bytes raw, stream, wrapper_time, truncated):
        """The record of one runtime-wrapped (CRI) JSON object line with its stream and
        wrapper time, or ``None`` for ``FileParser._line`` to take it."""
        cdef const char* buf = PyBytes_AS_STRING(raw)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(raw)
        if (size == 0 or buf[0] != 123 or memchr(buf, 0, <size_t>size) != NULL
                or memchr(buf, 27, <size_t>size) != NULL
                or memchr(buf, 13, <size_t>size) != NULL):
            return None
        try:
            text = PyUnicode_DecodeUTF8(buf, size, NULL)
        except UnicodeDecodeError:
            return None
        return self._record(offset, raw, buf, size, text, truncated, stream, wrapper_time)

    def wrapped_text(self, offset, str text, stream, wrapper_time, truncated):
        """The record of one docker json-file inner line (text the unwrapper decoded) that
        is a JSON object, with its stream and wrapper time, or ``None`` for
        ``FileParser._line`` to take it."""
        cdef Py_ssize_t size = len(text)
        if (size == 0 or PyUnicode_READ_CHAR(text, 0) != 123 or "\x00" in text
                or "\x1b" in text or "\r" in text):
            return None
        if size > self._long and text.count("{") + text.count("[") > self._max_depth:
            return None
        try:
            value = _json_loads(text)
        except _JSONDecodeError:
            return None
        if type(value) is not dict:
            return None
        return self._finish(offset, <dict>value, text, truncated, stream, wrapper_time)

    cdef object _record(self, offset, bytes raw, const char* buf, Py_ssize_t size, str text,
                        truncated, stream, wrapper_time):
        cdef Py_ssize_t i, brackets = 0
        if size > self._long:
            for i in range(size):
                if buf[i] == 123 or buf[i] == 91:
                    brackets += 1
            if brackets > self._max_depth:
                return None
        try:
            value = _json_loads(raw)
        except _JSONDecodeError:
            return None
        if type(value) is not dict:
            return None
        return self._finish(offset, <dict>value, text, truncated, stream, wrapper_time)

    cdef object _finish(self, offset, dict obj, str text, truncated, stream, wrapper_time):
        """The record of the decoded object ``obj`` of the line ``text``."""
        cdef dict fields
        record = _new_record(text)
        fields = <dict>record
        stamp = self._common(obj, fields)
        if stamp is False:  # not the common shape: obj untouched
            PyDict_Update(fields, self._parse(obj))
            stamp = fields["timestamp"]
        if not stamp:  # none, or IMPOSSIBLE ("")
            fields["timestamp"] = self._fallback_time(record, wrapper_time)
        if stream is not None:
            PyDict_SetItem(fields, "stream", stream)
        PyDict_SetItem(fields, "file", {"path": self._path, "offset": offset})
        if truncated and offset in truncated:
            fields["attributes"]["truncated"] = True
        return record

    cdef object _common(self, dict obj, dict fields):
        """``JsonLineParser.parse`` into ``fields`` for the common shape, returning the
        timestamp; ``False`` (``obj`` untouched) for any other shape. The keys it reads
        are found in one pass (``__pyx_json_scan``: an absent key is NULL, a JSON null
        None; the reference's ``get`` gives None for both, its ``in`` tells them apart)."""
        cdef PyObject* keys[_S_COUNT]
        cdef PyObject* vals[_S_COUNT]
        cdef PyObject* v
        cdef int i, at = -1, level_at = _S_LEVEL
        cdef object message, message_key, level, logger = None, logger_key = None
        memset(keys, 0, sizeof(keys))
        memset(vals, 0, sizeof(vals))
        __pyx_json_scan(obj, keys, vals)
        for i in range(_S_LEVEL):
            if vals[i] != NULL and _json_type(vals[i]) == _json_str_type:
                at = i
                break
        if at < 0:
            return False
        v = vals[_S_LEVEL]
        if v != NULL and _json_type(v) == _json_str_type:  # the common case
            level = self._level_word(<object>v)
        else:
            level = self._level_at(vals, &level_at)
        if level is None or vals[_S_SOURCE] != NULL:
            return False
        v = vals[_S_LOGGER]
        if v != NULL and _json_type(v) == _json_str_type:
            logger, logger_key = <object>v, <object>keys[_S_LOGGER]
        elif (vals[_S_LOGGER_NAME] != NULL or vals[_S_NAME] != NULL
                or (vals[_S_LABEL] != NULL and at == 0)):  # slot 0: "message"
            return False
        message, message_key = <object>vals[at], <object>keys[at]
        PyDict_DelItem(obj, message_key)
        if level_at < 0:  # a pino/bunyan number under "level": the object changes
            self._tidy_node(obj)
            PyDict_DelItem(obj, "level")
            stamp = self._timestamp(obj)
        else:
            PyDict_DelItem(obj, <object>keys[level_at])
            stamp = self._slot_time(obj, keys, vals)
        PyDict_SetItem(fields, "timestamp", stamp)
        PyDict_SetItem(fields, "level", level)
        PyDict_SetItem(fields, "message", message)
        PyDict_SetItem(fields, "attributes", obj)
        if logger is not None:
            PyDict_DelItem(obj, logger_key)
            PyDict_SetItem(fields, "logger", logger)
        if _json_len(message):
            i = PyUnicode_READ_CHAR(message, 0)  # in method_initials, then the call's test
            if (i < 128 and self._initial_bits[i >> 6] >> (i & 63) & 1
                    and _may_be_request(<str>message)):
                self._bare_request(message, obj)
        return stamp

    cdef object _level_word(self, object word):
        """``text_levels.get(word)`` for a str ``word``: the words met so far are matched
        by their characters (no hash: orjson's strings come without one); ``text_levels``
        is a constant table."""
        cdef Py_ssize_t n = _json_len(word), i
        cdef const char* data
        cdef object seen
        if not _json_ascii(word):
            return self._levels.get(word)
        data = _json_data(word)
        for i in range(len(self._words)):
            seen = <object>PyList_GET_ITEM(self._words, i)
            if _json_len(<object>PyTuple_GET_ITEM(seen, 0)) == n and memcmp(
                    _json_data(<object>PyTuple_GET_ITEM(seen, 0)), data, n) == 0:
                return <object>PyTuple_GET_ITEM(seen, 1)
        level = self._levels.get(word)
        if len(self._words) < _WORDS_SEEN:
            self._words.append((word, level))
        return level

    cdef object _level_at(self, PyObject** vals, int* at):
        """``_take_level``'s result, when ``"level"`` holds no string, in the cases where
        its first key with a value takes it at once: a number under ``"level"`` that
        ``normalize_level`` knows (``*at`` -1: ``tidy_node`` is due), a level word under
        the first of ``severity``, ``levelname``... present when ``"level"`` is absent or
        null (``*at`` its slot); ``None`` for every other case (the call maps it)."""
        cdef PyObject* v = vals[_S_LEVEL]
        cdef int i
        if v != NULL and v != _json_none:
            if _json_type(v) == _json_int_type:
                at[0] = -1
                return self._normalize_level(<object>v)
            return None
        for i in range(_S_LEVEL + 1, _S_TIME):
            v = vals[i]
            if v != NULL and v != _json_none:
                if _json_type(v) == _json_str_type:
                    at[0] = i
                    return self._level_word(<object>v)
                return None
        return None

    cdef object _slot_time(self, dict obj, PyObject** keys, PyObject** vals):
        """``_timestamp`` on the time keys' values as scanned (``obj`` lost none of them
        since: only the message and level keys went)."""
        cdef bint impossible = False
        cdef PyObject* v
        cdef void* kind
        cdef int i
        for i in range(_S_TIME, _S_SOURCE):
            v = vals[i]
            if v == NULL or v == _json_none:
                continue
            kind = _json_type(v)
            if kind == _json_str_type:
                stamp = self._string_time(<str><object>v)
            elif kind == _json_float_type:
                stamp = self._float_time(<object>v)
            elif kind == _json_int_type:
                stamp = self._from_epoch(<object>v)
            else:
                continue
            if stamp:
                PyDict_DelItem(obj, <object>keys[i])
                return stamp
            impossible = impossible or stamp is not None
        return self._impossible if impossible else None

    cdef object _timestamp(self, dict obj):
        cdef bint impossible = False
        for key in self._time_keys:
            value = obj.get(key)
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                stamp = self._string_time(<str>value)
            elif kind is float:
                stamp = self._float_time(value)
            elif kind is int:
                stamp = self._from_epoch(value)
            else:
                continue
            if stamp:
                PyDict_DelItem(obj, key)
                return stamp
            impossible = impossible or stamp is not None
        return self._impossible if impossible else None

    cdef object _string_time(self, str text):
        """``TimestampNormalizer.from_string``: its first test inline (a canonical
        ``...SS.fffZ`` string of the last good second passes as is, or cut to
        milliseconds); any other string through the call."""
        cdef Py_ssize_t size = _json_len(text), i
        cdef const char* data
        cdef object good
        if size < 24 or not _json_ascii(text):
            return self._from_string(text)
        data = _json_data(text)
        if data[size - 1] != 90 or data[19] != 46:  # "Z", "."
            return self._from_string(text)
        for i in range(20, size - 1):
            if data[i] < 48 or data[i] > 57:
                return self._from_string(text)
        good = self._stamps.good_second
        if type(good) is str and _json_len(good) == 19 and _json_ascii(good):
            if memcmp(data, _json_data(good), 19) != 0:
                return self._from_string(text)
        elif not text.startswith(good):
            return self._from_string(text)
        return text if size == 24 else __pyx_json_millis(text)

    cdef object _float_time(self, object value):
        """``TimestampNormalizer.from_epoch`` for a float: seconds of the normalizer's
        last epoch second inline (``round`` is half-even, as ``rint``), else the call."""
        cdef double seconds_f = value
        cdef long long millis_total, seconds
        if self._number_floor <= seconds_f < 1e11:
            millis_total = <long long>rint(seconds_f * 1000.0)
            seconds = millis_total // 1000
            last = self._stamps._epoch_second
            if type(last) is int and <long long>last == seconds:
                return (self._stamps._epoch_prefix
                        + self._millis_tails[millis_total - seconds * 1000])
        return self._from_epoch(value)


# === logfmt lines (helper `families`, issue 14): a whole logfmt line's pairs ===============
# Twin and reference: ``pure_logfmt.py`` (the regexes ``parse.logfmt.parse_logfmt`` ran).
# ASCII text only (the caller checks ``str.isascii``, O(1)): ``\w`` and ``\s`` are ASCII.

cdef inline bint _lf_head(Py_UCS4 c):
    """``[A-Za-z_@]``"""
    return (65 <= c <= 90) or (97 <= c <= 122) or c == 95 or c == 64


cdef inline bint _lf_key(Py_UCS4 c):
    r"""``[\w.\-/@]`` within ASCII"""
    return _lf_head(c) or (48 <= c <= 57) or c == 46 or c == 45 or c == 47


cdef inline bint _lf_space(Py_UCS4 c):
    r"""``\s`` within ASCII (``str.isspace``: also \x1c-\x1f)"""
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


def logfmt_pairs(str text):
    """All pairs of an ASCII line made only of ``key=value`` pairs (separated by spaces or
    tabs), else ``None`` (always for text that is not ASCII: the regexes' ``\\w``/``\\s``
    take Unicode, this scan does not): ``key=`` then a quoted value (``\\`` takes any
    character but a newline) or a bare one (no white space, no quote), then spaces/tabs or
    the end."""
    cdef Py_ssize_t n = len(text), pos = 0, start, j
    cdef Py_UCS4 c
    cdef dict pairs = {}
    if n == 0 or not text.isascii():
        return None
    while pos < n:
        start = pos
        if not _lf_head(PyUnicode_READ_CHAR(text, pos)):
            return None
        pos += 1
        while pos < n and _lf_key(PyUnicode_READ_CHAR(text, pos)):
            pos += 1
        if pos >= n or PyUnicode_READ_CHAR(text, pos) != 61:  # "="
            return None
        key = text[start:pos]
        pos += 1
        if pos < n and PyUnicode_READ_CHAR(text, pos) == 34:  # a quoted value
            j = pos + 1
            while j < n:
                c = PyUnicode_READ_CHAR(text, j)
                if c == 34:
                    break
                if c == 92:  # a backslash takes the next character, never a newline
                    if j + 1 >= n or PyUnicode_READ_CHAR(text, j + 1) == 10:
                        return None
                    j += 2
                else:
                    j += 1
            if j >= n:
                return None
            value = text[pos + 1:j]
            if "\\" in value:
                value = value.replace('\\"', '"').replace("\\\\", "\\")
            pos = j + 1
        else:
            start = pos
            while pos < n:
                c = PyUnicode_READ_CHAR(text, pos)
                if c == 34 or _lf_space(c):
                    break
                pos += 1
            value = text[start:pos]
        if pos < n:
            c = PyUnicode_READ_CHAR(text, pos)
            if c != 32 and c != 9:
                return None
            pos += 1
            while pos < n and (PyUnicode_READ_CHAR(text, pos) == 32
                               or PyUnicode_READ_CHAR(text, pos) == 9):
                pos += 1
        pairs[key] = value
    return pairs


# === text lines (helper `text`): the partial record of a text line ==========================
# Twin: shipper.kernels.pure_text.text_fields (read its docstring). ASCII messages only; any
# other case returns None and the caller builds the record the general way. KERNEL_API 17:
# a bare request (``GET /path 200``) is read here, no longer declined.

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object text)
    const unsigned char* PyUnicode_1BYTE_DATA(object text)

# bit 1 white space (as str.split), bit 2 key head, bit 4 key character (ASCII)
cdef unsigned char _TCLASS[128]


cdef void _fill_text_classes():
    cdef int ch
    for ch in range(128):
        _TCLASS[ch] = ((1 if ch == 32 or (9 <= ch <= 13) or (28 <= ch <= 31) else 0)
                       | (2 if (97 <= ch <= 122 or 65 <= ch <= 90 or ch == 95 or ch == 64)
                          else 0)
                       | (4 if (97 <= ch <= 122 or 65 <= ch <= 90 or 48 <= ch <= 57
                                or ch == 95 or ch == 46 or ch == 45 or ch == 47 or ch == 64)
                          else 0))


_fill_text_classes()

cdef tuple _REQUEST_HEADS = (b"GET /", b"POST /", b"PUT /", b"PATCH /", b"DELETE /",
                             b"HEAD /", b"OPTIONS /", b"CONNECT /", b"TRACE /")


cdef inline Py_ssize_t _text_eq(const unsigned char* data, Py_ssize_t start,
                                Py_ssize_t stop) noexcept:
    """Index of the ``=`` ending a valid key in the ASCII word ``[start, stop)``, else -1."""
    cdef Py_ssize_t i = start
    cdef unsigned char ch
    while i < stop:
        ch = data[i]
        if ch == 61:
            return i if i > start else -1
        if not (_TCLASS[ch] & (2 if i == start else 4)):
            return -1
        i += 1
    return -1


cdef int _bare_request(str message, const unsigned char* data, Py_ssize_t n,
                       dict attributes) except -1:
    """``access.bare_request`` of ``message[:n]`` (ASCII): ``METHOD /path STATUS`` then a
    non-word character or the end (``pure_text.BARE_REQUEST``) adds method, path and
    status, unless the pairs gave a ``method``."""
    cdef bytes head
    cdef Py_ssize_t size = 0, i, k
    for head in _REQUEST_HEADS:
        size = len(head)
        if size <= n and memcmp(data, <const char*>head, size) == 0:
            break
    else:
        return 0
    i = size
    while i < n and not (_TCLASS[data[i]] & 1):  # the path: \S*
        i += 1
    if i + 4 > n or data[i] != 32:
        return 0
    for k in range(i + 1, i + 4):
        if data[k] < 48 or data[k] > 57:
            return 0
    if i + 4 < n and (48 <= data[i + 4] <= 57 or 65 <= data[i + 4] <= 90
                      or 97 <= data[i + 4] <= 122 or data[i + 4] == 95):  # \b
        return 0
    if "method" in attributes:
        return 0
    attributes["method"] = message[:size - 2]
    attributes["path"] = message[size - 1:i]
    attributes["status"] = (data[i + 1] - 48) * 100 + (data[i + 2] - 48) * 10 + data[i + 3] - 48
    return 0


def text_fields(stamp, level, str message, logger):
    if not PyUnicode_IS_ASCII(message):
        return None
    return _text_fields(stamp, level, message, logger)


cdef object _text_fields(stamp, level, str message, logger):
    """``text_fields`` for an ASCII ``message``."""
    cdef Py_ssize_t n = len(message), i, word_end, word_start, run_start = -1
    cdef Py_ssize_t head_end, eq
    cdef const unsigned char* data
    cdef dict attributes = {}, record
    cdef str head = message
    data = PyUnicode_1BYTE_DATA(message)
    head_end = n
    if memchr(data, 61, <size_t>n) != NULL:  # "="
        if n > 4096 or memchr(data, 34, <size_t>n) != NULL:  # huge, or a quote
            return None
        i = n
        while True:  # backwards over the words that read key=value
            while i > 0 and _TCLASS[data[i - 1]] & 1:
                i -= 1
            if i == 0:
                head_end = 0
                break
            word_end = i
            while i > 0 and not (_TCLASS[data[i - 1]] & 1):
                i -= 1
            if _text_eq(data, i, word_end) < 0:
                head_end = word_end
                break
            run_start = i
        if run_start >= 0:
            i = run_start
            while i < n:
                while i < n and _TCLASS[data[i]] & 1:
                    i += 1
                if i == n:
                    break
                word_start = i
                while i < n and not (_TCLASS[data[i]] & 1):
                    i += 1
                eq = _text_eq(data, word_start, i)
                attributes[message[word_start:eq]] = message[eq + 1:i]
            head = message[:head_end]
        else:
            head_end = n
    if head_end >= 9 and data[0] in b"GPDHOCT":
        _bare_request(message, data, head_end, attributes)
    record = {"timestamp": stamp, "level": level or "info", "message": head,
              "attributes": attributes}
    if logger:
        record["logger"] = logger
    return record


cdef inline Py_ssize_t _find3(const unsigned char* data, Py_ssize_t start, Py_ssize_t n):
    """Index of the next `` - `` at or after ``start``, else -1."""
    cdef const unsigned char* at
    cdef Py_ssize_t dash = start + 1
    while dash + 2 <= n:
        at = <const unsigned char*>memchr(data + dash, 45, <size_t>(n - dash))  # "-"
        if at == NULL:
            return -1
        dash = at - data
        if dash + 1 < n and data[dash - 1] == 32 and data[dash + 1] == 32:
            return dash - 1
        dash += 1
    return -1


cdef inline bint _logger_name(const unsigned char* data, Py_ssize_t start, Py_ssize_t stop):
    """``data[start:stop]`` is a logger name of ``[A-Za-z0-9_.-:/<>$]`` (not empty)."""
    cdef unsigned char ch
    if stop <= start:
        return False
    while start < stop:
        ch = data[start]
        if not (_TCLASS[ch] & 4 or ch == 58 or ch == 60 or ch == 62 or ch == 36) or ch == 64:
            return False
        start += 1
    return True


def stamped_fields(stamp, str rest, dict levels):
    if not PyUnicode_IS_ASCII(rest):
        return None
    return _stamped_at(stamp, rest, PyUnicode_1BYTE_DATA(rest), 0, len(rest), levels, False)


cdef inline bint _level_strips(unsigned char ch) noexcept:
    """``ch`` is one of the ``[]()<>:`` that ``levels.level_word`` strips off a word."""
    return ch == 91 or ch == 93 or ch == 40 or ch == 41 or ch == 60 or ch == 62 or ch == 58


cdef object _unleveled(stamp, str text, const unsigned char* data, Py_ssize_t i,
                       Py_ssize_t a, Py_ssize_t n, dict levels):
    """``pure_text._unleveled`` of ``text[i:]``, its first word ``text[i:a]``: the whole
    rest the message, level ``info``, when neither word can be a level word."""
    cdef Py_ssize_t b = a, e
    if a == i or _level_strips(data[i]) or _level_strips(data[a - 1]):
        return None
    while b < n and data[b] == 32:
        b += 1
    e = b
    while e < n and data[e] != 32:
        e += 1
    if e > b and (_level_strips(data[b]) or _level_strips(data[e - 1])
                  or levels.get(text[b:e]) is not None):
        return None
    return _text_fields(stamp, None, text[i:], None)


cdef object _stamped_at(stamp, str text, const unsigned char* data, Py_ssize_t i,
                        Py_ssize_t n, dict levels, bint body):
    """``stamped_fields`` of ``text[i:]`` (ASCII), read in place; with ``body``, also a
    rest whose first word is no level word (``_unleveled``)."""
    cdef Py_ssize_t a, b, s, e, start
    if i < n and data[i] == 9:  # a tab: zap's console
        return None
    while i < n and data[i] == 32:
        i += 1
    if i < n and data[i] == 124:  # "|": loguru, pipes
        return None
    if i + 1 < n and data[i] == 45 and data[i + 1] == 32:  # "- ": name - LEVEL - msg
        i += 2
        a = _find3(data, i, n)
        if a < 0:
            return None
        b = _find3(data, a + 3, n)
        if b < 0:
            return None
        s, e = a + 3, b
        while s < e and _TCLASS[data[s]] & 1:
            s += 1
        while e > s and _TCLASS[data[e - 1]] & 1:
            e -= 1
        level = levels.get(text[s:e])
        if level is None or not _logger_name(data, i, a):
            return None
        return _text_fields(stamp, level, text[b + 3:], text[i:a])
    a = i
    while a < n and data[a] != 32:  # the first word: a level
        a += 1
    level = levels.get(text[i:a])
    if level is None:
        return _unleveled(stamp, text, data, i, a, n, levels) if body else None
    a += 1
    while a < n and data[a] == 32:
        a += 1
    if a < n and data[a] == 91:  # "[": a thread
        return None
    if _find3(data, a, n) >= 0:  # a logger before " - "
        return None
    return _text_fields(stamp, level, text[a:] if a < n else "", None)


# --- whole ISO-stamped lines (KERNEL_API 10): the line's time, the frameworks' gates, then
# ``stamped_fields`` or zap's console. Twin: ``pure_text.stamped_line`` (read its docstring).

cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    unsigned char* PyUnicode_1BYTE_DATA_W "PyUnicode_1BYTE_DATA"(object text)

cdef inline bint _dig(const unsigned char* d, Py_ssize_t at, Py_ssize_t count) noexcept:
    cdef Py_ssize_t i
    for i in range(at, at + count):
        if d[i] < 48 or d[i] > 57:
            return False
    return True


cdef inline bint _word_char(unsigned char ch) noexcept:
    return (48 <= ch <= 57) or (65 <= ch <= 90) or (97 <= ch <= 122) or ch == 95


cdef Py_ssize_t _zone_end1(const unsigned char* d, Py_ssize_t q, Py_ssize_t n) noexcept:
    """``_zone_end`` over ASCII bytes."""
    cdef unsigned char ch
    cdef Py_ssize_t end = -1
    if q >= n:
        return -1
    ch = d[q]
    if ch == 90 or ch == 122:  # Z z
        end = q + 1
    elif q + 3 <= n and (memcmp(d + q, b"UTC", 3) == 0 or memcmp(d + q, b"GMT", 3) == 0):
        end = q + 3
    elif (ch == 43 or ch == 45) and q + 5 <= n and _dig(d, q + 1, 2):
        if d[q + 3] == 58:
            if q + 6 <= n and _dig(d, q + 4, 2):
                end = q + 6
        elif _dig(d, q + 3, 2):
            end = q + 5
    if end < 0:
        return -1
    if end < n and (d[end] == 58 or _word_char(d[end])):
        return -1
    return end


cdef bint _utc_zone(const unsigned char* d, Py_ssize_t s, Py_ssize_t e) noexcept:
    """``d[s:e]`` is one of ``timestamps._UTC_ZONES``."""
    cdef Py_ssize_t size = e - s
    if size == 1:
        return d[s] == 90 or d[s] == 122
    if size == 3:
        return memcmp(d + s, b"UTC", 3) == 0 or memcmp(d + s, b"GMT", 3) == 0
    if size == 5:
        return (d[s] == 43 or d[s] == 45) and memcmp(d + s + 1, b"0000", 4) == 0
    if size == 6:
        return (d[s] == 43 or d[s] == 45) and memcmp(d + s + 1, b"00:00", 5) == 0
    return False


cdef Py_ssize_t _find_lit(const unsigned char* d, Py_ssize_t start, Py_ssize_t stop,
                          const char* lit, Py_ssize_t size) noexcept:
    """Index of ``lit`` lying wholly in ``d[start:stop]``, else -1."""
    cdef const unsigned char* at
    while start + size <= stop:
        at = <const unsigned char*>memchr(d + start, lit[0], <size_t>(stop - size + 1 - start))
        if at == NULL:
            return -1
        start = at - d
        if memcmp(at, lit, size) == 0:
            return start
        start += 1
    return -1


cdef inline bint _is_caller(const unsigned char* d, Py_ssize_t s, Py_ssize_t e) noexcept:
    """``text._CALLER`` (``\\S+:\\d+$``) matches ``d[s:e]`` (ASCII, no newline)."""
    cdef Py_ssize_t i = e
    while i > s and 48 <= d[i - 1] <= 57:
        i -= 1
    if i == e or i - 1 <= s or d[i - 1] != 58:
        return False
    while s < i:
        if _TCLASS[d[s]] & 1:
            return False
        s += 1
    return True


cdef object _zap(stamp, str text, const unsigned char* d, Py_ssize_t s, Py_ssize_t n,
                 dict levels, Py_ssize_t max_depth):
    """``TextParser._zap_console`` of ``text[s:]`` (after the tab), or ``None``."""
    cdef Py_ssize_t starts[8]
    cdef Py_ssize_t stops[8]
    cdef Py_ssize_t count = 0, i = s, k, brackets
    cdef const unsigned char* tab
    cdef dict record, attributes
    cdef object fields = None, message, logger = None, caller = None, value
    while True:
        if count == 8:
            return None
        starts[count] = i
        tab = <const unsigned char*>memchr(d + i, 9, <size_t>(n - i))
        if tab == NULL:
            stops[count] = n
            count += 1
            break
        stops[count] = tab - d
        count += 1
        i = tab - d + 1
    for i in range(starts[0], stops[0]):
        if _TCLASS[d[i]] & 1:  # strip() would change the word
            return None
    level = levels.get(text[starts[0]:stops[0]])
    if level is None:
        return None
    k = count - 1
    if count > 2 and stops[k] > starts[k] and d[starts[k]] == 123:  # "{"
        if stops[k] - starts[k] > 2 * max_depth:
            brackets = 0
            for i in range(starts[k], stops[k]):
                if d[i] == 123 or d[i] == 91:
                    brackets += 1
            if brackets > max_depth:
                return None
        try:
            value = _json_loads(text[starts[k]:stops[k]])
        except _JSONDecodeError:
            value = None
        if type(value) is dict:
            fields = value
            count -= 1
    if count > 1:
        count -= 1
        message = text[starts[count]:stops[count]]
    else:
        message = ""
    for k in range(1, count):
        if _is_caller(d, starts[k], stops[k]):
            caller = text[starts[k]:stops[k]]
        else:
            logger = text[starts[k]:stops[k]]
    value = _text_fields(stamp, level, message, logger)
    if value is None:
        return None
    record = <dict>value
    if caller is not None or fields:
        attributes = <dict>record["attributes"]
        if caller is not None:
            attributes["caller"] = caller
        if fields:
            PyDict_Update(attributes, fields)
    return record


cdef object _stamp_of(str good, const unsigned char* d, Py_ssize_t fs, Py_ssize_t fe):
    """``good`` (``date T clock``) ``.mmm Z`` with the fraction ``d[fs:fe]``."""
    cdef object stamp = PyUnicode_New(24, 127)
    cdef unsigned char* out = PyUnicode_1BYTE_DATA_W(stamp)
    cdef Py_ssize_t i
    memcpy(out, PyUnicode_1BYTE_DATA(good), 19)
    out[19] = 46
    for i in range(3):
        out[20 + i] = d[fs + i] if fs + i < fe else 48
    out[23] = 90
    return stamp


def stamped_line(str text, str good, bint utc_default, dict levels, Py_ssize_t max_depth):
    return _stamped_line(text, good, utc_default, levels, max_depth, None)


cdef object _stamped_line(str text, str good, bint utc_default, dict levels,
                          Py_ssize_t max_depth, object stamps):
    """``stamped_line``; given the normalizer ``stamps`` (the ``JsonLines`` text route),
    also a line of another second (or zone) that passes every gate and whose rest reads:
    its time from ``stamps.from_iso_parts`` as ``TextParser._stamped`` takes it (KERNEL_API
    40: the first line of each new second no longer goes the general way)."""
    cdef Py_ssize_t n = len(text), p = 19, q, zend, fs = 0, fe = 0, zs = -1, ze = -1
    cdef Py_ssize_t end, w
    cdef const unsigned char* d
    cdef const unsigned char* at
    cdef unsigned char second
    cdef bint other
    if n < 19 or not PyUnicode_IS_ASCII(text):
        return None
    d = PyUnicode_1BYTE_DATA(text)
    if d[0] < 48 or d[0] > 57 or d[4] != 45 or d[7] != 45 or d[13] != 58 or d[16] != 58 \
            or not (d[10] == 84 or d[10] == 32):
        return None  # not an ISO date-time with "-" (Go's "/" goes the general way)
    if not (_dig(d, 0, 4) and _dig(d, 5, 2) and _dig(d, 8, 2) and _dig(d, 11, 2)
            and _dig(d, 14, 2) and _dig(d, 17, 2)):
        return None
    # the time: the last good UTC second (``from_iso_parts``' first branch), else the
    # normalizer's, asked once the line is known to be read here (``_other_second``)
    other = len(good) != 19 or not PyUnicode_IS_ASCII(good) \
        or memcmp(d, PyUnicode_1BYTE_DATA(good), 10) != 0 \
        or memcmp(d + 11, PyUnicode_1BYTE_DATA(good) + 11, 8) != 0
    if other and stamps is None:
        return None
    if p + 1 < n and (d[p] == 46 or d[p] == 44) and 48 <= d[p + 1] <= 57:
        q = p + 2
        while q < n and 48 <= d[q] <= 57:
            q += 1
        fs, fe, p = p + 1, q, q
    q = p + 1 if p < n and d[p] == 32 else p
    zend = _zone_end1(d, q, n)
    if zend >= 0:
        zs, ze, p = q, zend, zend
    if not other and not (_utc_zone(d, zs, ze) if zs >= 0 else utc_default):
        return None
    end = p
    # the gates of combined access lines, nginx/PostgreSQL and Frameworks.stamped
    at = d
    while True:
        at = <const unsigned char*>memchr(at, 93, <size_t>(n - (at - d)))  # "]"
        if at == NULL:
            break
        if at - d + 2 < n and at[1] == 32 and at[2] == 34:
            return None
        at += 1
    if _find_lit(d, end, min(end + 7, n), b" [", 2) >= 0:
        return None
    if end < n and d[end] == 9:  # zap's console, unless Ray's driver may match
        if _find_lit(d, end, n, b" -- ", 4) >= 0 or memchr(d, 10, <size_t>n) != NULL:
            return None
        if other:
            return _other_second(stamps, _zap(None, text, d, end + 1, n, levels, max_depth),
                                 text, fs, fe, zs, ze, end)
        return _zap(_stamp_of(good, d, fs, fe), text, d, end + 1, n, levels, max_depth)
    if end + 1 < n:
        second = d[end + 1]
        if second == 32 or second == 91 or second == 84 or second == 68 or second == 73 \
                or second == 87 or second == 69 or second == 70:  # " [TDIWEF": JVM, Rust
            if d[end] == 32 and second == 91:
                return None
            if _find_lit(d, end + 4, min(end + 8, n), b" [", 2) >= 0:
                return None
            if _find_lit(d, end + 4, min(end + 160, n), b" --- ", 5) >= 0:
                return None
            if d[end] == 32 and fe > fs and zs >= 0:
                return None
    if other:
        return _other_second(stamps, _stamped_at(None, text, d, end, n, levels, True),
                             text, fs, fe, zs, ze, end)
    return _stamped_at(_stamp_of(good, d, fs, fe), text, d, end, n, levels, True)


cdef object _other_second(stamps, object fields, str text, Py_ssize_t fs, Py_ssize_t fe,
                          Py_ssize_t zs, Py_ssize_t ze, Py_ssize_t end):
    """``fields`` (read with no time, which they only carry) given the time
    ``TextParser._stamped`` gives them: ``from_iso_parts`` of the prefix's groups, asked
    only for a line read here (the normalizer's state moves as the reference moves it),
    and an impossible one kept as written."""
    if fields is None:
        return None
    stamp = stamps.from_iso_parts(text[:10], text[11:19], text[fs:fe] if fe > fs else None,
                                  text[zs:ze] if zs >= 0 else None)
    (<dict>fields)["timestamp"] = stamp
    if not stamp:
        (<dict>fields)["attributes"]["invalid_timestamp"] = text[:end].rstrip()
    return fields


# === JobTracker.observe (helper `tracker`, issue 14): the per-record loop ===================
# Twin and reference: ``pure_tracker.observe_records`` (read its docstring): the same fields
# of the same summaries change in the same order; event records go to ``tracker._account``.

from cpython.dict cimport PyDict_Check

from shipper.kernels.pure_tracker import PLAIN_ID_MAX as _PLAIN_ID_MAX_VALUE

#: ``job_key``'s bound, read from the twin's constant once (not spelled out twice)
cdef Py_ssize_t _PLAIN_ID_MAX = _PLAIN_ID_MAX_VALUE


cdef inline object _rget(object record, str key, object default):
    """``record.get(key, default)``, a dict's (``Record`` is one) without a method call."""
    if PyDict_Check(record):
        return (<dict>record).get(key, default)
    return record.get(key, default)


cdef class SummaryBase:
    """The twin of ``pure_tracker.SummaryBase``: the same fields with the same defaults
    (``None``, ``0``, ``False``), as struct members the loop below reads and writes in C
    (``JobSummary`` subclasses it with ``__slots__ = ()``, so no instance dict)."""

    cdef public object job_id, first_seen, last_seen, levels, drops, stages, status
    cdef public object started_at, ended_at, last_error, last_error_at
    cdef public Py_ssize_t weight, stages_dropped
    cdef public long long seq
    cdef public bint active


cdef object _new_summary(type summary, str key, object now, Py_ssize_t job_cost):
    """``summary(key, now)`` without the Python ``__init__`` frame: the same attributes set
    the same way (``ObserveRules.summary``'s contract; a test holds ``__init__`` to it)."""
    cdef object job = summary.__new__(summary)
    cdef SummaryBase fast
    if isinstance(job, SummaryBase):
        fast = <SummaryBase>job
        fast.job_id = key
        fast.first_seen = now
        fast.last_seen = now
        fast.levels = {}
        fast.weight = job_cost + len(key)
        return job
    job.job_id = key
    job.first_seen = now
    job.last_seen = now
    job.levels = {}
    job.weight = job_cost + len(key)
    return job


def observe_records(tracker, list records, now, rules):
    cdef dict jobs = tracker._jobs  # least recently updated first (pop + re-insert: to the end)
    cdef object summary = rules.summary
    cdef object key_of = rules.job_key, account = tracker._account
    cdef frozenset names = rules.event_names, error_levels = rules.error_levels
    cdef long long seq = tracker._seq
    cdef Py_ssize_t max_text = rules.max_text, job_cost = rules.job_cost, grown = 0, n, delta
    # the event names' first characters and lengths: a message that starts none of them is
    # no name (tested without hashing it)
    cdef _Heads name_heads
    _fill_heads(names, &name_heads)
    cdef object record, job_id, job = None, found, level, message, attrs, count, last_error
    cdef object last_key = None
    cdef SummaryBase fast = None  # ``job`` when it is a SummaryBase (fields in C)
    cdef str key, text
    cdef dict levels
    try:
        for record in records:
            job_id = _rget(record, "job_id", None)
            if job_id is None:
                continue
            seq += 1
            if type(job_id) is str and len(<str>job_id) <= _PLAIN_ID_MAX:
                key = <str>job_id
            else:
                key = key_of(job_id)
            if key is not last_key and key != last_key:
                found = jobs.get(key)
                if found is None:
                    job = _new_summary(summary, key, now, job_cost)
                    jobs[key] = job
                    grown += job_cost + len(key)
                    fast = <SummaryBase>job if isinstance(job, SummaryBase) else None
                else:
                    del jobs[key]
                    jobs[key] = found
                    job = found
                    fast = <SummaryBase>job if isinstance(job, SummaryBase) else None
                    if fast is not None:
                        fast.last_seen = now
                    else:
                        found.last_seen = now
                last_key = key
            if fast is not None:
                fast.seq = seq
                levels = fast.levels
            else:
                job.seq = seq
                levels = job.levels
            level = _rget(record, "level", "info")
            count = levels.get(level)
            levels[level] = 1 if count is None else count + 1
            message = _rget(record, "message", None)
            if type(message) is str:
                text = <str>message
                n = len(text)
                if ((not _may_be(&name_heads, text) or text not in names)
                        and not _holds(text, b"Stage ", 6, "Stage ")):
                    attrs = _rget(record, "attributes", None)
                    if not attrs or (
                            (<dict>attrs).get("event") if PyDict_Check(attrs)
                            else attrs.get("event")) is None:
                        if level in error_levels and n:
                            if n > max_text:
                                text = text[:max_text - 1] + "…"
                            last_error = (fast.last_error if fast is not None
                                          else job.last_error)
                            delta = len(text) - (len(last_error) if last_error else 0)
                            if fast is not None:
                                fast.weight += delta
                                grown += delta
                                fast.last_error = text
                                fast.last_error_at = _rget(record, "timestamp", None)
                            else:
                                job.weight += delta
                                grown += delta
                                job.last_error = text
                                job.last_error_at = _rget(record, "timestamp", None)
                        continue
            account(job, record, level)
    finally:
        tracker._seq = seq
        tracker.bytes += grown


# --- enrichment and the trace-context gate (KERNEL_API 18) ---------------------------------
# Twins and references: ``pure_enrich.enrich_records`` and ``pure_enrich.lift_trace`` (read
# their docstrings): the same records take the same branches, the same keys are deleted and
# set in the same order, the other records go to the same Python functions.

from cpython.dict cimport PyDict_Next
from cpython.ref cimport PyObject
from cpython.set cimport PySet_Contains

from shipper.errors import BatchStopped as _BatchStopped
from shipper.kernels.pure_enrich import position as _position


# the first characters and lengths of a key set's keys: ``first[c]`` has bit ``n`` (63 for
# 63 and longer) for a key of ``n`` characters starting with ``c``; ``usable`` is false
# (every key is looked up) unless all keys are exact, non-empty strings starting in ASCII
cdef struct _Heads:
    bint usable
    unsigned long long first[128]


cdef inline unsigned long long _length_bit(Py_ssize_t n) noexcept:
    return 1ULL << (n if n < 63 else 63)


cdef void _fill_heads(frozenset keys, _Heads* heads):
    cdef Py_UCS4 ch
    memset(heads.first, 0, sizeof(heads.first))
    heads.usable = True
    for key in keys:
        if type(key) is not str or len(<str>key) == 0:
            heads.usable = False
            return
        ch = PyUnicode_READ(PyUnicode_KIND(key), PyUnicode_DATA(key), 0)
        if ch >= 128:
            heads.usable = False
            return
        heads.first[ch] |= _length_bit(len(<str>key))


cdef inline bint _may_be(const _Heads* heads, object key) noexcept:
    """False when ``key`` is an exact string that starts none of the keys with its length
    (so it equals none of them); True when it has to be looked up."""
    cdef Py_ssize_t n
    cdef Py_UCS4 ch
    if not heads.usable or type(key) is not str:
        return True
    n = PyUnicode_GET_LENGTH(key)
    if n == 0:
        return False
    ch = PyUnicode_READ(PyUnicode_KIND(key), PyUnicode_DATA(key), 0)
    return ch < 128 and (heads.first[ch] & _length_bit(n)) != 0


cdef bint _disjoint(frozenset keys, object attrs, const _Heads* heads) except -1:
    """``keys.isdisjoint(attrs)``; an exact dict's keys are walked here (what
    ``isdisjoint`` does for a dict: each key looked up in ``keys``), but a key that
    ``_may_be`` rules out is not looked up (most attribute keys: ~60 instructions each)."""
    cdef Py_ssize_t pos = 0
    cdef PyObject* key
    cdef PyObject* value
    if type(attrs) is not dict:
        return keys.isdisjoint(attrs)
    while PyDict_Next(attrs, &pos, &key, &value):
        if _may_be(heads, <object>key) and PySet_Contains(keys, <object>key):
            return False
    return True


cdef inline bint _holds(str text, const char* needle, Py_ssize_t size, str twin) except -1:
    """``twin in text`` (``needle``: ``twin``'s ``size`` ASCII bytes): in a 1-byte text,
    each place of the needle's first byte compared (~100 instructions less than ``str``'s
    test on a short message, glibc's ``memmem`` no faster); any other text by ``str``."""
    cdef const char* p
    cdef const char* q
    cdef const char* end
    if PyUnicode_KIND(text) != 1:
        return twin in text
    p = <const char*>PyUnicode_DATA(text)
    end = p + PyUnicode_GET_LENGTH(text) - size + 1  # the last place the needle may start
    while p < end:
        q = <const char*>memchr(p, needle[0], <size_t>(end - p))
        if q == NULL:
            return False
        if memcmp(q + 1, needle + 1, <size_t>(size - 1)) == 0:
            return True
        p = q + 1
    return False


# what one walk over an ``attributes`` dict found (``_scan_ids``): the keys and values of
# ``job_id`` and ``correlation_id`` (NULL when absent; borrowed), a shard key, any id key
cdef struct _Ids:
    PyObject* job_key
    PyObject* job
    PyObject* corr_key
    PyObject* corr
    bint shard
    bint any_id


cdef inline bint _named(const char* data, Py_ssize_t n, const char* name, Py_ssize_t size):
    return n == size and memcmp(data, name, <size_t>size) == 0


# the ``attributes`` keys ``enrich_records`` reads by name, in the order of ``_NAMED_IN``
cdef tuple _NAMED_IDS = ("job_id", "correlation_id", "shard_index", "shardIndex")


cdef bint _scan_ids(dict attrs, frozenset id_keys, const _Heads* heads, int named_in,
                    _Ids* ids) except -1:
    """Fill ``ids`` in one walk over ``attrs`` (what two ``get``, two ``in`` and
    ``id_keys.isdisjoint(attrs)`` tell, and the keys to delete by identity: ~0.5k
    instructions less): a key is compared only when ``_may_be`` (``heads``: the id keys'
    and the named keys' first characters and lengths); ``named_in`` has bit ``i`` when
    ``_NAMED_IDS[i]`` is an id key. False (``ids`` unusable) when a key is no exact
    ``str``, whose equality may not be ``str``'s."""
    cdef Py_ssize_t pos = 0, n
    cdef PyObject* key
    cdef PyObject* value
    cdef const char* data
    ids.job_key = ids.job = ids.corr_key = ids.corr = NULL
    ids.shard = ids.any_id = False
    while PyDict_Next(attrs, &pos, &key, &value):
        if type(<object>key) is not str:
            return False
        if not _may_be(heads, <object>key):
            continue
        n = PyUnicode_GET_LENGTH(<object>key)
        data = <const char*>PyUnicode_DATA(<object>key)
        # an ASCII name equals only a 1-byte string (a string is stored in its least kind)
        if PyUnicode_KIND(<object>key) != 1:
            pass
        elif _named(data, n, "job_id", 6):
            ids.job_key, ids.job = key, value
            ids.any_id |= named_in & 1
            continue
        elif _named(data, n, "correlation_id", 14):
            ids.corr_key, ids.corr = key, value
            ids.any_id |= (named_in >> 1) & 1
            continue
        elif _named(data, n, "shard_index", 11) or _named(data, n, "shardIndex", 10):
            ids.shard = True
        if not ids.any_id and PySet_Contains(id_keys, <object>key):
            ids.any_id = True
    return True


cdef object _found(PyObject* value):
    return None if value == NULL else <object>value


cdef inline int _ids_moved(object record, dict attrs, object job_key, object corr_key,
                           object job, object corr, object k8s) except -1:
    """The ids out of ``attrs`` to the record's top level, and its ``k8s``."""
    del attrs[job_key]
    del attrs[corr_key]
    record["job_id"] = job
    record["correlation_id"] = corr
    record["k8s"] = k8s
    return 0


cdef inline int _no_ids(object record, dict attrs, dict fields, tuple defaults,
                        object k8s) except -1:
    """A record without ids: the file's fields (theirs first), the defaults, ``k8s``."""
    cdef object key, value
    for key, value in fields.items():
        attrs.setdefault(key, value)
    for key, value in defaults:
        record[key] = value
    record["k8s"] = k8s
    return 0


def enrich_records(list records, k8s, dict fields, tuple defaults, bint plain,
                   frozenset id_keys, one):
    cdef object record = None, attrs, job, corr
    cdef _Heads heads, scan_heads
    cdef _Ids ids
    cdef int named_in = 0, i
    cdef object record_type = _Record  # a module global: looked up once, not per record
    _fill_heads(id_keys, &heads)
    # the walk's filter: the id keys' first characters and lengths, and the named keys'
    _fill_heads(id_keys | frozenset(_NAMED_IDS), &scan_heads)
    for i in range(4):
        if _NAMED_IDS[i] in id_keys:
            named_in |= 1 << i
    try:
        for record in records:
            # a Record's ``[]`` is dict's, but through its type's ``__getitem__`` (~0.6k
            # instructions: dict's is a method, not a slot wrapper): dict's lookup directly
            if type(record) is record_type or type(record) is dict:
                attrs = (<dict>record)["attributes"]
            else:
                attrs = record["attributes"]
            if type(attrs) is dict and _scan_ids(<dict>attrs, id_keys, &scan_heads, named_in, &ids):
                job, corr = _found(ids.job), _found(ids.corr)
                if type(job) is str and type(corr) is str and len(<str>job) and len(<str>corr):
                    if plain and not ids.shard:
                        # the keys found (held here): their lookups match by identity
                        _ids_moved(record, <dict>attrs, <object>ids.job_key,
                                   <object>ids.corr_key, job, corr, k8s)
                        continue
                elif not ids.any_id:
                    _no_ids(record, <dict>attrs, fields, defaults, k8s)
                    continue
            elif type(attrs) is dict:
                job = (<dict>attrs).get("job_id")
                corr = (<dict>attrs).get("correlation_id")
                if type(job) is str and type(corr) is str and len(<str>job) and len(<str>corr):
                    if (plain and "shard_index" not in <dict>attrs
                            and "shardIndex" not in <dict>attrs):
                        _ids_moved(record, <dict>attrs, "job_id", "correlation_id", job, corr,
                                   k8s)
                        continue
                elif not attrs or _disjoint(id_keys, attrs, &heads):
                    _no_ids(record, <dict>attrs, fields, defaults, k8s)
                    continue
            one(record)
    except Exception as exc:
        raise _BatchStopped(_position(records, record), exc) from exc


def lift_trace(list records, frozenset gate, from_attributes, from_text):
    cdef object record, attrs, message
    cdef _Heads heads
    _fill_heads(gate, &heads)
    for record in records:
        attrs = _rget(record, "attributes", None)
        if attrs and not _disjoint(gate, attrs, &heads):
            from_attributes(record, attrs)
        message = _rget(record, "message", None)
        if (type(message) is str and _holds(<str>message, b"race", 4, "race")
                and "trace_id" not in record):
            from_text(record, message)


# --- records -> NDJSON (helper `encode`, issue 14; KERNEL_API 28) ------------------------------
# Twin and reference: ``pure_encode.ndjson_records`` (read its docstring): the same bytes and
# end offsets, the same exceptions. Here the records are encoded in one ``orjson.dumps``
# call, with an empty string between each two: ``[r1,"",r2,...]``. A record's JSON cannot
# hold ``},"",{`` inside a string (a quote in a string is escaped), only in an array of
# its own: each record ends at the first such mark after it starts, and a list with any
# other mark (more marks than records less one) is encoded by the twin, as is one that
# orjson refuses (the twin raises what a record makes it raise).

from cpython cimport array as _carray

from shipper.kernels.pure_encode import ndjson_records as _ndjson_each

cdef _carray.array _ENDS = _carray.array("I")
cdef const char* _MARK = b',"",{'  # after a record's "}"


cdef const char* _mark(const char* p, const char* end) noexcept:
    """The ``}`` just before the next ``,"",{`` in ``[p, end)``, or NULL."""
    cdef const char* q
    while True:
        q = <const char*>memchr(p, 125, <size_t>(end - p))
        if q == NULL or (end - q > 5 and memcmp(q + 1, _MARK, 5) == 0):
            return q
        p = q + 1


cdef object _split(bytes data, Py_ssize_t count):
    """``[r1,"",r2,...,rn]`` as ``r1\\n...rn\\n`` and each record's end, or ``None`` when
    a record holds a mark of its own."""
    cdef const char* p = PyBytes_AS_STRING(data) + 1
    cdef const char* end = PyBytes_AS_STRING(data) + PyBytes_GET_SIZE(data) - 1  # at "]"
    cdef const char* q
    cdef Py_ssize_t k, n, w = 0
    cdef _carray.array ends = _carray.clone(_ENDS, count, False)
    text = PyBytes_FromStringAndSize(NULL, PyBytes_GET_SIZE(data) - 2 - 3 * (count - 1) + 1)
    cdef char* out = PyBytes_AS_STRING(text)  # new: ours to write
    for k in range(count):
        q = _mark(p, end)
        if (q == NULL) != (k == count - 1):  # a mark missing, or one too many
            return None
        n = (q + 1 if q != NULL else end) - p
        memcpy(out + w, p, <size_t>n)
        w += n
        out[w] = 10
        w += 1
        ends.data.as_uints[k] = <unsigned int>w
        p += n + 4
    return text, ends


def ndjson_records(list records, default):
    cdef Py_ssize_t count = len(records)
    if count < 2:
        return _ndjson_each(records, default)
    spaced = [""] * (2 * count - 1)
    spaced[::2] = records
    try:
        data = _orjson.dumps(spaced, default=default)  # looked up now: a test counts calls
    except Exception:  # a record orjson refuses (or nested one level too deep for a list)
        return _ndjson_each(records, default)
    del spaced
    split = _split(data, count)
    return split if split is not None else _ndjson_each(records, default)

# === pre-scan hits -> texts (helper `scan`, issue 14): the text owning each offset =========
def text_indices(bytes data, list offsets):
    cdef const char* buf = PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data), counted = 0, offset, text = 0
    cdef const char* p
    cdef const char* stop
    cdef list out = []
    for item in offsets:
        offset = item
        if offset < 0 or offset >= size or offset + 1 < counted:
            raise ValueError("text_indices: need ascending offsets in 0 <= offset < len(data)")
        p = buf + counted
        stop = buf + offset + 1
        while p < stop:
            p = <const char*>memchr(p, 0, <size_t>(stop - p))
            if p == NULL:
                break
            text += 1
            p += 1
        counted = offset + 1
        out.append(text)
    return out


# === combined/common access lines (helper `access`, issue 14, KERNEL_API 33) ===============
# Twin and reference: ``pure_access.combined_fields`` (read its docstring): ``_COMBINED``'s
# match read left to right. The client, ident, user and method end at their first blank,
# the time at its first "]" (no backtracking can move them); the lazy path ends at the
# first quote (or its blank, with `` HTTP/[\d.]+``) after which `` ddd `` and a size
# follow; the size is its longest digit run (the quoted pair is optional) or "-". Lines
# that are not ASCII go to the twin (``\S``, ``\d`` are Unicode classes there).
from shipper.kernels.pure_access import combined_fields as _combined_reference


cdef inline bint _ws(unsigned char c) noexcept:
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


cdef inline bint _dig1(unsigned char c) noexcept:
    return 48 <= c <= 57


cdef inline Py_ssize_t _token_end(const unsigned char* d, Py_ssize_t p,
                                  Py_ssize_t n) noexcept:
    while p < n and not _ws(d[p]):
        p += 1
    return p


cdef inline Py_ssize_t _quoted_end(const unsigned char* d, Py_ssize_t p,
                                   Py_ssize_t n) noexcept:
    """``p`` at an opening quote: the index of its closing quote, else -1."""
    if p >= n or d[p] != 34:
        return -1
    p += 1
    while p < n:
        if d[p] == 34:
            return p
        if d[p] == 92:
            if p + 1 >= n or d[p + 1] == 10:  # "." takes any character but "\n"
                return -1
            p += 2
        else:
            p += 1
    return -1


cdef inline Py_ssize_t _status_size(const unsigned char* d, Py_ssize_t q,
                                    Py_ssize_t n) noexcept:
    """``q`` at the request's closing quote: ``" ddd <size>``'s end, else -1."""
    cdef Py_ssize_t s = q + 6
    if s >= n or d[q] != 34 or d[q + 1] != 32 or not (_dig1(d[q + 2]) and _dig1(d[q + 3])
                                                       and _dig1(d[q + 4])) or d[q + 5] != 32:
        return -1
    if d[s] == 45:
        return s + 1
    if not _dig1(d[s]):
        return -1
    while s < n and _dig1(d[s]):
        s += 1
    return s


cdef inline Py_ssize_t _blank_token(const unsigned char* d, Py_ssize_t p,
                                    Py_ssize_t n) noexcept:
    """``(\\S+) ``: the blank's index, else -1."""
    cdef Py_ssize_t e = _token_end(d, p, n)
    return e if e > p and e < n and d[e] == 32 else -1


def combined_fields(str text):
    if not PyUnicode_IS_ASCII(text):
        return _combined_reference(text)
    cdef Py_ssize_t n = len(text), a, b, c, rb, me, ps, e, v, q = -1, pe, ss, se
    cdef Py_ssize_t re_ = -1, ae = -1, proto = -1
    cdef const unsigned char* d = PyUnicode_1BYTE_DATA(text)
    cdef const unsigned char* at
    a = _blank_token(d, 0, n)
    b = _blank_token(d, a + 1, n) if a >= 0 else -1
    c = _blank_token(d, b + 1, n) if b >= 0 else -1
    if c < 0 or c + 2 >= n or d[c + 1] != 91:
        return None
    at = <const unsigned char*>memchr(d + c + 2, 93, <size_t>(n - c - 2))  # "]"
    if at == NULL or at == d + c + 2:
        return None
    rb = at - d
    if rb + 2 >= n or d[rb + 1] != 32 or d[rb + 2] != 34:
        return None
    me = _blank_token(d, rb + 3, n)
    if me < 0:
        return None
    ps = e = me + 1
    while True:  # the lazy path: [ps, e)
        if e >= n or _ws(d[e]):
            return None
        e += 1
        if e >= n:
            return None
        if d[e] == 34:
            se = _status_size(d, e, n)
            if se >= 0:
                q = e
                break
        elif d[e] == 32:
            if e + 6 > n or memcmp(d + e + 1, b"HTTP/", 5) != 0:
                return None
            v = e + 6
            while v < n and (_dig1(d[v]) or d[v] == 46):
                v += 1
            se = _status_size(d, v, n) if v > e + 6 else -1
            if se < 0:
                return None
            q, proto = v, e + 1
            break
    pe = e
    ss = q + 6
    if se + 1 < n and d[se] == 32 and d[se + 1] == 34:
        re_ = _quoted_end(d, se + 1, n)
        if re_ >= 0 and re_ + 2 < n and d[re_ + 1] == 32 and d[re_ + 2] == 34:
            ae = _quoted_end(d, re_ + 2, n)
    return _combined_record(text, d, a, b, c, rb, me, pe, proto, q, ss, se,
                            re_ if ae >= 0 else -1, ae)


cdef object _combined_record(str text, const unsigned char* d, Py_ssize_t a, Py_ssize_t b,
                             Py_ssize_t c, Py_ssize_t rb, Py_ssize_t me, Py_ssize_t pe,
                             Py_ssize_t proto, Py_ssize_t q, Py_ssize_t ss, Py_ssize_t se,
                             Py_ssize_t re_, Py_ssize_t ae):
    cdef int code = (d[q + 2] - 48) * 100 + (d[q + 3] - 48) * 10 + (d[q + 4] - 48)
    cdef long long size = 0
    cdef Py_ssize_t i
    cdef dict attributes = {"method": text[rb + 3:me], "path": text[me + 1:pe],
                            "status": code, "client": text[:a]}
    if proto >= 0:
        attributes["protocol"] = text[proto:q]
    if d[ss] != 45:
        if se - ss <= 18:
            for i in range(ss, se):
                size = size * 10 + (d[i] - 48)
            attributes["bytes"] = size
        else:
            attributes["bytes"] = text[ss:se]
    if not (c - b == 2 and d[b + 1] == 45):
        attributes["user"] = text[b + 1:c]
    if re_ >= 0:
        if re_ - (se + 2) > 0 and not (re_ - (se + 2) == 1 and d[se + 2] == 45):
            attributes["referer"] = text[se + 2:re_]
        if ae - (re_ + 3) > 0 and not (ae - (re_ + 3) == 1 and d[re_ + 3] == 45):
            attributes["user_agent"] = text[re_ + 3:ae]
    level = "error" if code >= 500 else "warning" if code >= 400 else "info"
    return {"timestamp": None, "level": level, "message": text,
            "attributes": attributes}, text[c + 2:rb]


# === noise presets' verdicts (helper `noise`, issue 14, KERNEL_API 34) =======================
# Twin and reference: ``pure_noise.noise_drops`` (read its docstring): the same records
# take the same branches; every record it cannot judge goes to ``classify``.
from cpython.dict cimport PyDict_GetItem
from shipper.record import Record as _NoiseRecord

cdef tuple _nz_TEXT_METHODS = ("GET ", "HEAD ", "POST ", "PUT ", "PATCH ", "DELETE ", "OPTIONS ",
                            "CONNECT ", "TRACE ")
cdef tuple _nz_LEGACY_STARTS = ("TRACE:", "DEBUG:", "INFO:")
cdef object _nz_UNJUDGED = object()


cdef inline object _nz_field(object record, str key):
    cdef PyObject* found = PyDict_GetItem(record, key)
    return None if found == NULL else <object>found


cdef bint _nz_no_logger(object record) except -1:
    cdef object raw
    cdef str start
    if isinstance(_nz_field(record, "logger"), str):
        return False
    raw = record.raw
    if not isinstance(raw, str):
        return True
    if type(raw) is not str:
        return False
    for start in _nz_LEGACY_STARTS:
        if (<str>raw).startswith(start):
            return (<str>raw)[len(start):len(start) + 1] == " "
    return True


cdef bint _nz_route_matches(str path, tuple routes) except -1:
    cdef tuple literal = routes[0], parents = routes[1]
    cdef str parent, last, rest
    if path.endswith(literal):
        return True
    if parents:
        rest = path[:len(path) - 1] if path[len(path) - 1] == "/" else path
        parent, _, last = rest.rpartition("/")
        if last and parent.endswith(parents):
            return True
    return False


cdef object _nz_route_preset(str method, str path, str agent, object health, object polling):
    if health is not None:
        if agent.startswith("kube-probe/"):
            return "health"
        if (method == "GET" or method == "HEAD") and _nz_route_matches(path, <tuple>health):
            return "health"
    if polling is not None and method == "GET" and _nz_route_matches(path, <tuple>polling):
        return "polling"
    return None


cdef object _nz_request_verdict(object record, frozenset secondary, object health,
                             object polling):
    """The request presets' answer, ``""`` when the auth preset decides, or _nz_UNJUDGED."""
    cdef object attrs = _nz_field(record, "attributes"), method, target, status, agent, message
    cdef str hint
    if attrs:
        if type(attrs) is not dict:
            return _nz_UNJUDGED
        method = _nz_field(attrs, "method")
        target = _nz_field(attrs, "path")
        status = _nz_field(attrs, "status")
        agent = _nz_field(attrs, "user_agent")
        if (method is None or target is None or status is None or agent is None) \
                and not secondary.isdisjoint(attrs):
            return _nz_UNJUDGED
        if isinstance(method, str) and isinstance(target, str) and target:
            if type(method) is not str or type(target) is not str:
                return _nz_UNJUDGED
            if status is None:
                return ""
            if type(status) is not int:
                return _nz_UNJUDGED
            if status >= 400:
                return ""
            if (<str>target)[0] != "/" or "?" in <str>target or "#" in <str>target \
                    or "\n" in <str>target:
                return _nz_UNJUDGED
            if type(agent) is not str:
                if isinstance(agent, str):
                    return _nz_UNJUDGED
                agent = ""
            if not (method == "GET" or method == "HEAD"):
                method = (<str>method).upper()
            return _nz_route_preset(method, target, agent, health, polling)
    message = _nz_field(record, "message")
    if isinstance(message, str) and message:
        if type(message) is not str:
            return _nz_UNJUDGED
        for hint in _nz_TEXT_METHODS:
            if hint in <str>message:
                return _nz_UNJUDGED
    return ""


cdef object _nz_verdict(object record, bint third_party, bint requests, object health,
                     object polling, bint auth, dict seen, frozenset secondary):
    """A preset's name, ``None`` (not noise) or _nz_UNJUDGED."""
    cdef object preset, message, known
    cdef PyObject* found
    if third_party and not _nz_no_logger(record):
        return _nz_UNJUDGED
    if requests:
        preset = _nz_request_verdict(record, secondary, health, polling)
        if preset is _nz_UNJUDGED or preset is None:
            return preset
        if preset != "":
            return preset
    if auth:
        message = _nz_field(record, "message")
        if type(message) is not str:
            return _nz_UNJUDGED
        found = PyDict_GetItem(seen, message)
        if found == NULL or <object>found is None:
            return _nz_UNJUDGED
        return "auth_success" if <object>found else None
    return None


def noise_drops(list records, list indices, set dropped, judge, classify, drop):
    cdef frozenset loud = judge.loud, secondary = judge.secondary
    cdef bint third_party = judge.third_party, requests = judge.requests, auth = judge.auth
    cdef object health = judge.health, polling = judge.polling, record, level, verdict
    cdef dict seen = judge.auth_seen
    cdef PyObject* found
    for i in indices:
        if i in dropped:
            continue
        record = records[i]
        if type(record) is not _NoiseRecord:
            if record.get("level", "info") in loud:
                continue
            verdict = _nz_UNJUDGED
        else:
            found = PyDict_GetItem(record, "level")
            level = "info" if found == NULL else <object>found
            if level in loud:
                continue
            verdict = _nz_verdict(record, third_party, requests, health, polling, auth, seen,
                                  secondary)
        if verdict is _nz_UNJUDGED:
            verdict = classify(record)
        if verdict is not None:
            drop(record, "noise", verdict)
            dropped.add(i)


# --- a batch's raw lines joined for the pre-scans (KERNEL_API 34) ----------------------------
# Twin and reference: ``pure_noise.joined_texts``: one pass, each ASCII line copied once.
from cpython.set cimport PySet_Add


def joined_texts(list records):
    cdef Py_ssize_t n = len(records), i, total = 0, size, at = 0
    cdef object record, raw, message
    cdef PyObject* found
    cdef list parts = [None] * n
    cdef set unjudged = set()
    cdef bytes data
    cdef char* out
    for i in range(n):
        record = records[i]
        if type(record) is not _NoiseRecord:
            return None
        raw = (<object>record).raw
        found = PyDict_GetItem(record, "message")
        if found == NULL or type(<object>found) is not str or type(raw) is not str:
            return None
        message = <object>found
        if "\n" in <str>message or not PyUnicode_IS_ASCII(raw) or "\x00" in <str>raw:
            PySet_Add(unjudged, i)
            parts[i] = ""
        else:
            parts[i] = raw
            total += PyUnicode_GET_LENGTH(raw)
    if n == 0:
        return b"", unjudged, parts
    data = PyBytes_FromStringAndSize(NULL, total + n - 1)
    out = PyBytes_AS_STRING(data)
    for i in range(n):
        if i:
            out[at] = 0
            at += 1
        raw = parts[i]
        size = PyUnicode_GET_LENGTH(raw)
        if size:
            memcpy(out + at, PyUnicode_1BYTE_DATA(raw), size)
            at += size
    return data, unjudged, parts
