"""What a sink tells about its own state: failing/recovered log lines and live gauges.

A sink that keeps failing for ``FAILING_AFTER`` seconds logs one warning (again at most
every ``REPEAT_EVERY`` seconds while it keeps failing) with its name, the last outcome and
the retries so far; the first success after that logs one info line. The outcome is the
HTTP status or the transport error's kind, never a response body or record content.

The buffer gauges and ``shipper_delivery_lag_seconds`` are computed when scraped
(``Gauge.set_function``), so they move while the sink is blocked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shipper.errors import SinkError
from shipper.sinks.batch import SinkMetrics

log = logging.getLogger("shipper.sinks")

FAILING_AFTER = 5.0
REPEAT_EVERY = 60.0


def describe(error: SinkError) -> str:
    """A failure in a few words that carry no data: ``HTTP 503``, ``ClientConnectorError
    talking to http://host:port``."""
    if error.status is not None:
        return f"HTTP {error.status}"
    return str(error)[:200]  # transport errors: the shipper's own words (kind and origin)


class SinkHealth:
    def __init__(self, sink: str, clock: Callable[[], float]) -> None:
        self._sink = sink
        self._clock = clock
        self._since: float | None = None
        self._warned_at: float | None = None
        self._retries = 0
        self._last = ""

    def failed(self, error: SinkError) -> None:
        """A request failed and will be retried."""
        now = self._clock()
        if self._since is None:
            self._since = now
        self._retries += 1
        self._last = describe(error)
        if now - self._since < FAILING_AFTER:
            return
        if self._warned_at is None or now - self._warned_at >= REPEAT_EVERY:
            self._warned_at = now
            log.warning("sink %s failing for %.0fs (last: %s; %d retries); records wait in "
                        "its buffer", self._sink, now - self._since, self._last, self._retries,
                        extra={"sink": self._sink, "last_error": self._last,
                               "retries": self._retries,
                               "failing_seconds": round(now - self._since, 1)})

    def delivered(self) -> None:
        """A request succeeded: the sink works (again)."""
        if self._since is None:
            return
        if self._warned_at is not None:
            now = self._clock()
            log.info("sink %s recovered after %.0fs (%d retries)", self._sink, now - self._since,
                     self._retries, extra={"sink": self._sink, "retries": self._retries,
                                           "failed_seconds": round(now - self._since, 1)})
        self._since = self._warned_at = None
        self._retries = 0


def watch_gauges(m: SinkMetrics, *, records: Callable[[], float], nbytes: Callable[[], float],
                 oldest: Callable[[], float | None], clock: Callable[[], float]) -> None:
    """Bind the sink's gauges to functions read at every scrape."""
    m.buffer_records.set_function(records)
    m.buffer_bytes.set_function(lambda: max(0.0, nbytes()))

    def lag() -> float:
        since = oldest()
        return max(0.0, clock() - since) if since is not None else 0.0

    m.lag.set_function(lag)
