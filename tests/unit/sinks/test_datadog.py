"""Datadog encoding (pure): reserved attributes, ddtags, limits, truncation, the intake's
time window, and the response classification per status code."""

from __future__ import annotations

import gzip

import asyncio

import orjson
import pytest

from shipper.errors import FatalSinkError, PayloadTooLargeError, RetryableSinkError
from shipper.metrics import Metrics
from shipper.sinks.datadog import DatadogSink, classify_datadog
from shipper.sinks.datadog_tags import cronjob_name, pod_tags
from shipper.sinks.settings import DatadogSinkSettings
from tests.receivers.harness import make_record

#: 2024-05-01T11:00:00Z: an hour after make_record's timestamps
NOW = 1714561200.0


def sink(now=NOW, **kw):
    return DatadogSink(DatadogSinkSettings(url="http://127.0.0.1:1/api/v2/logs", **kw),
                       metrics=Metrics(collectors=False), wall_clock=lambda: now)


def entries(payload):
    return orjson.loads(gzip.decompress(payload.body))


def test_levels_map_to_datadog_statuses_and_trace_is_debug():
    s = sink()
    got = [s.encoder.entry(make_record(1, level=lvl))["status"]
           for lvl in ("trace", "debug", "info", "warning", "error", "critical")]
    assert got == ["debug", "debug", "info", "warning", "error", "critical"]


def test_configured_service_wins_and_missing_k8s_facts_are_left_out():
    s = sink(service="video-api", source="python")
    entry = s.encoder.entry({"timestamp": "2024-05-01T10:00:00Z", "level": "info", "message": "m"})
    assert entry["service"] == "video-api" and entry["ddsource"] == "python"
    assert "hostname" not in entry and "ddtags" not in entry


def test_record_fields_do_not_override_reserved_attributes():
    entry = sink().encoder.entry(make_record(1, status="weird", ddsource="nope"))
    assert entry["status"] == "info" and entry["ddsource"] == "kubernetes"


def test_arrays_hold_at_most_max_entries():
    payloads = sink(max_entries=10).encode([make_record(i) for i in range(25)])
    assert [len(entries(p)) for p in payloads] == [10, 10, 5]
    assert [len(p.records) for p in payloads] == [10, 10, 5]


def test_arrays_stay_under_the_payload_byte_limit():
    payloads = sink(max_payload_bytes=4096).encode([make_record(i) for i in range(40)])
    assert len(payloads) > 1
    assert all(p.raw_bytes <= 4096 for p in payloads)
    assert sum(len(entries(p)) for p in payloads) == 40


def test_oversize_entry_message_is_truncated_and_counted():
    s = sink(max_entry_bytes=2048)
    payload = s.encode([make_record(1, message="m" * 10_000)])[0]
    entry = entries(payload)[0]
    assert len(orjson.dumps(entry)) <= 2048 and entry["message"].endswith("[truncated]")
    assert s.counts["truncated"] == 1


def test_uncompressed_option():
    payload = sink(compression="none").encode([make_record(1)])[0]
    assert orjson.loads(payload.body)[0]["message"] == "frame 1 done"
    assert "Content-Encoding" not in payload.headers


def test_bare_intake_address_gets_the_v2_logs_path():
    from shipper.sinks.datadog import intake_url
    assert intake_url("https://http-intake.logs.datadoghq.eu") == \
        "https://http-intake.logs.datadoghq.eu/api/v2/logs"
    assert intake_url("http://127.0.0.1:8080/custom") == "http://127.0.0.1:8080/custom"


# --- ddtags -----------------------------------------------------------------------------
def test_ddtags_carry_job_cronjob_app_and_unified_service_tags_from_pod_facts():
    k8s = {"namespace": "video", "pod": "nightly-28589460-x7k2p", "container": "app",
           "owner": {"kind": "Job", "name": "nightly-28589460"}, "cronjob": "nightly",
           "labels": {"app.kubernetes.io/name": "encoder", "tags.datadoghq.com/env": "prod",
                      "tags.datadoghq.com/service": "video-api",
                      "tags.datadoghq.com/version": "1.4.2"}}
    entry = sink(tags=["team:media"]).encoder.entry(make_record(1, k8s=k8s))
    assert entry["ddtags"].split(",") == [
        "kube_namespace:video", "pod_name:nightly-28589460-x7k2p", "kube_container_name:app",
        "kube_job:nightly-28589460", "kube_cronjob:nightly", "kube_app_name:encoder",
        "env:prod", "service:video-api", "version:1.4.2", "team:media"]
    assert entry["service"] == "video-api"  # the unified service label beats the app label


def test_job_comes_from_the_job_controller_labels_without_the_kubernetes_api():
    for label in ("batch.kubernetes.io/job-name", "job-name"):
        tags = pod_tags({"labels": {label: "reindex-42"}}, NOW)
        assert tags == ["kube_job:reindex-42"]


