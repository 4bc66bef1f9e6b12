"""Progress: /healthz fails when delivery or reading stalls past ``stall_after``; it says
``degraded`` before that, and names what is stalled and for how long."""

from __future__ import annotations

import pytest

from shipper.server.health import Progress


def test_idle_pipeline_with_nothing_waiting_stays_healthy(clock):
    progress = Progress(clock, stall_after=30)
    clock.advance(3600)
    assert progress.healthy() == (True, "ok")


def test_undelivered_records_without_delivery_go_unhealthy_at_the_threshold(clock):
    progress = Progress(clock, stall_after=30)
    progress.set_undelivered(5)
    clock.advance(29.9)
    assert progress.healthy()[0]
    clock.advance(0.1)
    ok, reason = progress.healthy()
    assert not ok
    assert reason == ("stalled: delivery: 5 records accepted and not delivered, nothing "
                      "delivered for 30s (threshold 30s)")


def test_reading_does_not_hide_a_wedged_sink(clock):
    """Item 10: lines keep being read into a filling buffer while nothing is delivered:
    that is no progress for delivery."""
    progress = Progress(clock, stall_after=30)
    progress.set_undelivered(10)
    for _ in range(31):
        clock.advance(1)
        progress.note_read(100)
        progress.set_undelivered(progress.waiting + 100)
    ok, reason = progress.healthy()
    assert not ok and reason.startswith("stalled: delivery: 3110 records")


def test_degraded_before_the_threshold_is_still_200(clock):
    """From a quarter of the threshold (at most 5 s) the body says what is slow."""
    progress = Progress(clock, stall_after=120)
    progress.set_undelivered(7)
    clock.advance(4.9)
    assert progress.healthy() == (True, "ok: 7 records waiting")
    clock.advance(0.1)
    assert progress.healthy() == (True, ("degraded: delivery: 7 records accepted and not "
                                         "delivered, nothing delivered for 5s (unhealthy at 120s)"))


def test_bytes_waiting_in_files_with_nothing_read_is_a_reading_stall(clock):
    """A dead watcher: lag in the files, nothing read."""
    progress = Progress(clock, stall_after=30)
    progress.set_file_lag(2048)
    clock.advance(30)
    ok, reason = progress.healthy()
    assert not ok
    assert reason == ("stalled: reading: 2048 bytes waiting in files, nothing read for 30s "
                      "(threshold 30s)")


def test_both_stalls_are_named(clock):
    progress = Progress(clock, stall_after=10)
    progress.set_undelivered(3)
    progress.set_file_lag(100)
    clock.advance(12)
    ok, reason = progress.healthy()
    assert not ok and "delivery: 3 records" in reason and "reading: 100 bytes" in reason


def test_long_idle_then_records_arrive_does_not_fail_at_once(clock):
    """The stall timer starts when records start waiting, not at the last progress."""
    progress = Progress(clock, stall_after=30)
    clock.advance(1000)
    progress.set_undelivered(1)
    progress.set_file_lag(1)
    assert progress.healthy() == (True, "ok: 1 records waiting")


@pytest.mark.parametrize("condition, note", [("set_undelivered", "note_delivered"),
                                             ("set_file_lag", "note_read")])
def test_progress_of_its_own_kind_resets_a_stall(clock, condition, note):
    progress = Progress(clock, stall_after=30)
    getattr(progress, condition)(10)
    clock.advance(25)
    getattr(progress, note)(3)
    clock.advance(25)
    assert progress.healthy()[0]
    clock.advance(5)
    assert not progress.healthy()[0]


def test_zero_counts_are_not_progress(clock):
    progress = Progress(clock, stall_after=30)
    progress.set_undelivered(10)
    progress.set_file_lag(10)
    clock.advance(25)
    progress.note_read(0)
    progress.note_delivered(0)
    clock.advance(5)
    assert not progress.healthy()[0]


def test_draining_the_backlog_recovers_health(clock):
    progress = Progress(clock, stall_after=30)
    progress.set_undelivered(10)
    clock.advance(60)
    assert not progress.healthy()[0]
    progress.set_undelivered(0)
    assert progress.healthy() == (True, "ok")


def test_a_failed_task_is_unhealthy_at_once(clock):
    progress = Progress(clock, stall_after=30)
    progress.set_failed("processor", "TypeError")
    assert progress.healthy() == (False, "failed: task processor (TypeError)")


def test_readiness_follows_set_ready(clock):
    progress = Progress(clock, stall_after=30)
    assert not progress.ready
    progress.set_ready(True)
    assert progress.ready
    progress.set_ready(False)
    assert not progress.ready


def test_non_positive_threshold_is_rejected(clock):
    with pytest.raises(ValueError):
        Progress(clock, stall_after=0)
