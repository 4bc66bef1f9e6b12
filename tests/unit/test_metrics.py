"""The metrics the shipper emits are exactly the documented list (issue 4, the metrics table in docs/observability.md).

``DOCUMENTED`` is the contract as written in the issue; it is deliberately typed out here
rather than imported from ``shipper.metrics`` so a change on either side fails this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from shipper.metrics import METRIC_SPECS, Metrics

ROOT = Path(__file__).resolve().parents[2]

DOCUMENTED: dict[str, tuple[str, frozenset[str]]] = {
    "shipper_build_info": ("gauge", frozenset({"version", "python", "kernels"})),
    "shipper_files_watched": ("gauge", frozenset()),
    "shipper_files_rotated_total": ("counter", frozenset({"kind"})),
    "shipper_lines_read_total": ("counter", frozenset()),
    "shipper_bytes_read_total": ("counter", frozenset()),
    "shipper_records_parsed_total": ("counter", frozenset({"format"})),
    "shipper_parse_errors_total": ("counter", frozenset({"kind"})),
    "shipper_records_dropped_total": ("counter", frozenset({"reason", "rule"})),
    "shipper_records_redacted_total": ("counter", frozenset({"rule"})),
    "shipper_records_forwarded_total": ("counter", frozenset({"sink"})),
    "shipper_bytes_forwarded_total": ("counter", frozenset({"sink"})),
    "shipper_sink_requests_total": ("counter", frozenset({"sink", "outcome"})),
    "shipper_sink_retries_total": ("counter", frozenset({"sink"})),
    "shipper_records_failed_total": ("counter", frozenset({"sink", "reason"})),
    "shipper_sink_request_duration_seconds": ("histogram", frozenset({"sink"})),
    "shipper_buffer_records": ("gauge", frozenset({"sink"})),
    "shipper_buffer_bytes": ("gauge", frozenset({"sink"})),
    "shipper_delivery_lag_seconds": ("gauge", frozenset({"sink"})),
    "shipper_file_lag_bytes": ("gauge", frozenset()),
    "shipper_job_stage_duration_seconds": ("histogram", frozenset({"stage", "outcome"})),
    "shipper_job_events_total": ("counter", frozenset({"event", "outcome"})),
    "shipper_jobs_active": ("gauge", frozenset()),
    # issue 11 (damaged state, task failures, server caps) and issue 12 (refused symlinks)
    "shipper_state_set_aside_total": ("counter", frozenset({"kind"})),
    "shipper_files_refused_total": ("counter", frozenset({"reason"})),
    "shipper_server_connections_refused_total": ("counter", frozenset({"reason"})),
    "shipper_task_failures_total": ("counter", frozenset({"task"})),
    # issue 13: configuration reloads
    "shipper_config_last_reload_successful": ("gauge", frozenset()),
    "shipper_config_last_reload_success_timestamp_seconds": ("gauge", frozenset()),
    "shipper_config_reloads_total": ("counter", frozenset({"result"})),
    # issue 14: the threads moved off a busy CPU (shipper.cpu.pin)
    "shipper_cpu_moves_total": ("counter", frozenset()),
    # issue 14: the heap's free memory given back after a burst (shipper.sinks.allocator)
    "shipper_heap_trims_total": ("counter", frozenset()),
    # issue 14: checkpoint saves, paced by the file's size (shipper.saving)
    "shipper_checkpoint_saves_total": ("counter", frozenset({"outcome"})),
    "shipper_checkpoint_bytes": ("gauge", frozenset()),
}
FORBIDDEN_LABELS = {"pod", "pod_name", "pod_uid", "job", "job_id", "correlation_id",
                    "request_id", "namespace", "node", "container", "path", "file"}
STANDARD_PREFIXES = ("process_", "python_")
_SUFFIXES = ("_bucket", "_sum", "_count", "_created")
#: in Python: a metric name written as a string or in backticks, or before ``{``
_PY_NAME_REF = re.compile(r"""(?:["'`])(shipper_[a-z0-9_]*[a-z0-9])\b|\b(shipper_[a-z0-9_]*[a-z0-9])\{""")
#: in charts, docs and dashboards (PromQL, alert rules): any such word; a regex prefix
#: like ``shipper_records_(forwarded|dropped)_total`` is not matched (ends with ``_``)
_TEXT_NAME_REF = re.compile(r"\b(shipper_[a-z0-9_]*[a-z0-9])\b(?![-(])")
_SCANNED = ("shipper", "helm", "deploy", "docs", "examples", "README.md")
_SCANNED_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".tpl", ".txt"}


