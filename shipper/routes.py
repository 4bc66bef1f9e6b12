"""Routes: which sinks get a record (each sink's optional ``match``).

A sink's ``match`` (:class:`shipper.sinks.settings.SinkMatch`) is compiled here once into a
:class:`Route`: ``min_level`` plus ``field: regex`` pairs read by the getters of
:mod:`shipper.filters.rules` (the language of ``filters.drop``). A record goes to every
sink whose route accepts it; a sink without ``match`` accepts everything, and when no sink
has one, :meth:`Router.split` hands the whole batch to every sink without looking at it.

A record no route accepts:

- below ``warning``: dropped on purpose, ``fates.dropped(record, "no_route", "-")``
  (``shipper_records_dropped_total{reason="no_route"}``); its acknowledgement needs no
  sink, so its file's checkpoint moves on past it;
- at ``warning`` or above: never dropped by routing. It goes to every sink (as if none had
  a ``match``), and a warning line a minute at most says how many did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from shipper.filters.rules import Matcher
from shipper.record import WARNING_RANK, Record
from shipper.record_fields import level_rank, record_rank
from shipper.sinks.settings import SinkMatch
from shipper.stages import Fates

log = logging.getLogger("shipper.routes")

NO_ROUTE = "no_route"
#: the warning about unrouted warning+ records is repeated at most this often
WARN_EVERY = 60.0


class Route:
    """One sink's compiled ``match``: ``route(record) -> bool``."""

    def __init__(self, match: SinkMatch) -> None:
        self._rank = level_rank(match.min_level) if match.min_level else None
        fields = match.fields
        self._matcher = Matcher(fields) if fields else None

    def __call__(self, record: Record) -> bool:
        if self._rank is not None and record_rank(record) < self._rank:
            return False
        return self._matcher is None or self._matcher(record)


class Router:
    """Splits a batch between the sinks by their routes (see the module docstring)."""

    def __init__(self, matches: Sequence[SinkMatch | None], fates: Fates,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._routes = [None if m is None else Route(m) for m in matches]
        self._fates = fates
        self._clock = clock
        #: no sink has a route: every record goes everywhere, nothing is looked at
        self.everything = all(route is None for route in self._routes)
        #: warning+ records that no route accepted, sent to every sink (not yet logged)
        self.unrouted = 0
        self._warned_at: float | None = None

    @classmethod
    def of_sinks(cls, sinks: Sequence[object], fates: Fates,
                 clock: Callable[[], float] = time.monotonic) -> Router:
        """The routes of sink workers built from settings (``worker.settings.match``)."""
        return cls([_match_of(sink) for sink in sinks], fates, clock)

    def __len__(self) -> int:
        return len(self._routes)

    def split(self, records: list[Record]) -> list[list[Record]]:
        """Per sink (in order), the records it gets, in their order. Every sink's list is
        its own (a sink may keep it)."""
        if not self._routes:
            return []
        if self.everything:
            return [*(list(records) for _ in self._routes[1:]), records]
        out: list[list[Record]] = [[] for _ in self._routes]
        for record in records:
            taken = False
            for index, route in enumerate(self._routes):
                if route is None or route(record):
                    out[index].append(record)
                    taken = True
            if not taken:
                self._unrouted(record, out)
        return out

    def _unrouted(self, record: Record, out: list[list[Record]]) -> None:
        if record_rank(record) < WARNING_RANK:
            self._fates.dropped(record, NO_ROUTE, "-")
            return
        for batch in out:
            batch.append(record)
        self.unrouted += 1
        self._maybe_warn()

    def _maybe_warn(self) -> None:
        now = self._clock()
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
            return
        self._warned_at = now
        log.warning("records at warning or above matched no sink's route; sent to every "
                    "sink instead of being dropped", extra={"records": self.unrouted})
        self.unrouted = 0


def _match_of(sink: object) -> SinkMatch | None:
    match = getattr(getattr(sink, "settings", None), "match", None)
    return match if isinstance(match, SinkMatch) else None
