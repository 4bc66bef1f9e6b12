# --- enrichment and the trace-context gate (KERNEL_API 18) ---------------------------------
# Twins and references: ``pure_enrich.enrich_records`` and ``pure_enrich.lift_trace`` (read
# their docstrings): the same records take the same branches, the same keys are deleted and
# set in the same order, the other records go to the same Python functions.
# The hint (helper `stagesk`, issue 14; KERNEL_API 109): given the trace gate, the walk over
# ``attributes`` that reads the ids also notes whether a gate key is there, and
# ``enrich_records`` returns a ``bytearray`` flagging the records it enriched itself whose
# ``attributes`` hold none (``lift_trace`` then skips their gate test: ~0.4k instructions
# a record). The pure twin flags none (its gate test is one C call: nothing to save).

from cpython.dict cimport PyDict_Next
from cpython.ref cimport PyObject
from cpython.set cimport PySet_Contains
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE

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
    bint gated  # a key of the trace gate (``gate`` of ``_scan_ids``)


cdef inline bint _named(const char* data, Py_ssize_t n, const char* name, Py_ssize_t size):
    return n == size and memcmp(data, name, <size_t>size) == 0


# the ``attributes`` keys ``enrich_records`` reads by name, in the order of ``_NAMED_IN``
cdef tuple _NAMED_IDS = ("job_id", "correlation_id", "shard_index", "shardIndex")


cdef bint _scan_ids(dict attrs, frozenset id_keys, const _Heads* heads, int named_in,
                    frozenset gate, const _Heads* gate_heads, _Ids* ids) except -1:
    """Fill ``ids`` in one walk over ``attrs`` (what two ``get``, two ``in`` and
    ``id_keys.isdisjoint(attrs)`` tell, and the keys to delete by identity: ~0.5k
    instructions less): a key is compared only when ``_may_be`` (``heads``: the id keys'
    and the named keys' first characters and lengths); ``named_in`` has bit ``i`` when
    ``_NAMED_IDS[i]`` is an id key. False (``ids`` unusable) when a key is no exact
    ``str``, whose equality may not be ``str``'s. ``gated``: a key of ``gate`` is there
    (``heads`` must cover its keys too; ``gate_heads``: its own)."""
    cdef Py_ssize_t pos = 0, n
    cdef PyObject* key
    cdef PyObject* value
    cdef const char* data
    ids.job_key = ids.job = ids.corr_key = ids.corr = NULL
    ids.shard = ids.any_id = ids.gated = False
    while PyDict_Next(attrs, &pos, &key, &value):
        if type(<object>key) is not str:
            return False
        if not _may_be(heads, <object>key):
            continue
        if (not ids.gated and _may_be(gate_heads, <object>key)
                and PySet_Contains(gate, <object>key)):
            ids.gated = True
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


cdef bint _one_id_moved(object record, dict attrs, frozenset id_keys, tuple defaults,
                       object k8s) except -1:
    """``pure_enrich.one_id`` and, when it finds one, ``pure_enrich.one_id_moved`` (helper
    `stagesk`, KERNEL_API 112): a line with only its correlation id (or only its job id)
    enriched here, not by ``one`` (~10k instructions a record in the Python rule set)."""
    cdef bint has_job = "job_id" in attrs
    cdef object key, value, job, corr
    if has_job == ("correlation_id" in attrs):
        return False
    key = "job_id" if has_job else "correlation_id"
    value = attrs[key]
    if type(value) is not str or not len(<str>value):
        return False
    for other in id_keys:
        if other != "job_id" and other != "correlation_id" and other in attrs:
            return False
    value = attrs.pop(key)
    job = value if has_job else _file_id(defaults, "job_id")
    corr = _file_id(defaults, "correlation_id") if has_job else value
    if job is not None:
        record["job_id"] = job
    if corr is not None:
        record["correlation_id"] = corr
    record["k8s"] = k8s
    return True


cdef object _file_id(tuple defaults, str name):
    for key, value in defaults:
        if key == name:
            return value
    return None


cdef frozenset _NO_KEYS = frozenset()


cdef inline void _flag_clean(bytearray clean, Py_ssize_t at, bint gated) noexcept:
    """Mark record ``at`` as one whose ``attributes`` hold no gate key (when not
    ``gated``), if there is a hint and it reaches that far."""
    if clean is not None and not gated and at < PyByteArray_GET_SIZE(clean):
        PyByteArray_AS_STRING(clean)[at] = 1


