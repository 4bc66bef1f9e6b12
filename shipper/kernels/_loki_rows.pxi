# --- the Loki sink column-wise: side data read into columns, a push written from rows ------
# (uses _loki.pxi's helpers: _utf8, _fsize, _vsize, _varint, _field, _Ent, _stamp_into,
# _write_head, _MISSING, _dict_get, _plain_dict, _from_k8s;
# _encode.pxi's ``_carray``)
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF


cdef extern from "Python.h":
    PyObject* _item_p "PyList_GET_ITEM"(PyObject* items, Py_ssize_t i)
    bint _str_p "PyUnicode_CheckExact"(PyObject* text)
    bint _ascii_p "PyUnicode_IS_COMPACT_ASCII"(PyObject* text)
    Py_ssize_t _length_p "PyUnicode_GET_LENGTH"(PyObject* text)
    void* _data_p "PyUnicode_DATA"(PyObject* text)
    const char* _cached_utf8_p "PyUnicode_AsUTF8AndSize"(PyObject* text, Py_ssize_t* size)
    void _set_p "PyList_SET_ITEM"(PyObject* items, Py_ssize_t i, PyObject* value)


cdef inline object _meta_text(object value):
    """A metadata value as sent: ``None`` when missing or empty, else its text."""
    if value is None:
        return None
    if type(value) is str:
        return value if len(<str>value) else None
    if value != "":
        return str(value)
    return None


cdef extern from "Python.h":
    PyObject* _get_p "PyDict_GetItemWithError"(PyObject* d, PyObject* key)
    PyObject* _raised "PyErr_Occurred"()


def loki_read_cols(records, steps, getters, Py_ssize_t split, names):
    """As ``pure_loki_rows.loki_read_cols``: ``loki_read``'s values, the metadata as one
    column per name (``None`` where a record has none) instead of pairs per record."""
    cdef list recs = records if type(records) is list else list(records)
    cdef Py_ssize_t count = len(names), j, i, n = len(recs)
    cdef list labels_out = [None] * n
    cdef list cols = [[None] * n for j in range(count)]  # filled in place, row by row
    cdef list values, bare = [], from_k8s = [], bare_at = []
    cdef tuple labels, k8s_labels = None
    cdef bint labels_k8s = steps is not None, fast
    cdef object seen = _MISSING
    if steps is not None:
        for j, step in enumerate(<list?>steps):
            bare_at.append(step[1] if step[0] == 0 else None)
            if step[0] == 0:
                bare.append((j, step[1]))
                if j < split:
                    labels_k8s = False
    fast = labels_k8s and len(bare_at) - split == count
    for i in range(n):
        record = <object>PyList_GET_ITEM(recs, i)
        if fast and _plain_dict(record):
            k8s, attrs = _dict_get(record, "k8s"), _dict_get(record, "attributes")
            k8s = None if k8s is _MISSING else k8s
            attrs = None if attrs is _MISSING else attrs
            if ((type(k8s) is dict or k8s is None) and (type(attrs) is dict or attrs is None)):
                if k8s is not seen:
                    seen, from_k8s = k8s, _from_k8s(record, k8s, <list>steps)
                    k8s_labels = tuple(from_k8s[:split])
                labels_out[i] = k8s_labels
                _k8s_cols(<PyObject*>record, <PyObject*>attrs, from_k8s, bare_at, split, cols,
                          i)
                continue
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
            for index, key in bare:
                value = (<dict>record).get(key, _MISSING)
                if value is _MISSING:
                    value = None if attrs is None else (<dict>attrs).get(key)
                values[index] = value
            labels = k8s_labels if k8s_labels is not None else tuple(values[:split])
        if len(values) - split != count:
            raise ValueError("loki_read_cols: one name for each metadata path")
        labels_out[i] = labels
        for j in range(count):
            (<list>cols[j])[i] = _meta_text(values[split + j])
    return labels_out, cols


cdef int _k8s_cols(PyObject* record, PyObject* attrs, list from_k8s, list bare_at,
                   Py_ssize_t split, list cols, Py_ssize_t row) except -1:
    """Row ``row`` of ``cols``: the metadata values of an exact-dict record (``attrs``: a
    dict or ``None``), read with borrowed references (string keys: a lookup raises nothing
    but is checked once)."""
    cdef Py_ssize_t j
    cdef PyObject* key
    cdef PyObject* value
    for j in range(len(cols)):
        key = PyList_GET_ITEM(bare_at, split + j)
        if key == <PyObject*>None:
            value = PyList_GET_ITEM(from_k8s, split + j)
        else:
            value = _get_p(record, key)
            if value == NULL:
                value = (<PyObject*>None if attrs == <PyObject*>None
                         else _get_p(attrs, key))
                if value == NULL:
                    value = <PyObject*>None
        if value == <PyObject*>None:
            continue  # the column holds None already
        if _str_p(value):
            if _length_p(value):
                _put(PyList_GET_ITEM(cols, j), row, value)
        else:
            text = _meta_text(<object>value)
            if text is not None:
                _put(PyList_GET_ITEM(cols, j), row, <PyObject*>text)
    if _raised() != NULL:
        return -1
    return 0


