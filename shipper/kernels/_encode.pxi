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