cdef inline bint _flagged(bytearray clean, Py_ssize_t at) noexcept:
    return (clean is not None and at < PyByteArray_GET_SIZE(clean)
            and PyByteArray_AS_STRING(clean)[at] != 0)


def enrich_records(list records, k8s, dict fields, tuple defaults, bint plain,
                   frozenset id_keys, one, frozenset gate=None):
    cdef object record = None, attrs, job, corr
    cdef _Heads heads, scan_heads, gate_heads
    cdef _Ids ids
    cdef int named_in = 0, i
    cdef object record_type = _Record  # a module global: looked up once, not per record
    cdef bytearray clean = None
    cdef frozenset walk_gate = _NO_KEYS
    cdef Py_ssize_t at = -1
    if gate is not None and gate.isdisjoint(fields):  # no file field is a gate key
        clean = bytearray(len(records))
        walk_gate = gate
    _fill_heads(id_keys, &heads)
    # the walk's filter: the id keys' first characters and lengths, the named keys', the
    # gate's
    _fill_heads(id_keys | frozenset(_NAMED_IDS) | walk_gate, &scan_heads)
    _fill_heads(walk_gate, &gate_heads)
    for i in range(4):
        if _NAMED_IDS[i] in id_keys:
            named_in |= 1 << i
    try:
        for record in records:
            at += 1
            # a Record's ``[]`` is dict's, but through its type's ``__getitem__`` (~0.6k
            # instructions: dict's is a method, not a slot wrapper): dict's lookup directly
            if type(record) is record_type or type(record) is dict:
                attrs = (<dict>record)["attributes"]
            else:
                attrs = record["attributes"]
            if type(attrs) is dict and _scan_ids(<dict>attrs, id_keys, &scan_heads, named_in,
                                                 walk_gate, &gate_heads, &ids):
                job, corr = _found(ids.job), _found(ids.corr)
                if type(job) is str and type(corr) is str and len(<str>job) and len(<str>corr):
                    if plain and not ids.shard:
                        # the keys found (held here): their lookups match by identity
                        _ids_moved(record, <dict>attrs, <object>ids.job_key,
                                   <object>ids.corr_key, job, corr, k8s)
                        _flag_clean(clean, at, ids.gated)
                        continue
                elif not ids.any_id:
                    _no_ids(record, <dict>attrs, fields, defaults, k8s)
                    _flag_clean(clean, at, ids.gated)
                    continue
                elif plain and _one_id_moved(record, <dict>attrs, id_keys, defaults, k8s):
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
                elif plain and _one_id_moved(record, <dict>attrs, id_keys, defaults, k8s):
                    continue
            one(record)
    except Exception as exc:
        raise _BatchStopped(_position(records, record), exc) from exc
    return clean


def lift_trace(list records, frozenset gate, from_attributes, from_text,
               bytearray clean=None):
    cdef object record, attrs, message
    cdef _Heads heads
    cdef Py_ssize_t at = -1
    _fill_heads(gate, &heads)
    for record in records:
        at += 1
        if not _flagged(clean, at):  # a flagged record's attributes hold no gate key
            attrs = _rget(record, "attributes", None)
            if attrs and not _disjoint(gate, attrs, &heads):
                from_attributes(record, attrs)
        message = _rget(record, "message", None)
        if (type(message) is str and _holds(<str>message, b"race", 4, "race")
                and "trace_id" not in record):
            from_text(record, message)


# --- the distinct values of one key over a batch (helper `post`, issue 14; KERNEL_API 105) --
# Twin and reference: ``pure_enrich.distinct_values``: the same set, the same exceptions.
# Here a value that is the very object added last is not added again (a batch of one file
# repeats one ``stream`` string): ~0.3k instructions a record less than ``set(map(...))``.


def distinct_values(list records, key):
    cdef set out = set()
    cdef object record, value, last = _NOTHING
    for record in records:
        if PyDict_Check(record):
            value = (<dict>record).get(key)
        else:
            value = _DICT_GET(record, key)  # raises what the twin raises (a TypeError)
        if value is not last:
            out.add(value)
            last = value
    return out


cdef object _NOTHING = object()
#: ``dict.get`` as an object: called, not turned into a lookup (a non-dict must raise)
cdef object _DICT_GET = dict.get
