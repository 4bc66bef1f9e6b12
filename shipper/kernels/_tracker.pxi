# === JobTracker.observe (helper `tracker`, issue 14): the per-record loop ===================
# Twin and reference: ``pure_tracker.observe_records`` (read its docstring): the same fields
# of the same summaries change in the same order; event records go to ``tracker._account``.

from cpython.dict cimport PyDict_Check, PyDict_Next
from cpython.ref cimport PyObject

from shipper.kernels.pure_tracker import PLAIN_ID_MAX as _PLAIN_ID_MAX_VALUE

#: ``job_key``'s bound, read from the twin's constant once (not spelled out twice)
cdef Py_ssize_t _PLAIN_ID_MAX = _PLAIN_ID_MAX_VALUE


cdef inline object _rget(object record, str key, object default):
    """``record.get(key, default)``, a dict's (``Record`` is one) without a method call."""
    if PyDict_Check(record):
        return (<dict>record).get(key, default)
    return record.get(key, default)


cdef class SummaryBase:
    """The twin of ``pure_tracker.SummaryBase``: the same fields with the same defaults
    (``None``, ``0``, ``False``), as struct members the loop below reads and writes in C
    (``JobSummary`` subclasses it with ``__slots__ = ()``, so no instance dict)."""

    cdef public object job_id, first_seen, last_seen, drops, stages, status
    cdef public object started_at, ended_at, last_error, last_error_at
    cdef public Py_ssize_t weight, stages_dropped
    cdef public long long seq
    cdef public bint active
    # ``levels`` (helper `stagesk`, KERNEL_API 112): a summary the loop makes holds no dict
    # while its records had one level (most jobs of a busy pod: one record; a dict made
    # and freed per job, ~0.6k instructions): ``_lazy``, that level (``_one``, its hash)
    # and count (0: none yet); the dict is made when read or a second level comes
    cdef object _levels, _one
    cdef Py_hash_t _one_hash
    cdef Py_ssize_t _one_count
    cdef bint _lazy

    @property
    def levels(self):
        if self._lazy:
            self._lazy = False
            self._levels = {self._one: self._one_count} if self._one_count else {}
            self._one = None
        return self._levels

    @levels.setter
    def levels(self, value):
        self._lazy = False
        self._one = None
        self._levels = value


cdef inline bint _count_one_level(SummaryBase job, object level) except -1:
    """Count ``level`` in a lazy summary's one level, as ``levels[level] += 1`` would (a
    dict's key match: the very key, or an equal hash and ``stored == level``; an
    unhashable level raises its ``TypeError``); False (nothing counted) when it is a
    second level: the summary is no longer lazy, its dict holds the first."""
    cdef Py_hash_t h
    if job._one_count == 0:
        job._one_hash = hash(level)
        job._one = level
        job._one_count = 1
        return True
    if level is job._one:
        job._one_count += 1
        return True
    h = hash(level)
    if h == job._one_hash and job._one == level:
        job._one_count += 1
        return True
    job._levels = {job._one: job._one_count}  # the first level's count, as a dict
    job._lazy = False
    job._one = None
    return False


cdef object _new_summary(type summary, str key, object now, Py_ssize_t job_cost):
    """``summary(key, now)`` without the Python ``__init__`` frame: the same attributes set
    the same way (``ObserveRules.summary``'s contract; a test holds ``__init__`` to it)."""
    cdef object job = summary.__new__(summary)
    cdef SummaryBase fast
    if isinstance(job, SummaryBase):
        fast = <SummaryBase>job
        fast.job_id = key
        fast.first_seen = now
        fast.last_seen = now
        fast._lazy = True  # ``levels`` is ``{}`` until read or counted in
        fast.weight = job_cost + len(key)
        return job
    job.job_id = key
    job.first_seen = now
    job.last_seen = now
    job.levels = {}
    job.weight = job_cost + len(key)
    return job


