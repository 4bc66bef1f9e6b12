"""shipper.jobs: per-job summaries built from the shipped records.

:mod:`shipper.jobs.events` recognises job lifecycle events (pipeline, layer and stage
start/end) in a record; :class:`~shipper.jobs.tracker.JobTracker` keeps a bounded summary
per ``job_id`` and the job metrics. The pipeline feeds it; ``shipper.server`` serves it
(``/v1/jobs``).
"""

from shipper.jobs.tracker import JobTracker

__all__ = ["JobTracker"]
