"""The pure-Python twin of ``_compiled.observe_records``: :meth:`JobTracker.observe
<shipper.jobs.tracker.JobTracker.observe>`'s per-record loop (the reference; the compiled
twin does exactly this, and the tests compare the two on generated batches).

For each record with a ``job_id``: the job's key (:func:`~shipper.jobs.tracker.job_key`
only for a non-str or over-long id), the LRU touch or a new summary, ``seq``, the level
count, and the cheap "may carry an event" test (message or ``attributes.event`` names
one, or the message holds ``"Stage "``). A record that passes it goes to the tracker's
``_account``; an error text is set in the loop. The tracker's ``_seq`` and ``bytes`` are
updated even when a record raises (summaries touched before it keep their update).

Nothing of :mod:`shipper.jobs` is imported here (it imports ``shipper.kernels``): the
tracker hands its constants and types over in :class:`ObserveRules`. The fields of a
summary are :class:`SummaryBase`'s (``JobSummary``'s base; the compiled twin's is an
extension type whose fields the compiled loop sets in C).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from shipper.jobs.summary import JobSummary

_WEIGHT, _ACTIVE = attrgetter("weight"), attrgetter("active")

#: a job id of at most this many characters is its own key (``job_key`` returns it as is)
PLAIN_ID_MAX = 256


class SummaryBase:
    """The fields of a job summary (:class:`~shipper.jobs.summary.JobSummary` adds its
    ``__init__`` and JSON form): here class defaults that an instance reads until it sets
    its own. The compiled twin is an extension type with the same fields and defaults,
    which its loop reads and writes as C struct members instead of instance-dict entries;
    its ``levels`` is a property: a summary its loop makes keeps its one level and count
    without a dict until ``levels`` is read or a second level comes (the same values)."""

    job_id: str
    first_seen: float
    last_seen: float
    levels: dict[str, int]
    #: estimated bytes this summary holds
    weight: int
    drops: dict[str, int] | None = None
    stages: dict[str, Any] | None = None
    active: bool = False
    status: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    #: position in the tracker's update order (the ``/v1/jobs`` page cursor)
    seq: int = 0
    stages_dropped: int = 0


class ObserveRules(NamedTuple):
    """What the loop needs of :mod:`shipper.jobs` (built once by the tracker module)."""

    event_names: frozenset[str]
    error_levels: frozenset[str]
    max_text: int
    job_key: Callable[[object], str]
    #: the summary class: ``summary(key, now)`` sets exactly ``job_id``, ``first_seen``,
    #: ``last_seen`` (``now``), ``levels`` (``{}``) and ``weight`` (``job_cost + len(key)``);
    #: the compiled twin sets those on ``summary.__new__(summary)`` (no ``__init__`` frame)
    summary: type[JobSummary]
    job_cost: int
    #: the "previous record's job" before the first record (never updated)
    unseen: JobSummary


class Observed(Protocol):
    """The tracker state the loop updates."""

    #: least recently updated first (a job moves to the end by pop and re-insert)
    _jobs: dict[str, JobSummary]
    _seq: int
    bytes: int

    def _account(self, job: JobSummary, record: Any, level: object) -> None: ...


def observe_records(tracker: Observed, records: list[Any], now: float,
                    rules: ObserveRules) -> None:
    """Account ``records`` (only those with a ``job_id``) in ``tracker`` at time ``now``."""
    jobs, seq = tracker._jobs, tracker._seq
    names, error_levels, max_text = rules.event_names, rules.error_levels, rules.max_text
    grown = 0  # bytes of the new summaries and error texts (added at the end)
    last_key: object = None
    job = rules.unseen
    try:
        for record in records:
            job_id = record.get("job_id")
            if job_id is None:
                continue
            seq += 1
            key = (job_id if type(job_id) is str and len(job_id) <= PLAIN_ID_MAX
                   else rules.job_key(job_id))
            if key != last_key:
                found = jobs.get(key)
                if found is None:
                    job = jobs[key] = rules.summary(key, now)
                    grown += job.weight
                else:
                    jobs[key] = jobs.pop(key)  # to the most recently updated end
                    found.last_seen = now
                    job = found
                last_key = key
            job.seq = seq
            level = record.get("level", "info")
            levels = job.levels
            if level in levels:
                levels[level] += 1
            else:
                levels[level] = 1
            message = record.get("message")
            if (type(message) is str and message not in names and "Stage " not in message
                    and (not (attrs := record.get("attributes"))
                         or attrs.get("event") is None)):
                if level in error_levels and message:
                    if len(message) > max_text:
                        message = message[:max_text - 1] + "…"
                    delta = len(message) - len(job.last_error or "")
                    job.weight += delta
                    grown += delta
                    job.last_error, job.last_error_at = message, record.get("timestamp")
                continue
            tracker._account(job, record, level)
    finally:
        tracker._seq = seq
        tracker.bytes += grown


def evict_front(jobs: dict[str, Any], count: int) -> tuple[int, int]:
    """Pop the first ``count`` jobs of ``jobs`` (the least recently updated; all of them
    when there are fewer), in order; the sum of their ``weight`` and how many were
    ``active``. The keys are taken before any is popped (a dict's front is found by
    walking past the entries popped before, so it is walked once)."""
    if count <= 0:
        return 0, 0
    old = list(map(jobs.pop, list(islice(jobs, count))))
    return sum(map(_WEIGHT, old)), sum(map(_ACTIVE, old))