cdef inline void _put(PyObject* items, Py_ssize_t i, PyObject* value) noexcept:
    """``items[i] = value`` of a list (its old item released)."""
    cdef PyObject* old = _item_p(items, i)
    Py_INCREF(<object>value)
    _set_p(items, i, value)
    Py_XDECREF(old)


def loki_cols_bytes(cols, Py_ssize_t count, Py_ssize_t record_bytes, Py_ssize_t pair_bytes):
    """As ``pure_loki_rows.loki_cols_bytes`` (the values read without references)."""
    cdef Py_ssize_t i, total = record_bytes * count
    cdef list values
    cdef PyObject* value
    for col in cols:
        values = <list?>col
        for i in range(len(values)):
            value = _item_p(<PyObject*>values, i)
            if value == <PyObject*>None:
                continue
            if _str_p(value):
                total += pair_bytes + _length_p(value)
            else:
                total += pair_bytes + len(<str?><object>value)
    return total


cdef struct _Meta:  # the metadata columns of ``loki_push_rows``, read without references
    Py_ssize_t m  # names (and columns)
    PyObject** cols  # each name's column (a list, owned by ``cols``)
    const char** pre  # each name's field (tag, length, name) as written (owned by ``keep``)
    Py_ssize_t* pre_n  # its bytes; -1: the name is no text (its error raised on a value)


cdef int _meta_of(_Meta* meta, list cols, tuple names, list keep) except -1:
    """``meta`` from ``cols`` and ``names`` (its arrays allocated: ``_meta_free``)."""
    cdef Py_ssize_t j, name_n
    cdef const char* name
    cdef _Buf buf
    meta.m = len(names)
    meta.cols = <PyObject**>PyMem_Realloc(NULL, <size_t>max(meta.m, 1) * sizeof(PyObject*))
    meta.pre = <const char**>PyMem_Realloc(NULL, <size_t>max(meta.m, 1) * sizeof(char*))
    meta.pre_n = <Py_ssize_t*>PyMem_Realloc(NULL, <size_t>max(meta.m, 1) * sizeof(Py_ssize_t))
    if meta.cols == NULL or meta.pre == NULL or meta.pre_n == NULL:
        raise MemoryError()
    for j in range(meta.m):
        meta.cols[j], meta.pre_n[j] = <PyObject*>cols[j], -1
        try:
            name = _utf8(names[j], &name_n)
        except (TypeError, ValueError, UnicodeError):
            continue  # raised as before if a row has a value for it
        field = PyBytes_FromStringAndSize(NULL, _fsize(name_n))
        buf.data, buf.size, buf.cap = PyBytes_AS_STRING(field), 0, _fsize(name_n)
        _field(&buf, 0x0a, name, name_n)
        keep.append(field)
        meta.pre[j], meta.pre_n[j] = PyBytes_AS_STRING(field), buf.size
    return 0


cdef void _meta_free(_Meta* meta) noexcept:
    PyMem_Free(meta.cols)
    PyMem_Free(meta.pre)
    PyMem_Free(meta.pre_n)


cdef Py_ssize_t _measure_row(_Ent* ent, Py_ssize_t row, list nanos, _Meta* meta,
                             tuple names, const char** line_p, Py_ssize_t* line_n,
                             dict overrides, list keep) except -1:
    """Row ``row`` of the batch as one entry (``_measure``'s, from the columns)."""
    cdef Py_ssize_t j, meta_n = 0, value_n, inner
    cdef PyObject* value
    _stamp_into(ent, <object>PyList_GET_ITEM(nanos, row))
    if overrides:
        text = overrides.get(row)
        if text is not None:
            keep.append(text)
            ent.line = _utf8(text, &ent.line_n)
        else:
            ent.line, ent.line_n = line_p[row], line_n[row]
    else:
        ent.line, ent.line_n = line_p[row], line_n[row]
    for j in range(meta.m):
        value = _item_p(meta.cols[j], row)
        if value == <PyObject*>None:
            continue
        if meta.pre_n[j] < 0:
            _utf8(names[j], &value_n)  # raises: the name is no text
        if _str_p(value) and _ascii_p(value):
            value_n = _length_p(value)
        else:
            _utf8(<object>value, &value_n)  # its UTF-8 cached for _write_row (or raises)
        inner = meta.pre_n[j] + _fsize(value_n)  # the pair is written even when empty
        meta_n += 1 + _vsize(<unsigned long long>inner) + inner
    ent.meta, ent.row = NULL, row
    ent.body_n = 2 + ent.stamp_n + _fsize(ent.line_n) + meta_n
    return 1 + _vsize(<unsigned long long>ent.body_n) + ent.body_n


