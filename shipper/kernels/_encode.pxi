# --- records -> NDJSON (helper `encode`, issue 14; KERNEL_API 28; shared ``k8s``: `post`, 105) -
# Twin and reference: ``pure_encode.ndjson_records`` (read its docstring): the same bytes and
# end offsets, the same exceptions. Here the records are encoded in one ``orjson.dumps``
# call, with a string of one NUL between each two: ``[r1,"\u0000",r2,...]``. A record's JSON
# cannot hold ``},"\u0000",{`` inside a string (a quote in a string is escaped), only in an
# array of its own: each record ends at the first such mark after it starts, and a list
# with any other mark (more marks than records less one) is encoded by the twin, as is one
# that orjson refuses (the twin raises what a record makes it raise). The marks are found
# by their backslash (``memchr``): backslashes are rare in JSON, braces are not (a ``}``
# ends each nested object; helper `outside`, session 30: ~0.1k instructions a record less).
# When every record holds the very same ``k8s`` dict (one file's enrichment: strings and
# dicts of strings), it is encoded once (~0.9k instructions a record less): while the list
# is encoded the dict holds one marker key alone (and its items again, in order, right
# after: one change a batch, not one a record), and each record's one marked dict, its
# ``"k8s"`` value, gets the dict's JSON when splitting (found by its backslashes too, in
# the same pass). The marked dict's JSON holds unescaped quotes, so no string holds it; a
# record with a second one (the same dict held elsewhere too, or a record's own such dict),
# or any failure, and the records are encoded as they are, as above.

from cpython cimport array as _carray

from shipper.kernels.pure_encode import ndjson_records as _ndjson_each

cdef _carray.array _ENDS = _carray.array("I")
#: between two records in the list: a string of one NUL, so the two records are split at
#: ``},"\u0000",{``: found by its backslash, as the shared ``k8s`` dict's mark is
cdef str _SPACER = "\x00"
cdef const char* _SEP = b'},"\\u0000",{'
cdef Py_ssize_t _SEP_SIZE = 12

#: a shared ``k8s`` dict while the list is encoded holds this key alone (null): its JSON
cdef str _MARK_KEY = "\x00k8s\x00"
cdef const char* _MARKED = b'{"\\u0000k8s\\u0000":null}'
cdef Py_ssize_t _MARKED_SIZE = 24


cdef const char* _next_mark(const char* p, const char* end, bint marked,
                            const char** at) noexcept:
    """The ``}`` ending the record that starts at ``p`` (the first ``_SEP`` after it),
    or NULL when there is none before ``end``; with ``marked`` each ``_MARKED`` on the way
    is in ``at`` (a second one, or one too close to ``p`` to be its ``"k8s"`` value: ``at``
    is set to ``end``). Each backslash is tried, once: they are rare in JSON, braces and
    quotes are not."""
    cdef const char* q = p
    while True:
        q = <const char*>memchr(q, 92, <size_t>(end - q))  # backslash
        if q == NULL:
            return NULL
        if (marked and q - p >= 2 and end - q >= _MARKED_SIZE - 2
                and memcmp(q - 2, _MARKED, <size_t>_MARKED_SIZE) == 0):
            at[0] = end if at[0] != NULL or q - p < 8 else q - 2
            q += _MARKED_SIZE - 2
        elif (q - p >= 3 and end - q >= _SEP_SIZE - 3
              and memcmp(q - 3, _SEP, <size_t>_SEP_SIZE) == 0):
            return q - 3
        else:
            q += 1


