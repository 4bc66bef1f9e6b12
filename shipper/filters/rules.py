"""User rules: ``min_level``, named ``drop`` rules and deterministic ``sample`` rules.

A rule's ``match`` maps a field to a regex (``re.search``); every field must match. Field
names: ``message``, ``logger``, ``level``, ``raw`` (the original line), top-level fields
such as ``job_id``, ``attributes.<key>`` (a flat key, dots allowed, else a nested path),
``k8s.labels.<key>`` / ``k8s.annotations.<key>`` (label keys may contain dots) and
``k8s.<field>`` (the grammar of :mod:`shipper.record_fields`, with ``raw`` and flat keys).
Non-string values are matched on ``str(value)``; a missing field never matches.
"""

from __future__ import annotations

import re
from typing import Any

from shipper.filters.settings import DropRule, SampleRule
from shipper.record import LEVEL_RANK, WARNING_RANK, Record
from shipper.record_fields import Getter, compile_getter, record_rank
from shipper.stages import Fates


def field_getter(name: str) -> Getter:
    """A function reading field ``name`` of a record (see the module docstring)."""
    return compile_getter(name, raw=True, flat_keys=True)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


class Matcher:
    """All ``field: regex`` pairs of a rule, compiled into getters once."""

    def __init__(self, match: dict[str, re.Pattern[str]]) -> None:
        self._pairs = [(field_getter(name), pattern) for name, pattern in match.items()]

    def __call__(self, record: Record) -> bool:
        for getter, pattern in self._pairs:
            text = _text(getter(record))
            if text is None or pattern.search(text) is None:
                return False
        return True


def guarded(record: Record, allow_warning: bool) -> bool:
    """True when the warning guard protects this record from the rule."""
    return not allow_warning and record_rank(record) >= WARNING_RANK


class MinLevelStage:
    """Drops records below ``min_level`` (reason ``min_level``, rule = the level name)."""

    def __init__(self, min_level: str, fates: Fates) -> None:
        self._rank = LEVEL_RANK[min_level]
        self._rule = min_level
        self._fates = fates

    def __call__(self, record: Record) -> Record | None:
        if record_rank(record) >= self._rank:
            return record
        self._fates.dropped(record, "min_level", self._rule)
        return None


class DropStage:
    """Named drop rules, first match wins (reason ``drop_rule``)."""

    def __init__(self, rules: list[DropRule], fates: Fates) -> None:
        self._rules = [(rule.name, Matcher(rule.match), rule.allow_warning) for rule in rules]
        self._fates = fates

    def __call__(self, record: Record) -> Record | None:
        for name, matcher, allow_warning in self._rules:
            if not guarded(record, allow_warning) and matcher(record):
                self._fates.dropped(record, "drop_rule", name)
                return None
        return record


class _Sampler:
    def __init__(self, rule: SampleRule) -> None:
        self.name = rule.name
        self.matcher = Matcher(rule.match)
        self.allow_warning = rule.allow_warning
        self.every = rule.keep_one_in
        self.seen = 0

    def keep(self) -> bool:
        """Keep the 1st, (N+1)th, (2N+1)th ... matching record."""
        keep = self.seen == 0
        self.seen = (self.seen + 1) % self.every
        return keep


class SampleStage:
    """Keeps one in N records matching each rule (reason ``sampled``); deterministic."""

    def __init__(self, rules: list[SampleRule], fates: Fates) -> None:
        self._samplers = [_Sampler(rule) for rule in rules]
        self._fates = fates

    def __call__(self, record: Record) -> Record | None:
        for sampler in self._samplers:
            if guarded(record, sampler.allow_warning) or not sampler.matcher(record):
                continue
            if not sampler.keep():
                self._fates.dropped(record, "sampled", sampler.name)
                return None
        return record
