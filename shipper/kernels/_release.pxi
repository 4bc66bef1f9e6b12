# --- a batch's raw lines let go once it is processed (helper `outside`, session 30, issue 14;
# KERNEL_API 114). Twin and reference: ``pure_encode.release_raw``: each record's ``raw`` set
# to ``None``, in order. An exact Record's slot is set through its member
# (what ``PyMember_SetOne`` does), not the generic attribute store (~0.14k instructions a
# record by ``record.raw = None`` in a Python loop); anything else as the twin does it (the
# same ``AttributeError`` for an object with no such attribute).
from shipper.record import Record as _ReleaseRecord

cdef extern from *:
    """
    static PyMemberDef* __pyx_rel_raw_member = NULL;
    static int __pyx_rel_raw_init(PyObject* descr) {  /* 0: a writable object slot's member */
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        __pyx_rel_raw_member = ((PyMemberDescrObject*)descr)->d_member;
        return (__pyx_rel_raw_member->type == Py_T_OBJECT_EX
                && !(__pyx_rel_raw_member->flags & Py_READONLY)) ? 0 : -1;
    }
    /* what ``PyMember_SetOne`` does for a ``Py_T_OBJECT_EX`` member set to None */
    static inline void __pyx_rel_clear(PyObject* record) {
        PyObject** slot = (PyObject**)((char*)record + __pyx_rel_raw_member->offset);
        PyObject* old = *slot;
        *slot = Py_NewRef(Py_None);
        Py_XDECREF(old);
    }
    """
    int __pyx_rel_raw_init(object descr)
    void __pyx_rel_clear(PyObject* record) noexcept
    PyObject* _rel_item "PyList_GET_ITEM"(object items, Py_ssize_t i)
    void* _rel_type "Py_TYPE"(PyObject* o)

if __pyx_rel_raw_init(_ReleaseRecord.__dict__["raw"]) < 0:
    raise ImportError("Record keeps raw in a writable __slots__ member")


def release_raw(list records):
    cdef Py_ssize_t i = 0
    cdef PyObject* record
    cdef void* record_type = <void*>_ReleaseRecord
    while i < len(records):  # read each time: an old value let go may run code
        record = _rel_item(records, i)  # borrowed: the list holds it
        if _rel_type(record) == record_type:
            __pyx_rel_clear(record)
        else:
            (<object>record).raw = None
        i += 1