def emitted() -> dict[str, tuple[str, frozenset[str]]]:
    """Every shipper metric family a fresh :class:`Metrics` exposes, with type and labels."""
    metrics = Metrics(CollectorRegistry(), collectors=True)
    out = {}
    for family in metrics.registry.collect():
        if family.name.startswith(STANDARD_PREFIXES):
            continue
        name = family.name + "_total" if family.type == "counter" else family.name
        labels = _declared_labels(metrics, name)
        out[name] = (family.type, labels)
    return out


def _declared_labels(metrics: Metrics, name: str) -> frozenset[str]:
    collector = getattr(metrics, name.removeprefix("shipper_"))
    return frozenset(collector._labelnames)


def test_every_emitted_metric_is_documented_and_every_documented_one_is_emitted():
    got = emitted()
    assert set(got) - set(DOCUMENTED) == set(), "emitted but not documented"
    assert set(DOCUMENTED) - set(got) == set(), "documented but not emitted"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_type_and_labels_match_the_documentation(name):
    assert emitted()[name] == DOCUMENTED[name]


def test_metric_specs_table_matches_the_documentation():
    specs = {name: (kind, frozenset(labels)) for name, (kind, labels) in METRIC_SPECS.items()}
    assert specs == DOCUMENTED


def test_metrics_class_declares_every_metric_with_its_type():
    """``mypy --strict`` checks uses against the class annotations, so each spec must have
    one, of the right prometheus_client class, and no annotation may lack a spec."""
    kinds = {"counter": "Counter", "gauge": "Gauge", "histogram": "Histogram"}
    wanted = {name.removeprefix("shipper_"): kinds[kind]
              for name, (kind, _) in METRIC_SPECS.items()}
    declared = {name: str(kind) for name, kind in Metrics.__annotations__.items()}
    assert declared == wanted
    built = Metrics(CollectorRegistry(), collectors=False)
    assert all(type(getattr(built, name)).__name__ == kind for name, kind in wanted.items())


def test_no_pod_job_or_correlation_id_label():
    for name, (_, labels) in DOCUMENTED.items():
        assert not labels & FORBIDDEN_LABELS, name


def test_standard_process_and_python_collectors_are_exposed():
    names = {family.name for family in Metrics(CollectorRegistry()).registry.collect()}
    assert "process_cpu_seconds" in names or "process_resident_memory_bytes" in names
    assert "python_info" in names


def referenced_names() -> dict[str, set[str]]:
    """Metric names written anywhere in code, charts, docs: name -> files."""
    refs: dict[str, set[str]] = {}
    for top in _SCANNED:
        base = ROOT / top
        files = [base] if base.is_file() else sorted(base.rglob("*")) if base.exists() else []
        for path in files:
            if path.is_file() and path.suffix in _SCANNED_SUFFIXES:
                pattern = _PY_NAME_REF if path.suffix == ".py" else _TEXT_NAME_REF
                for match in pattern.finditer(path.read_text(encoding="utf-8", errors="replace")):
                    name = match.group(1) or match.group(2)
                    refs.setdefault(_base_name(name), set()).add(str(path.relative_to(ROOT)))
    return refs


def _base_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in DOCUMENTED:
            return name.removesuffix(suffix)
    return name


def test_every_metric_name_referenced_in_code_charts_and_docs_is_documented():
    unknown = {name: files for name, files in referenced_names().items() if name not in DOCUMENTED}
    assert unknown == {}


def test_only_metrics_module_creates_prometheus_metrics():
    """Components count through ``Metrics``; none builds its own collector."""
    pattern = re.compile(r"\b(Counter|Gauge|Histogram|Summary|Info|Enum)\s*\(")
    offenders = []
    for path in sorted((ROOT / "shipper").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "metrics.py" and "prometheus_client" in text and pattern.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
