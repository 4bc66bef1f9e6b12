"""Noise control and secret redaction: the filter stages of the pipeline.

:func:`build_filter_stages` returns the stages in their fixed order: noise presets ->
``min_level`` -> drop rules -> sample -> throttle -> redact -> dedupe. Stages that would do
nothing with the given settings are left out. The dedupe stage (when enabled) is last and
has ``drain(force)``.
"""

from __future__ import annotations

from collections.abc import Callable

from shipper.filters.dedupe import DedupeStage
from shipper.filters.presets import NoiseStage
from shipper.filters.redact import Redactor
from shipper.filters.redact_stage import RedactStage
from shipper.filters.rules import DropStage, MinLevelStage, SampleStage
from shipper.filters.settings import FilterSettings, RedactSettings
from shipper.filters.throttle import ThrottleStage
from shipper.stages import Fates, Stage

__all__ = [
    "DedupeStage", "DropStage", "FilterSettings", "MinLevelStage", "NoiseStage", "RedactSettings",
    "RedactStage", "Redactor", "SampleStage", "ThrottleStage", "build_filter_stages",
]


def build_filter_stages(
    filters: FilterSettings, redact: RedactSettings, *, fates: Fates, clock: Callable[[], float],
) -> list[Stage]:
    """The filter stages for these settings, in pipeline order."""
    stages: list[Stage] = []
    noise = NoiseStage(filters, fates)
    if noise.active:
        stages.append(noise)
    if filters.min_level is not None:
        stages.append(MinLevelStage(filters.min_level, fates))
    if filters.drop:
        stages.append(DropStage(filters.drop, fates))
    if filters.sample:
        stages.append(SampleStage(filters.sample, fates))
    if filters.throttle:
        stages.append(ThrottleStage(filters.throttle, fates, clock))
    if redact.enabled:
        stages.append(RedactStage(Redactor(redact), fates))
    if filters.dedupe.enabled:
        stages.append(DedupeStage(filters.dedupe, fates, clock))
    return stages