def test_cronjob_is_derived_from_a_job_name_ending_in_a_plausible_schedule_minute():
    minute = int(NOW // 60) - 30  # scheduled half an hour ago
    assert cronjob_name({}, f"nightly-backup-{minute}", NOW) == "nightly-backup"
    assert cronjob_name({}, "backup-20240101", NOW) is None  # a date, not a minute (2008)
    assert cronjob_name({}, f"x-{int(NOW // 60) + 3 * 1440}", NOW) is None  # days ahead
    assert cronjob_name({}, "reindex-42", NOW) is None
    assert cronjob_name({}, None, NOW) is None
    assert cronjob_name({"cronjob": "from-api"}, "anything", NOW) == "from-api"


def test_a_pod_not_owned_by_a_job_has_no_job_tags():
    k8s = {"owner": {"kind": "ReplicaSet", "name": "web-5d9f"}, "labels": {"app": "web"}}
    assert pod_tags(k8s, NOW) == []


def test_a_comma_in_a_tag_value_cannot_split_the_ddtags_list():
    entry = sink(tags=["note:a,b"]).encoder.entry(
        make_record(1, k8s={"namespace": "video", "labels": {"tags.datadoghq.com/env": "x,y"}}))
    assert entry["ddtags"] == "kube_namespace:video,env:x_y,note:a_b"


# --- the intake's time window -----------------------------------------------------------
def test_records_older_than_18h_are_set_aside_in_a_payload_that_is_never_sent():
    s = sink(now=NOW + 18 * 3600)  # make_record(1) is 19 h old, the other one fresh
    fresh = make_record(2, timestamp="2024-05-02T04:30:00.000Z")
    payloads = s.encode([make_record(1), fresh])
    assert "older than 18 h" in payloads[0].withheld and not payloads[1].withheld
    assert payloads[0].records[0]["message"] == "frame 1 done" and payloads[0].body == b""
    assert [e["message"] for e in entries(payloads[1])] == ["frame 2 done"]


def test_max_age_null_sends_old_records():
    payloads = sink(now=NOW + 30 * 86400, max_age=None).encode([make_record(1)])
    assert [p.batch_id for p in payloads] == [""]


def test_records_more_than_2h_ahead_are_stamped_now_keeping_their_time_and_counted():
    s = sink()
    ahead = make_record(1, timestamp="2024-05-01T13:30:00.000Z")  # 2.5 h ahead of NOW
    near = make_record(2, timestamp="2024-05-01T12:30:00.000Z")  # 1.5 h ahead: fine
    got = entries(s.encode([ahead, near])[0])
    assert got[0]["timestamp"] == "2024-05-01T11:00:00.000Z"
    assert got[0]["original_timestamp"] == "2024-05-01T13:30:00.000Z"
    assert got[1]["timestamp"] == "2024-05-01T12:30:00.000Z" and "original_timestamp" not in got[1]
    assert s.counts["timestamp-clamped"] == 1


def test_records_without_a_readable_timestamp_are_sent_as_they_are():
    payloads = sink().encode([make_record(1, timestamp="not a time")])
    assert [p.batch_id for p in payloads] == [""]


# --- responses --------------------------------------------------------------------------
@pytest.mark.parametrize("status,outcome", [
    (200, None), (202, None),
    (400, FatalSinkError), (401, FatalSinkError), (403, FatalSinkError),
    (404, FatalSinkError), (422, FatalSinkError),
    (408, RetryableSinkError), (425, RetryableSinkError), (429, RetryableSinkError),
    (500, RetryableSinkError), (502, RetryableSinkError), (503, RetryableSinkError),
    (504, RetryableSinkError), (413, PayloadTooLargeError),
])
def test_classification_per_status_code(status, outcome):
    if outcome is None:
        assert classify_datadog(status, {}, sink="dd", now=NOW) is None
        return
    with pytest.raises(outcome) as info:
        classify_datadog(status, {}, sink="dd", now=NOW)
    assert type(info.value) is outcome and info.value.status == status


def test_retry_after_is_honoured_and_a_refused_key_is_explained():
    with pytest.raises(RetryableSinkError) as info:
        classify_datadog(429, {"Retry-After": "7"}, sink="dd", now=NOW)
    assert info.value.retry_after == 7.0
    with pytest.raises(FatalSinkError, match="refused the API key"):
        sink().classify(403, {}, "Forbidden")


def test_time_window_holds_for_timestamps_in_any_form_the_parser_may_leave():
    """Canonical ``…Z`` stamps are compared as text; any other readable form is parsed."""
    s = sink(now=NOW + 18 * 3600)
    old = ["2024-05-01T10:59:58Z", "2024-05-01T10:59:58.5+00:00", "2024-05-01T12:59:58+02:00"]
    fresh = ["2024-05-01T11:00:01Z", "2024-05-01T13:00:01+02:00", "2024-05-01T11:00:01.250Z"]
    records = [make_record(i, timestamp=t) for i, t in enumerate(old + fresh)]
    kept, set_aside = s.encoder.split(records)
    assert [r["timestamp"] for r in set_aside] == old
    assert [r["timestamp"] for r in kept] == fresh
    ahead = sink().encoder.entry(make_record(1, timestamp="2024-05-01T15:30:00+02:00"))
    assert ahead["original_timestamp"] == "2024-05-01T15:30:00+02:00"  # 2.5 h ahead


def test_records_of_different_pods_in_one_batch_keep_their_own_tags():
    a = make_record(1, k8s={"namespace": "a", "pod": "p1"})
    b = make_record(2, k8s={"namespace": "b", "pod": "p2"})
    got = entries(sink().encode([a, b, a])[0])
    assert [e["ddtags"] for e in got] == ["kube_namespace:a,pod_name:p1",
                                          "kube_namespace:b,pod_name:p2",
                                          "kube_namespace:a,pod_name:p1"]
