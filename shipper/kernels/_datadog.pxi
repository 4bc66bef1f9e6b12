# --- the Datadog sink's side data (helper `sinks`, issue 14) ------------------------------
# Twin and reference: ``pure_datadog.py`` (``plain``: the test; ``datadog_side``: the loop).

from shipper.kernels.pure_datadog import OTHER_RESERVED as _DD_OTHER_RESERVED
from shipper.kernels.pure_datadog import plain as _dd_plain_reference
from shipper.record import Record as _DDRecord

cdef tuple _DD_OTHER = tuple(_DD_OTHER_RESERVED)
#: the pipeline's records: a dict subclass that overrides none of dict's methods
cdef object _DD_RECORD = _DDRecord


cdef bint _dd_plain(dict record) except -1:
    """``pure_datadog.plain`` of a dict, its checks in the same order."""
    cdef Py_ssize_t empties = 0
    if "message" not in record:
        return False
    for key in _DD_OTHER:
        if key in record:
            return False
    if type(record.get("level", "")) is not str:
        return False
    k8s = record.get("k8s")
    if k8s is not None and type(k8s) is not dict and k8s:  # ``k8s or {}`` not a dict
        return False
    stamp = record.get("timestamp")
    if stamp is not None and type(stamp) is not str:
        return False
    for value in record.values():
        kind = type(value)
        if kind is str:
            if len(<str>value) == 0:
                empties += 1
        elif not (value is None or kind is int or kind is dict or kind is float
                  or kind is bool or kind is list):
            return False
    if empties == 0:
        return True
    message = record["message"]
    return empties == 1 and type(message) is str and len(<str>message) == 0


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
    cdef bint flag
    for record in records:
        stamp = record.get("timestamp")
        if first is not None and _dd_old(stamp, first):
            flag = False
        elif type(record) is dict or type(record) is _DD_RECORD:
            flag = _dd_plain(<dict>record)
        else:
            flag = _dd_plain_reference(record)
        flags.append(flag)
        levels.append(record.get("level", "info"))
        facts.append(record.get("k8s"))
        stamps.append(stamp)
    return flags, levels, facts, stamps
