"""JobTracker on the corpus lifecycle events: summaries, LRU bound and job metrics."""

from __future__ import annotations

import orjson
import pytest

from shipper.jobs.events import MAX_TEXT
from shipper.jobs.tracker import JOB_ID_MAX, JobTracker, job_key
from tests.unit.server.helpers import layer_records, pipeline_records, record

FAILED_JOB = "2957f455679c9ffe56da3328"
OK_JOB = "7b734382d926eacb0e25289d"


@pytest.fixture
def tracker(metrics, clock):
    return JobTracker(metrics, clock, max_jobs=100)


def test_layers_corpus_gives_one_summary_per_job_with_final_status(tracker):
    tracker.observe(layer_records())
    assert len(tracker) == 3
    failed = tracker.get(FAILED_JOB)
    assert failed["status"] == "error"
    assert failed["active"] is False
    assert failed["stages"]["pain_point_miner"]["status"] == "success"
    assert failed["stages"]["pain_point_miner"]["duration_seconds"] == pytest.approx(4.061)
    assert failed["stages"]["company_researcher"]["status"] == "error"
    assert failed["last_error"] == "RateLimitError: 429 Too Many Requests"
    assert failed["started_at"] == "2026-01-02T12:19:45.916Z"
    assert tracker.get(OK_JOB)["status"] == "success"
    assert tracker.get(OK_JOB)["last_error"] is None
    assert list(tracker.get(OK_JOB)["stages"]) == [
        "pain_point_miner", "company_researcher", "opportunity_mapper", "people_mapper"]


def test_layers_corpus_event_and_duration_metrics(tracker, metrics):
    tracker.observe(layer_records())
    assert metrics.value("shipper_job_events_total", event="pipeline_start", outcome="started") == 3
    events = "shipper_job_events_total"
    assert metrics.value(events, event="pipeline_complete", outcome="success") == 2
    assert metrics.value(events, event="pipeline_complete", outcome="error") == 1
    assert metrics.value("shipper_job_events_total", event="layer_error", outcome="error") == 1
    assert metrics.value("shipper_job_events_total", event="layer_complete", outcome="success") == 9
    assert metrics.value("shipper_job_stage_duration_seconds_count",
                         stage="pain_point_miner", outcome="success") == 3
    assert metrics.value("shipper_job_stage_duration_seconds_sum", stage="company_researcher",
                         outcome="error") == pytest.approx(5.058)
    assert metrics.value("shipper_jobs_active") == 0


def test_records_by_level_count_every_forwarded_record_of_the_job(tracker):
    records = [r for r in layer_records() if r.get("job_id") == FAILED_JOB]
    tracker.observe(records)
    assert tracker.get(FAILED_JOB)["levels"] == {"info": 4, "error": 2}
    assert tracker.get(FAILED_JOB)["records"] == 6


def test_jobs_active_counts_started_and_not_completed(tracker, metrics):
    records = layer_records()
    second_start = next(i for i, r in enumerate(records)
                        if r["message"] == "pipeline_start" and r["job_id"] == OK_JOB)
    tracker.observe(records[: second_start + 1])
    assert metrics.value("shipper_jobs_active") == 1
    assert tracker.get(OK_JOB)["status"] == "running"


def test_text_stage_pipeline_with_a_failed_stage(tracker, metrics):
    tracker.observe(pipeline_records("20251127-701dcb"))
    job = tracker.get("20251127-701dcb")
    assert job["stages"]["demux"] == {
        "kind": "stage", "status": "error", "duration_seconds": 5.0,
        "started_at": "2026-01-02T20:41:09Z", "ended_at": "2026-01-02T20:41:13Z"}
    assert job["stages"]["asr"]["duration_seconds"] == 40.4
    assert "Stage demux failed" in job["last_error"]
    assert job["status"] is None
    assert metrics.value("shipper_job_events_total", event="stage_failed", outcome="error") == 1
    assert metrics.value("shipper_job_stage_duration_seconds_sum",
                         stage="alignment", outcome="success") == 25.9


