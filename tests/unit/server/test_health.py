"""Progress: /healthz turns unhealthy only when records wait without progress."""

from __future__ import annotations

import pytest

from shipper.server.health import Progress


def test_idle_pipeline_with_nothing_waiting_stays_healthy(clock):
    progress = Progress(clock, stall_after=30)
    clock.advance(3600)
    assert progress.healthy() == (True, "ok")


def test_waiting_records_without_progress_go_unhealthy_at_the_threshold(clock):
    progress = Progress(clock, stall_after=30)
    progress.set_waiting(5)
    clock.advance(29.9)
    assert progress.healthy()[0]
    clock.advance(0.1)
    ok, reason = progress.healthy()
    assert not ok
    assert "5 records waiting" in reason


def test_long_idle_then_records_arrive_does_not_fail_at_once(clock):
    """The stall timer starts when records start waiting, not at the last progress."""
    progress = Progress(clock, stall_after=30)
    clock.advance(1000)
    progress.set_waiting(1)
    assert progress.healthy()[0]


@pytest.mark.parametrize("note", ["note_read", "note_delivered"])
def test_reading_or_delivering_resets_the_stall(clock, note):
    progress = Progress(clock, stall_after=30)
    progress.set_waiting(10)
    clock.advance(25)
    getattr(progress, note)(3)
    clock.advance(25)
    assert progress.healthy()[0]
    clock.advance(5)
    assert not progress.healthy()[0]


def test_zero_counts_are_not_progress(clock):
    progress = Progress(clock, stall_after=30)
    progress.set_waiting(10)
    clock.advance(25)
    progress.note_read(0)
    progress.note_delivered(0)
    clock.advance(5)
    assert not progress.healthy()[0]


def test_draining_the_backlog_recovers_health(clock):
    progress = Progress(clock, stall_after=30)
    progress.set_waiting(10)
    clock.advance(60)
    assert not progress.healthy()[0]
    progress.set_waiting(0)
    assert progress.healthy()[0]


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
