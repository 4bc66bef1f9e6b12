"""Throttle rules: at most ``rate`` records/s with ``burst`` per key (token buckets).

The key is the tuple of the rule's ``key`` fields (e.g. ``[job_id]``), so one runaway job
cannot flood the sink. Buckets live in a bounded LRU table (``max_keys``); a forgotten key
starts again with a full bucket. Time comes from the injected clock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from shipper.filters.rules import Matcher, field_getter, guarded
from shipper.filters.settings import ThrottleRule
from shipper.record import Record
from shipper.stages import Fates


class TokenBuckets:
    """Per-key token buckets on one clock, at most ``max_keys`` of them."""

    def __init__(self, rate: float, capacity: int, max_keys: int,
                 clock: Callable[[], float]) -> None:
        self._rate = rate
        self._capacity = float(capacity)
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Any, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Any) -> bool:
        """Spend one token of ``key``'s bucket; ``False`` when it is empty."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._new(key, now)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket[1])
            bucket[0] = min(self._capacity, bucket[0] + elapsed * self._rate)
            bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return True
        return False

    def _new(self, key: Any, now: float) -> list[float]:
        if len(self._buckets) >= self._max_keys:
            self._buckets.popitem(last=False)
        bucket = [self._capacity, now]
        self._buckets[key] = bucket
        return bucket


class _Throttle:
    def __init__(self, rule: ThrottleRule, clock: Callable[[], float]) -> None:
        self.name = rule.name
        self.matcher = Matcher(rule.match)
        self.allow_warning = rule.allow_warning
        self.getters = [field_getter(name) for name in rule.key]
        self.buckets = TokenBuckets(rule.rate, rule.capacity, rule.max_keys, clock)

    def key(self, record: Record) -> tuple[Any, ...]:
        return tuple(_hashable(getter(record)) for getter in self.getters)


def _hashable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


class ThrottleStage:
    """Drops what is over a rule's budget (reason ``throttled``, rule = its name)."""

    def __init__(self, rules: list[ThrottleRule], fates: Fates, clock: Callable[[], float]) -> None:
        self._throttles = [_Throttle(rule, clock) for rule in rules]
        self._fates = fates

    def __call__(self, record: Record) -> Record | None:
        for throttle in self._throttles:
            if guarded(record, throttle.allow_warning) or not throttle.matcher(record):
                continue
            if not throttle.buckets.take(throttle.key(record)):
                self._fates.dropped(record, "throttled", throttle.name)
                return None
        return record
