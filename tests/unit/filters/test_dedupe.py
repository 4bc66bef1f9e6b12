"""Dedupe: consecutive same-template records collapse to first + one summary."""

from __future__ import annotations

from shipper.filters.dedupe import DedupeStage, template
from shipper.filters.settings import DedupeSettings

from .conftest import make_record


def stage_for(fates, clock, **kw):
    return DedupeStage(DedupeSettings(enabled=True, **kw), fates, clock)


def test_template_masks_numbers_hex_and_uuids():
    assert template("job 12 at 0x1f done in 3.5s") == template("job 977 at 0xdead done in 12.25s")
    assert template("id 7202c6ab-2288-4577-8117-170e351b11b4") == template("id 00000000-0000-4000-8000-000000000000")
    assert template("cache miss") != template("cache hit")


def test_run_collapses_into_first_plus_summary(fates, clock):
    stage = stage_for(fates, clock)
    first = stage(make_record("retry 1 of 5"))
    assert first is not None and first.before is None
    assert stage(make_record("retry 2 of 5")) is None
    assert stage(make_record("retry 3 of 5")) is None
    nxt = stage(make_record("done"))
    assert nxt is not None
    [summary] = nxt.before
    assert summary["attributes"]["repeated"] == 2
    assert summary["message"] == "retry 3 of 5"
    assert fates.events == [("dropped", "deduped", "dedupe")] * 2


def test_single_record_gets_no_summary(fates, clock):
    stage = stage_for(fates, clock)
    stage(make_record("a 1"))
    assert stage(make_record("b")).before is None
    assert stage.drain(force=True) == []


def test_window_expiry_via_drain(fates, clock):
    stage = stage_for(fates, clock, window=5)
    stage(make_record("poll 1"))
    stage(make_record("poll 2"))
    clock.advance(3)
    assert stage.drain() == []
    clock.advance(3)
    [summary] = stage.drain()
    assert summary["attributes"]["repeated"] == 1
    assert stage(make_record("poll 3")) is not None  # a new run starts


def test_record_after_window_starts_new_run(fates, clock):
    stage = stage_for(fates, clock, window=5)
    stage(make_record("poll 1"))
    stage(make_record("poll 2"))
    clock.advance(6)
    again = stage(make_record("poll 3"))
    assert again is not None and again.before[0]["attributes"]["repeated"] == 1


def test_force_drain_at_shutdown(fates, clock):
    stage = stage_for(fates, clock)
    stage(make_record("x 1"))
    stage(make_record("x 2"))
    assert [s["attributes"]["repeated"] for s in stage.drain(force=True)] == [1]
    assert stage.drain(force=True) == []


def test_runs_are_per_file(fates, clock):
    stage = stage_for(fates, clock)
    stage(make_record("tick 1", path="/a.log"))
    assert stage(make_record("other", path="/b.log")) is not None
    assert stage(make_record("tick 2", path="/a.log")) is None


def test_warning_not_deduped_by_default(fates, clock):
    stage = stage_for(fates, clock)
    assert stage(make_record("fail 1", "error")) is not None
    assert stage(make_record("fail 2", "error")) is not None


def test_stream_table_bounded_and_evicted_summary_kept(fates, clock):
    stage = stage_for(fates, clock, max_streams=2)
    stage(make_record("t 1", path="/a"))
    stage(make_record("t 2", path="/a"))
    stage(make_record("u", path="/b"))
    out = stage(make_record("v", path="/c"))  # evicts /a's run
    assert out.before[0]["attributes"]["repeated"] == 1
    assert len(stage._runs) == 2
