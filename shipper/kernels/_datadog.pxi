# --- the Datadog sink's side data and array bodies (helper `sinks`, issue 14) -------------
# Twin and reference: ``pure_datadog.py`` (``plain``: the test; ``datadog_side``: the loop;
# ``datadog_bodies``: the entries packed into arrays).

from cpython.dict cimport PyDict_Next
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from cpython.unicode cimport PyUnicode_1BYTE_KIND, PyUnicode_DATA, PyUnicode_KIND

from shipper.kernels.pure_datadog import OTHER_RESERVED as _DD_OTHER_RESERVED
from shipper.kernels.pure_datadog import plain as _dd_plain_reference
from shipper.record import Record as _DDRecord

cdef frozenset _DD_OTHER = frozenset(_DD_OTHER_RESERVED)
#: the pipeline's records: a dict subclass that overrides none of dict's methods
cdef object _DD_RECORD = _DDRecord


cdef struct _DDScan:
    # borrowed from the record (NULL: no such key)
    PyObject* message
    PyObject* level
    PyObject* k8s
    PyObject* stamp
    bint reserved  # a key of ``OTHER_RESERVED``
    bint foreign  # a value not of a JSON type
    Py_ssize_t empties  # values ``""``


cdef inline bint _dd_key_is(object key, Py_ssize_t n, const char* name):
    """An exact ``str`` key of length ``n`` is ``name`` (ASCII): only a 1-byte string can
    be (CPython keeps strings in their narrowest kind)."""
    return (PyUnicode_KIND(key) == PyUnicode_1BYTE_KIND
            and memcmp(PyUnicode_DATA(key), name, n) == 0)


cdef bint _dd_scan(dict record, _DDScan* out) except -1:
    """One pass over the record's items for what ``pure_datadog.plain`` and the side data
    read (no lookup by key); False: a key not an exact ``str`` (ask the reference)."""
    cdef Py_ssize_t pos = 0, n
    cdef PyObject* key
    cdef PyObject* item
    cdef Py_UCS4 head
    out.message = out.level = out.k8s = out.stamp = NULL
    out.reserved = out.foreign = False
    out.empties = 0
    while PyDict_Next(record, &pos, &key, &item):
        if type(<object>key) is not str:
            return False
        n = len(<str>key)
        if n == 7 and _dd_key_is(<object>key, 7, "message"):
            out.message = item
        elif n == 5 and _dd_key_is(<object>key, 5, "level"):
            out.level = item
        elif n == 3 and _dd_key_is(<object>key, 3, "k8s"):
            out.k8s = item
        elif n == 9 and _dd_key_is(<object>key, 9, "timestamp"):
            out.stamp = item
        elif 6 <= n <= 8:
            head = (<str>key)[0]
            if (head == "s" or head == "h" or head == "d") and <object>key in _DD_OTHER:
                out.reserved = True
        value = <object>item
        kind = type(value)
        if kind is str:
            if len(<str>value) == 0:
                out.empties += 1
        elif not (value is None or kind is int or kind is dict or kind is float
                  or kind is bool or kind is list):
            out.foreign = True
    return True


cdef bint _dd_plain(_DDScan* got) except -1:
    """``pure_datadog.plain`` of a scanned dict, its checks' outcome in the same order."""
    if got.message is NULL or got.reserved:
        return False
    if got.level is not NULL and type(<object>got.level) is not str:
        return False
    if got.k8s is not NULL:
        k8s = <object>got.k8s
        if k8s is not None and type(k8s) is not dict and k8s:  # ``k8s or {}`` not a dict
            return False
    if got.stamp is not NULL:
        stamp = <object>got.stamp
        if stamp is not None and type(stamp) is not str:
            return False
    if got.foreign:
        return False
    if got.empties == 0:
        return True
    message = <object>got.message
    return got.empties == 1 and type(message) is str and len(<str>message) == 0


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
    cdef _DDScan got
    for record in records:
        if (type(record) is dict or type(record) is _DD_RECORD) and _dd_scan(<dict>record, &got):
            stamp = None if got.stamp is NULL else <object>got.stamp
            flags.append(not (first is not None and _dd_old(stamp, first)) and _dd_plain(&got))
            levels.append("info" if got.level is NULL else <object>got.level)
            facts.append(None if got.k8s is NULL else <object>got.k8s)
            stamps.append(stamp)
            continue
        stamp = record.get("timestamp")
        flags.append(not (first is not None and _dd_old(stamp, first))
                     and bool(_dd_plain_reference(record)))
        levels.append(record.get("level", "info"))
        facts.append(record.get("k8s"))
        stamps.append(stamp)
    return flags, levels, facts, stamps


cdef inline int _dd_cmp19(str stamp, str bound) except -2:
    """``stamp[:19]`` against ``bound`` (-1, 0, 1) as ``str`` compares them."""
    cdef Py_ssize_t n = len(bound), m
    cdef int c
    if PyUnicode_KIND(stamp) == PyUnicode_1BYTE_KIND and PyUnicode_KIND(bound) == PyUnicode_1BYTE_KIND:
        m = 19 if n > 19 else n
        c = memcmp(PyUnicode_DATA(stamp), PyUnicode_DATA(bound), m)
        if c != 0:
            return -1 if c < 0 else 1
        return 0 if n == 19 else (1 if n < 19 else -1)
    second = stamp[:19]
    return -1 if second < bound else (1 if second > bound else 0)


