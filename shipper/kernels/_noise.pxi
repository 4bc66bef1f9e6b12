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


# an exact Record's ``raw`` read through its member (``PyMember_GetOne``), not the generic
# attribute lookup (~0.15k instructions a record less; helper `stagesk`): the same value,
# the same ``AttributeError`` when unset
cdef extern from *:
    """
    static PyMemberDef* __pyx_nz_raw_member = NULL;
    static int __pyx_nz_raw_init(PyObject* descr) {  /* 0: an object slot's member */
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        __pyx_nz_raw_member = ((PyMemberDescrObject*)descr)->d_member;
        return __pyx_nz_raw_member->type == Py_T_OBJECT_EX ? 0 : -1;
    }
    static PyObject* __pyx_nz_raw(PyObject* record) {
        return PyMember_GetOne((const char*)record, __pyx_nz_raw_member);
    }
    """
    int __pyx_nz_raw_init(object descr)
    object __pyx_nz_raw(object record)

if __pyx_nz_raw_init(_NoiseRecord.__dict__["raw"]) < 0:
    raise ImportError("Record keeps raw in __slots__")


# session 30 (`prescan`; same API): the checks of a record read its strings in place
# (``memchr`` on a one-byte string, ``PyUnicode_FindChar`` else) and the message looked up
# without ``PyDict_GetItem``'s error save and restore (~0.25k instructions a record less)
cdef extern from "Python.h":
    PyObject* _jt_get "PyDict_GetItemWithError"(object mapping, object key) except? NULL
    Py_ssize_t _jt_find_char "PyUnicode_FindChar"(object text, Py_UCS4 ch, Py_ssize_t start,
                                                  Py_ssize_t end, int direction) except -2
    int _jt_kind "PyUnicode_KIND"(object text)
    void* _jt_data "PyUnicode_DATA"(object text)
    Py_ssize_t _jt_len "PyUnicode_GET_LENGTH"(object text)


cdef inline bint _jt_has(object text, char ch) except -1:
    """Whether the ``str`` ``text`` holds the ASCII character ``ch``."""
    cdef Py_ssize_t n = _jt_len(text)
    if _jt_kind(text) == 1:
        return n > 0 and memchr(_jt_data(text), ch, <size_t>n) != NULL
    return _jt_find_char(text, <Py_UCS4>ch, 0, n, 1) >= 0


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
        raw = __pyx_nz_raw(record)
        found = _jt_get(record, "message")
        if found == NULL or type(<object>found) is not str or type(raw) is not str:
            return None
        message = <object>found
        if _jt_has(message, 10) or not PyUnicode_IS_ASCII(raw) or _jt_has(raw, 0):
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


# --- health probe lines of known layouts (helper `rawnoise`, KERNEL_API 45; `cri`, 101:
# inner lines of a runtime wrapper too, bytes or ASCII text) ---------------------------------
# Twin and reference: ``pure_noise.probe_lines``: the lines ``pure_noise.PROBE`` matches
# whole, with the same fields. Every part of that pattern is followed by a byte it cannot
# hold, so one left-to-right scan decides as the regex does.
cdef Py_ssize_t PROBE_MIN = 40


cdef extern from "Python.h":
    Py_ssize_t PyTuple_GET_SIZE(object line)


cdef inline bint _pb_digit(char c):
    return 48 <= c <= 57


cdef inline bint _pb_path(char c):  # [\w/.-]
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95 or c == 47 \
        or c == 46 or c == 45


cdef Py_ssize_t _pb_digits(const char* p, Py_ssize_t at, Py_ssize_t size, int low, int high):
    """The end of ``low`` to ``high`` digits from ``at`` (as many as there are), or -1."""
    cdef Py_ssize_t end = at
    while end < size and end - at < high and _pb_digit(p[end]):
        end += 1
    return end if end - at >= low else -1


cdef Py_ssize_t _pb_lit(const char* p, Py_ssize_t at, Py_ssize_t size, const char* lit,
                        Py_ssize_t n):
    if at < 0 or at + n > size or memcmp(p + at, lit, n) != 0:
        return -1
    return at + n


cdef Py_ssize_t _pb_ip(const char* p, Py_ssize_t at, Py_ssize_t size):
    cdef int k
    for k in range(3):
        at = _pb_digits(p, at, size, 1, 3)
        at = _pb_lit(p, at, size, b".", 1)
        if at < 0:
            return -1
    return _pb_digits(p, at, size, 1, 3)


