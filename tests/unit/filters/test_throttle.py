"""Throttle rules: token bucket per key on the injected clock, bounded key table."""

from __future__ import annotations

from shipper.filters.settings import FilterSettings
from shipper.filters.throttle import ThrottleStage, TokenBuckets

from .conftest import FakeClock, make_record


def stage_for(rule, fates, clock):
    return ThrottleStage(FilterSettings.model_validate({"throttle": [rule]}).throttle, fates, clock)


def test_burst_then_rate_per_key(fates, clock):
    """Burst 3 then 2/s per job: a runaway job is cut, another job is not affected."""
    stage = stage_for({"name": "per-job", "key": ["job_id"], "rate": 2, "burst": 3}, fates, clock)
    runaway = [stage(make_record(job_id="a")) is not None for _ in range(5)]
    assert runaway == [True, True, True, False, False]
    assert stage(make_record(job_id="b")) is not None
    clock.advance(0.5)  # one token back
    assert stage(make_record(job_id="a")) is not None
    assert stage(make_record(job_id="a")) is None
    assert fates.events == [("dropped", "throttled", "per-job")] * 3


def test_refill_caps_at_burst(clock):
    buckets = TokenBuckets(rate=10, capacity=2, max_keys=10, clock=clock)
    assert buckets.take("k") and buckets.take("k") and not buckets.take("k")
    clock.advance(100)
    assert [buckets.take("k") for _ in range(3)] == [True, True, False]


def test_key_table_is_bounded(clock):
    buckets = TokenBuckets(rate=1, capacity=1, max_keys=3, clock=clock)
    for key in range(10):
        buckets.take(key)
    assert len(buckets) == 3


def test_default_burst_is_rate(fates, clock):
    stage = stage_for({"name": "t", "rate": 2}, fates, clock)
    assert [stage(make_record()) is not None for _ in range(3)] == [True, True, False]


def test_match_and_warning_guard(fates, clock):
    stage = stage_for({"name": "t", "rate": 1, "burst": 1, "match": {"message": "^spam"}}, fates, clock)
    assert stage(make_record("spam")) is not None
    assert stage(make_record("spam")) is None
    assert stage(make_record("ham")) is not None
    assert stage(make_record("spam", "error")) is not None


def test_fake_clock_backwards_does_not_add_tokens(fates):
    clock = FakeClock(100)
    stage = stage_for({"name": "t", "rate": 1, "burst": 1}, fates, clock)
    assert stage(make_record()) is not None
    clock.advance(-50)
    assert stage(make_record()) is None
