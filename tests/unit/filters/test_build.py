"""build_filter_stages: order, omitted no-op stages, fates wiring end to end."""

from __future__ import annotations

from shipper.filters import (
    DedupeStage, DropStage, MinLevelStage, NoiseStage, RedactStage, SampleStage, ThrottleStage,
    build_filter_stages,
)
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.stages import CountingFates
from tests.unit.helpers import run_stages

from .conftest import FakeClock, make_record

FULL = FilterSettings.model_validate({
    "min_level": "debug",
    "drop": [{"name": "d", "match": {"message": "^drop"}}],
    "sample": [{"name": "s", "match": {"message": "^sample"}, "keep_one_in": 2}],
    "throttle": [{"name": "t", "rate": 1000}],
    "dedupe": {"enabled": True},
})


def test_stage_order():
    stages = build_filter_stages(FULL, RedactSettings(), fates=CountingFates(), clock=FakeClock())
    assert [type(s) for s in stages] == [NoiseStage, MinLevelStage, DropStage, SampleStage,
                                         ThrottleStage, RedactStage, DedupeStage]
    assert hasattr(stages[-1], "drain")


def test_defaults_are_presets_and_redaction_only():
    stages = build_filter_stages(FilterSettings(), RedactSettings(), fates=CountingFates(), clock=FakeClock())
    assert [type(s) for s in stages] == [NoiseStage, RedactStage]
    off = build_filter_stages(FilterSettings.model_validate({"presets": []}), RedactSettings(enabled=False),
                              fates=CountingFates(), clock=FakeClock())
    assert off == []


def test_counting_fates_see_every_reason():
    fates = CountingFates()
    stages = build_filter_stages(FULL, RedactSettings(), fates=fates, clock=FakeClock())
    records = [make_record("GET /healthz 200"), make_record("t", "trace"), make_record("drop me"),
               make_record("sample 1"), make_record("sample 2"), make_record("password=hunter22"),
               make_record("same 1"), make_record("same 2")]
    kept = [run_stages(stages, r) for r in records]
    drops, changes = fates.take()
    assert drops == {("noise", "health"): 1, ("min_level", "debug"): 1, ("drop_rule", "d"): 1,
                     ("sampled", "s"): 1, ("deduped", "dedupe"): 1}
    assert changes == {("redacted", "secret_key"): 1}
    assert sum(r is not None for r in kept) == 3
