# --- the order of Loki entries: each record's timestamp read, a stream's rows sorted ------
# (uses _loki.pxi's helpers: _NS, _plain_dict, _dict_get, _MISSING and its Python.h
# declarations; _loki_rows.pxi's PyList_New, PyList_SET_ITEM, Py_INCREF)


cdef struct _Second:  # the seconds ``loki_stamps`` read last (ASCII), as ``_stamp`` keeps them
    char head[19]
    bint known  # ``head`` holds a value's first 19 characters and ``base`` its seconds
    long long base  # the seconds as nanoseconds, when they leave room for a fraction
    bint small  # ``base`` is the seconds (else read ``last[1]``, a Python int)


cdef object _stamp(object value, dict seconds, Py_ssize_t limit, object parse, list last,
                   _Second* sec):
    """One value of ``pure.loki_stamps``; ``last``: ``[head, base]`` of the previous value
    whose seconds were read, and ``sec`` the same in C (an ASCII value with the same first
    19 characters reuses its base without slicing or looking it up: what the lookup would
    give). An ASCII value is read in place; any other, character by character."""
    cdef Py_ssize_t n, i
    cdef long long frac = 0
    cdef int digits = 0
    cdef unsigned int ch
    cdef const char* s
    if type(value) is not str:
        return parse(value)
    n = len(<str>value)
    if n < 20:
        return parse(value)
    if not PyUnicode_IS_COMPACT_ASCII(value):
        return _stamp_wide(value, n, seconds, limit, parse)
    s = <const char*>PyUnicode_DATA(value)
    if s[n - 1] != 90:  # "Z"
        return parse(value)
    if n > 20:
        if s[19] != 46 or n == 21:  # "."
            return parse(value)
        for i in range(20, n - 1):
            ch = <unsigned char>s[i]
            if ch < 48 or ch > 57:
                return parse(value)  # not ".digits" between the seconds and the "Z"
            if digits < 9:
                frac = frac * 10 + <long long>(ch - 48)
                digits += 1
        while digits < 9:
            frac *= 10
            digits += 1
    if not (sec.known and memcmp(s, sec.head, 19) == 0):
        base = _seconds_of(value, seconds, limit, parse)
        if base is None:
            return None
        last[0], last[1] = None, base
        _know(sec, s, base)
    if n == 20:
        return last[1]
    if sec.small:
        return PyLong_FromLongLong(sec.base + frac)
    return last[1] + frac


cdef object _seconds_of(object value, dict seconds, Py_ssize_t limit, object parse):
    """The nanoseconds of ``value``'s first 19 characters (its seconds), remembered in
    ``seconds``; ``None`` when ``parse`` reads none."""
    head = (<str>value)[:19]
    base = seconds.get(head)
    if base is None:
        base = parse(head + "Z")
        if base is None:
            return None
        if len(seconds) >= limit:
            seconds.clear()
        seconds[head] = base
    return base


cdef int _know(_Second* sec, const char* s, object base) except -1:
    """``sec`` holds the seconds ``s[:19]`` as ``base`` (in C when it is an ``int`` of 64
    bits with room for a fraction)."""
    cdef int overflow = 0
    memcpy(sec.head, s, 19)
    sec.known, sec.small = True, False
    if type(base) is int:
        sec.base = PyLong_AsLongLongAndOverflow(base, &overflow)
        sec.small = not overflow and -_NS < sec.base < 0x7FFFFFFFFFFFFFFF - _NS
    return 0


cdef object _stamp_wide(object value, Py_ssize_t n, dict seconds, Py_ssize_t limit,
                        object parse):
    """``_stamp`` of a value that is not ASCII (never remembered as the last seconds)."""
    cdef Py_ssize_t i
    cdef long long frac = 0
    cdef int digits = 0
    cdef unsigned int ch
    if <unsigned int>PyUnicode_READ_CHAR(value, n - 1) != 90:  # "Z"
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
    base = _seconds_of(value, seconds, limit, parse)
    if base is None:
        return None
    return base + frac if n > 20 else base


