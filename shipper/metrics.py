"""Every Prometheus metric the shipper emits, built on a registry passed in.

No module-level registry: :class:`Metrics` is constructed once per process (or per test)
and handed to the components that count things. No pod, job or correlation id is ever a
label. ``tests/unit/test_metrics.py`` checks this list against the documented one.
"""

from __future__ import annotations

import platform

# the modules, not the package: ``shipper run`` loads only these
# (:mod:`shipper.metrics_library`)
from prometheus_client.gc_collector import GC_COLLECTOR, GCCollector
from prometheus_client.metrics import Counter, Gauge, Histogram
from prometheus_client.platform_collector import PLATFORM_COLLECTOR, PlatformCollector
from prometheus_client.process_collector import PROCESS_COLLECTOR, ProcessCollector
from prometheus_client.registry import CollectorRegistry

from shipper import __version__, kernels

_ = (GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR)  # default ones are never used

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STAGE_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)

#: name -> (type, labels); the documented contract (docs/observability.md, the metrics table).
METRIC_SPECS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shipper_build_info": ("gauge", ("version", "python", "kernels")),
    "shipper_files_watched": ("gauge", ()),
    "shipper_files_rotated_total": ("counter", ("kind",)),
    "shipper_lines_read_total": ("counter", ()),
    "shipper_bytes_read_total": ("counter", ()),
    "shipper_records_parsed_total": ("counter", ("format",)),
    "shipper_parse_errors_total": ("counter", ("kind",)),
    "shipper_records_dropped_total": ("counter", ("reason", "rule")),
    "shipper_records_redacted_total": ("counter", ("rule",)),
    "shipper_records_forwarded_total": ("counter", ("sink",)),
    "shipper_bytes_forwarded_total": ("counter", ("sink",)),
    "shipper_sink_requests_total": ("counter", ("sink", "outcome")),
    "shipper_sink_retries_total": ("counter", ("sink",)),
    "shipper_records_failed_total": ("counter", ("sink", "reason")),
    "shipper_sink_request_duration_seconds": ("histogram", ("sink",)),
    "shipper_buffer_records": ("gauge", ("sink",)),
    "shipper_buffer_bytes": ("gauge", ("sink",)),
    "shipper_delivery_lag_seconds": ("gauge", ("sink",)),
    "shipper_file_lag_bytes": ("gauge", ()),
    "shipper_job_stage_duration_seconds": ("histogram", ("stage", "outcome")),
    "shipper_job_events_total": ("counter", ("event", "outcome")),
    "shipper_jobs_active": ("gauge", ()),
    "shipper_state_set_aside_total": ("counter", ("kind",)),
    "shipper_files_refused_total": ("counter", ("reason",)),
    "shipper_server_connections_refused_total": ("counter", ("reason",)),
    "shipper_task_failures_total": ("counter", ("task",)),
    # issue 13: configuration reloads (Prometheus' own names, with our prefix)
    "shipper_config_last_reload_successful": ("gauge", ()),
    "shipper_config_last_reload_success_timestamp_seconds": ("gauge", ()),
    "shipper_config_reloads_total": ("counter", ("result",)),
    "shipper_cpu_moves_total": ("counter", ()),
    "shipper_heap_trims_total": ("counter", ()),
    "shipper_checkpoint_saves_total": ("counter", ("outcome",)),
    "shipper_checkpoint_bytes": ("gauge", ()),
}

