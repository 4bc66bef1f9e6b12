# --- the Loki sink column-wise: side data read into columns, a push written from rows ------
# (uses _loki.pxi's helpers: _utf8, _fsize, _vsize, _varint, _field, _Ent, _stamp_into,
# _write_head, _pair_parts_size, _pair_parts, _MISSING, _dict_get, _plain_dict, _from_k8s;
# _encode.pxi's ``_carray``)


cdef inline object _meta_text(object value):
    """A metadata value as sent: ``None`` when missing or empty, else its text."""
    if value is None:
        return None
    if type(value) is str:
        return value if len(<str>value) else None
    if value != "":
        return str(value)
    return None


def loki_read_cols(records, steps, getters, Py_ssize_t split, names):
    """As ``pure_loki_rows.loki_read_cols``: ``loki_read``'s values, the metadata as one
    column per name (``None`` where a record has none) instead of pairs per record."""
    cdef list labels_out = []
    cdef Py_ssize_t count = len(names), j
    cdef list cols = [[] for j in range(count)]
    cdef list values, bare = [], from_k8s = [], bare_at = []
    cdef tuple labels, k8s_labels = None
    cdef bint labels_k8s = steps is not None
    cdef object seen = _MISSING
    if steps is not None:
        for j, step in enumerate(<list?>steps):
            bare_at.append(step[1] if step[0] == 0 else None)
            if step[0] == 0:
                bare.append((j, step[1]))
                if j < split:
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
                labels_out.append(k8s_labels)
                _k8s_cols(record, attrs, from_k8s, bare_at, split, cols)
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
        labels_out.append(labels)
        for j in range(count):
            (<list>cols[j]).append(_meta_text(values[split + j]))
    return labels_out, cols


cdef int _k8s_cols(object record, object attrs, list from_k8s, list bare_at,
                   Py_ssize_t split, list cols) except -1:
    """The metadata values of an exact-dict record (``attrs``: a dict or ``None``)."""
    cdef Py_ssize_t j
    for j in range(len(cols)):
        key = <object>PyList_GET_ITEM(bare_at, split + j)
        if key is None:
            value = <object>PyList_GET_ITEM(from_k8s, split + j)
        else:
            value = _dict_get(record, key)
            if value is _MISSING:
                value = None if attrs is None else _dict_get(attrs, key)
                if value is _MISSING:
                    value = None
        (<list>PyList_GET_ITEM(cols, j)).append(_meta_text(value))
    return 0


def loki_cols_bytes(cols, Py_ssize_t count, Py_ssize_t record_bytes, Py_ssize_t pair_bytes):
    """As ``pure_loki_rows.loki_cols_bytes``."""
    cdef Py_ssize_t total = record_bytes * count
    for col in cols:
        for value in <list?>col:
            if value is not None:
                total += pair_bytes + len(<str?>value)
    return total


def loki_sort_rows(list nanos, list rows):
    """As ``pure_loki_rows.loki_sort_rows``: ``rows`` itself when already in order."""
    cdef Py_ssize_t i, row, n = len(rows), count = len(nanos)
    cdef object last = None, ns
    for i in range(n):
        row = rows[i]
        if row < 0 or row >= count:
            raise IndexError("loki_sort_rows: a row outside the timestamps")
        ns = <object>PyList_GET_ITEM(nanos, row)
        if i and ns < last:
            return sorted(rows, key=nanos.__getitem__)
        last = ns
    return rows


cdef Py_ssize_t _measure_row(_Ent* ent, Py_ssize_t row, list nanos, list cols, tuple names,
                             const char** line_p, Py_ssize_t* line_n, dict overrides,
                             list keep) except -1:
    """Row ``row`` of the batch as one entry (``_measure``'s, from the columns)."""
    cdef Py_ssize_t j, meta_n = 0
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
    for j in range(len(names)):
        value = <object>PyList_GET_ITEM(<list>PyList_GET_ITEM(cols, j), row)
        if value is not None:
            meta_n += _pair_parts_size(<object>PyTuple_GET_ITEM(names, j), value)
    ent.meta, ent.row = NULL, row
    ent.body_n = 2 + ent.stamp_n + _fsize(ent.line_n) + meta_n
    return 1 + _vsize(<unsigned long long>ent.body_n) + ent.body_n


cdef void _write_row(_Buf* buf, _Ent* ent, list cols, tuple names) noexcept:
    cdef Py_ssize_t j
    _write_head(buf, ent)
    for j in range(len(names)):
        value = <object>PyList_GET_ITEM(<list>PyList_GET_ITEM(cols, j), ent.row)
        if value is not None:
            _pair_parts(buf, <object>PyTuple_GET_ITEM(names, j), value)


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
    cdef const char* labels_b
    if len(cols) != len(names) or any(len(<list?>col) != count for col in cols):
        raise ValueError("loki_push_rows: one column of every row for each name")
    for labels, rows in streams:
        row_lists.append((labels, <list?>rows))
        n += len(<list>rows)
    try:
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
                stream_n += _measure_row(&ents[n], i, nanos, cols, names, line_p, line_n,
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
                _write_row(&out, &ents[j], cols, names)
        return body
    finally:
        PyMem_Free(ents)
        PyMem_Free(line_p)
        PyMem_Free(line_n)