def loki_stamps(records, str key, dict seconds, Py_ssize_t limit, parse):
    cdef list out = []
    cdef list last = [None, None]
    cdef _Second sec
    sec.known = False
    for record in records:
        if _plain_dict(record):
            value = _dict_get(record, key)
            out.append(_stamp(None if value is _MISSING else value, seconds, limit, parse,
                              last, &sec))
        else:
            out.append(_stamp(record.get(key), seconds, limit, parse, last, &sec))
    return out


def loki_sort_rows(list nanos, list rows):
    """As ``pure_loki_rows.loki_sort_rows``: ``rows`` itself when already in order; else
    sorted in C (a stable merge sort of 64-bit keys) when every timestamp is an ``int`` of
    64 bits, by Python's ``sorted`` otherwise."""
    cdef Py_ssize_t i, row, n = len(rows), count = len(nanos)
    cdef long long* keys = <long long*>PyMem_Realloc(NULL, <size_t>max(n, 1) * sizeof(long long))
    cdef bint ordered = True, small = True
    cdef object last = None, ns
    if keys == NULL:
        raise MemoryError()
    try:
        for i in range(n):  # bounds, C keys, and whether in order (as Python ints compare)
            row = rows[i]
            if row < 0 or row >= count:
                raise IndexError("loki_sort_rows: a row outside the timestamps")
            ns = <object>PyList_GET_ITEM(nanos, row)
            if small:
                small = _key_of(ns, &keys[i])
                if small:
                    if i and keys[i] < keys[i - 1]:
                        ordered = False
                    last = ns
                    continue
            if i and ordered and ns < last:
                ordered = False
            last = ns
        if ordered:
            return rows
        if not small:
            return sorted(rows, key=nanos.__getitem__)
        return _sorted_rows(rows, keys, n)
    finally:
        PyMem_Free(keys)


cdef inline bint _key_of(object ns, long long* key) except -1:
    """``ns`` as a C key; ``False`` when it is not an ``int`` of 64 bits."""
    cdef int overflow = 0
    if type(ns) is not int:
        return False
    key[0] = PyLong_AsLongLongAndOverflow(ns, &overflow)
    return not overflow


cdef list _sorted_rows(list rows, long long* keys, Py_ssize_t n):
    """``rows`` by ``keys`` (``keys[i]``: that of ``rows[i]``), stable: positions sorted by (key, position) with a merge sort of runs of 16 sorted by
    insertion."""
    cdef Py_ssize_t* pos = <Py_ssize_t*>PyMem_Realloc(NULL, <size_t>n * 2 * sizeof(Py_ssize_t))
    cdef Py_ssize_t* src
    cdef Py_ssize_t* dst
    cdef Py_ssize_t i, j, lo, mid, hi, a, b, k, p, width
    cdef list out
    if pos == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            pos[i] = i
        for lo in range(0, n, 16):  # runs of 16 by insertion (stable: strictly greater moves)
            hi = min(lo + 16, n)
            for i in range(lo + 1, hi):
                p, j = pos[i], i
                while j > lo and keys[pos[j - 1]] > keys[p]:
                    pos[j] = pos[j - 1]
                    j -= 1
                pos[j] = p
        src, dst, width = pos, pos + n, 16
        while width < n:
            for lo in range(0, n, 2 * width):
                mid, hi = min(lo + width, n), min(lo + 2 * width, n)
                a, b, k = lo, mid, lo
                if mid < hi and keys[src[mid - 1]] <= keys[src[mid]]:  # already in order
                    memcpy(dst + lo, src + lo, <size_t>(hi - lo) * sizeof(Py_ssize_t))
                    continue
                while a < mid and b < hi:
                    if keys[src[b]] < keys[src[a]]:
                        dst[k] = src[b]
                        b += 1
                    else:
                        dst[k] = src[a]
                        a += 1
                    k += 1
                while a < mid:
                    dst[k], a, k = src[a], a + 1, k + 1
                while b < hi:
                    dst[k], b, k = src[b], b + 1, k + 1
            src, dst, width = dst, src, width * 2
        out = PyList_New(n)
        for i in range(n):
            row_o = <object>PyList_GET_ITEM(rows, src[i])
            Py_INCREF(row_o)
            PyList_SET_ITEM(out, i, row_o)
        return out
    finally:
        PyMem_Free(pos)
