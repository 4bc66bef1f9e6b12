"""Timestamps Loki accepts: each stream's newest timestamp, entries too far behind it or
ahead of the clock.

Loki (3.x, unordered writes) refuses an entry more than ``max_chunk_age / 2`` (1 h) behind
the newest entry of its stream (``400 entry too far behind``) and one more than
``creation_grace_period`` (10 min) ahead of its clock (``timestamp too new``). The sink
remembers each stream's newest timestamp (:class:`StreamClock`, bounded, least recently
used forgotten first) and settles such entries before sending (:class:`OrderPolicy`):
``rewrite_timestamp`` sends them at the stream's newest timestamp (1 ns apart, in their
order) with their own instant in the structured metadata ``original_timestamp``;
``accept`` sends them as they are; ``drop`` leaves them out (counted). An entry ahead of
the clock is sent at the current time, with ``original_timestamp`` too.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter

from shipper.sinks.settings import LokiSinkSettings

NS = 1_000_000_000
_NS_OF = attrgetter("ns")
ORIGINAL = "original_timestamp"


@dataclass(slots=True, eq=False)
class Entry:
    """One log entry of a push; ``index``: its record in the payload's ``records`` (or
    its batch's, while the payload carries the batch as ``lines``). ``meta`` may be shared
    with side data a batch is encoded from again (a 413 split): never changed in place."""

    ns: int
    line: str
    meta: list[tuple[str, str]]
    index: int
    #: times its timestamp was changed after a refusal (once at most, then dead-lettered)
    resent: int = 0
    original: int | None = field(default=None)

    def move_to(self, ns: int) -> None:
        """Send at ``ns``, keeping the first original instant in the metadata."""
        if self.original is None:
            self.original = self.ns
            self.meta = [*self.meta, (ORIGINAL, rfc3339_nano(self.ns))]
        self.ns = ns


def rfc3339_nano(ns: int) -> str:
    seconds, nanos = divmod(ns, NS)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


class StreamClock:
    """Newest timestamp per stream, for at most ``max_streams`` streams; a stream unseen
    for ``idle`` seconds is forgotten. ``forgotten`` counts both by reason."""

    def __init__(self, max_streams: int, idle: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._newest: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        self._max, self._idle, self._clock = max_streams, idle, clock
        self.forgotten: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._newest)

    def newest(self, key: tuple[str, str]) -> int | None:
        got = self._newest.get(key)
        if got is None:
            return None
        if self._clock() - got[1] > self._idle:
            del self._newest[key]
            self.forgotten["idle"] += 1
            return None
        return got[0]

    def advance(self, key: tuple[str, str], ns: int) -> None:
        """The stream has an entry at ``ns`` (its newest never goes back)."""
        old = self._newest.pop(key, None)
        self._newest[key] = (max(ns, old[0]) if old else ns, self._clock())
        while len(self._newest) > self._max:
            self._newest.popitem(last=False)
            self.forgotten["evicted"] += 1


class OrderPolicy:
    """Settles one stream's entries before a push (pure apart from the stream clock and
    ``counts``: ``timestamp-rewritten``, ``timestamp-clamped``); the caller counts the
    dropped."""

    def __init__(self, settings: LokiSinkSettings, streams: StreamClock,
                 wall_clock: Callable[[], float]) -> None:
        self.action = settings.out_of_order_action
        self.behind_ns, self.ahead_ns = int(settings.max_behind * NS), int(settings.max_ahead * NS)
        self.streams, self.now = streams, wall_clock
        self.counts: Counter[str] = Counter()

    def settle(self, key: tuple[str, str], entries: list[Entry]) -> tuple[list[Entry], list[Entry]]:
        """``entries`` (sorted) -> (to send, sorted; dropped)."""
        now = int(self.now() * NS)
        latest = now + self.ahead_ns
        stamps = list(map(_NS_OF, entries))  # in C: the entries are looked at only when needed
        ahead = [e for e in entries if e.ns > latest] if stamps and max(stamps) > latest else []
        for entry in ahead:
            entry.move_to(now)
        if ahead:
            self.counts["timestamp-clamped"] += len(ahead)
            entries.sort(key=lambda e: e.ns)
        dropped: list[Entry] = []
        newest = self.streams.newest(key)
        if newest is not None and self.action != "accept":
            earliest = newest - self.behind_ns
            behind = [e for e in entries if e.ns < earliest] \
                if entries and min(map(_NS_OF, entries)) < earliest else []
            if behind and self.action == "drop":
                dropped = behind
                entries = [e for e in entries if e.ns >= earliest]
            elif behind:
                self.rewrite(behind, newest)
                entries.sort(key=lambda e: e.ns)
        if entries:
            self.streams.advance(key, entries[-1].ns)
        return entries, dropped

    def as_is(self, key: tuple[str, str], lowest: int, highest: int) -> bool:
        """Whether a sorted stream whose timestamps run from ``lowest`` to ``highest``
        goes as it is (nothing ahead of the clock, nothing too far behind the stream's
        newest): then its newest is advanced, as :meth:`settle` does; else nothing is
        changed and the stream is for :meth:`settle`."""
        if highest > int(self.now() * NS) + self.ahead_ns:
            return False
        newest = self.streams.newest(key)
        if newest is not None and self.action != "accept" and lowest < newest - self.behind_ns:
            return False
        self.streams.advance(key, highest)
        return True

    def rewrite(self, entries: list[Entry], newest: int) -> None:
        """Send ``entries`` at ``newest``, 1 ns apart in their order (Loki skips an entry
        equal to another in timestamp and line)."""
        for step, entry in enumerate(entries):
            entry.move_to(newest + step)
        self.counts["timestamp-rewritten"] += len(entries)