def test_stage_duration_falls_back_to_timestamps(tracker):
    tracker.observe([
        record("Stage pack started", job_id="j", timestamp="2026-01-02T10:00:00.000Z"),
        record("Stage pack completed", job_id="j", timestamp="2026-01-02T10:00:12.500Z"),
    ])
    assert tracker.get("j")["stages"]["pack"]["duration_seconds"] == 12.5


def test_drops_are_counted_by_reason_even_for_jobs_only_seen_dropped(tracker):
    tracker.observe_drop(record("noise", job_id="quiet"), "noise")
    tracker.observe_drop(record("noise", job_id="quiet"), "noise")
    tracker.observe_drop(record("dup", job_id="quiet"), "deduped")
    assert tracker.get("quiet")["drops"] == {"noise": 2, "deduped": 1}
    assert tracker.get("quiet")["records"] == 0


def test_records_without_job_id_are_ignored(tracker):
    tracker.observe([record("hello"), record("pipeline_start")])
    tracker.observe_drop(record("x"), "noise")
    assert len(tracker) == 0


def test_lru_evicts_least_recently_updated_and_keeps_active_gauge_right(metrics, clock):
    tracker = JobTracker(metrics, clock, max_jobs=2)
    tracker.observe([record("pipeline_start", job_id="a")])
    tracker.observe([record("pipeline_start", job_id="b")])
    tracker.observe([record("still working", job_id="a")])
    tracker.observe([record("pipeline_start", job_id="c")])
    assert [s["job_id"] for s in tracker.summaries()] == ["c", "a"]
    assert tracker.evicted == 1
    assert metrics.value("shipper_jobs_active") == 2


def test_first_and_last_seen_come_from_the_clock(tracker, clock):
    tracker.observe([record("one", job_id="j")])
    clock.advance(90)
    tracker.observe([record("two", job_id="j")])
    job = tracker.get("j")
    assert job["first_seen"] == "2026-01-01T20:40:00.000Z"
    assert job["last_seen"] == "2026-01-01T20:41:30.000Z"


def test_stage_labels_are_capped_to_bound_cardinality(metrics, clock):
    tracker = JobTracker(metrics, clock, max_jobs=10, max_stage_labels=2)
    tracker.observe([record(f"Stage s{i} completed duration_seconds=1", job_id="j")
                     for i in range(4)])
    assert metrics.value("shipper_job_stage_duration_seconds_count",
                         stage="other", outcome="success") == 2
    assert len(tracker.get("j")["stages"]) == 4


def test_stages_per_job_are_bounded(metrics, clock):
    tracker = JobTracker(metrics, clock, max_jobs=10, max_stages_per_job=3)
    tracker.observe([record(f"Stage s{i} started", job_id="j") for i in range(10)])
    assert list(tracker.get("j")["stages"]) == ["s0", "s1", "s2"]


def test_summaries_limit_returns_most_recent_first(tracker):
    for job in ("a", "b", "c"):
        tracker.observe([record("x", job_id=job)])
    assert [s["job_id"] for s in tracker.summaries(limit=2)] == ["c", "b"]


# --- bounded in bytes, paged ---------------------------------------------------------

def test_stages_not_kept_are_counted(metrics, clock):
    tracker = JobTracker(metrics, clock, max_jobs=10, max_stages_per_job=3)
    tracker.observe([record(f"Stage s{i} started", job_id="j") for i in range(10)])
    assert tracker.get("j")["stages_not_kept"] == 7


def test_long_job_ids_are_cut_with_a_hash_and_still_found_by_their_full_id(tracker):
    first, second = "a" * 100_000 + "1", "a" * 100_000 + "2"
    tracker.observe([record("x", job_id=first), record("y", job_id=second)])
    keys = [s["job_id"] for s in tracker.summaries()]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert all(len(key) <= JOB_ID_MAX for key in keys)
    assert tracker.get(first)["levels"] == {"info": 1}
    assert job_key(first) == keys[1] and job_key("short") == "short"


