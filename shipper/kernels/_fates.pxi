# === CountingFates' per-drop report (helper `stagesk`, issue 14; KERNEL_API 112) ==========
# Twin and reference: ``pure_fates.FateCounts`` (read its docstring): the same counts in the
# same first-seen order, the same listeners called with the same arguments in the same
# order. Here a drop is counted without a Python frame (the noise kernel calls ``dropped``
# for every noise record: ~5k instructions a drop in the Python method and the job
# summaries' listener, which does nothing for the usual record without a ``job_id``).

from shipper.kernels.pure_fates import JobIdOnly as _JobIdOnly

cdef object _UNREAD = object()  # the record's ``job_id`` not looked up yet


cdef class FateCounts:
    """The twin of ``pure_fates.FateCounts`` (``CountingFates`` subclasses it)."""

    cdef public dict drops, changes
    cdef public list listeners

    def __init__(self):
        self.drops = {}
        self.changes = {}
        self.listeners = []

    def dropped(self, record, reason, rule):
        cdef tuple key = (reason, rule)
        cdef dict drops = self.drops
        cdef object count = drops.get(key)
        drops[key] = 1 if count is None else count + 1
        cdef list listeners = self.listeners
        if not listeners:
            return
        cdef object job_id = _UNREAD
        for listener in listeners:
            if isinstance(listener, _JobIdOnly):
                if job_id is _UNREAD:
                    job_id = _rget(record, "job_id", None)
                if job_id is None:
                    continue
            listener(record, reason, rule)

    def changed(self, record, kind, rule):
        cdef tuple key = (kind, rule)
        cdef dict changes = self.changes
        cdef object count = changes.get(key)
        changes[key] = 1 if count is None else count + 1