cdef object _split(bytes data, Py_ssize_t count, bytes frag):
    """``[r1,"\\u0000",r2,...,rn]`` as ``r1\\n...rn\\n`` and each record's end, or
    ``None`` when a record holds a mark of its own; with ``frag`` (a shared ``k8s``
    encoded), each record's one ``_MARKED`` (its ``"k8s"`` value) replaced by ``frag``, and
    ``None`` when a record has not exactly one, or one that is not its ``"k8s"`` value."""
    cdef const char* p = PyBytes_AS_STRING(data) + 1
    cdef const char* end = PyBytes_AS_STRING(data) + PyBytes_GET_SIZE(data) - 1  # at "]"
    cdef const char* q
    cdef const char* at
    cdef bint marked = frag is not None
    cdef const char* f = PyBytes_AS_STRING(frag) if marked else NULL
    cdef Py_ssize_t k, n, head, w = 0, size = PyBytes_GET_SIZE(frag) if marked else 0
    cdef _carray.array ends = _carray.clone(_ENDS, count, False)
    text = PyBytes_FromStringAndSize(NULL, PyBytes_GET_SIZE(data) - 2
                                     - (_SEP_SIZE - 3) * (count - 1) + 1
                                     + (count * (size - _MARKED_SIZE) if marked else 0))
    cdef char* out = PyBytes_AS_STRING(text)  # new: ours to write
    for k in range(count):
        at = NULL
        q = _next_mark(p, end, marked, &at)
        if (q == NULL) != (k == count - 1):  # a mark missing, or one too many
            return None
        n = (q + 1 if q != NULL else end) - p
        if marked:
            if at == NULL or at == end or memcmp(at - 6, b'"k8s":', 6) != 0:
                return None
            head = at - p
            memcpy(out + w, p, <size_t>head)
            memcpy(out + w + head, f, <size_t>size)
            memcpy(out + w + head + size, at + _MARKED_SIZE,
                   <size_t>(n - head - _MARKED_SIZE))
            w += n + size - _MARKED_SIZE
        else:
            memcpy(out + w, p, <size_t>n)
            w += n
        out[w] = 10
        w += 1
        ends.data.as_uints[k] = <unsigned int>w
        p += n + _SEP_SIZE - 2
    return text, ends


cdef object _shared_k8s(list records):
    """The one ``k8s`` object every record (an exact ``dict`` or ``Record``) holds, when it
    is a non-empty dict of strings and dicts of strings (encoded the same on its own as
    inside a record); else ``None``."""
    cdef object record, value, inner, leaf
    cdef object first = None
    cdef object record_type = _Record  # a module global: looked up once, not per record
    for record in records:
        if type(record) is not dict and type(record) is not record_type:
            return None
        value = (<dict>record).get("k8s")
        if first is None:
            if type(value) is not dict or not value:
                return None
            for inner in (<dict>value).values():
                if type(inner) is dict:
                    for leaf in (<dict>inner).values():
                        if type(leaf) is not str:
                            return None
                elif type(inner) is not str:
                    return None
            first = value
        elif value is not first:
            return None
    return first


cdef object _with_k8s_once(list records, list spaced, dict k8s):
    """The records encoded with their shared ``k8s`` encoded once: the dict holds only
    ``_MARK_KEY`` while the list is encoded (its items put back after, in order, whatever
    happens: the same object, the same items), and each record's ``"k8s":`` + ``_MARKED``
    gets the dict's JSON when splitting; ``None`` when that cannot be done exactly (the
    caller encodes the records as they are). No ``default`` meanwhile: a value orjson
    cannot encode by itself ends the attempt (no Python code runs, and so no other
    thread, while the dict is changed: the live tail's replay encodes older records
    holding it in a thread)."""
    cdef list items = list(k8s.items())
    try:
        frag = _orjson.dumps(k8s)  # strings and dicts of strings (``_shared_k8s``)
    except Exception:  # one orjson refuses (a lone surrogate): the records as they are
        return None
    try:
        k8s.clear()
        k8s[_MARK_KEY] = None
        try:
            data = _orjson.dumps(spaced)
        except Exception:
            return None
    finally:
        k8s.clear()
        k8s.update(items)
    return _split(data, len(records), frag)


def ndjson_records(list records, default):
    cdef Py_ssize_t count = len(records)
    if count < 2:
        return _ndjson_each(records, default)
    spaced = [_SPACER] * (2 * count - 1)
    spaced[::2] = records
    k8s = _shared_k8s(records)
    if k8s is not None:
        split = _with_k8s_once(records, spaced, k8s)
        if split is not None:
            return split
    try:
        data = _orjson.dumps(spaced, default=default)  # looked up now: a test counts calls
    except Exception:  # a record orjson refuses (or nested one level too deep for a list)
        return _ndjson_each(records, default)
    del spaced
    split = _split(data, count, None)
    return split if split is not None else _ndjson_each(records, default)