def test_long_stage_names_and_error_text_are_cut(tracker):
    tracker.observe([record("Stage " + "n" * 50_000 + " failed: " + "e" * 50_000, job_id="j",
                            level="error")])
    job = tracker.get("j")
    (name,) = job["stages"]
    assert len(name) == 100 and name.endswith("…")
    assert len(job["last_error"]) == MAX_TEXT


def test_tracker_is_bounded_in_bytes_and_evicts_least_recent_first(metrics, clock):
    """Jobs with 1,000-character errors and 100 stages each: the estimate never passes
    max_bytes, the newest jobs stay, and what was evicted is counted."""
    tracker = JobTracker(metrics, clock, max_jobs=10_000, max_bytes=256 * 1024)
    for n in range(200):
        tracker.observe([record(f"Stage st{i} started", job_id=f"job{n}") for i in range(100)]
                        + [record("boom " + "x" * 5000, job_id=f"job{n}", level="error")])
        assert tracker.bytes <= 256 * 1024
    assert tracker.evicted > 150 and len(tracker) == 200 - tracker.evicted
    assert tracker.get("job199") is not None and tracker.get("job0") is None
    real = sum(len(orjson.dumps(s)) for s in tracker.summaries())
    assert real <= tracker.bytes, "the estimate must not be below the JSON it serves"


def test_eviction_keeps_the_weight_sum_exact(metrics, clock):
    tracker = JobTracker(metrics, clock, max_jobs=3)
    for n in range(10):
        tracker.observe([record("Stage a started", job_id=f"j{n}"),
                         record("oops", job_id=f"j{n}", level="error")])
    rebuilt = JobTracker(metrics, clock, max_jobs=3)
    for n in range(7, 10):
        rebuilt.observe([record("Stage a started", job_id=f"j{n}"),
                         record("oops", job_id=f"j{n}", level="error")])
    assert tracker.bytes == rebuilt.bytes > 0


def _walk(tracker: JobTracker, limit: int, max_bytes: int = 1 << 20) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        parts, cursor = tracker.page(limit, max_bytes, cursor)
        pages.append([orjson.loads(p)["job_id"] for p in parts])
        if cursor is None:
            return pages


def test_pages_walk_every_job_once_most_recent_first(tracker):
    for n in range(25):
        tracker.observe([record("x", job_id=f"j{n:02d}")])
    pages = _walk(tracker, 10)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [job for page in pages for job in page] == [f"j{n:02d}" for n in range(24, -1, -1)]


def test_an_exact_last_page_has_no_next_cursor(tracker):
    for n in range(20):
        tracker.observe([record("x", job_id=f"j{n}")])
    assert [len(p) for p in _walk(tracker, 10)] == [10, 10]


def test_jobs_updated_during_a_walk_are_not_repeated(tracker):
    for n in range(30):
        tracker.observe([record("x", job_id=f"j{n:02d}")])
    first, cursor = tracker.page(10, 1 << 20)
    tracker.observe([record("again", job_id="j29"), record("again", job_id="j05")])
    rest, cursor = tracker.page(100, 1 << 20, cursor)
    seen = [orjson.loads(p)["job_id"] for p in first + rest]
    assert len(seen) == len(set(seen)) == 29  # j05 moved ahead of the cursor
    assert cursor is None


def test_pages_are_bounded_in_bytes_but_always_hold_one_job(tracker):
    for n in range(20):
        tracker.observe([record("oops " + "e" * 900, job_id=f"j{n}", level="error")])
    parts, cursor = tracker.page(100, 5000)
    assert 1 < len(parts) < 20 and cursor is not None
    assert sum(len(p) + 1 for p in parts) <= 5000
    one, _ = tracker.page(100, 10)
    assert len(one) == 1