def observe_records(tracker, list records, now, rules):
    cdef dict jobs = tracker._jobs  # least recently updated first (pop + re-insert: to the end)
    cdef object summary = rules.summary
    cdef object key_of = rules.job_key, account = tracker._account
    cdef frozenset names = rules.event_names, error_levels = rules.error_levels
    cdef long long seq = tracker._seq
    cdef Py_ssize_t max_text = rules.max_text, job_cost = rules.job_cost, grown = 0, n, delta
    # the event names' first characters and lengths: a message that starts none of them is
    # no name (tested without hashing it)
    cdef _Heads name_heads
    _fill_heads(names, &name_heads)
    cdef object record, job_id, job = None, found, level, message, attrs, count, last_error
    cdef object last_key = None
    cdef SummaryBase fast = None  # ``job`` when it is a SummaryBase (fields in C)
    cdef str key, text
    cdef dict levels
    try:
        for record in records:
            job_id = _rget(record, "job_id", None)
            if job_id is None:
                continue
            seq += 1
            if type(job_id) is str and len(<str>job_id) <= _PLAIN_ID_MAX:
                key = <str>job_id
            else:
                key = key_of(job_id)
            if key is not last_key and key != last_key:
                found = jobs.get(key)
                if found is None:
                    job = _new_summary(summary, key, now, job_cost)
                    jobs[key] = job
                    grown += job_cost + len(key)
                    fast = <SummaryBase>job if isinstance(job, SummaryBase) else None
                else:
                    del jobs[key]
                    jobs[key] = found
                    job = found
                    fast = <SummaryBase>job if isinstance(job, SummaryBase) else None
                    if fast is not None:
                        fast.last_seen = now
                    else:
                        found.last_seen = now
                last_key = key
            level = _rget(record, "level", "info")
            if fast is not None:
                fast.seq = seq
                if not fast._lazy or not _count_one_level(fast, level):
                    levels = fast._levels
                    count = levels.get(level)
                    levels[level] = 1 if count is None else count + 1
            else:
                job.seq = seq
                levels = job.levels
                count = levels.get(level)
                levels[level] = 1 if count is None else count + 1
            message = _rget(record, "message", None)
            if type(message) is str:
                text = <str>message
                n = len(text)
                if ((not _may_be(&name_heads, text) or text not in names)
                        and not _holds(text, b"Stage ", 6, "Stage ")):
                    attrs = _rget(record, "attributes", None)
                    if not attrs or (
                            (<dict>attrs).get("event") if PyDict_Check(attrs)
                            else attrs.get("event")) is None:
                        if level in error_levels and n:
                            if n > max_text:
                                text = text[:max_text - 1] + "…"
                            last_error = (fast.last_error if fast is not None
                                          else job.last_error)
                            delta = len(text) - (len(last_error) if last_error else 0)
                            if fast is not None:
                                fast.weight += delta
                                grown += delta
                                fast.last_error = text
                                fast.last_error_at = _rget(record, "timestamp", None)
                            else:
                                job.weight += delta
                                grown += delta
                                job.last_error = text
                                job.last_error_at = _rget(record, "timestamp", None)
                        continue
            account(job, record, level)
    finally:
        tracker._seq = seq
        tracker.bytes += grown


# --- JobTracker._shrink's eviction by count (helper `post`, issue 14; KERNEL_API 105) ------
# Twin and reference: ``pure_tracker.evict_front``: the same keys popped in the same order,
# the same sums. Here the weights and active flags are read as C struct members (the twin's
# ``sum(map(attrgetter(...)))`` makes an int object per summary; ~0.4k instructions each).


def evict_front(dict jobs, Py_ssize_t count):
    cdef list keys = []
    cdef Py_ssize_t pos = 0, weight = 0, active = 0
    cdef PyObject* key
    cdef PyObject* value
    cdef object job
    cdef SummaryBase fast
    if count <= 0:
        return 0, 0
    while len(keys) < count and PyDict_Next(jobs, &pos, &key, &value):
        keys.append(<object>key)
    for k in keys:
        job = jobs.pop(k)
        if isinstance(job, SummaryBase):
            fast = <SummaryBase>job
            weight += fast.weight
            active += fast.active
        else:
            weight += job.weight
            active += job.active
    return weight, active