cdef object _pb_request(const char* p, Py_ssize_t at, Py_ssize_t size, Py_ssize_t* end):
    """``(method, path)`` of ``"GET /path HTTP/1.x" 2dd`` from ``at`` (the quote), ``end``
    set past the status; ``None`` when it is not that."""
    cdef Py_ssize_t start
    cdef str method
    at = _pb_lit(p, at, size, b'"', 1)
    if at < 0:
        return None
    if _pb_lit(p, at, size, b"GET ", 4) >= 0:
        method, at = "GET", at + 4
    elif _pb_lit(p, at, size, b"HEAD ", 5) >= 0:
        method, at = "HEAD", at + 5
    else:
        return None
    at = _pb_lit(p, at, size, b"/", 1)
    if at < 0:
        return None
    start = at - 1
    while at < size and at - start - 1 < 80 and _pb_path(p[at]):
        at += 1
    path = PyUnicode_DecodeASCII(p + start, at - start, NULL)
    at = _pb_lit(p, at, size, b" HTTP/1.", 8)
    if at < 0 or at >= size or not (p[at] == 48 or p[at] == 49):
        return None
    at = _pb_lit(p, at + 1, size, b'" 2', 3)
    at = _pb_digits(p, at, size, 2, 2) if at >= 0 else -1
    if at < 0:
        return None
    end[0] = at
    return method, path


cdef object _pb_kube(Py_ssize_t i, const char* p, Py_ssize_t size):
    cdef Py_ssize_t at = _pb_ip(p, 0, size), when, end = 0
    cdef object request
    at = _pb_lit(p, at, size, b" - - [", 6)
    if at < 0 or at + 28 > size:
        return None
    when = at
    if not (_pb_digit(p[at]) and _pb_digit(p[at + 1]) and p[at + 2] == 47
            and 65 <= p[at + 3] <= 90 and 97 <= p[at + 4] <= 122 and 97 <= p[at + 5] <= 122
            and p[at + 6] == 47 and _pb_digits(p, at + 7, size, 4, 4) == at + 11
            and p[at + 11] == 58 and _pb_digits(p, at + 12, size, 2, 2) == at + 14
            and p[at + 14] == 58 and _pb_digits(p, at + 15, size, 2, 2) == at + 17
            and p[at + 17] == 58 and _pb_digits(p, at + 18, size, 2, 2) == at + 20
            and memcmp(p + at + 20, b" +0000] ", 8) == 0):
        return None
    request = _pb_request(p, at + 28, size, &end)
    if request is None:
        return None
    at = _pb_lit(p, end, size, b" -", 2)
    if at < 0:
        at = _pb_digits(p, end + 1, size, 1, 9) if _pb_lit(p, end, size, b" ", 1) >= 0 else -1
    at = _pb_lit(p, at, size, b' "-" "kube-probe/', 17)
    if at < 0:
        return None
    end = at
    while end < size and end - at < 12 and (_pb_digit(p[end]) or p[end] == 46):
        end += 1
    if end == at or end != size - 1 or p[end] != 34:
        return None
    return (i, PyUnicode_DecodeASCII(p + when, 26, NULL), (<tuple>request)[0],
            (<tuple>request)[1], PyUnicode_DecodeASCII(p + at - 11, end - at + 11, NULL))


cdef object _pb_uvicorn(Py_ssize_t i, const char* p, Py_ssize_t size):
    cdef Py_ssize_t at = _pb_ip(p, 10, size), end = 0
    cdef object request
    at = _pb_lit(p, at, size, b":", 1)
    at = _pb_digits(p, at, size, 1, 5) if at >= 0 else -1
    at = _pb_lit(p, at, size, b" - ", 3)
    if at < 0:
        return None
    request = _pb_request(p, at, size, &end)
    if request is None or end != size - 3:
        return None
    return i, None, (<tuple>request)[0], (<tuple>request)[1], ""


def probe_lines(list lines):
    cdef Py_ssize_t i, n = len(lines), size, width
    cdef object line, raw, found
    cdef const char* p
    cdef list out = []
    for i in range(n):
        line = lines[i]
        if type(line) is not tuple:
            continue
        width = PyTuple_GET_SIZE(line)
        if width != 2 and width != 4:
            continue
        raw = (<tuple>line)[1]
        if type(raw) is bytes:
            size = PyBytes_GET_SIZE(raw)
            p = PyBytes_AS_STRING(raw)
        elif type(raw) is str and PyUnicode_IS_COMPACT_ASCII(raw):
            size = PyUnicode_GET_LENGTH(raw)
            p = <const char*>PyUnicode_DATA(raw)
        else:
            continue
        if size < PROBE_MIN:
            continue
        if p[size - 1] == 34 and _pb_digit(p[0]):
            found = _pb_kube(i, p, size)
        elif p[size - 1] == 75 and memcmp(p, b"INFO:     ", 10) == 0 \
                and memcmp(p + size - 3, b" OK", 3) == 0:
            found = _pb_uvicorn(i, p, size)
        else:
            continue
        if found is not None:
            out.append(found)
    return out
