"""The Loki sink's transport and delivery: what differs from the other HTTP sinks.

* :class:`LokiTransport` reads up to ``max_response_bytes`` of an answer (a 400 names
  every refused entry; the other sinks keep 300 characters for the log).
* :class:`LokiDelivery` accounts a batch by the records each payload answers for
  (:attr:`~shipper.sinks.loki_push.LokiPayload.total`): a payload delivers part of its
  records, dead-letters or drops others (a 400 for part of a push), and the records it no
  longer carries are not "missing".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from shipper.errors import RetryableSinkError
from shipper.sinks.batch import Lines
from shipper.sinks.delivery import Delivery
from shipper.sinks.transport import HttpTransport, safe_origin

log = logging.getLogger("shipper.sinks")


class LokiTransport(HttpTransport):
    def __init__(self, settings: Any, *, sink: str) -> None:
        super().__init__(settings, sink=sink)
        self._limit: int = settings.max_response_bytes
        self.truncated = 0

    async def post(self, url: str, body: bytes,
                   headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], str]:
        """POST; the answer's first ``max_response_bytes`` (counted in ``truncated`` when
        there was more). Connection problems and timeouts are ``RetryableSinkError``."""
        if self._session is None:
            raise RetryableSinkError("sink is not started", sink=self._sink)
        try:
            async with self._session.post(url, data=body, headers=dict(headers)) as response:
                raw = await response.content.read(self._limit)
                if not response.content.at_eof():
                    self.truncated += 1
                    log.warning("sink %s: answer (HTTP %d) longer than max_response_bytes (%d); "
                                "only its start was read", self._sink, response.status, self._limit)
                return response.status, response.headers, raw.decode("utf-8", errors="replace")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RetryableSinkError(f"{type(exc).__name__} talking to {safe_origin(url)}",
                                     sink=self._sink) from None


class LokiDelivery(Delivery):
    @classmethod
    def adopt(cls, other: Delivery) -> LokiDelivery:
        """The same delivery (retry, metrics, health, dead letter, clocks) as ``other``."""
        adopted = cls.__new__(cls)
        adopted.__dict__.update(other.__dict__)
        return adopted

    async def batch(self, lines: Lines) -> None:
        """Deliver or dead-letter every record of the batch (retrying as long as it takes)."""
        payloads, refused = await self.encode(lines)
        for payload in payloads:
            await self._deliver(payload)
        answered = sum(getattr(p, "total", p.count) for p in payloads)
        missing = lines.count - answered - refused
        if missing > 0:  # an encoder skipped records: account for them, never silently
            self._m.failed("unencodable").inc(missing)
