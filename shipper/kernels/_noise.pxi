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