_HELP = {
    "shipper_build_info": "Build information of the running shipper",
    "shipper_files_watched": "Files currently open and tailed",
    "shipper_files_rotated_total": "Rotations seen, by kind (rename, truncate)",
    "shipper_lines_read_total": "Physical lines read from files",
    "shipper_bytes_read_total": "Bytes read from files",
    "shipper_records_parsed_total": "Records parsed, by detected format",
    "shipper_parse_errors_total": "Input problems repaired while parsing, by kind",
    "shipper_records_dropped_total": "Records dropped on purpose, by reason and rule",
    "shipper_records_redacted_total": "Records changed by redaction, by rule",
    "shipper_records_forwarded_total": "Records acknowledged by a sink",
    "shipper_bytes_forwarded_total": "Bytes (uncompressed payload) acknowledged by a sink",
    "shipper_sink_requests_total": "Sink requests by outcome (ok, retry, fatal)",
    "shipper_sink_retries_total": "Sink batch retries",
    "shipper_records_failed_total": "Records a sink could not deliver, by reason",
    "shipper_sink_request_duration_seconds": "Duration of sink requests",
    "shipper_buffer_records": "Records waiting in a sink's buffer (memory and disk)",
    "shipper_buffer_bytes": "Bytes waiting in a sink's buffer (memory and disk)",
    "shipper_delivery_lag_seconds": "Age of the oldest undelivered record of a sink",
    "shipper_file_lag_bytes": "Bytes written to watched files but not yet read, summed",
    "shipper_job_stage_duration_seconds": "Duration of job stages/layers seen in logs",
    "shipper_job_events_total": "Job lifecycle events seen in logs",
    "shipper_jobs_active": "Jobs seen started and not yet completed",
    "shipper_state_set_aside_total": "Damaged state files set aside at start-up, by kind",
    "shipper_files_refused_total": "Matched paths not read on purpose, by reason",
    "shipper_server_connections_refused_total":
        "HTTP connections closed by the server's caps, by reason",
    "shipper_task_failures_total": "Pipeline tasks that failed with an unexpected error, by task",
    "shipper_config_last_reload_successful":
        "Whether the last configuration reload succeeded (1) or not (0)",
    "shipper_config_last_reload_success_timestamp_seconds":
        "Time of the last successful configuration load (start-up or reload)",
    "shipper_config_reloads_total": "Configuration reloads, by result (success, failure)",
    "shipper_cpu_moves_total": "Moves of the shipper's threads to a less busy CPU",
    "shipper_heap_trims_total": "Times the heap's free memory was given back to the system",
    "shipper_checkpoint_saves_total": "Checkpoint file saves, by outcome (ok, failed)",
    "shipper_checkpoint_bytes": "Size of the checkpoint file the last save wrote",
}


def _metric_name(name: str) -> str:
    """prometheus_client adds ``_total`` to counters itself."""
    return name[: -len("_total")] if name.endswith("_total") else name


class Metrics:
    """All shipper metrics on one registry. Attribute names drop the ``shipper_`` prefix.

    Every entry of :data:`METRIC_SPECS` is declared here with its type (``tests/unit/
    test_metrics.py`` checks that the two lists agree)."""

    build_info: Gauge
    files_watched: Gauge
    files_rotated_total: Counter
    lines_read_total: Counter
    bytes_read_total: Counter
    records_parsed_total: Counter
    parse_errors_total: Counter
    records_dropped_total: Counter
    records_redacted_total: Counter
    records_forwarded_total: Counter
    bytes_forwarded_total: Counter
    sink_requests_total: Counter
    sink_retries_total: Counter
    records_failed_total: Counter
    sink_request_duration_seconds: Histogram
    buffer_records: Gauge
    buffer_bytes: Gauge
    delivery_lag_seconds: Gauge
    file_lag_bytes: Gauge
    job_stage_duration_seconds: Histogram
    job_events_total: Counter
    jobs_active: Gauge
    state_set_aside_total: Counter
    files_refused_total: Counter
    server_connections_refused_total: Counter
    task_failures_total: Counter
    config_last_reload_successful: Gauge
    config_last_reload_success_timestamp_seconds: Gauge
    config_reloads_total: Counter
    cpu_moves_total: Counter
    heap_trims_total: Counter
    checkpoint_saves_total: Counter
    checkpoint_bytes: Gauge

    def __init__(self, registry: CollectorRegistry | None = None, *,
                 collectors: bool = True) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        if collectors:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        for name, (kind, labels) in METRIC_SPECS.items():
            setattr(self, name[len("shipper_"):], self._make(name, kind, labels))
        self.build_info.labels(version=__version__, python=platform.python_version(),
                               kernels=kernels.IMPLEMENTATION).set(1)

    def _make(self, name: str, kind: str,
              labels: tuple[str, ...]) -> Counter | Gauge | Histogram:
        help_text = _HELP[name]
        if kind == "counter":
            return Counter(_metric_name(name), help_text, labels, registry=self.registry)
        if kind == "gauge":
            return Gauge(name, help_text, labels, registry=self.registry)
        buckets = STAGE_BUCKETS if "stage" in name else REQUEST_BUCKETS
        return Histogram(name, help_text, labels, registry=self.registry, buckets=buckets)

    def value(self, name: str, **labels: str) -> float:
        """Current sample value (tests and ``explain``); 0.0 when never set."""
        got = self.registry.get_sample_value(name, labels or None)
        return got or 0.0
