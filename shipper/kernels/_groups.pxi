# ``distinct_objects``: the distinct objects a batch's records hold at ``key`` (or at
# ``key`` then ``subkey``), each once by identity, in first-seen order: the redaction
# pre-scan's per-file values (``file.path``, ``k8s``) of a batch that may group several
# files' chunks, in any order (twin: ``pure_enrich.distinct_objects``).
from shipper.record import Record as _GroupsRecord

#: the type compared in the loop, held in C (a module global is a lookup a record)
cdef type _gr_RECORD = _GroupsRecord


cdef inline object _gr_item(object holder, object key):
    """``holder[key]``: ``dict``'s own lookup for a dict or a Record holding ``key``,
    else the generic one (which raises what the twin's ``itemgetter`` raises)."""
    cdef PyObject* found
    if type(holder) is dict or type(holder) is _gr_RECORD:
        found = PyDict_GetItemWithError(holder, key)  # declared in _loki.pxi
        if found != NULL:
            return <object>found
    return holder[key]


def distinct_objects(list records, key, subkey=None):
    cdef list out = []
    cdef set seen = set()
    cdef object record, value, ident, last = _NOTHING
    for record in records:
        value = _gr_item(record, key)
        if subkey is not None:
            value = _gr_item(value, subkey)
        if value is last:
            continue
        last = value
        ident = id(value)
        if ident not in seen:
            seen.add(ident)
            out.append(value)
    return out