cdef extern from "Python.h":
    int _PyBytes_Resize(PyObject** bytes, Py_ssize_t size) except -1


cdef class _DDBody:
    """The array being filled: ``[`` and its entries so far, with a comma between, written
    in a bytes object with room to spare (``hint`` bytes at first), cut to its size in
    place when closed: the body is not copied once written."""
    cdef PyObject* obj
    cdef char* buf
    cdef Py_ssize_t size, cap, count, hint

    def __dealloc__(self):
        Py_XDECREF(self.obj)

    cdef int reserve(self, Py_ssize_t more) except -1:
        cdef Py_ssize_t cap = self.cap
        if self.size + more <= cap:
            return 0
        while cap < self.size + more:
            cap = cap * 2 if cap else max(self.hint, 65536)
        if self.obj is NULL:
            fresh = PyBytes_FromStringAndSize(NULL, cap)
            Py_INCREF(fresh)
            self.obj = <PyObject*>fresh
        else:
            _PyBytes_Resize(&self.obj, cap)  # on failure: obj freed and NULL, MemoryError
        self.buf, self.cap = PyBytes_AS_STRING(<object>self.obj), cap
        return 0

    cdef int add(self, const char* part, Py_ssize_t n, const char* tail, Py_ssize_t m) except -1:
        self.reserve(n + m + 2)
        self.buf[self.size] = b"," if self.count else b"["
        memcpy(self.buf + self.size + 1, part, n)
        memcpy(self.buf + self.size + 1 + n, tail, m)
        self.size += 1 + n + m
        self.count += 1
        return 0

    cdef bytes close(self):
        self.reserve(1)
        self.buf[self.size] = b"]"
        _PyBytes_Resize(&self.obj, self.size + 1)
        body = <bytes>self.obj
        Py_XDECREF(self.obj)
        self.obj, self.buf = NULL, NULL
        self.size, self.count, self.cap = 0, 0, 0
        return body


def datadog_bodies(spans, sides, rules):
    cdef list bodies = [], counts = [], fresh = [], old = []
    cdef dict suffixes = {}
    cdef _DDBody body = _DDBody()
    cdef str first = rules.first, last = rules.last
    cdef Py_ssize_t max_entry = rules.max_entry, most = rules.most, max_bytes = rules.max_bytes
    cdef Py_ssize_t index = 0, start, end, j, n, size = 2
    cdef bint is_old, ahead, fast, spliced, cached = False
    cdef bytes data, suffix = b"", raw
    cdef object level = None, fact = None, last_level = None, last_fact = None
    cdef list plain, levels, facts, stamps
    slow_stamp, suffix_of, dumps_at = rules.slow_stamp, rules.suffix_of, rules.dumps_at
    for span in spans:  # room for the spans' records and a tag suffix of 256 bytes each
        body.hint += span.nbytes + 256 * len(span.ends)
    body.hint = min(body.hint, max_bytes) + 2
    for span, side in zip(spans, sides, strict=True):
        data, start, j = span.data, span.lo, span.first
        plain, levels, facts, stamps = side.plain, side.levels, side.facts, side.stamps
        for end_obj in span.ends:
            end = end_obj
            stamp = stamps[j]
            fast = False
            if type(stamp) is str:
                n = len(<str>stamp)
                fast = (n >= 20 and <unsigned int>PyUnicode_READ_CHAR(stamp, n - 1) == 90
                        and <unsigned int>PyUnicode_READ_CHAR(stamp, 10) == 84)
            if fast:
                is_old = _dd_cmp19(<str>stamp, first) < 0
                ahead = _dd_cmp19(<str>stamp, last) > 0
            else:
                is_old, ahead = slow_stamp(data, start, end, stamp)
            if is_old:
                old.append(index)
            else:
                raw = None
                spliced = plain[j] and not ahead
                if spliced:
                    level, fact = levels[j], facts[j]
                    if not cached or level is not last_level or fact is not last_fact:
                        key = (level, id(fact))
                        found = suffixes.get(key)
                        if found is None:
                            found = suffixes[key] = suffix_of(level, fact)
                        suffix, last_level, last_fact, cached = found, level, fact, True
                    n = end - 2 - start + len(suffix)
                if not spliced or n > max_entry:
                    raw = dumps_at(data, start, end)
                    n = len(raw)
                if body.count and (body.count >= most or size + n + 1 > max_bytes):
                    counts.append(body.count)
                    bodies.append(body.close())
                    size = 2
                size += n + 1
                if raw is None:
                    body.add(PyBytes_AS_STRING(data) + start, end - 2 - start,
                             PyBytes_AS_STRING(suffix), len(suffix))
                else:
                    body.add(PyBytes_AS_STRING(raw), n, b"", 0)
                fresh.append(index)
            start, j, index = end, j + 1, index + 1
    if body.count:
        counts.append(body.count)
        bodies.append(body.close())
    return bodies, counts, fresh, old