cdef void _write_row(_Buf* buf, _Ent* ent, _Meta* meta) noexcept:
    """A row :func:`_measure_row` has measured (its values ASCII, or their UTF-8 cached)."""
    cdef Py_ssize_t j, value_n, inner
    cdef PyObject* value
    cdef const char* text
    _write_head(buf, ent)
    for j in range(meta.m):
        value = _item_p(meta.cols[j], ent.row)
        if value == <PyObject*>None:
            continue
        if _str_p(value) and _ascii_p(value):
            text, value_n = <const char*>_data_p(value), _length_p(value)
        else:
            text = _cached_utf8_p(value, &value_n)
        inner = meta.pre_n[j] + _fsize(value_n)
        buf.data[buf.size] = 0x1a
        buf.size += 1
        _varint(buf, <unsigned long long>inner)
        memcpy(buf.data + buf.size, meta.pre[j], <size_t>meta.pre_n[j])
        buf.size += meta.pre_n[j]
        _field(buf, 0x12, text, value_n)


cdef int _line_spans(list spans, Py_ssize_t count, const char** line_p,
                     Py_ssize_t* line_n) except -1:
    """Each row's line in the spans' buffers: ``(data, ends, lo, first row)``, each record
    ending in a newline (left out); ``ends`` an ``array("I")`` (the buffers') is read in
    place, any other sequence of ints item by item."""
    cdef _carray.array ends = None
    cdef Py_ssize_t k, row, start, n, end
    cdef const char* base
    cdef bint typed
    for data, ends_o, lo, first in spans:
        base = PyBytes_AS_STRING(<bytes?>data)
        typed = type(ends_o) is _carray.array and ends_o.typecode == "I"
        if typed:
            ends = <_carray.array>ends_o
        n, start, row = len(ends_o), lo, first
        if row < 0 or row + n > count:
            raise ValueError("loki_push_rows: a span's rows are outside the batch")
        for k in range(n):
            end = ends.data.as_uints[k] if typed else ends_o[k]
            if end <= start or end > PyBytes_GET_SIZE(data):
                raise ValueError("loki_push_rows: a record's end is outside its buffer")
            line_p[row + k] = base + start
            line_n[row + k] = end - 1 - start
            start = end
    return 0


def loki_push_rows(streams, list nanos, list cols, tuple names, list spans, dict overrides):
    """As ``pure_loki_rows.loki_push_rows``: ``loki_push`` of entries made from rows of a
    batch's columns, the lines read in place from the buffered records."""
    cdef Py_ssize_t count = len(nanos), total = 0, n = 0, labels_n, stream_n, first, i, j
    cdef _Ent* ents = NULL
    cdef const char** line_p = NULL
    cdef Py_ssize_t* line_n = NULL
    cdef list plan = [], keep = [], row_lists = []
    cdef _Buf out
    cdef _Meta meta
    cdef const char* labels_b
    if len(cols) != len(names) or any(len(<list?>col) != count for col in cols):
        raise ValueError("loki_push_rows: one column of every row for each name")
    for labels, rows in streams:
        row_lists.append((labels, <list?>rows))
        n += len(<list>rows)
    meta.cols, meta.pre, meta.pre_n = NULL, NULL, NULL
    try:
        _meta_of(&meta, cols, names, keep)
        ents = <_Ent*>PyMem_Realloc(NULL, <size_t>max(n, 1) * sizeof(_Ent))
        line_p = <const char**>PyMem_Realloc(NULL, <size_t>max(count, 1) * sizeof(char*))
        line_n = <Py_ssize_t*>PyMem_Realloc(NULL, <size_t>max(count, 1) * sizeof(Py_ssize_t))
        if ents == NULL or line_p == NULL or line_n == NULL:
            raise MemoryError()
        for i in range(count):
            line_p[i], line_n[i] = NULL, -1
        _line_spans(spans, count, line_p, line_n)
        n = 0
        for labels, rows in row_lists:
            _utf8(labels, &labels_n)
            stream_n = _fsize(labels_n)
            first = n
            for row_o in <list>rows:
                i = row_o
                if i < 0 or i >= count or (line_n[i] < 0 and i not in overrides):
                    raise ValueError("loki_push_rows: a row without a line")
                stream_n += _measure_row(&ents[n], i, nanos, &meta, names, line_p, line_n,
                                         overrides, keep)
                n += 1
            total += 1 + _vsize(<unsigned long long>stream_n) + stream_n
            plan.append((labels, first, n, stream_n))
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
            for j in range(first, <Py_ssize_t>stop):
                _write_row(&out, &ents[j], &meta)
        return body
    finally:
        _meta_free(&meta)
        PyMem_Free(ents)
        PyMem_Free(line_p)
        PyMem_Free(line_n)
